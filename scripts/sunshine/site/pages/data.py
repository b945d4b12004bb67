"""The validated tables, loaded once for every page (petition figures come from sunshine.figures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sunshine import figures, typed
from sunshine.figures import petition_figures
from sunshine.package import Project
from sunshine.privacy import Columns, mask_frame

__all__ = ["SiteData", "petition_figures"]


# Long texts the pages show only for the newest petitions (RECENT_PETITIONS); no figure reads them,
# and a county's million petitions hold hundreds of megabytes of them.
RECENT_ONLY = ("summary", "outcome")
RECENT_PETITIONS = 20


def _read_table(project: Project, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """A table from its CSV as text columns (empty cells are null), personal numbers masked.

    The CSVs are read directly: polars reads a million rows in about a second, faster than
    fetching them from SQLite, and the site never sees a database older than the data.
    Every page is rendered from these frames, so no page can show a cell unmasked; a number
    that had to be masked is left out (empty) rather than shown.
    """
    table = project.tables[name]
    columns = columns or table.field_names
    frame = typed.text_frame(project.root / table.path, columns)
    masked = mask_frame(frame, Columns.of(table.fields))
    numeric = [
        f["name"] for f in table.fields if f.get("type") in ("integer", "number") and f["name"] in columns
    ]
    masked = masked.with_columns(
        pl.when(masked[c] == frame[c]).then(masked[c]).otherwise(None).alias(c) for c in numeric
    )
    return masked.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in columns)


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
        fields = project.tables["petitions"].field_names
        read["petitions"] = _read_table(project, "petitions", [c for c in fields if c not in RECENT_ONLY])
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
        petitions = figures.with_days(read["petitions"])
        return cls(
            villages,
            grids,
            read["grid_staff"],
            disclosures,
            petitions,
            read["committee_members"],
            read["commitments"],
            _recent_petitions(project, petitions),
        )

    def village_name(self) -> dict[str, str]:
        return dict(zip(self.villages["village_code"], self.villages["name"], strict=True))


def _recent_petitions(project: Project, petitions: pl.DataFrame) -> pl.DataFrame:
    """The newest petitions by 办结日期 (then case number), with their long texts read for them alone."""
    rows = (
        petitions.with_row_index("_row")
        .sort("resolved_on", "case_id", descending=True)
        .head(RECENT_PETITIONS)
    )
    table = project.tables["petitions"]
    texts = [c for c in RECENT_ONLY if c in table.field_names]
    if rows.height == 0 or not texts:
        return rows.drop("_row").with_columns(pl.lit(None, pl.String).alias(c) for c in texts)
    frame = typed.text_rows(project.root / table.path, texts, rows["_row"].to_list())
    masked = mask_frame(frame, Columns.of(table.fields))
    shown = masked.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in texts)
    return pl.concat([rows.drop("_row"), shown], how="horizontal")
