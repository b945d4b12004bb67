"""Generated pages of the public site: one module per page type, each yielding `Page`s.

A page is the inputs it is made from (plain JSON-able data, and `Rows`) and a function that renders
them to Markdown, so the site stage can skip a page whose inputs have not changed since the last build.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from sunshine.package import Project
from sunshine.site.pages.data import SiteData
from sunshine.site.pages.md import Datasette


@dataclass
class Page:
    path: str  # relative to the docs directory, e.g. "villages/330100100001.md"
    inputs: Any
    render: Callable[[Any], str]
    title: str = ""
    section: str = ""  # the group of the navigation the page is listed under (a village's township)


@dataclass(frozen=True)
class Rows:
    """Rows of a page, kept as a frame until the page is rendered, and a digest of their values that
    stands for them in the page's inputs: a county's 60,000 disclosures made into dicts for the key
    of every village and archive page took most of a small change's page step, and only the pages
    whose rows changed are rendered. Made by `partition_rows`."""

    frame: pl.DataFrame
    digest: str

    def dicts(self) -> list[dict[str, Any]]:
        return self.frame.to_dicts()


# Two row hashes of other seeds: 128 bits per row. Polars keeps its hashes the same within a version
# only, so its version is part of every digest.
_SEEDS = (0x5EED, 0xC0DE)


def partition_rows(frame: pl.DataFrame, by: Sequence[str]) -> dict[tuple[Any, ...], Rows]:
    """The frame's rows by the values of `by`, in the frame's order, each group as `Rows`. The digest
    covers the columns, their types and every value of every row in order (numbers hashed as the text
    they are written as, so that -0.0 and 0.0 differ as they do on a page)."""
    hashed = frame.select(pl.col(pl.String), pl.exclude(pl.String).cast(pl.String))
    hashes = frame.select(*by).with_columns(
        hashed.hash_rows(seed).alias(f"__hash{n}") for n, seed in enumerate(_SEEDS)
    )
    head = f"{pl.__version__}\0{frame.schema!r}\0".encode()
    digests = {}
    for key, part in hashes.partition_by(
        list(by), as_dict=True, maintain_order=True, include_key=False
    ).items():
        digest = hashlib.sha256(head)
        for column in part.get_columns():
            digest.update(_u64_bytes(column))
        digests[key] = digest.hexdigest()
    parts = frame.partition_by(list(by), as_dict=True, maintain_order=True)
    return {key: Rows(part, digests[key]) for key, part in parts.items()}


def _u64_bytes(series: pl.Series) -> bytes:
    """The values of a UInt64 column without nulls, as bytes."""
    array = series.rechunk().to_arrow()
    return array.buffers()[1].to_pybytes()[array.offset * 8 : (array.offset + len(array)) * 8]


@dataclass
class Context:
    project: Project
    data: SiteData
    ds: Datasette
    site_url: str
    history: bool = False  # the history database and its canned query exist
    changes: Mapping[str, str] = field(default_factory=dict)  # 变更记录 pages, path -> Markdown
    as_of: str = field(default_factory=lambda: date.today().isoformat())  # for 已逾期 commitments

    @property
    def content(self) -> Path:
        return self.project.root / "content"

    def content_text(self, relative: str) -> str:
        path = self.content / relative
        return path.read_text(encoding="utf-8") if path.is_file() else ""
