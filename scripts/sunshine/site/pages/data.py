"""The validated tables, loaded once for every page (petition figures come from sunshine.figures)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from sunshine import figures
from sunshine.figures import petition_figures
from sunshine.package import Project

__all__ = ["SiteData", "petition_figures"]


def _read_table(project: Project, name: str) -> pl.DataFrame:
    """A table from its CSV as text columns (empty cells are null).

    The CSVs are read directly: polars reads a million rows in about a second, faster than
    fetching them from SQLite, and the site never sees a database older than the data.
    """
    table = project.tables[name]
    columns = table.field_names
    return pl.read_csv(
        project.root / table.path,
        infer_schema=False,
        encoding="utf8-lossy",
        columns=columns,
    ).with_columns(pl.col(c).str.strip_chars().replace("", None) for c in columns)


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
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project) -> SiteData:
        read = {name: _read_table(project, name) for name in project.tables}
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
        )

    def village_name(self) -> dict[str, str]:
        return dict(zip(self.villages["village_code"], self.villages["name"], strict=True))
