"""Cross-field rules from the Table Schema's `x-rules`: date-order and required-with, row by row.

same-parent needs another table and is checked with the keys (keys.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from sunshine.package import Table
from sunshine.validate.cells import Issue

LIMIT = 200  # rows of one rule reported per batch; the collector keeps fewer


def _date(name: str) -> pl.Expr:
    return pl.col(name).str.to_date("%Y-%m-%d", strict=False)


def row_rules(table: Table, body: pl.DataFrame, row: str) -> Iterator[tuple[int, int, Issue, dict[str, Any]]]:
    """(row, column position, issue, field) for every broken rule; cells that are not valid dates are skipped."""
    names = table.field_names
    for rule in table.rules:
        kind = rule.get("rule")
        if kind == "date-order":
            earlier, later = rule["earlier"], rule["later"]
            if earlier not in body.columns or later not in body.columns:
                continue
            bad = body.filter(_date(later) < _date(earlier)).select(row, earlier, later).head(LIMIT)
            e_field, l_field = table.field(earlier), table.field(later)
            for r, e, l_ in bad.iter_rows():
                yield (
                    r,
                    names.index(later),
                    Issue(
                        "date-order",
                        f"“{l_field['title']}”{l_} 早于“{e_field['title']}”{e}",
                        f"“{l_field['title']}”不能早于“{e_field['title']}”。请核对这两个日期。",
                    ),
                    l_field,
                )
        elif kind == "required-with":
            target, when = rule["field"], rule["when"]
            if target not in body.columns or when not in body.columns:
                continue
            bad = body.filter((pl.col(when) != "") & (pl.col(target) == "")).select(row).head(LIMIT)
            t_field, w_field = table.field(target), table.field(when)
            for (r,) in bad.iter_rows():
                yield (
                    r,
                    names.index(target),
                    Issue(
                        "required-with",
                        f"填写了“{w_field['title']}”，但“{t_field['title']}”为空",
                        f"请填写“{t_field['title']}”。{t_field.get('description', '')}",
                    ),
                    t_field,
                )
