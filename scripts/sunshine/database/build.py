"""Build build/sunshine.db: typed tables from the Table Schemas, indexes, views and Chinese search.

Types follow the schemas: codes and IDs stay TEXT (leading zeros kept), dates are ISO TEXT,
integers INTEGER, booleans 0/1 INTEGER. Amounts (`number` fields such as amount_yuan) are REAL
under their contract name, each the nearest double to a value with at most two decimals; the
views and canned queries add them up in integer fen (round(amount_yuan * 100)), which is exact,
and a journalist's own sum is exact to the fen after round(sum(amount_yuan), 2).

The build writes a temporary file beside the target, checks it, and moves it over the previous
database in one step, so a failed or killed build leaves the last good database in place.
A fingerprint of the inputs and of this code is stored in the hidden _build table; a rebuild
with nothing changed returns at once.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import itertools
import json
import multiprocessing
import os
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from sunshine import figures, staging
from sunshine.chinese import search, words
from sunshine.database import incremental
from sunshine.database.load import load_tables, value_sql
from sunshine.deadlines import periods as deadline_periods
from sunshine.deadlines import rules as deadline_rules
from sunshine.deadlines import status as deadline_status
from sunshine.package import Project, Table
from sunshine.problems import BuildError

# Bump when the database layout changes in a way the code hash would not show.
LAYOUT_VERSION = "1"
# Tables in an order that satisfies foreign keys.
SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "year": "INTEGER"}

DAYS_TO_RESOLVE = figures.DAYS_SQL

# Columns people filter, facet and sort by, as (index name suffix, indexed terms), and no more:
# tests/test_database.py shows with EXPLAIN QUERY PLAN that every canned query and every page the
# site links to reads one of them. The petitions indexes also cover the canned queries: days to
# resolve is indexed as an expression, spelled exactly as the queries and the petitions_detail
# view spell it, so they read no table rows. Each petitions index, by what it serves (building
# one takes 0.3-1.3 s a million rows, most of it sorting, so none is kept for a query another serves):
# - figures: the petition_figures query behind every figure on the site, and the village pages
#   (village_code, optionally category, sorted by resolved_on), which its leading column serves;
# - category: the category filter sorted by received_on (the table's own order) and its count;
# - category_days, department_days, month_days: the statistics by category, department and month
#   (median, 90th percentile), which read each group's days in order;
# - channel: the channel filter and petitions_by_channel_and_type;
# - grid_id: the grid pages and petitions per 1,000 residents by grid;
# - satisfaction: the satisfaction facet;
# - received_on, resolved_on: the table as it opens and every link sorted by resolved_on.
INDEXES: dict[str, list[tuple[str, str]]] = {
    "grids": [("village_code", "village_code")],
    "grid_staff": [("grid_id", "grid_id"), ("role", "role")],
    "committee_members": [("village_code", "village_code")],
    "commitments": [("member_id", "member_id"), ("deadline", "status, deadline")],
    "disclosures": [
        ("village_code", "village_code, published_on"),
        ("category", "category, published_on"),
        ("topic", "topic, published_on"),
        ("published_on", "published_on"),
    ],
    "petitions": [
        ("grid_id", "grid_id"),
        ("category", "category, received_on"),
        ("category_days", f"category, {DAYS_TO_RESOLVE}, received_on, satisfaction"),
        ("department_days", f"department, {DAYS_TO_RESOLVE}, received_on, satisfaction"),
        ("month_days", f"substr(received_on, 1, 7), {DAYS_TO_RESOLVE}, category, satisfaction"),
        # Covers the petition_figures query behind the site's figures (sunshine.figures).
        ("figures", "village_code, resolved_on, received_on, category, channel, department, satisfaction"),
        ("satisfaction", "satisfaction"),
        ("channel", "channel, request_type, received_on"),
        ("received_on", "received_on"),
        ("resolved_on", "resolved_on"),
    ],
}

VIEWS = {
    "petitions_detail": f"""
        SELECT p.case_id, p.village_code, v.name AS village_name, p.grid_id, g.name AS grid_name,
               p.channel, p.request_type, p.category, p.summary, p.received_on, p.resolved_on,
               {DAYS_TO_RESOLVE.replace("resolved_on", "p.resolved_on").replace("received_on", "p.received_on")}
                   AS days_to_resolve,
               p.department, p.outcome, p.followup_on,
               CAST(julianday(p.followup_on) - julianday(p.resolved_on) AS INTEGER) AS days_to_followup,
               p.satisfaction,
               substr(p.received_on, 1, 4) AS received_year,
               substr(p.received_on, 1, 7) AS received_month
        FROM petitions AS p
        JOIN villages AS v ON v.village_code = p.village_code
        LEFT JOIN grids AS g ON g.grid_id = p.grid_id""",
    "disclosures_detail": """
        SELECT d.disclosure_id, d.village_code, v.name AS village_name, d.category, d.topic,
               d.title, d.content, d.period, substr(d.period, 1, 4) AS year, d.published_on,
               d.amount_yuan, CAST(round(d.amount_yuan * 100) AS INTEGER) AS amount_fen,
               d.direction, d.approval_ref, d.responsible
        FROM disclosures AS d
        JOIN villages AS v ON v.village_code = d.village_code""",
    "grid_staff_detail": """
        SELECT s.staff_id, s.name, s.role, s.party_member, s.work_phone, s.duties, s.since,
               s.grid_id, g.name AS grid_name, g.village_code, v.name AS village_name
        FROM grid_staff AS s
        JOIN grids AS g ON g.grid_id = s.grid_id
        JOIN villages AS v ON v.village_code = g.village_code""",
}


def build_database(project: Project, target: Path, keeper: staging.Keeper | None = None) -> str:
    """Build target atomically from the validated CSVs; return a one-line Chinese summary.

    When only rows changed since the last build, the last database is updated from those rows
    (database/incremental.py); otherwise, or when that is not possible, it is built in full and
    the summary says why. With a `keeper`, an update in place leaves its transaction open for it,
    and a new file is renamed into place only once the keeper has kept the last one aside.
    """
    target = Path(target)
    staging.roll_back_interrupted(target)  # an in-place update a killed build left half-written
    static = static_fingerprint(project)
    previous = stored_build_info(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if previous.get("static") == static:
        digests = input_digests(project)
        fingerprint = _combined(static, digests, _rules_digest(project))
        if previous.get("fingerprint") == fingerprint:
            return f"数据库没有变化，沿用 {_shown(project, target)}（{_counts_text(project, previous)}）"
        inputs: Callable[[], dict[str, str]] = lambda: digests  # noqa: E731
    else:  # hashed before the load, never after it: a file saved during the build must not pass for built
        digests = input_digests(project)
        inputs = _copied_beside(project, target, digests)
    staging.remove_stale(target)  # temporaries of builds that were killed
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    how = ""
    try:
        counts, in_place = None, False
        if previous.get("static") == static:
            try:
                counts, rows, in_place = _update(project, target, tmp, previous, digests, fingerprint, keeper)
                how = f"，按变化的 {rows:,} 行更新"
                if previous.get("inputs") == digests:  # the same rows: the fingerprint moved with the rules
                    how = "，公开时限规则有变化，重算了公开状态"
            except incremental.NotIncremental as exc:
                how = f"，全量重建：{exc}"
                tmp.unlink(missing_ok=True)
        elif previous:
            how = "，全量重建：表结构、词表或程序有变化"
        if counts is None:
            counts = _build(project, tmp, static, inputs)
        if not in_place:
            if keeper is not None:
                keeper.replacing(target)
            os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise BuildError(f"写入数据库时出错：{exc}。请先运行 sunshine validate 检查数据。") from exc
    finally:
        tmp.unlink(missing_ok=True)
    incremental.keep_inputs(project, target, inputs(), list(project.load_order))
    return f"数据库已写入 {_shown(project, target)}（{_counts_text(project, {'counts': counts})}{how}）"


def _update(
    project: Project,
    target: Path,
    tmp: Path,
    previous: dict[str, Any],
    digests: dict[str, str],
    fingerprint: str,
    keeper: staging.Keeper | None = None,
) -> tuple[dict[str, int], int, bool]:
    """Apply the rows that changed to the last database; (row counts, rows changed, whether in place).

    In sunshine.db itself, in one transaction checked before it commits (with a `keeper`: checked,
    and left open for it), when nothing else holds the file (no bundle links it and no Datasette has
    it open); else on a copy at `tmp`, checked (quick_check too) before it is renamed into place."""
    clock = _Clock()
    kept = incremental.inputs_dir(target)
    deltas = []
    for name in project.load_order:
        old = previous.get("inputs", {}).get(name)
        if old == digests.get(name):
            continue
        table = project.tables[name]
        copy = kept / f"{name}.{old}.csv"
        if old is None or name not in digests or not copy.exists():
            raise incremental.NotIncremental("上一次构建的输入副本不在了")
        deltas.append(incremental.delta(table, copy, project.root / table.path, (old, digests[name])))
    clock.lap("compare with the last inputs")
    in_place = not staging.held_elsewhere(target)
    if not in_place:
        shutil.copyfile(target, tmp)
        clock.lap("copy")
    segmenter = None
    if any(d.table.name in project.searchable for d in deltas):
        segmenter = search.Segmenter(words.tokenizer_from_lines(words.dictionary_lines(project)))
    counts = dict(previous.get("counts", {}))
    applied = incremental.Applied()
    held = False
    conn = sqlite3.connect(target if in_place else tmp, isolation_level=None)
    try:
        if in_place:  # a rollback journal: a killed build is rolled back when the file is next opened
            conn.executescript(
                "PRAGMA journal_mode = DELETE; PRAGMA synchronous = FULL; PRAGMA cache_size = -200000;"
            )
            conn.execute("BEGIN IMMEDIATE")
            conn.set_authorizer(staging.no_transaction_control)
        else:
            _pragmas(conn)
            conn.execute("BEGIN")
        for d in deltas:
            incremental.apply(
                conn,
                d,
                [value_sql(f) for f in d.table.fields],
                project.searchable.get(d.table.name, ()),
                segmenter,
                applied,
            )
            counts[d.table.name] = counts.get(d.table.name, 0) + applied.counts[d.table.name]
        # The 公开时限 statuses follow from the disclosures as a whole: written again, from the one definition.
        conn.execute(f"DROP TABLE IF EXISTS {deadline_status.TABLE}")
        _load_deadlines(conn, project)
        _write_build_info(conn, fingerprint, counts, static=previous["static"], digests=digests, replace=True)
        if not in_place:
            conn.execute("COMMIT")
        clock.lap("apply")
        conn.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        for table in {d.table.name for d in deltas} | {deadline_status.TABLE}:  # as a cold build: no others
            conn.execute(f"ANALYZE main.{table}")
        clock.lap("analyze")
        # In place, every page written is SQLite's own, in this one transaction, as in a cold build
        # (see _check): no quick_check. A copy is quick-checked: an earlier build wrote most of it.
        problems = [] if in_place else [r[0] for r in conn.execute("PRAGMA quick_check") if r[0] != "ok"]
        problems += incremental.check_foreign_keys(conn, project, applied)
        for d in deltas:
            name = d.table.name
            rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            if rows != counts[name]:
                problems.append(f"{name}: {rows} 行，应为 {counts[name]} 行")
        problems += _unindexed(conn, [d.table.name for d in deltas if d.table.name in project.searchable])
        if in_place:
            conn.set_authorizer(None)
            if problems or keeper is None:
                conn.execute("ROLLBACK" if problems else "COMMIT")
            else:
                keeper.hold(target, conn)
                held = True
        clock.lap("checks")
    finally:
        if not held:
            if conn.in_transaction:
                conn.set_authorizer(None)
                conn.execute("ROLLBACK")
            conn.close()
    if problems:
        raise BuildError("更新后的数据库没有通过检查（" + "；".join(problems[:3]) + "）")
    return counts, sum(d.size for d in deltas), in_place


def _shown(project: Project, target: Path) -> str:
    try:
        return str(target.resolve().relative_to(project.root))
    except ValueError:
        return str(target)


def _counts_text(project: Project, info: dict[str, Any]) -> str:
    counts = info.get("counts", {})
    titles = {name: table.title for name, table in project.tables.items()}
    return "，".join(f"{titles.get(k, k)} {v:,} 行" for k, v in counts.items())


def code_files() -> list[Path]:
    return [
        Path(__file__),
        Path(incremental.__file__),
        Path(search.__file__),
        Path(words.__file__),
        words.DOMAIN_WORDS,
        *(Path(m.__file__) for m in (deadline_periods, deadline_rules, deadline_status)),
    ]


def static_fingerprint(project: Project) -> str:
    """SHA-256 over what shapes the database apart from the rows: descriptor, schemas, words, code."""
    h = hashlib.sha256(LAYOUT_VERSION.encode())
    descriptor = project.root / "datapackage.json"
    h.update(descriptor.read_bytes() if descriptor.exists() else b"\0missing")
    for table in project.tables.values():
        h.update(json.dumps(table.schema, sort_keys=True, ensure_ascii=False).encode())
    h.update("\n".join(words.dictionary_lines(project)).encode())
    for path in code_files():
        h.update(path.read_bytes())
    return h.hexdigest()


def _rules_digest(project: Project) -> str:
    """The 公开时限 rules: they shape one derived table, which every update writes again."""
    rules = project.root / deadline_rules.FILENAME
    return hashlib.sha256(rules.read_bytes() if rules.exists() else b"\0missing").hexdigest()


def input_digests(project: Project) -> dict[str, str]:
    """git's object id of each table's CSV, by table name (missing files are left out)."""
    out = {}
    for name in project.load_order:
        path = project.root / project.tables[name].path
        if path.exists():
            out[name] = incremental.digest(path)
    return out


def _combined(static: str, digests: dict[str, str], rules: str) -> str:
    return hashlib.sha256((static + json.dumps(digests, sort_keys=True) + rules).encode()).hexdigest()


def input_fingerprint(project: Project) -> str:
    """SHA-256 over the descriptor, schemas, CSVs, word list and the code that builds."""
    return _combined(static_fingerprint(project), input_digests(project), _rules_digest(project))


def stored_build_info(target: Path) -> dict[str, Any]:
    """What the _build table of an existing database says, or {} when there is none."""
    if not Path(target).exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
        try:
            rows = dict(conn.execute("SELECT key, value FROM _build").fetchall())
        finally:
            conn.close()
    except sqlite3.Error:
        return {}
    return {
        "fingerprint": rows.get("fingerprint"),
        "counts": json.loads(rows.get("counts") or "{}"),
        "static": rows.get("static"),
        "inputs": json.loads(rows.get("inputs") or "{}"),
    }


# Seconds spent in each step of the last build in this process, for the benchmark.
LAST_TIMINGS: dict[str, float] = {}


class _Clock:
    def __init__(self) -> None:
        LAST_TIMINGS.clear()
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        LAST_TIMINGS[name] = LAST_TIMINGS.get(name, 0.0) + now - self.t
        self.t = now


def _copied_beside(project: Project, target: Path, digests: dict[str, str]) -> Callable[[], dict[str, str]]:
    """A cold build's inputs copied for the next build by the kernel while the build runs (0.6 s a
    county after the build before). The digests are taken before the load: a file saved during
    the build then differs from its recorded digest, and the next build reads it again."""
    folder = incremental.inputs_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    for name, digest in digests.items():
        incremental.copy_ahead(project.root / project.tables[name].path, folder / f"{name}.{digest}.csv")
    return lambda: digests


def _build(project: Project, path: Path, static: str, inputs: Callable[[], dict[str, str]]) -> dict[str, int]:
    """Typed tables and indexes here; Chinese segmentation shared with a second process.

    Segmenting and indexing a million texts takes about as long as loading and indexing the
    tables, so a worker starts at once, on the other core, reading the CSVs a block at a time and
    writing an FTS5 index in its own file. When the tables are done, this process takes its share
    of the chunks of rows left, reading them from the tables it has just loaded. The worker's
    index is then copied in (its shadow tables, under an identical FTS5 table) and this process's
    chunks are added to it.
    """
    clock = _Clock()
    dictionary = words.dictionary_lines(project)
    fts_path = path.with_name(path.name + ".fts")
    ctx = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads (polars, sqlite)
    counters = {table: ctx.Value("q", 0) for table in project.searchable}
    fts_path.unlink(missing_ok=True)
    worker = ctx.Process(
        target=write_search_index,
        args=(_search_sources(project), dictionary, str(fts_path), counters, CHUNK, os.getpid()),
        name="sunshine-search-index",
        daemon=True,
    )
    worker.start()
    conn: sqlite3.Connection | None = None
    try:
        tables = [project.tables[name] for name in project.load_order]
        conn = load_tables(path, project, tables, [create_table_sql(t) for t in tables], _build_pragmas)
        counts = {t.name: conn.execute(f"SELECT count(*) FROM {t.name}").fetchone()[0] for t in tables}
        clock.lap("load")
        conn.execute(f"PRAGMA cache_size = {-INDEX_CACHE_KB}")
        for table in tables:
            for suffix, terms in INDEXES.get(table.name, []):
                # A sort thread only on a core the search worker has left free: beside the worker,
                # it slows both (a county's cold build took 18.0 s with it, 16.6 s without).
                conn.execute(f"PRAGMA threads = {0 if worker.is_alive() else 2}")
                conn.execute(f"CREATE INDEX idx_{table.name}_{suffix} ON {table.name} ({terms})")
        for name, sql in VIEWS.items():
            conn.execute(f"CREATE VIEW {name} AS {sql}")
        _load_deadlines(conn, project)
        conn.execute("CREATE TABLE _build (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO _build VALUES ('search_dictionary', ?)", ["\n".join(dictionary)])
        digests = inputs()
        fingerprint = _combined(static, digests, _rules_digest(project))
        _write_build_info(conn, fingerprint, counts, static=static, digests=digests)
        # Statistics for the planner, of the tables and their indexes, while the search worker
        # still runs (the search index's shadow tables are read by rowid and key alone).
        conn.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
        conn.execute("ANALYZE")
        clock.lap("indexes")
        conn.execute(f"PRAGMA cache_size = {-SEARCH_CACHE_KB}")  # the index sorts are done: memory back
        # Made when this process first claims rows: when the worker has taken them all, loading
        # jieba's dictionary here (0.7 s) would only delay the build.
        segmenter = functools.cache(lambda: search.Segmenter(words.tokenizer_from_lines(dictionary)))
        mine = {
            table: list(_segment_chunks(segmenter, _table_rows(conn, table, columns), counters[table], CHUNK))
            for table, columns in project.searchable.items()
        }
        clock.lap("segment (this process's share)")
        _finish_search_worker(worker)
        clock.lap("wait for search worker")
        _copy_search_index(conn, fts_path, project.searchable)
        conn.close()
        # A fresh connection: FTS5 must not rely on what it cached before the copy.
        conn = sqlite3.connect(path, isolation_level=None)
        _pragmas(conn)
        conn.execute("BEGIN")
        for table, rows in mine.items():
            _insert_segmented(conn, table, project.searchable[table], rows)
            conn.execute(f"DELETE FROM {search.fts_table(table)}_config WHERE k = 'hashsize'")
        conn.execute("COMMIT")
        clock.lap("copy and complete search index")
    except BaseException:
        if worker.is_alive():
            worker.terminate()
        worker.join()
        raise
    finally:
        if conn is not None:
            conn.close()
        fts_path.unlink(missing_ok=True)
    _check(path, clock, counts, tuple(project.searchable))
    return counts


def _write_build_info(
    conn: sqlite3.Connection,
    fingerprint: str,
    counts: dict[str, int],
    *,
    static: str,
    digests: dict[str, str],
    replace: bool = False,
) -> None:
    conn.executemany(
        f"INSERT {'OR REPLACE ' if replace else ''}INTO _build VALUES (?, ?)",
        [
            ("fingerprint", fingerprint),
            ("counts", json.dumps(counts)),
            ("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
            ("static", static),
            ("inputs", json.dumps(digests, sort_keys=True)),
        ],
    )


def _load_deadlines(conn: sqlite3.Connection, project: Project) -> None:
    """The table of 公开时限 statuses, from the one definition in sunshine.deadlines.status."""
    try:
        _, statuses = deadline_status.project_statuses(project)
    except deadline_rules.RulesError as exc:
        raise BuildError(f"公开时限规则有误，无法计算公开状态：\n{exc}") from exc
    columns = list(deadline_status.COLUMNS)
    types = {"days_late": "INTEGER", "later_count": "INTEGER"}
    conn.execute(
        f"CREATE TABLE {deadline_status.TABLE} ("
        + ", ".join(f"{c} {types.get(c, 'TEXT')}" for c in columns)
        + ")"
    )
    conn.executemany(
        f"INSERT INTO {deadline_status.TABLE} VALUES ({', '.join('?' for _ in columns)})",
        ([row[c] for c in columns] for row in (s.row() for s in statuses)),
    )


def _build_pragmas(conn: sqlite3.Connection) -> None:
    _pragmas(conn)
    if sqlite_temp_dir() is not None:  # so that the index sorts use both cores: INDEX_CACHE_KB
        conn.execute("PRAGMA temp_store = FILE")


def sqlite_temp_dir() -> str | None:
    """The folder SQLite writes its temporary files to, as SQLite's Unix build picks it; None when
    there is none it can write (a read-only container): the sorts then stay in memory, slower."""
    for folder in (
        os.environ.get("SQLITE_TMPDIR"),
        os.environ.get("TMPDIR"),
        "/var/tmp",
        "/usr/tmp",
        "/tmp",
        ".",
    ):
        if folder and os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return folder
    return None


def _pragmas(conn: sqlite3.Connection) -> None:
    conn.executescript(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;"
        "PRAGMA cache_size = -200000; PRAGMA locking_mode = EXCLUSIVE; PRAGMA threads = 2;"
    )


def _unindexed(conn: sqlite3.Connection, tables: list[str]) -> list[str]:
    """Tables whose search index does not hold one document per row."""
    problems = []
    for table in tables:
        fts = search.fts_table(table)
        indexed = conn.execute(f"SELECT count(*) FROM {fts}_docsize").fetchone()[0]
        rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        if indexed != rows:
            problems.append(f"搜索索引 {fts} 有 {indexed} 行，表 {table} 有 {rows} 行")
    return problems


def _check(path: Path, clock: _Clock, counts: dict[str, int], searchable: tuple[str, ...]) -> None:
    """Checks of what SQLite itself does not vouch for.

    A fresh connection, so FTS5 relies on nothing it cached while writing. Every page of the file
    was written by SQLite, in this process, holding the only lock on a file nothing else had open;
    any error on the way stopped the build, and then the file never replaces the last good one.
    NOT NULL, CHECK and the primary keys were enforced as the rows went in, and validation checked
    the foreign keys. What this build did beyond SQLite's own guarantees is what is checked:
    - the search index was written by FTS5 in the worker's file, copied shadow table by shadow
      table (_copy_search_index checks that every one came whole), and added to by FTS5: it must
      hold one document per row;
    - every CSV row went in once: each table still holds the rows loaded (its count reads the
      table's smallest b-tree from end to end);
    - the file is whole: its schema reads and its size is its page count times its page size.
    Not quick_check: it reads all of a county's 900 MB again (1-3 s) for what only a bug in SQLite
    or failing memory could cause, and it reads the operating system's cache, not the disk, so it
    would not see a failing disk either. Nor FTS5's integrity-check, for the same reason: FTS5 wrote
    every page of the index, and reading it all again took 0.5 s a county. A database changed by an
    incremental build on a copy is still quick-checked: that copy was written by an earlier build.
    """
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript("PRAGMA journal_mode = OFF; PRAGMA cache_size = -200000;")
        problems = []
        pages = (
            conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
        )
        if pages != path.stat().st_size:
            problems.append(f"文件大小 {path.stat().st_size} 字节，应为 {pages} 字节")
        for table, rows in counts.items():
            found = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            if found != rows:
                problems.append(f"{table}: {found} 行，应为 {rows} 行")
        problems += _unindexed(conn, list(searchable))
        clock.lap("checks")
    finally:
        conn.close()
    if problems:
        raise BuildError("新数据库没有通过完整性检查（" + "；".join(problems[:3]) + "）")


def create_table_sql(table: Table) -> str:
    lines = []
    for field in table.fields:
        sql_type = SQL_TYPES.get(field["type"], "TEXT")
        line = f"{field['name']} {sql_type}"
        if field.get("constraints", {}).get("required"):
            line += " NOT NULL"
        if field["type"] == "boolean":
            line += f" CHECK ({field['name']} IN (0, 1))"
        lines.append(line)
    if table.primary_key:
        lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
    for fk in table.foreign_keys:
        lines.append(
            f"FOREIGN KEY ({', '.join(fk['fields'])}) REFERENCES {fk['resource']} ({', '.join(fk['reference_fields'])})"
        )
    return f"CREATE TABLE {table.name} (\n  " + ",\n  ".join(lines) + "\n)"


def fts5_definition(columns: tuple[str, ...]) -> str:
    """Contentless, rowids only: the words are needed to find rows, not to show them.

    segment(text) shows in SQL how a text was cut. detail=none keeps the index small and fast to
    build; it rules out phrase and column queries, which the segmented query never needs.

    The ascii tokenizer splits the indexed text exactly where unicode61 would: the text only ever
    holds the segmenter's words (Chinese characters, ASCII letters and digits and a few ASCII signs:
    words.BLOCK) between spaces, and both tokenizers keep letters, digits and Chinese characters
    together, split on the rest and fold A-Z to a-z. A query is cut by the same tokenizer. ascii
    looks no character up in Unicode's tables: indexing a million petitions takes 2 s less.
    """
    return f"fts5({', '.join(columns)}, content = '', detail = none, tokenize = 'ascii')"


# While the indexes are built. SQLite sorts an index's keys in runs of the page cache's size, and
# gives runs to sort threads only when temporary data goes to files. Runs of 2 MB index a million
# petitions in 8 s on one core and 6 s on two, against 12 s for one run sorted in memory. The runs
# are written to SQLite's temporary directory, read back once and deleted.
INDEX_CACHE_KB = 2_000
ANALYSIS_LIMIT = 2_000  # rows ANALYZE reads of each index: the planner needs the shape, not a census

CHUNK = 20_000  # rows a process takes at a time when the two share the segmentation
CSV_BLOCK_BYTES = 1 << 21  # the search worker reads its CSV this much at a time
# The worker's FTS5 tables gather this many bytes of words in memory before writing a segment:
# with FTS5's default (1 MB), a million petitions make a hundred segments that are merged again and
# again; with 64 MB, two, and the worker inserts its words in 3.5 s instead of 4.8. The setting is
# copied with the index, used for this process's share and then removed: the served database
# updates its index with FTS5's defaults.
SEARCH_HASH_BYTES = 64 << 20
SEARCH_CACHE_KB = 20_000  # page cache while the search index is written: its pages are written once


def _search_sources(project: Project) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(t, str(project.root / project.tables[t].path), cols) for t, cols in project.searchable.items()]


def _finish_search_worker(worker: multiprocessing.Process) -> None:
    worker.join()
    if worker.exitcode != 0:
        raise BuildError("建立中文搜索索引失败。请先运行 sunshine validate 检查数据，再重新构建。")


Rows = Callable[[int, int], list[tuple[str | None, ...]]]  # rows start+1..stop; [] past the last


def _segment_chunks(
    segmenter: Callable[[], search.Segmenter], rows: Rows, counter: Any, size: int
) -> Iterator[tuple]:
    """(rowid, segmented text, ...) for each chunk this process claims; row n of the CSV is rowid n.

    Chunks are claimed in increasing order, so each process reads its rows forward only."""
    while True:
        with counter.get_lock():
            chunk = counter.value
            counter.value += 1
        start = chunk * size
        texts = rows(start, start + size)
        if not texts:
            return
        seg = segmenter().index_text
        for rowid, row in enumerate(texts, start + 1):
            yield (rowid, *map(seg, row))


def _table_rows(conn: sqlite3.Connection, table: str, columns: tuple[str, ...]) -> Rows:
    """This process reads its chunks from the table it has just loaded (rowid n is CSV row n)."""
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid"
    return lambda start, stop: conn.execute(sql, (start, stop)).fetchall()


class _CsvRows:
    """The worker reads the searchable columns from the CSV, forward, a block at a time: the
    rows of the chunks the other process claims are read and passed over, and the file is
    never held whole."""

    def __init__(self, path: Path, columns: tuple[str, ...]) -> None:
        self._blocks = _text_blocks(path, columns)
        self._block: list[tuple[str, ...]] = []
        self._first = 0  # the row index of self._block[0]

    def __call__(self, start: int, stop: int) -> list[tuple[str, ...]]:
        out: list[tuple[str, ...]] = []
        while len(out) < stop - start:
            if not self._block:
                block = next(self._blocks, None)
                if block is None:
                    break
                self._block = block
            end = self._first + len(self._block)
            lo, hi = max(start, self._first) - self._first, min(stop, end) - self._first
            if hi > lo:
                out.extend(self._block[lo:hi])
            taken = max(hi, 0) if end > start else len(self._block)
            self._block = self._block[taken:]
            self._first += taken
        return out


def _text_blocks(path: Path, columns: tuple[str, ...], size: int = 10_000) -> Iterator[list[tuple[str, ...]]]:
    """The searchable columns of the data rows, in file order, in blocks: parsed by Arrow, or by
    the standard library (the same parser that loads the tables) from where Arrow gave up."""
    done = 0
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                include_columns=list(columns),
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
        for batch in reader:
            block = list(zip(*(batch.column(c).to_pylist() for c in columns), strict=True))
            yield block
            done += len(block)
        return
    except (pa.ArrowException, KeyError, ValueError):  # any parser trouble: the standard library's turn
        pass
    rows = _searchable_rows(path, columns)
    for _ in itertools.islice(rows, done):
        pass
    while block := list(itertools.islice(rows, size)):
        yield block


def _insert_segmented(
    conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: Iterable[tuple]
) -> None:
    marks = ", ".join("?" * (len(columns) + 1))
    conn.executemany(
        f"INSERT INTO {search.fts_table(table)} (rowid, {', '.join(columns)}) VALUES ({marks})", rows
    )


def write_search_index(
    sources: list[tuple[str, str, tuple[str, ...]]],
    dictionary: list[str],
    out: str,
    counters: dict[str, Any],
    chunk: int,
    build_pid: int,
) -> None:
    """The worker: segment the chunks it claims into an FTS5 table in a file of its own.

    A file it cannot read (moved or deleted during the build) ends it with exit code 1 and no
    traceback: the build reports it in Chinese."""
    try:
        _write_search_index(sources, dictionary, out, counters, chunk, build_pid)
    except (OSError, csv.Error, UnicodeError, sqlite3.Error):
        raise SystemExit(1) from None


def _write_search_index(
    sources: list[tuple[str, str, tuple[str, ...]]],
    dictionary: list[str],
    out: str,
    counters: dict[str, Any],
    chunk: int,
    build_pid: int,
) -> None:
    segmenter = search.Segmenter(words.tokenizer_from_lines(dictionary))
    conn = sqlite3.connect(out, isolation_level=None)
    try:
        conn.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; BEGIN;")
        for table, csv_path, columns in sources:
            fts = search.fts_table(table)
            conn.execute(f"CREATE VIRTUAL TABLE {fts} USING {fts5_definition(columns)}")
            conn.execute(f"INSERT INTO {fts} ({fts}, rank) VALUES ('hashsize', ?)", [SEARCH_HASH_BYTES])
            rows = _while_the_build_lives(_CsvRows(Path(csv_path), columns), build_pid)
            _insert_segmented(
                conn, table, columns, _segment_chunks(lambda: segmenter, rows, counters[table], chunk)
            )
        conn.execute("COMMIT")
    finally:
        conn.close()


def _while_the_build_lives(rows: Rows, build_pid: int) -> Rows:
    """The worker's rows, until the build that started it is gone (killed: its index would never be
    read): then the worker ends too, and leaves its file for the next build to remove.

    The build's pid comes from the build itself: a build killed while the worker was still
    importing would otherwise look like the worker's rightful parent (its new one, init)."""

    def read(start: int, stop: int) -> list[tuple[str | None, ...]]:
        if os.getppid() != build_pid:
            raise SystemExit(1)
        return rows(start, stop)

    return read


