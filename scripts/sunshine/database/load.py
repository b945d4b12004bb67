"""Load validated CSVs into the empty tables of a database built from nothing.

A table whose columns are all text (petitions, the large one) is read by Arrow's CSV reader a block
at a time and written by the ADBC SQLite driver, which binds Arrow's columns in C: a million
petitions load in 2.6 s, against 5.8 s for the standard library's reader and executemany. The
other tables, and any file Arrow cannot read, go through the standard library's reader, and SQL
turns each cell into its typed value (value_sql). Both ways write the same rows: an empty cell is
NULL, the rest is the cell's text, in file order, so row n of the CSV is rowid n.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import adbc_driver_manager
import adbc_driver_sqlite.dbapi as adbc_sqlite
import pyarrow as pa
import pyarrow.csv as pacsv

from sunshine.package import Project, Table
from sunshine.problems import BuildError

TEXT = "NULLIF(?, '')"
BLOCK_BYTES = 1 << 21  # Arrow reads the CSV this much at a time: the file is never held whole


def value_sql(field: dict[str, Any]) -> str:
    """The SQL expression that turns one CSV cell (bound as text) into its typed value."""
    kind = field["type"]
    if kind in ("integer", "year"):
        return "CAST(NULLIF(?, '') AS INTEGER)"
    if kind == "number":
        return "CAST(NULLIF(?, '') AS REAL)"
    if kind == "boolean":
        trues = field.get("trueValues", ["true", "True", "TRUE", "1"])
        falses = field.get("falseValues", ["false", "False", "FALSE", "0"])
        whens = [f"WHEN {_literal(v)} THEN 1" for v in trues] + [f"WHEN {_literal(v)} THEN 0" for v in falses]
        return f"CASE ? {' '.join(whens)} END"
    return TEXT


def load_tables(
    path: Path,
    project: Project,
    tables: Sequence[Table],
    create_sql: Sequence[str],
    prepare: Callable[[sqlite3.Connection], None],
) -> sqlite3.Connection:
    """Create and fill the tables; return a prepared connection to path, inside a transaction.

    The standard library's connection holds the file while it writes; it is closed while ADBC's
    connection writes the text-only tables, and opened again for the rest of the build.
    """
    for table in tables:
        if not (project.root / table.path).exists():
            raise BuildError(f"找不到 {table.path}。请确认文件存在并已通过校验。")
    by_arrow = [t for t in tables if all(value_sql(f) == TEXT for f in t.fields)]
    conn = _open(path, prepare)
    try:
        for sql in create_sql:
            conn.execute(sql)
        for table in tables:
            if table not in by_arrow:
                _insert(conn, project, table)
        conn.execute("COMMIT")
    finally:
        conn.close()
    failed = _ingest(path, project, by_arrow)
    conn = _open(path, prepare)
    try:
        for table, sql in zip(tables, create_sql, strict=True):
            if table in failed:  # Arrow gave up on the file: rows it wrote are dropped with the table
                conn.execute(f"DROP TABLE {table.name}")
                conn.execute(sql)
                _insert(conn, project, table)
        for table in tables:
            _check_rowids(conn, project, table)
    except BaseException:
        conn.close()
        raise
    return conn


def _open(path: Path, prepare: Callable[[sqlite3.Connection], None]) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    prepare(conn)
    conn.execute("BEGIN")
    return conn


def _ingest(path: Path, project: Project, tables: list[Table]) -> list[Table]:
    """Write each table with ADBC; the tables whose file Arrow could not read."""
    failed = []
    if not tables:
        return failed
    with adbc_sqlite.connect(str(path), autocommit=True) as conn, conn.cursor() as cur:
        for pragma in ("journal_mode = OFF", "synchronous = OFF", "cache_size = -200000"):
            cur.execute(f"PRAGMA {pragma}")
            cur.fetchall()
        for table in tables:
            try:
                cur.adbc_ingest(table.name, _batches(project.root / table.path, table), mode="append")
            except (pa.ArrowException, adbc_driver_manager.Error, KeyError, ValueError):
                failed.append(table)
    return failed


def _batches(path: Path, table: Table) -> pa.RecordBatchReader:
    """The table's columns as text, empty cells as nulls, read by Arrow a block at a time."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        raw = next(csv.reader(f), [])
    header = [h.strip() for h in raw]
    names = table.field_names
    if set(names) - set(header):
        raise KeyError(names)  # the standard library's reader says which column is missing
    if any("\n" in h or "\r" in h for h in raw):
        raise ValueError(path)  # a header over two lines: Arrow would skip only the first line
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            use_threads=False, block_size=BLOCK_BYTES, column_names=header, skip_rows=1
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            include_columns=names,
            column_types={n: pa.string() for n in names},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _insert(conn: sqlite3.Connection, project: Project, table: Table) -> None:
    values = ", ".join(value_sql(f) for f in table.fields)
    conn.executemany(f"INSERT INTO {table.name} VALUES ({values})", _rows(project.root / table.path, table))


def _check_rowids(conn: sqlite3.Connection, project: Project, table: Table) -> None:
    # The search worker numbers CSV rows 1..n; into an empty table SQLite assigns the same rowids.
    count, last = conn.execute(f"SELECT count(*), max(rowid) FROM {table.name}").fetchone()
    if table.name in project.searchable and count and last != count:
        raise BuildError(f"{table.path} 的行号与数据库不一致，无法建立搜索索引。")


def _rows(path: Path, table: Table) -> Iterator[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        names = table.field_names
        if header == names:
            yield from reader
            return
        try:
            order = [header.index(n) for n in names]
        except ValueError as exc:
            raise BuildError(
                f"{table.path} 的表头与表结构不一致：{exc}。请先运行 sunshine validate。"
            ) from exc
        for row in reader:
            yield [row[i] if i < len(row) else "" for i in order]


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
