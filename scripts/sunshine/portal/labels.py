"""Names beside codes on record pages: a foreign key cell shows the village or grid name and its code.

Datasette 0.65 expands foreign keys to their label column on table pages but not on the page of
one record, where 990101101201 stood alone. The render_cell hook calls `cell` for every cell; it
answers at once (None, Datasette's own rendering) unless the cell is a bare code in a foreign key
column, which only happens on record pages, and then looks the label up as table pages do.
"""

from __future__ import annotations

from typing import Any

from datasette.utils import tilde_encode
from markupsafe import Markup, escape

# (database, table) -> {column: other table}, filled at startup
FOREIGN_KEYS: dict[tuple[str, str], dict[str, str]] = {}


async def load(datasette: Any) -> None:
    for name, db in datasette.databases.items():
        for table in await db.table_names():
            keys = await db.foreign_keys_for_table(table)
            FOREIGN_KEYS[(name, table)] = {k["column"]: k["other_table"] for k in keys}


def cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    if not isinstance(value, str) or not value or table is None:
        return None
    other = FOREIGN_KEYS.get((database, table), {}).get(column)
    if other is None:
        return None

    async def labelled() -> Markup | None:
        labels = await datasette.expand_foreign_keys(database, table, column, [value])
        label = labels.get((column, value))
        if not label or label == value:
            return None
        href = datasette.urls.row(database, other, tilde_encode(value))
        return Markup(f'<a href="{escape(href)}">{escape(label)}</a>&nbsp;<em>{escape(value)}</em>')

    return labelled
