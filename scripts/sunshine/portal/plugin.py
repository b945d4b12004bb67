"""Datasette plugin for the portal: Chinese pages, Chinese search, Excel downloads, headers, gzip.

- Pages: templates/ holds Chinese copies of the Datasette templates the portal overrides (listed with
  the SHA-256 of the upstream file they were copied from in upstream.json; a test fails when the
  installed Datasette's files differ). The Jinja global `portal` (sunshine.portal.context) gives
  them titles and Chinese words; static/ is served under /-/portal/static/; /-/help is the
  数据使用说明 page. Errors are rendered by sunshine.portal.errors.
- Paging: sunshine.portal.paging adds the primary-key tie-breaker to the first page of a sorted table.
- Downloads: sunshine.portal.excel adds the .xlsx renderer and makes CSV exports open right in Excel.
- gzip: sunshine.portal.compress, outermost.
- Record pages: sunshine.portal.labels shows the name beside a foreign key code.
- Search: a database built by sunshine.database stores the jieba user dictionary it was indexed
  with (table _build, key search_dictionary). On its connections this plugin replaces Datasette's
  escape_fts(), which builds the MATCH expression for ?_search= and ?_search_<column>=, with one
  that segments the query with that same dictionary (sunshine.search). It also adds segment(text)
  so anyone can see in SQL how a text was cut into words.
- CSV: every cell Datasette writes to a CSV export goes through sunshine.safety.neutralise_formula.
- Headers: Content-Security-Policy (same origin only; inline scripts of Datasette's own templates
  run only with a per-response nonce), X-Content-Type-Options, X-Frame-Options, Referrer-Policy.
- /robots.txt: table and row pages may be indexed; URLs with a query string (arbitrary SQL,
  search, facets, sorting, paging), JSON and CSV exports and canned queries may not.
"""

from __future__ import annotations

import csv
import secrets
import sqlite3
from pathlib import Path
from typing import Any

from datasette import Response, hookimpl
from jinja2 import ChoiceLoader, FileSystemLoader

from sunshine import headers as policy
from sunshine.chinese import search, words
from sunshine.markup import neutralise_formula
from sunshine.portal import compress, errors, excel, labels, paging, rowkeys, usage
from sunshine.portal.context import HELP_PATH, STATIC, Portal
from sunshine.portal.limits import (  # noqa: F401  (hooks: registered with this plugin)
    limits_asgi_wrapper,
    limits_prepare_connection,
    limits_startup,
)

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC_FILES = HERE / "static"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}

DICTIONARY_SQL = "SELECT value FROM _build WHERE key = 'search_dictionary'"
NOTHING = '""'  # an FTS5 expression that matches no row
MMAP_BYTES = 4 * 1024**3

SECURITY_HEADERS = {name.lower(): value for name, value in policy.SECURITY_HEADERS.items()}


def segmenter_for(conn: sqlite3.Connection) -> search.Segmenter | None:
    """The segmenter a portal database was indexed with, or None for any other database."""
    try:
        row = conn.execute(DICTIONARY_SQL).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    return search.Segmenter(words.tokenizer_from_lines(row[0].splitlines()))


@hookimpl(trylast=True)  # after Datasette's own prepare_connection, which registers its escape_fts
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    segmenter = segmenter_for(conn)
    if segmenter is None:
        return
    # The file is served immutable: map it into memory instead of copying pages into each
    # connection's cache (a search reads thousands of scattered rows to count its matches).
    conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")

    def escape_fts(query: str | None) -> str:
        return segmenter.match_expression(query) or NOTHING

    conn.create_function("escape_fts", 1, escape_fts, deterministic=True)
    conn.create_function("segment", 1, segmenter.index_text, deterministic=True)


@hookimpl
def startup(datasette: Any) -> Any:
    install_csv_neutraliser()

    async def warm_up() -> None:
        # Load jieba's dictionary now rather than during the first search request.
        for db in datasette.databases.values():
            await db.execute_fn(lambda conn: None)
        await paging.install(datasette)
        await labels.load(datasette)

    return warm_up


@hookimpl
def render_cell(value: Any, column: str, table: str | None, database: str, datasette: Any) -> Any:
    return labels.cell(value, column, table, database, datasette)


