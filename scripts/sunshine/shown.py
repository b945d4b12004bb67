"""Records as lists of changes name them: a record's label and an empty value.

Shared by `sunshine diff`, build/history.db and the 变更记录 pages. Masking is sunshine.privacy's,
escaping sunshine.markup's.
"""

from __future__ import annotations

from typing import Any

from sunshine.package import Table


def record_label(table: Table, row: dict[str, Any]) -> str:
    """What a row is about, from the field its Table Schema names in x-label."""
    return str(row.get(table.label_field) or "")


def shown_value(value: Any) -> str:
    """An old or new value in a list of changes; an empty cell says so."""
    return "（空）" if value in (None, "") else str(value)
