"""Bounds on what one request can make Datasette do, so the portal holds under hostile use.

Anyone may send SQL to the portal. Datasette's time limit interrupts a query between virtual
machine steps, but a single step can build a huge value (`printf('%.*c', 900000000, 'x')`,
`randomblob(900000000)`) and a fast query can return a page of huge values. So, on every
connection Datasette opens:

- SQLITE_LIMIT_LENGTH caps any one string or blob (MAX_VALUE_BYTES): such steps fail at once;
- a row factory counts the bytes a query returns and stops it past MAX_RESULT_BYTES;
- printf() and format() refuse a width or precision past MAX_VALUE_BYTES before running: SQLite
  repeats `%.*c` one character at a time and gives NULL, not an error, once the value is too big;
- the SQLite heap of the whole process is capped (`PRAGMA hard_heap_limit`), and caches give
  memory back above the soft limit, so sorting or grouping cannot take the machine's memory.

These failures reach the reader as a Chinese message instead of SQLite's English one.

Requests that carry SQL or filters of their own (any query string but paging) run on a
separate, small pool of threads (QUERY_THREADS, one less than the cores): however many slow queries are running, the
plain table, row and database pages that most people open keep Datasette's own threads.

The hooks below are registered as part of the portal plugin (sunshine.portal.plugin imports them).
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import os
import re
import sqlite3
import weakref
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from datasette import hookimpl

# The longest cell Excel holds is 32,767 characters (about 96 KB of UTF-8 Chinese). Ten times that
# leaves room for any value our tables, views and canned queries make, and fails a runaway value
# in milliseconds instead of after gigabytes.
MAX_VALUE_BYTES = 1024 * 1024
# One page of results (max_returned_rows = 1,000 rows) of our widest table is about 2 MB.
MAX_RESULT_BYTES = 32 * 1024 * 1024
# The longest LIKE or GLOB pattern, in bytes (100 Chinese characters). SQLite matches a pattern
# against a value in one uninterruptible step that grows with both lengths: a 4,000-byte pattern
# against a 1 MB value took 8 s (GLOB 15 s) past any time limit; 300 bytes take about half a second.
MAX_PATTERN_BYTES = 300
# The longest statement Datasette writes for a table page with many filters is a few KB.
MAX_SQL_BYTES = 100_000
# SQLite's memory for the whole process: caches shrink above the soft limit, and an allocation
# past the hard limit fails the statement that asked for it.
SOFT_HEAP_BYTES = 256 * 1024 * 1024
HARD_HEAP_BYTES = 512 * 1024 * 1024
# User-written queries and filtered pages run at most this many at once, on their own threads:
# one less than the cores this process may use (at least one), so a core is left for the pages.
QUERY_THREADS = max(1, len(os.sched_getaffinity(0)) - 1)
# Query string parameters that only page through a table; anything else is a query of the reader's.
PAGING = {"_next", "_size"}

TOO_BIG = (
    f"查询被拒绝：结果中有单个值超过 {MAX_VALUE_BYTES // 1024 // 1024} MB 的上限。"
    "请缩小查询范围，例如只选需要的列、用 substr() 截取，或加上 LIMIT。"
)
TOO_MUCH = (
    f"查询被拒绝：返回的数据超过 {MAX_RESULT_BYTES // 1024 // 1024} MB 的上限。"
    "请只选需要的列，或用 WHERE、LIMIT 缩小范围。"
)
TOO_LONG_PATTERN = (
    f"查询被拒绝：LIKE 或 GLOB 的匹配模式超过 {MAX_PATTERN_BYTES} 字节（约 {MAX_PATTERN_BYTES // 3} 个汉字）的上限。"
    "请缩短要查找的文字。"
)
NO_MEMORY = (
    f"查询被拒绝：它需要的内存超过了门户为所有查询保留的 {HARD_HEAP_BYTES // 1024 // 1024} MB。"
    "请缩小查询范围，例如先用 WHERE 筛选，少用 DISTINCT、GROUP BY 和 ORDER BY 处理大量行。"
)

# printf's conversions: %[flags][width][.precision]type, where width and precision may be `*`.
PRINTF_SPEC = re.compile(r"%([-+ 0#,!]*)(\*|\d+)?(?:\.(\*|\d+))?(l{0,2}[a-zA-Z%])")

_lane: contextvars.ContextVar[str] = contextvars.ContextVar("sunshine_lane", default="pages")


class QueryTooLarge(sqlite3.OperationalError):
    """A query went past one of the portal's bounds; the message says which, in Chinese."""


# What a refused printf() returns: one byte past the limit, so SQLite itself fails the statement.
_OVERSIZE = bytes(MAX_VALUE_BYTES + 1)


def bound_connection(conn: sqlite3.Connection) -> None:
    """Apply the per-connection limits and count what each query returns."""
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
    guarded = _guarded_printf()
    for name in ("printf", "format"):
        conn.create_function(name, -1, guarded, deterministic=True)
    conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, MAX_SQL_BYTES)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, MAX_PATTERN_BYTES)
    # SQLite's instr() compares the needle at every position (a 500 KB needle in a 1 MB value ran
    # 36 s in one step); Python's search is linear.
    conn.create_function("instr", 2, _instr, deterministic=True)
    conn.execute(f"PRAGMA soft_heap_limit = {SOFT_HEAP_BYTES}")
    conn.execute(f"PRAGMA hard_heap_limit = {HARD_HEAP_BYTES}")
    conn.row_factory = _counting_row_factory(conn.row_factory)


