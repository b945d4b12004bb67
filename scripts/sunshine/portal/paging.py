"""Every row exactly once when paging a sorted table: the first page gets the primary-key tie-breaker.

Datasette 0.65 (views/table.py) sorts the first page of `?_sort=col` (or a table's default sort)
by `col` alone and every later page, reached with `?_next=`, by `col, <primary key>`, resuming
after the last row's (value, key). Rows sharing a value are therefore returned on the first page in
whatever order SQLite's plan happens to produce, and the second page resumes as though they had
been in key order: rows at the boundary are lost or repeated.

Indexes cannot fix this (SQL leaves the order of ties undefined, and a filter changes the plan), nor
can the links we generate (the default listing and every column header would still be wrong). So the
portal completes the first page's ORDER BY the way Datasette orders the later pages: each database's
`execute` adds the table's primary key to a table-page query `... ORDER BY col [DESC] LIMIT n` that
lacks it. Views page by offset and have no key; they are left alone.
"""

from __future__ import annotations

import re
from typing import Any

from datasette.utils import escape_sqlite

_NAME = r"(?:\[[^\]]+\]|\w+)"
TABLE_PAGE = re.compile(
    rf"^(?P<head>select .+? from (?P<table>{_NAME}) (?:where .+ )?order by (?P<column>{_NAME})(?: desc)?)"
    rf"(?P<tail> limit \d+(?: offset \d+)?)$",
    re.S,
)


def _unescape(name: str) -> str:
    return name[1:-1] if name.startswith("[") else name


def with_tie_breaker(sql: str, primary_keys: dict[str, list[str]]) -> str:
    """The SQL of a table page with its primary key appended to a one-column ORDER BY."""
    match = TABLE_PAGE.match(sql)
    if match is None:
        return sql
    keys = primary_keys.get(_unescape(match["table"]))
    if not keys or _unescape(match["column"]) in keys:
        return sql
    tie = ", ".join(escape_sqlite(k) for k in keys)
    return f"{match['head']}, {tie}{match['tail']}"


async def install(datasette: Any) -> None:
    """Wrap the execute() of every database so table pages are ordered with their tie-breaker."""
    for db in datasette.databases.values():
        if getattr(db, "_portal_tie_breaker", False):
            continue
        keys: dict[str, list[str]] = {}
        for table in await db.table_names():
            keys[table] = await db.primary_keys(table) or ["rowid"]
        original = db.execute

        async def execute(
            sql: str, *args: Any, _original: Any = original, _keys: dict = keys, **kwargs: Any
        ) -> Any:
            return await _original(with_tie_breaker(sql, _keys), *args, **kwargs)

        db.execute = execute
        db._portal_tie_breaker = True
