"""What every portal template can ask: titles of databases, tables and columns, links, Chinese words.

An instance is the Jinja global `portal`, so error pages (rendered without Datasette's per-page
context) have it too. Titles come from metadata.json: the `sunshine-portal` plugin section holds
the Chinese titles of table columns (from the Table Schemas) and of query results (overlay.yaml).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from sunshine.portal import wording

PLUGIN = "sunshine-portal"
STATIC = "/-/portal/static/"
HELP_PATH = "/-/help"


class Portal:
    """The Jinja global `portal`."""

    def __init__(self, datasette: Any) -> None:
        self.datasette = datasette
        self._titles: dict[tuple[str | None, ...], str] = {}  # metadata is fixed while serving

    # ------------------------------------------------------------ settings

    @cached_property
    def config(self) -> dict[str, Any]:
        # Read once: resolving plugin configuration walks the whole metadata, and it does not change.
        return self.datasette.plugin_config(PLUGIN) or {}

    @property
    def site_url(self) -> str:
        return self.config.get("site_url", "/")

    @property
    def site_title(self) -> str:
        return self.config.get("site_title", "阳光村务")

    @property
    def help_url(self) -> str:
        return self.datasette.urls.path(HELP_PATH)

    def static(self, name: str) -> str:
        return self.datasette.urls.path(STATIC + name)

    # ------------------------------------------------------------ titles

    def database_title(self, database: str) -> str:
        key = ("database", database)
        if key not in self._titles:
            self._titles[key] = (
                self.datasette.metadata("title", database=database, fallback=False) or database
            )
        return self._titles[key]

    def table_title(self, database: str | None, table: str) -> str:
        if database is None:
            return table
        key = ("table", database, table)
        if key not in self._titles:
            title = self.datasette.metadata("title", database=database, table=table, fallback=False)
            self._titles[key] = title or table
        return self._titles[key]

    def column_title(self, database: str | None, table: str | None, column: str) -> str:
        key = ("column", table, column)
        if key not in self._titles:
            self._titles[key] = self._column_title(table, column)
        return self._titles[key]

    def _column_title(self, table: str | None, column: str) -> str:
        columns = self.config.get("columns", {})
        title = columns.get("tables", {}).get(table or "", {}).get(column)
        if title:
            return title
        title = columns.get("results", {}).get(column)
        if title:
            return title
        for fields in columns.get("tables", {}).values():
            if column in fields:
                return fields[column]
        return column

    def param_title(self, name: str) -> str:
        return wording.PARAMS.get(name) or self.column_title(None, None, name)

    def renderer_title(self, name: str) -> str:
        return wording.RENDERERS.get(name, name)

    def facet_type(self, name: str) -> str:
        return wording.FACET_TYPES.get(name, name)

    # ------------------------------------------------------------ words

    def lookup(self, key: str, display: str) -> str:
        return wording.lookup(key, display)

    def error_message(self, message: object) -> str:
        return wording.error_message(message)

    def status_title(self, status: int | None) -> str:
        return wording.status_title(status)

    def chinese_paragraphs(self, text: str | None) -> Markup:
        paragraphs = wording.chinese_paragraphs(text).split("\n\n")
        return Markup("".join(f"<p>{escape(p)}</p>" for p in paragraphs if p))

    def describe(
        self,
        database: str,
        table: str,
        filters: Any,
        sort: str | None,
        sort_desc: str | None,
        search: str | None,
    ) -> str:
        selections: Iterable[tuple[str, str, str]] = filters.selections() if filters else []
        return wording.describe(
            selections, sort, sort_desc, search, lambda c: self.column_title(database, table, c)
        )

    # ------------------------------------------------------------ links

    def csv_url(self, url: str) -> str:
        """One click, every row: CSV downloads stream the whole table."""
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}_stream=on" if "_stream=" not in url else url

    def xlsx_url(self, url: str) -> str:
        """An Excel file holds as many rows as one request may return."""
        joiner = "&" if "?" in url else "?"
        return f"{url}{joiner}_size=max" if "_size=" not in url else url

    @property
    def max_rows(self) -> int:
        return self.datasette.setting("max_returned_rows")

    def catalog_links(self, table: str | None) -> list[tuple[str, str]]:
        """The site's files for this table (catalog page, Excel-ready CSV), or the whole catalog."""
        found = self.config.get("catalog", {}).get(table or "")
        if not found:
            return [("数据目录（全部数据文件）", self.site_url + "catalog/")]
        return [
            ("整张表的 Excel 文件", self.site_url + found["excel"]),
            ("数据目录", self.site_url + found["page"]),
        ]

    def history_url(self, database: str, table: str, primary_key_values: list[str]) -> str | None:
        if "history" not in self.datasette.databases or database == "history" or len(primary_key_values) != 1:
            return None
        query = urlencode({"table_name": table, "record_id": primary_key_values[0]})
        return self.datasette.urls.path(f"/history/record_history?{query}")

    def row_url(self, database: str, table: str, key: str) -> str:
        return self.datasette.urls.path(f"/{quote(database)}/{quote(table)}/{quote(key, safe='')}")
