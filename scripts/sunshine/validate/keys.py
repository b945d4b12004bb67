"""Keys across rows and tables: unique fields, primary keys, foreign keys and the same-parent rule.

Frictionless's rules: an empty cell is no value; a repeated value is reported at every row after the
first; a primary key that is empty is an error; a foreign key that is empty is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from sunshine.package import Table
from sunshine.privacy import code_pattern, is_code, mask_text
from sunshine.problems import Problem
from sunshine.validate.collect import Collector

ROW = "__row"
LIMIT = 1000


def _where(table: Table, file: str, row: int, name: str | None) -> dict[str, Any]:
    f = table.field(name) if name else {}
    return {"file": file, "row": row, "column": name, "column_title": f.get("title")}


def _duplicates(keys: pl.DataFrame, cols: list[str]) -> pl.DataFrame:
    """Rows whose (non-empty) values appeared in an earlier row, with that earlier row."""
    have = keys.filter(~pl.all_horizontal([pl.col(c).is_null() for c in cols]))
    key = pl.struct(cols) if len(cols) > 1 else pl.col(cols[0])
    dup = have.filter(key.is_duplicated())  # usually empty: the cheap test runs on every row
    if dup.height == 0:
        return dup.with_columns(pl.lit(0, dtype=pl.Int64).alias("__first"))
    firsts = dup.group_by(cols).agg(pl.col(ROW).min().alias("__first"))
    return dup.join(firsts, on=cols, nulls_equal=True).filter(pl.col(ROW) != pl.col("__first")).sort(ROW)


def check_keys(table: Table, file: str, keys: pl.DataFrame, collector: Collector) -> None:
    seen_unique = []
    for f in table.fields:
        if f.get("constraints", {}).get("unique") and f["name"] in keys.columns:
            seen_unique.append(f["name"])
            dup = _duplicates(keys, [f["name"]])
            collector.more(file, "unique-error", dup.height - LIMIT)
            for row, value, first in dup.select(ROW, f["name"], "__first").head(LIMIT).iter_rows():
                collector.add(
                    Problem(
                        code="unique-error",
                        message=f"“{f['title']}”与第 {first} 行重复",
                        hint=f"每一行的“{f['title']}”必须不同。请核对这两行：是重复录入就删除一行，否则改正编号。",
                        value=mask_text(value),
                        **_where(table, file, row, f["name"]),
                    )
                )
    pk = table.primary_key
    if pk and all(k in keys.columns for k in pk):
        empty = keys.filter(pl.all_horizontal([pl.col(k).is_null() for k in pk]))
        for (row,) in empty.select(ROW).head(LIMIT).iter_rows():
            collector.add(
                Problem(
                    code="primary-key",
                    message="主键为空",
                    hint=f"每一行都要填写“{table.field(pk[0])['title']}”。",
                    **_where(table, file, row, pk[0]),
                )
            )
        dup = _duplicates(keys, pk)
        collector.more(file, "primary-key", dup.height - LIMIT)
        for row, first in dup.select(ROW, "__first").head(LIMIT).iter_rows():
            collector.add(
                Problem(
                    code="primary-key",
                    message=f"主键“{'、'.join(pk)}”与第 {first} 行重复",
                    hint="每一行的编号必须唯一。",
                    **_where(table, file, row, pk[0]),
                )
            )


def check_foreign_keys(
    table: Table,
    file: str,
    keys: pl.DataFrame,
    loaded: dict[str, pl.DataFrame],
    tables: dict[str, Table],
    collector: Collector,
) -> None:
    for fk in table.foreign_keys:
        cols, ref_name, ref_cols = fk["fields"], fk["resource"], fk["reference_fields"]
        ref = loaded.get(ref_name)
        if (
            ref is None
            or not all(c in keys.columns for c in cols)
            or not all(c in ref.columns for c in ref_cols)
        ):
            continue  # the other table could not be read: its own problems say why
        target = (
            ref.select([pl.col(r).alias(c) for r, c in zip(ref_cols, cols, strict=True)])
            .drop_nulls()
            .unique()
        )
        have = keys.filter(~pl.all_horizontal([pl.col(c).is_null() for c in cols]))
        missing = have.join(target, on=cols, how="anti", nulls_equal=True).sort(ROW)
        collector.more(file, "foreign-key", missing.height - LIMIT)
        ref_table = tables[ref_name]
        for row, *values in missing.select(ROW, *cols).head(LIMIT).iter_rows():
            f = table.field(cols[0])
            value = " ".join(str(v) for v in values if v is not None)
            code = len(cols) == 1 and is_code(value, code_pattern(f))
            collector.add(
                Problem(
                    code="foreign-key",
                    message=f"“{f['title']}”在“{ref_table.title}”表（{ref_table.path}）中不存在",
                    hint=f"请核对编号，或先在 {ref_table.path} 中添加这一条。",
                    value=value if code else mask_text(value),
                    value_is_code=code,
                    **_where(table, file, row, cols[0]),
                )
            )


def same_parent(
    table: Table, file: str, keys: pl.DataFrame, loaded: dict[str, pl.DataFrame], tables: dict[str, Table]
) -> Iterator[Problem]:
    for rule in table.rules:
        if rule.get("rule") != "same-parent":
            continue
        name, ref_name, parent = rule["field"], rule["resource"], rule["parent"]
        ref = loaded.get(ref_name)
        ref_table = tables[ref_name]
        ref_key = ref_table.primary_key[0] if ref_table.primary_key else name
        if (
            ref is None
            or name not in keys.columns
            or parent not in keys.columns
            or ref_key not in ref.columns
        ):
            continue
        if parent not in ref.columns:
            continue
        mapping = (
            ref.select(pl.col(ref_key).alias(name), pl.col(parent).alias("__parent"))
            .drop_nulls()
            .unique(name)
        )
        bad = (
            keys.filter(pl.col(name).is_not_null() & pl.col(parent).is_not_null())
            .join(mapping, on=name, how="inner")
            .filter(pl.col("__parent") != pl.col(parent))
            .sort(ROW)
        )
        f, p = table.field(name), table.field(parent)
        for row, value, actual, expected in bad.select(ROW, name, parent, "__parent").head(LIMIT).iter_rows():
            yield Problem(
                code="same-parent",
                message=f"“{f['title']}”{value} 在{ref_table.title}表中属于 {expected}，与本行的“{p['title']}”{actual} 不一致",
                hint=f"请核对“{f['title']}”和“{p['title']}”：两者必须属于同一个{p['title'].split('代码')[0]}。",
                value=value,
                **_where(table, file, row, name),
            )


def check_all(
    table: Table,
    file: str,
    keys: pl.DataFrame,
    loaded: dict[str, pl.DataFrame],
    tables: dict[str, Table],
    collector: Collector,
) -> None:
    """Every check across rows and tables of one table's keys."""
    check_keys(table, file, keys, collector)
    check_foreign_keys(table, file, keys, loaded, tables, collector)
    for p in same_parent(table, file, keys, loaded, tables):
        collector.add(p)


def referenced(table: Table) -> set[str]:
    """The tables whose keys this table's foreign keys and rules check against."""
    out = {fk["resource"] for fk in table.foreign_keys}
    return out | {r["resource"] for r in table.rules if r.get("rule") == "same-parent"}


def unique_columns(table: Table) -> list[str]:
    """Columns whose values, alone or as part of the primary key, must not repeat."""
    unique = [f["name"] for f in table.fields if f.get("constraints", {}).get("unique")]
    return list(dict.fromkeys([*unique, *table.primary_key]))
