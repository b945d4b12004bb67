"""Row pages whose key has more parts than the table's primary key: a 404, like any key not found.

Datasette binds the first parts of a row page's key to the key columns and ignores the rest, so
/sunshine/petitions/2024-0000001,extra showed the row under a key that does not exist. The request
is passed on with the key's commas escaped (one part): Datasette finds no such row and answers with
the portal's own 404 page (or JSON), as for any other key.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from datasette.utils import tilde_decode, tilde_encode

SUFFIXES = (".json",)


def extra_key_app(datasette: Any, app: Any) -> Any:
    keys: dict[tuple[str, str], int] = {}

    async def key_parts(database: str, table: str) -> int | None:
        if (database, table) not in keys:
            db = datasette.get_database(database)
            if not await db.table_exists(table):
                return None
            keys[(database, table)] = max(1, len(await db.primary_keys(table)))
        return keys[(database, table)]

    async def checked(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            parts = scope["path"].strip("/").split("/")
            if len(parts) == 3 and parts[0] in datasette.databases and not parts[1].startswith("-"):
                key, suffix = parts[2], next((s for s in SUFFIXES if parts[2].endswith(s)), "")
                key = key.removesuffix(suffix) if suffix else key
                wanted = await key_parts(parts[0], tilde_decode(unquote(parts[1])))
                if wanted is not None and key.count(",") + 1 > wanted:
                    one = tilde_encode(",".join(tilde_decode(unquote(p)) for p in key.split(",")))
                    path = f"/{parts[0]}/{parts[1]}/{one}{suffix}"
                    scope = {**scope, "path": path, "raw_path": path.encode()}
        await app(scope, receive, send)

    return checked
