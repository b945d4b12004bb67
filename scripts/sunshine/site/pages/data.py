"""The validated tables, loaded once for every page (petition figures come from sunshine.figures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sunshine import figures, typed
from sunshine.figures import petition_figures
from sunshine.package import Project, Table
from sunshine.privacy import Columns, mask_frame

__all__ = ["SiteData", "petition_figures"]


# Long texts the pages show only for the newest petitions (RECENT_PETITIONS); no figure reads them,
# and a county's million petitions hold hundreds of megabytes of them.
RECENT_ONLY = ("summary", "outcome")
RECENT_PETITIONS = 20
NEWEST = ("resolved_on", "case_id")  # the order of 最近办结的诉求, newest first
# What the site keeps of each petition for its figures and counts (figures.with_days adds the
# last four); texts repeated from a small set are kept as categories, a few bytes a row.
PETITION_COLUMNS = ("village_code", "grid_id", "category", "channel", "department", "satisfaction")
KEPT_PETITION_COLUMNS = (*PETITION_COLUMNS, "days", "month", "received_year", "resolved_year")


def _read_table(project: Project, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """A table from its CSV as text columns (empty cells are null), personal numbers masked.

    The CSVs are read directly: polars reads a million rows in about a second, faster than
    fetching them from SQLite, and the site never sees a database older than the data.
    Every page is rendered from these frames, so no page can show a cell unmasked; a number
    that had to be masked is left out (empty) rather than shown.
    """
    table = project.tables[name]
    columns = columns or table.field_names
    return _shown(table, typed.text_frame(project.root / table.path, columns))


def _shown(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells as the pages show them: personal numbers masked, a masked number left out, trimmed."""
    masked = mask_frame(frame, Columns.of(table.fields))
    numeric = [
        f["name"]
        for f in table.fields
        if f.get("type") in ("integer", "number") and f["name"] in frame.columns
    ]
    masked = masked.with_columns(
        pl.when(masked[c] == frame[c]).then(masked[c]).otherwise(None).alias(c) for c in numeric
    )
    return masked.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in frame.columns)


def read_table(project: Project, name: str) -> pl.DataFrame:
    """One table as the pages read it: text columns, personal numbers masked."""
    return _read_table(project, name)


@dataclass
class SiteData:
    """The tables plus derived columns: numbers as numbers, days to resolve, years."""

    villages: pl.DataFrame
    grids: pl.DataFrame
    staff: pl.DataFrame
    disclosures: pl.DataFrame
    petitions: pl.DataFrame
    committee_members: pl.DataFrame
    commitments: pl.DataFrame
    recent_petitions: pl.DataFrame = field(default_factory=pl.DataFrame)  # with their long texts
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project) -> SiteData:
        read = {name: _read_table(project, name) for name in project.tables if name != "petitions"}
        villages = read["villages"].with_columns(
            pl.col("households").cast(pl.Int64), pl.col("population").cast(pl.Int64)
        )
        grids = read["grids"].with_columns(
            pl.col("households").cast(pl.Int64), pl.col("population").cast(pl.Int64)
        )
        disclosures = read["disclosures"].with_columns(
            pl.col("amount_yuan").cast(pl.Float64),
            pl.col("period").str.slice(0, 4).alias("year"),
        )
        petitions, recent = _petitions(project)
        return cls(
            villages,
            grids,
            read["grid_staff"],
            disclosures,
            petitions,
            read["committee_members"],
            read["commitments"],
            recent,
        )

    def village_name(self) -> dict[str, str]:
        return dict(zip(self.villages["village_code"], self.villages["name"], strict=True))


def _petitions(project: Project) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The petitions as the figures read them (PETITION_COLUMNS and figures.with_days, masked), and
    the newest (RECENT_PETITIONS, every column, their long texts too).

    The file is read a block at a time (typed.text_frames) and only what the site keeps of each block
    stays: a county's million petitions are 40 MB so, where reading them whole took 1.2 GB."""
    table = project.tables["petitions"]
    fields = table.field_names
    texts = [c for c in RECENT_ONLY if c in fields]
    others = [c for c in fields if c not in texts]
    read = [c for c in fields if c in (*PETITION_COLUMNS, "received_on", *NEWEST)]
    kept, newest = [], []
    for raw in typed.text_frames(project.root / table.path, fields):
        shown = figures.with_days(_shown(table, raw.select(read)))
        kept.append(
            shown.select(KEPT_PETITION_COLUMNS).with_columns(
                pl.col(c).cast(pl.Categorical) for c in KEPT_PETITION_COLUMNS if c != "days"
            )
        )
        first = (
            shown.select(NEWEST).with_row_index("_row").sort(NEWEST, descending=True).head(RECENT_PETITIONS)
        )
        newest.append(raw[first["_row"]])
    candidates = pl.concat(newest)
    rows = (
        figures.with_days(_shown(table, candidates.select(others)))
        .with_row_index("_row")
        .sort(NEWEST, descending=True)
        .head(RECENT_PETITIONS)
    )
    recent = rows.drop("_row")
    if texts:
        recent = pl.concat([recent, _shown(table, candidates.select(texts))[rows["_row"]]], how="horizontal")
    return pl.concat(kept), recent