@hookimpl
def prepare_jinja2_environment(env: Any, datasette: Any) -> None:
    env.loader = ChoiceLoader([FileSystemLoader(str(TEMPLATES)), env.loader])
    env.globals["portal"] = Portal(datasette)


@hookimpl
def extra_js_urls(datasette: Any) -> list[dict[str, Any]]:
    return [{"url": datasette.urls.path(STATIC + "portal.js"), "module": False}]


@hookimpl
def handle_exception(datasette: Any, request: Any, exception: Exception) -> Any:
    async def inner() -> Response | None:
        return await errors.error_response(datasette, request, exception)

    return inner


@hookimpl
def register_output_renderer(datasette: Any) -> dict[str, Any]:
    return {"extension": "xlsx", "render": excel.render_xlsx}


class _NeutralisingWriter:
    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Any) -> Any:
        return self._writer.writerow([neutralise_formula(cell) for cell in row])


class _NeutralisingCsv:
    """Stands in for the csv module inside datasette.views.base, which writes CSV exports."""

    def __getattr__(self, name: str) -> Any:
        return getattr(csv, name)

    @staticmethod
    def writer(*args: Any, **kwargs: Any) -> _NeutralisingWriter:
        return _NeutralisingWriter(csv.writer(*args, **kwargs))


def install_csv_neutraliser() -> None:
    from datasette.views import base

    if not isinstance(base.csv, _NeutralisingCsv):
        base.csv = _NeutralisingCsv()


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        app = rowkeys.extra_key_app(datasette, excel.csv_app(datasette, app))

        async def with_headers(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            nonce = secrets.token_urlsafe(16)
            start: dict[str, Any] = {}
            chunks: list[bytes] = []

            async def send_with_headers(message: dict) -> None:
                if message["type"] == "http.response.start":
                    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _REPLACED]
                    headers += [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
                    headers.append((b"content-security-policy", csp_for(nonce).encode()))
                    message = {**message, "headers": headers}
                    if _is_html(headers):
                        start.update(message)  # hold until the body is complete
                        return
                    await send(message)
                elif start:
                    chunks.append(message.get("body", b""))
                    if not message.get("more_body"):
                        body = b"".join(chunks).replace(b"<script", f'<script nonce="{nonce}"'.encode())
                        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                        headers.append((b"content-length", str(len(body)).encode()))
                        await send({**start, "headers": headers})
                        await send({"type": "http.response.body", "body": body})
                else:
                    await send(message)

            await app(scope, receive, send_with_headers)

        return compress.gzip_app(with_headers)

    return wrap


def csp_for(nonce: str) -> str:
    return policy.csp([policy.nonce_source(nonce)])


_REPLACED = {b"x-frame-options", b"content-security-policy", b"x-content-type-options", b"referrer-policy"}


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)


async def robots_txt(datasette: Any, request: Any) -> Response:
    lines = [
        "# Tables and rows may be indexed; queries, searches, facets, exports and SQL may not.",
        "User-agent: *",
        "Allow: /$",
        "Disallow: /*?",
        "Disallow: /*.json",
        "Disallow: /*.csv",
        "Disallow: /*.db",
        "Disallow: /-/",
    ]
    for name in datasette.databases:
        if name.startswith("_"):
            continue
        queries = await datasette.get_canned_queries(name, None)
        lines += [f"Disallow: /{name}/{query}" for query in sorted(queries)]
    return Response.text("\n".join(lines) + "\n")


async def static_file(request: Any) -> Response:
    name = request.url_vars["name"]
    path = STATIC_FILES / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return Response.text("找不到这个文件。", status=404)
    return Response(
        path.read_bytes(),
        content_type=STATIC_TYPES.get(path.suffix, "application/octet-stream"),
        headers={"cache-control": "max-age=3600"},
    )


@hookimpl
def register_routes(datasette: Any) -> list:
    return [
        (r"^/robots\.txt$", robots_txt),
        (rf"^{STATIC}(?P<name>[A-Za-z0-9_.-]+)$", static_file),
        (rf"^{HELP_PATH}$", usage.usage_page),
    ]
