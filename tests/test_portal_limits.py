"""The portal under hostile queries: huge values and huge results fail at once with a Chinese
message, and plain pages are served while slow queries hold every query thread."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import pytest

from sunshine.portal import limits

from .portal_support import running_datasette, sample_database

SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
HOSTILE = {
    "a repeated character": "SELECT printf('%.*c', 900000000, 'x')",
    "format, printf's other name": "SELECT format('%.*c', 900000000, 'x')",
    "three huge blobs": "SELECT randomblob(900000000), randomblob(900000000), randomblob(900000000)",
    "a huge zero blob": "SELECT length(zeroblob(900000000))",
    "a huge string": "SELECT replace(hex(zeroblob(600000)), '0', 'xx')",
    "a thousand large rows": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
        "SELECT zeroblob(900000) FROM c"
    ),
}


@pytest.fixture(scope="module")
def server():
    with running_datasette([sample_database()], time_limit_ms=4000) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server):
    with server.client() as client:
        yield client


@pytest.mark.parametrize("sql", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_query_making_huge_values_is_refused_at_once_in_chinese(http, sql):
    started = time.perf_counter()
    response = http.get("/sunshine.json", params={"sql": sql})
    assert time.perf_counter() - started < 2.0  # well inside the 4 s time limit: refused, not timed out
    assert response.status_code == 400
    assert response.json()["error"].startswith("查询被拒绝：")


def test_the_refusal_names_the_limit_on_the_html_page_too(http):
    response = http.get("/sunshine", params={"sql": HOSTILE["three huge blobs"]})
    assert response.status_code == 400
    assert limits.TOO_BIG in response.text


def test_ordinary_printf_and_large_enough_values_still_work(http):
    sql = "SELECT printf('%05.1f|%s|%-4d|', 3.14159, '诉求', 42), length(printf('%.*c', 100000, 'x'))"
    response = http.get("/sunshine.json", params={"sql": sql, "_shape": "arrays"})
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [["003.1|诉求|42  |", 100000]]


def test_a_table_page_is_served_while_waves_of_slow_queries_hold_the_query_threads(server, http):
    assert http.get("/sunshine/petitions").status_code == 200  # its connection is open
    finished: list[float] = []

    def slow() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            client.get("/sunshine.json", params={"sql": SLOW})
        finished.append(time.perf_counter())

    waves = 3  # of slow queries, each filling the query threads
    threads = [threading.Thread(target=slow) for _ in range(waves * limits.QUERY_THREADS)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the slow queries are now running (or queued behind each other)
    response = http.get("/sunshine/petitions")
    served = time.perf_counter()
    for thread in threads:
        thread.join()
    assert response.status_code == 200
    # The slow queries run in waves on their own threads (one less than the cores): a page queued
    # behind them would come after the last wave. Before the first is not asked: on a loaded
    # machine the page's own work can take as long as a query's time limit.
    assert len(finished) == len(threads) and served < max(finished)


@pytest.mark.parametrize(
    ("query_string", "lane"),
    [
        (b"", "pages"),
        (b"_next=50", "pages"),
        (b"_next=50&_size=20", "pages"),
        (b"sql=select+1", "queries"),
        (b"_where=1", "queries"),
        (b"_facet=category", "queries"),
        (b"_search=%E8%B7%AF%E7%81%AF", "queries"),
        (b"_sort=received_on&_next=50", "queries"),
    ],
)
def test_only_plain_and_paged_pages_keep_datasettes_own_threads(query_string, lane):
    assert limits.lane_for(query_string) == lane


@pytest.mark.parametrize(
    ("args", "widths"),
    [
        (("%.*c", 900000000, "x"), [900000000]),
        (("%d 项，%5.2f 元，%s，100%%", 3, 1.5, "a"), [5, 2]),
        (("%-*s|%0*d", 10, "a", 5, 3), [10, 5]),
        (("%s", 900000000), []),
        ((None,), []),
        (("%.*c", "900000000", "x"), [900000000]),
        (("%.*c", " 9e8 px", "x"), [900000000]),
        (("%.*c", b"900000000", "x"), [900000000]),
        (("%*c", "-900000000", "x"), [900000000]),
        (("%.*c", "1e999", "x"), [2**63]),
        (("%.*c", "宽", "x"), [0]),
    ],
)
def test_printf_widths_are_read_as_sqlite_reads_them(args, widths):
    assert limits.printf_widths(args) == widths


@pytest.fixture
def bounded():
    conn = sqlite3.connect(":memory:")
    limits.bound_connection(conn)
    yield conn
    # The heap limits are the whole process's: lift them again for the other tests of this worker.
    conn.execute("PRAGMA hard_heap_limit = 0")
    conn.execute("PRAGMA soft_heap_limit = 0")
    conn.close()


def test_a_bounded_connection_refuses_a_huge_value_and_a_huge_result(bounded):
    conn = bounded
    with pytest.raises(sqlite3.DataError):
        conn.execute("SELECT randomblob(?)", [limits.MAX_VALUE_BYTES + 1])
    rows = (limits.MAX_RESULT_BYTES // (limits.MAX_VALUE_BYTES // 2)) + 2
    sql = f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows}) SELECT zeroblob(?) FROM c"
    with pytest.raises(limits.QueryTooLarge, match="返回的数据超过"):
        conn.execute(sql, [limits.MAX_VALUE_BYTES // 2]).fetchall()
    assert conn.execute("SELECT length(zeroblob(?))", [limits.MAX_VALUE_BYTES]).fetchone() == (
        limits.MAX_VALUE_BYTES,
    )


@pytest.mark.parametrize("width", ["'900000000'", "' 9e8'", "x'393030303030303030'", "'900000000 wide'"])
def test_a_width_passed_as_text_or_blob_fails_at_once_like_a_number(width):
    conn = sqlite3.connect(":memory:")
    limits.bound_connection(conn)
    with pytest.raises(sqlite3.DataError, match="too big"):
        conn.execute(f"SELECT printf('%.*c', {width}, 'x')").fetchone()
    assert conn.execute("SELECT printf('%.*c', '3', 'x')").fetchone() == ("xxx",)


LONG_VALUE = "(SELECT replace(hex(zeroblob(500000)), '0', 'a'))"


@pytest.mark.parametrize(
    "sql",
    [
        f"SELECT {LONG_VALUE} LIKE '%' || replace(hex(zeroblob(2000)), '0', 'a') || 'b%'",
        f"SELECT {LONG_VALUE} GLOB '*' || replace(hex(zeroblob(2000)), '0', 'a') || 'b*'",
    ],
    ids=["like", "glob"],
)
def test_a_long_like_or_glob_pattern_is_refused_before_it_runs(sql):
    conn = sqlite3.connect(":memory:")
    limits.bound_connection(conn)
    with pytest.raises(sqlite3.OperationalError, match="pattern too complex"):
        conn.execute(sql).fetchone()
    assert conn.execute("SELECT '清溪村诉求' LIKE '%诉求%', '清溪村' GLOB '清*'").fetchone() == (1, 1)


def test_instr_answers_as_sqlite_s_own_and_a_long_needle_does_not_stall_it():
    conn = sqlite3.connect(":memory:")
    limits.bound_connection(conn)
    plain = sqlite3.connect(":memory:")
    for sql in [
        "SELECT instr('清溪村诉求', '诉求'), instr('abc', 'x'), instr(NULL, 'a'), instr('a', NULL)",
        "SELECT instr(x'00010203', x'0203'), instr(12345, 34), instr('a1.5', 1.5), instr('', '')",
    ]:
        assert conn.execute(sql).fetchone() == plain.execute(sql).fetchone()
    needle = "replace(hex(zeroblob(250000)), '0', 'a') || 'b'"
    assert conn.execute(f"SELECT instr({LONG_VALUE}, {needle})").fetchone() == (0,)
