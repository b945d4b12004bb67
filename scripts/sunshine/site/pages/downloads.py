"""Download files for the 数据目录: UTF-8 CSV, Excel-friendly CSV and JSON, cached per CSV version."""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl

from sunshine import privacy
from sunshine.markup import FORMULA_PREFIXES
from sunshine.package import Table
from sunshine.typed import text_frame

NUMERIC = {"integer": pl.Int64, "number": pl.Float64}


def neutralised(column: str) -> pl.Expr:
    """The column with every text cell a spreadsheet would run as a formula prefixed by an apostrophe.

    The same rule as sunshine.safety.neutralise_formula, as one vectorised expression.
    """
    col = pl.col(column)
    starts = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
    return pl.when(starts).then(pl.lit("'") + col).otherwise(col).alias(column)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def write_table_downloads(table: Table, source: Path, cache: Path) -> dict[str, Path]:
    """Write (or reuse) the three download files of one table; return {kind: path}.

    Every cell is masked as on the pages (the files are made again when masking changes)."""
    key = _digest(source) + privacy.VERSION
    made = {
        "csv": cache / f"{table.name}-{key}.csv",
        "excel": cache / f"{table.name}-{key}-excel.csv",
        "json": cache / f"{table.name}-{key}.json",
    }
    if all(p.exists() for p in made.values()):
        return made
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{table.name}-*"):
        old.unlink()
    columns = table.field_names
    frame = text_frame(source, columns)
    frame = privacy.mask_frame(frame, privacy.Columns.of(table.fields))
    frame.write_csv(made["csv"])
    types = {f["name"]: f.get("type", "string") for f in table.fields}
    text_columns = [c for c in columns if types[c] not in NUMERIC]
    frame.with_columns(neutralised(c) for c in text_columns).write_csv(made["excel"], include_bom=True)
    typed = frame.with_columns(
        pl.col(c).str.strip_chars().cast(NUMERIC[types[c]], strict=False)
        for c in columns
        if types[c] in NUMERIC
    )
    typed.write_json(made["json"])
    return made
