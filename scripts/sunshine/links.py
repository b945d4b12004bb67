"""The one builder of links into the Datasette portal, for the site, the change lists and `sunshine diff`.

Row links tilde-encode each part of the primary key as Datasette does, so a key holding "/" or ","
still opens its row; compound keys are written "a / b" (sunshine.package.KEY_SEPARATOR).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from datasette.utils import tilde_encode

from sunshine.package import split_key


@dataclass(frozen=True)
class Datasette:
    """Links into the Datasette instance that serves the same data."""

    base: str
    database: str = "sunshine"

    @property
    def _root(self) -> str:
        return self.base.rstrip("/")

    def table(self, table: str, **filters: str) -> str:
        url = f"{self._root}/{self.database}/{table}"
        return f"{url}?{urlencode(filters)}" if filters else url

    def row(self, table: str, key: str) -> str:
        """A record's page; key is the record key as sunshine.package.record_key writes it."""
        return f"{self._root}/{self.database}/{table}/{','.join(tilde_encode(p) for p in split_key(key))}"

    def query(self, name: str, **params: str) -> str:
        url = f"{self._root}/{self.database}/{name}"
        return f"{url}?{urlencode(params)}" if params else url

    def figures(self, by: str = "", year: str = "", village_code: str = "") -> str:
        """The canned query that produces the site's petition figures (sunshine.figures)."""
        return self.query("petition_figures", by=by, year=year, village_code=village_code)

    def history(self, name: str, **params: str) -> str:
        """A canned query of the history database."""
        url = f"{self._root}/history/{name}"
        return f"{url}?{urlencode(params)}" if params else url
