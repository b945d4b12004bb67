"""Error pages in Chinese, with the page's navigation; a bad SQL query keeps its editor.

Datasette's own handler (trylast) still answers what is left: JSON errors keep Datasette's English
messages, which API clients match on. This module answers first for
- a sort by a column that does not exist: 400 instead of Datasette's 500, as JSON or HTML;
- SQL that cannot run (syntax error, not a SELECT, too slow): the query page again, editor and all,
  with the reason in Chinese;
- a row page whose key has fewer parts than the table's primary key: 404, not Datasette's 500;
- ?_through= that is not the JSON it takes, or names a table without a foreign key to this one: 400
  with the form it takes, not Datasette's 500;
- a record that is not there: if build/history.db says it was deleted, when and by which commit,
  with a link to its history;
- every other error of an HTML page: error.html with the message in Chinese.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import unquote, urlencode

from datasette import Response
from datasette.utils import tilde_decode
from datasette.utils.asgi import Base400, NotFound
from datasette.views.base import DatasetteError

HISTORY = "history"
THROUGH_MESSAGE = '参数 _through 应是 JSON，指向与这张表有外键关联的表，例如 {"table": "grids", "column": "village_code", "value": "990101101001"}'
DELETED_SQL = (
    "SELECT commit_date, label, commit_message FROM changes "
    "WHERE table_name = ? AND record_id = ? AND kind = '删除' ORDER BY seq DESC, id DESC LIMIT 1"
)


def status_of(exception: Exception) -> int:
    message = str(getattr(exception, "message", None) or (exception.args[0] if exception.args else ""))
    if message.startswith("Cannot sort table by"):
        return 400
    if isinstance(exception, (Base400, DatasetteError)):
        return exception.status
    return 500


def message_of(exception: Exception) -> str:
    if isinstance(exception, DatasetteError):
        return str(exception.message)
    return str(exception.args[0]) if exception.args else str(exception)


async def deleted_record(datasette: Any, database: str, table: str, key: str) -> dict[str, str] | None:
    """When and how a record was deleted, from the history database, or None."""
    if HISTORY not in datasette.databases or database == HISTORY:
        return None
    try:
        rows = (await datasette.get_database(HISTORY).execute(DELETED_SQL, [table, key])).rows
    except sqlite3.Error:
        return None
    if not rows:
        return None
    row = rows[0]
    query = urlencode({"table_name": table, "record_id": key})
    return {
        "commit_date": row["commit_date"],
        "label": row["label"] or "",
        "commit_message": row["commit_message"] or "",
        "history_url": datasette.urls.path(f"/{HISTORY}/record_history?{query}"),
    }


def row_path(datasette: Any, path: str) -> tuple[str, str, str] | None:
    """(database, table, key) when the path is a row page of a known database."""
    parts = [tilde_decode(unquote(p)) for p in path.strip("/").split("/")]
    if len(parts) != 3 or parts[0] not in datasette.databases:
        return None
    return parts[0], parts[1], parts[2]


async def sql_page(datasette: Any, request: Any, database: str, message: str, status: int) -> Response:
    db = datasette.get_database(database)
    tables = [{"name": name} for name in await db.table_names()]
    context = {
        "database": database,
        "query": {"sql": request.args.get("sql", ""), "params": {}},
        "error": message,
        "editable": True,
        "allow_execute_sql": True,
        "hide_sql": False,
        "tables": tables,
        "named_parameter_values": {},
        "display_rows": [],
        "columns": [],
        "canned_query": None,
        "metadata": {},
        "query_error": True,
    }
    html = await datasette.render_template(["query.html"], context, request=request, view_name="database")
    return Response.html(html, status=status)


def _key_of_other_length(datasette: Any, path: str, exception: Exception) -> bool:
    """Datasette binds a row page's key to the table's key columns: a key of fewer parts than a
    composite primary key (/history/petitions_changed/1) leaves one unbound, a 500 that is a 404."""
    return (
        isinstance(exception, sqlite3.ProgrammingError)
        and "binding" in str(exception)
        and row_path(datasette, path.removesuffix(".json")) is not None
    )


def _bad_through(request: Any, exception: Exception) -> bool:
    """?_through= takes JSON ({"table": ..., "column": ..., "value": ...}) naming a table with a
    foreign key to this one: anything else is the caller's mistake, which Datasette answers with a
    500 (a JSONDecodeError, a KeyError or TypeError from the parsed value, or its own error)."""
    raw = request.args.get("_through")
    if raw is None:
        return False
    if isinstance(exception, DatasetteError) and str(exception.message).startswith("Invalid _through"):
        return True
    try:
        data = json.loads(raw)
    except ValueError:
        return True
    return not (
        isinstance(data, dict)
        and all(isinstance(data.get(k), str) for k in ("table", "column"))
        and isinstance(data.get("value"), (str, int, float))  # one value to match, not a list
    )


async def error_response(datasette: Any, request: Any, exception: Exception) -> Response | None:
    if _bad_through(request, exception):
        exception = DatasetteError(THROUGH_MESSAGE, status=400)
        if request.path.endswith(".json"):
            return Response.json(
                {"ok": False, "error": THROUGH_MESSAGE, "status": 400, "title": None}, status=400
            )
    if _key_of_other_length(datasette, request.path, exception):
        exception = NotFound("Record not found")
        if request.path.endswith(".json"):
            return Response.json(
                {"ok": False, "error": "Record not found", "status": 404, "title": None}, status=404
            )
    status = status_of(exception)
    message = message_of(exception)
    path = request.path
    if path.endswith(".json"):
        if status == 400 and message.startswith("Cannot sort table by"):
            return Response.json({"ok": False, "error": message, "status": 400, "title": None}, status=400)
        return None
    title = getattr(exception, "title", None)
    parts = path.strip("/").split("/")
    on_database_page = len(parts) == 1 and parts[0] in datasette.databases
    if title in ("Invalid SQL", "SQL Interrupted") and "sql" in request.args and on_database_page:
        return await sql_page(datasette, request, parts[0], message, status)
    context: dict[str, Any] = {"ok": False, "error": message, "status": status, "title": None}
    if isinstance(exception, NotFound):
        located = row_path(datasette, path)
        if located is not None:
            deleted = await deleted_record(datasette, *located)
            if deleted is not None:
                context.update(title="这条记录已被删除", deleted=deleted)
    html = await datasette.render_template(["error.html"], context, request=request)
    return Response.html(html, status=status)