def _searchable_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        positions = [header.index(c) for c in columns]
        for row in reader:
            yield tuple(row[i] if i < len(row) else "" for i in positions)


def _copy_search_index(
    conn: sqlite3.Connection, fts_path: Path, searchable: dict[str, tuple[str, ...]]
) -> None:
    """Create each FTS5 table and fill its shadow tables from the worker's file."""
    conn.execute("ATTACH DATABASE ? AS segmented", [str(fts_path)])
    for table, columns in searchable.items():
        fts = search.fts_table(table)
        conn.execute(f"CREATE VIRTUAL TABLE {fts} USING {fts5_definition(columns)}")
        shadows = conn.execute(
            "SELECT name FROM segmented.sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
            [fts.replace("_", "\\_") + "\\_%"],
        ).fetchall()
        made = conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name LIKE ? ESCAPE '\\'",
            [fts.replace("_", "\\_") + "\\_%"],
        ).fetchall()
        if sorted(made) != sorted(shadows):
            raise BuildError(f"搜索索引 {fts} 的结构与工作进程写的不同")
        for (shadow,) in shadows:
            conn.execute(f"DELETE FROM main.{shadow}")
            copied = conn.execute(f"INSERT INTO main.{shadow} SELECT * FROM segmented.{shadow}").rowcount
            if copied != conn.execute(f"SELECT count(*) FROM segmented.{shadow}").fetchone()[0]:
                raise BuildError(f"搜索索引 {shadow} 没有完整复制")
    conn.execute("COMMIT")
    conn.execute("DETACH DATABASE segmented")
