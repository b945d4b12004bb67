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
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import search, words
from .problems import BuildError
from .project import Project, Table

# Bump when the database layout changes in a way the code hash would not show.
LAYOUT_VERSION = "1"
# Tables in an order that satisfies foreign keys.
LOAD_ORDER = ("villages", "grids", "grid_staff", "disclosures", "petitions")
SQL_TYPES = {"integer": "INTEGER", "number": "REAL", "boolean": "INTEGER", "year": "INTEGER"}
BATCH = 50_000

# Columns people filter, facet and sort by (single-column indexes), plus composite ones for
# filtered pages sorted by date.
INDEXES: dict[str, list[tuple[str, ...]]] = {
    "grids": [("village_code",)],
    "grid_staff": [("grid_id",), ("role",)],
    "disclosures": [
        ("village_code", "published_on"),
        ("category", "published_on"),
        ("topic", "published_on"),
        ("published_on",),
        ("period",),
    ],
    "petitions": [
        ("village_code", "received_on"),
        ("grid_id",),
        ("category", "received_on"),
        ("satisfaction",),
        ("department",),
        ("channel",),
        ("request_type",),
        ("received_on",),
        ("resolved_on",),
    ],
}

DAYS_TO_RESOLVE = "CAST(julianday(resolved_on) - julianday(received_on) AS INTEGER)"

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


def build_database(project: Project, target: Path) -> str:
    """Build target atomically from the validated CSVs; return a one-line Chinese summary."""
    target = Path(target)
    fingerprint = input_fingerprint(project)
    previous = stored_build_info(target)
    if previous.get("fingerprint") == fingerprint:
        return f"数据库没有变化，沿用 {_shown(project, target)}（{_counts_text(previous)}）"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        counts = _build(project, tmp, fingerprint)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise BuildError(f"写入数据库时出错：{exc}。请先运行 sunshine validate 检查数据。") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return f"数据库已写入 {_shown(project, target)}（{_counts_text({'counts': counts})}）"


def _shown(project: Project, target: Path) -> str:
    try:
        return str(target.resolve().relative_to(project.root))
    except ValueError:
        return str(target)


def _counts_text(info: dict[str, Any]) -> str:
    counts = info.get("counts", {})
    titles = {"villages": "村（社区）", "grids": "网格", "grid_staff": "网格人员", "disclosures": "公开事项"}
    titles["petitions"] = "诉求"
    return "，".join(f"{titles.get(k, k)} {v:,} 行" for k, v in counts.items())


def code_files() -> list[Path]:
    here = Path(__file__).parent
    return [here / "database.py", here / "search.py", here / "words.py", words.DOMAIN_WORDS]


def input_fingerprint(project: Project) -> str:
    """SHA-256 over the descriptor, schemas, CSVs, word list and the code that builds."""
    h = hashlib.sha256(LAYOUT_VERSION.encode())
    paths = [project.root / "datapackage.json"]
    for name in LOAD_ORDER:
        table = project.tables[name]
        paths.append(project.root / table.path)
    for path in paths:
        h.update(str(path.relative_to(project.root)).encode())
        h.update(path.read_bytes() if path.exists() else b"\0missing")
    for table in project.tables.values():
        h.update(json.dumps(table.schema, sort_keys=True, ensure_ascii=False).encode())
    for path in code_files():
        h.update(path.read_bytes())
    return h.hexdigest()


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
    return {"fingerprint": rows.get("fingerprint"), "counts": json.loads(rows.get("counts") or "{}")}


def _build(project: Project, path: Path, fingerprint: str) -> dict[str, int]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;"
            "PRAGMA cache_size = -200000; PRAGMA locking_mode = EXCLUSIVE;"
        )
        tables = [project.tables[name] for name in LOAD_ORDER]
        counts = {}
        conn.execute("BEGIN")
        for table in tables:
            conn.execute(create_table_sql(table))
            counts[table.name] = _load(conn, project, table)
        for table in tables:
            for columns in INDEXES.get(table.name, []):
                conn.execute(
                    f"CREATE INDEX idx_{table.name}_{'_'.join(columns)} ON {table.name} ({', '.join(columns)})"
                )
        for name, sql in VIEWS.items():
            conn.execute(f"CREATE VIEW {name} AS {sql}")
        dictionary = words.dictionary_lines(project)
        _index_search(conn, search.Segmenter(words.tokenizer_from_lines(dictionary)))
        conn.execute("CREATE TABLE _build (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO _build VALUES (?, ?)",
            [
                ("fingerprint", fingerprint),
                ("counts", json.dumps(counts)),
                ("built_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
                ("search_dictionary", "\n".join(dictionary)),
            ],
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        # quick_check verifies every page, record and constraint; integrity_check would also re-read
        # each index against its table (15 s at a million rows) for indexes SQLite has just built.
        problems = [r[0] for r in conn.execute("PRAGMA quick_check")]
        if problems != ["ok"]:
            raise BuildError(
                "新数据库没有通过完整性检查（" + "；".join(problems[:3]) + "），上一次的构建保持不变。"
            )
    finally:
        conn.close()
    return counts


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


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _value_sql(field: dict[str, Any]) -> str:
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
    return "NULLIF(?, '')"


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


def _load(conn: sqlite3.Connection, project: Project, table: Table) -> int:
    path = project.root / table.path
    if not path.exists():
        raise BuildError(f"找不到 {table.path}。请确认文件存在并已通过校验。")
    values = ", ".join(_value_sql(f) for f in table.fields)
    conn.executemany(f"INSERT INTO {table.name} VALUES ({values})", _rows(path, table))
    return conn.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]


def fts5_definition(columns: tuple[str, ...]) -> str:
    """Contentless: the words are only needed to find rowids; segment(text) shows them in SQL."""
    return f"fts5({', '.join(columns)}, content = '', tokenize = 'unicode61 remove_diacritics 2')"


def _index_search(conn: sqlite3.Connection, segmenter: search.Segmenter) -> None:
    """A hidden FTS5 table per searchable table holding the segmented text, keyed by rowid."""
    for table, columns in search.SEARCHABLE.items():
        fts = search.fts_table(table)
        cols = ", ".join(columns)
        conn.execute(f"CREATE VIRTUAL TABLE {fts} USING {fts5_definition(columns)}")
        rows = conn.execute(f"SELECT rowid, {cols} FROM {table}")
        marks = ", ".join("?" * (len(columns) + 1))
        conn.executemany(
            f"INSERT INTO {fts} (rowid, {cols}) VALUES ({marks})", search.index_rows(segmenter, rows)
        )
        conn.execute(f"INSERT INTO {fts} ({fts}) VALUES ('optimize')")