def _instr(haystack: Any, needle: Any) -> int | None:
    """SQLite's instr(X, Y): the 1-based position of Y in X (bytes for two blobs, else characters)."""
    if haystack is None or needle is None:
        return None
    if isinstance(haystack, bytes) and isinstance(needle, bytes):
        return haystack.find(needle) + 1
    return _text(haystack).find(_text(needle)) + 1


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:.1f}"
    return str(value)


def _counting_row_factory(inner: Callable[..., Any] | None) -> Callable[[sqlite3.Cursor, tuple], Any]:
    state: dict[str, Any] = {"cursor": None, "bytes": 0}

    def factory(cursor: sqlite3.Cursor, row: tuple) -> Any:
        if state["cursor"] is None or state["cursor"]() is not cursor:
            state["cursor"], state["bytes"] = weakref.ref(cursor), 0
        state["bytes"] += sum(len(v) if isinstance(v, str | bytes) else 8 for v in row)
        if state["bytes"] > MAX_RESULT_BYTES:
            raise QueryTooLarge(TOO_MUCH)
        return inner(cursor, row) if inner is not None else row

    return factory


def printf_widths(args: tuple[Any, ...]) -> list[int]:
    """The widths and precisions a call of printf(format, ...) asks for, as SQLite reads them."""
    if not args or not isinstance(args[0], str):
        return []
    rest = list(args[1:])
    out: list[int] = []
    for match in PRINTF_SPEC.finditer(args[0]):
        for part in match.group(2, 3):
            if part == "*":
                out.append(_as_integer(rest.pop(0) if rest else 0))
            elif part:
                out.append(int(part))
        if match.group(4) != "%" and rest:
            rest.pop(0)
    return out


# The number SQLite reads from a text or blob argument: its leading numeric prefix ('900000000abc',
# ' 9e8'), so a width passed as text is bounded like one passed as a number.
_NUMERIC_PREFIX = re.compile(rb"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _as_integer(value: Any) -> int:
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        match = _NUMERIC_PREFIX.match(value)
        if not match:
            return 0
        value = float(match.group())
    if isinstance(value, int | float):
        number = abs(float(value))
        return int(number) if number < 2**63 else 2**63
    return 0


def _guarded_printf() -> Callable[..., Any]:
    """SQLite's own printf, run on a private connection once the widths are known to be small."""
    own = sqlite3.connect(":memory:", check_same_thread=False)
    own.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)

    def printf(*args: Any) -> Any:
        if any(width > MAX_VALUE_BYTES for width in printf_widths(args)):
            return _OVERSIZE
        placeholders = ", ".join("?" * len(args))
        return own.execute(f"SELECT printf({placeholders})", args).fetchone()[0]

    return printf


def _in_chinese(fn: Callable[[], Any]) -> Callable[[], Any]:
    """Run fn, turning SQLite's own words for a bound it hit into the portal's Chinese message."""

    def run() -> Any:
        try:
            return fn()
        except MemoryError as exc:  # SQLITE_NOMEM: the hard heap limit was reached
            raise QueryTooLarge(NO_MEMORY) from exc
        except sqlite3.DatabaseError as exc:
            if str(exc) == "string or blob too big":
                raise QueryTooLarge(TOO_BIG) from exc
            if str(exc) == "LIKE or GLOB pattern too complex":
                raise QueryTooLarge(TOO_LONG_PATTERN) from exc
            raise

    return run


class LaneExecutor(concurrent.futures.Executor):
    """Datasette's thread pool for its own pages, a second one for the readers' queries."""

    def __init__(self, pages: concurrent.futures.Executor, queries: concurrent.futures.Executor) -> None:
        self.pages = pages
        self.queries = queries

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future:
        pool = self.queries if _lane.get() == "queries" else self.pages
        return pool.submit(_in_chinese(lambda: fn(*args, **kwargs)))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.pages.shutdown(wait=wait, cancel_futures=cancel_futures)
        self.queries.shutdown(wait=wait, cancel_futures=cancel_futures)


def lane_for(query_string: bytes) -> str:
    """'queries' for a request that asks for SQL, filters, facets or sorting of its own, else 'pages'."""
    params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return "queries" if any(name not in PAGING for name, _ in params) else "pages"


@hookimpl(specname="prepare_connection")
def limits_prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    bound_connection(conn)


@hookimpl(specname="startup")
def limits_startup(datasette: Any) -> None:
    if datasette.executor is not None and not isinstance(datasette.executor, LaneExecutor):
        queries = concurrent.futures.ThreadPoolExecutor(QUERY_THREADS, thread_name_prefix="sunshine-query")
        datasette.executor = LaneExecutor(datasette.executor, queries)


@hookimpl(specname="asgi_wrapper")
def limits_asgi_wrapper(datasette: Any) -> Any:
    def wrap(app: Any) -> Any:
        async def in_lane(scope: dict, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                _lane.set(lane_for(scope.get("query_string", b"")))
            await app(scope, receive, send)

        return in_lane

    return wrap
