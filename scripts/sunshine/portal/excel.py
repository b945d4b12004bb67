"""Downloads a clerk can open in Excel or WPS: .xlsx with text codes, CSV with a BOM and a Chinese name.

- `.xlsx` (a Datasette output renderer): the rows of the page (up to max_returned_rows with
  `_size=max`), headers in Chinese, every text cell stored as text so a village code stays
  990101101201 and never becomes 9.90101E+11; formulas are neutralised as in the CSV export; a second
  sheet maps each Chinese header to its contract column name.
- CSV (Datasette's own export, adjusted on the way out by `csv_download`): a UTF-8 byte order mark
  so Chinese Windows Excel reads UTF-8, `text/csv`, and an attachment named after the table's
  Chinese title.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import quote, unquote

from datasette import Response
from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

from sunshine.markup import neutralise_formula
from sunshine.portal.context import Portal

BOM = "\ufeff".encode()
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE = re.compile(r'[\\/:*?"<>|\s]+')


def attachment(filename: str) -> str:
    """A Content-Disposition naming the file in Chinese (RFC 6266), with an ASCII fallback."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename.encode("ascii", "ignore").decode()) or "data"
    if fallback.startswith("."):
        fallback = "data" + fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def file_stem(portal: Portal, database: str, table: str | None, query_name: str | None) -> str:
    name = table or query_name
    title = portal.table_title(database, name) if name else f"{portal.database_title(database)}查询结果"
    return _UNSAFE.sub("_", title)


def _cells(row: Any, columns: list[str]) -> list[Any]:
    if isinstance(row, (list, tuple)):
        return list(row)
    return [row[c] for c in columns]


def render_xlsx(
    datasette: Any, columns: list[str], rows: list, database: str, table: str | None, query_name: str | None
) -> Response:
    portal = Portal(datasette)
    values = [_cells(row, columns) for row in rows]
    # With ?_labels=on a foreign key cell is {"value": code, "label": name}: the code, then the name.
    labelled = {i for row in values for i, v in enumerate(row) if isinstance(v, dict)}
    titles: list[str] = []
    names: list[str] = []
    for i, column in enumerate(columns):
        titles.append(portal.column_title(database, table or query_name, column))
        names.append(column)
        if i in labelled:
            titles.append(f"{titles[-1]}对应的名称")
            names.append(f"{column}_label")
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(titles)
    for row in values:
        cells: list[Any] = []
        for i, value in enumerate(row):
            if i in labelled:
                pair = value if isinstance(value, dict) else {"value": value, "label": None}
                cells += [pair.get("value"), pair.get("label")]
            else:
                cells.append(value)
        sheet.append([neutralise_formula(v) for v in cells])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = TYPE_STRING
                cell.number_format = "@"
    sheet.freeze_panes = "A2"
    mapping = book.create_sheet("列名对照")
    mapping.append(["中文列名", "数据列名"])
    for title, column in zip(titles, names, strict=True):
        mapping.append([title, column])
    out = io.BytesIO()
    book.save(out)
    stem = file_stem(portal, database, table, query_name)
    return Response(
        out.getvalue(),
        content_type=XLSX_TYPE,
        headers={"content-disposition": attachment(f"{stem}.xlsx")},
    )


def csv_download(datasette: Any, path: str) -> str | None:
    """The Chinese file name of a CSV export at this path, or None when the path is not one."""
    if not path.endswith(".csv"):
        return None
    parts = [unquote(p) for p in path[: -len(".csv")].strip("/").split("/")]
    if not parts or parts[0] not in datasette.databases:
        return None
    portal = Portal(datasette)
    table = parts[1] if len(parts) == 2 else None
    return file_stem(portal, parts[0], table, None) + ".csv"


def csv_app(datasette: Any, app: Any) -> Any:
    """ASGI middleware: CSV exports get a BOM, text/csv and a Chinese attachment name."""

    async def with_bom(scope: dict, receive: Any, send: Any) -> None:
        filename = csv_download(datasette, scope.get("path", "")) if scope["type"] == "http" else None
        if filename is None:
            await app(scope, receive, send)
            return
        state = {"first": True, "ok": False}

        async def send_csv(message: dict) -> None:
            if message["type"] == "http.response.start":
                state["ok"] = message.get("status") == 200
                if state["ok"]:
                    headers = [
                        (k, v)
                        for k, v in message.get("headers", [])
                        if k.lower() not in (b"content-type", b"content-disposition", b"content-length")
                    ]
                    headers += [
                        (b"content-type", b"text/csv; charset=utf-8"),
                        (b"content-disposition", attachment(filename).encode()),
                    ]
                    message = {**message, "headers": headers}
            elif message["type"] == "http.response.body" and state["ok"] and state["first"]:
                state["first"] = False
                message = {**message, "body": BOM + message.get("body", b"")}
            await send(message)

        await app(scope, receive, send_csv)

    return with_bom
