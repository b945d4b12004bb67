"""build/sunshine.db read as an outside client would: plain sqlite3, no Datasette."""

from __future__ import annotations

import csv
import os
import sqlite3
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from sunshine.database import build as database
from sunshine.database.build import build_database
from sunshine.package import Project
from sunshine.portal import plugin as portal
from sunshine.portal.metadata import build_metadata
from sunshine.problems import BuildError

from .conftest import ROOT, copy_package
from .portal_support import read_csv, sample_database, sample_project

TABLES = ("villages", "grids", "grid_staff", "disclosures", "petitions", "committee_members", "commitments")


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{sample_database()}?mode=ro", uri=True)
    yield conn
    conn.close()


def as_csv_text(value: object, field: dict) -> str:
    """How a database value is written in the CSV, per the Table Schema."""
    if value is None:
        return ""
    if field["type"] == "boolean":
        return (field["trueValues"] if value == 1 else field["falseValues"])[0]
    if field["type"] == "number":
        return str(Decimal(str(value)).normalize())
    return str(value)


@pytest.mark.parametrize("table", TABLES)
def test_every_cell_reads_back_as_it_is_written_in_the_csv(db, table):
    project = sample_project()
    fields = project.tables[table].fields
    rows = db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    expected = read_csv(project, table)
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected, strict=True):
        got = {f["name"]: as_csv_text(v, f) for f, v in zip(fields, row, strict=True)}
        normalised = {
            f["name"]: str(Decimal(want[f["name"]]).normalize())
            if f["type"] == "number" and want[f["name"]]
            else want[f["name"]]
            for f in fields
        }
        assert got == normalised


@pytest.mark.parametrize("table", TABLES)
def test_columns_have_the_types_of_the_table_schema(db, table):
    sql_type = {
        "string": "TEXT",
        "date": "TEXT",
        "integer": "INTEGER",
        "number": "REAL",
        "boolean": "INTEGER",
    }
    columns = [(r[1], r[2]) for r in db.execute(f"PRAGMA table_info({table})")]
    fields = sample_project().tables[table].fields
    assert columns == [(f["name"], sql_type[f["type"]]) for f in fields]


def test_primary_and_foreign_keys_follow_the_schemas(db):
    project = sample_project()
    for name in TABLES:
        table = project.tables[name]
        pk = [r[1] for r in sorted(db.execute(f"PRAGMA table_info({name})"), key=lambda r: r[5]) if r[5]]
        assert pk == table.primary_key
        fks = {(r[3], r[2], r[4]) for r in db.execute(f"PRAGMA foreign_key_list({name})")}
        assert fks == {
            (fk["fields"][0], fk["resource"], fk["reference_fields"][0]) for fk in table.foreign_keys
        }


def test_database_passes_integrity_and_foreign_key_checks(db):
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_amounts_add_up_exactly_to_the_fen(db):
    rows = read_csv(sample_project(), "disclosures")
    want = sum(Decimal(r["amount_yuan"]) for r in rows if r["amount_yuan"])
    fen = db.execute("SELECT sum(amount_fen) FROM disclosures_detail").fetchone()[0]
    rounded = db.execute("SELECT round(sum(amount_yuan), 2) FROM disclosures").fetchone()[0]
    assert Decimal(fen) / 100 == want
    assert Decimal(str(rounded)) == want


def test_petitions_view_adds_names_and_days_to_resolve(db):
    project = sample_project()
    villages = {r["village_code"]: r["name"] for r in read_csv(project, "villages")}
    grids = {r["grid_id"]: r["name"] for r in read_csv(project, "grids")}
    want = {
        r["case_id"]: (
            villages[r["village_code"]],
            grids.get(r["grid_id"]),
            (date.fromisoformat(r["resolved_on"]) - date.fromisoformat(r["received_on"])).days,
        )
        for r in read_csv(project, "petitions")
    }
    got = db.execute(
        "SELECT case_id, village_name, grid_name, days_to_resolve FROM petitions_detail"
    ).fetchall()
    assert {r[0]: r[1:] for r in got} == want


def test_filtered_columns_are_indexed(db):
    indexed = {
        r[2] for r in db.execute("SELECT * FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
    }
    assert indexed == {t for t in TABLES if t in database.INDEXES}
    plan = db.execute("EXPLAIN QUERY PLAN SELECT count(*) FROM petitions WHERE category = '土地'").fetchall()
    assert "USING COVERING INDEX idx_petitions_category" in plan[0][3]


def test_the_served_search_indexes_keep_fts5s_default_settings(db):
    """The worker gathers words in a large hash; the served database updates with the defaults."""
    for table in ("petitions", "disclosures"):
        assert db.execute(f"SELECT k FROM {table}_fts_config WHERE k <> 'version'").fetchall() == []


@pytest.mark.parametrize(
    "name", sorted(build_metadata(Project.load(ROOT))["databases"]["sunshine"]["queries"])
)
def test_canned_queries_read_indexes_not_whole_tables(db, name):
    query = build_metadata(Project.load(ROOT))["databases"]["sunshine"]["queries"][name]
    plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + query["sql"], {p: "" for p in query["params"]})]
    assert [step for step in plan if step.startswith("SCAN petitions") and "INDEX" not in step] == []


# The Datasette pages the site links to: (table, filters, sort column, descending).
LINKED_PAGES = [
    ("petitions", {}, "received_on", True),  # the table as it opens
    ("petitions", {}, "resolved_on", True),  # 查看全部诉求
    ("petitions", {"grid_id": "x"}, "resolved_on", True),  # grid pages
    ("petitions", {"village_code": "x"}, "resolved_on", True),  # village pages
    ("petitions", {"village_code": "x", "category": "x"}, "resolved_on", True),
    ("petitions", {"category": "x"}, "resolved_on", True),  # the petitions page's figure tables
    ("petitions", {"channel": "x"}, "resolved_on", True),
    ("petitions", {"department": "x"}, "resolved_on", True),
    ("disclosures", {}, "published_on", True),
    ("disclosures", {"village_code": "x", "category": "x"}, "published_on", True),
]


@pytest.mark.parametrize(("table", "filters", "sort", "desc"), LINKED_PAGES)
def test_every_page_the_site_links_to_reads_an_index(db, table, filters, sort, desc):
    where = " AND ".join(f"{c} = :{c}" for c in filters) or "1"
    sqls = [
        f"SELECT * FROM {table} WHERE {where} ORDER BY {sort} {'DESC' if desc else ''} LIMIT 101",
        f"SELECT count(*) FROM {table} WHERE {where}",
    ]
    for sql in sqls[: 1 if not filters else 2]:
        plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + sql, filters)]
        assert [step for step in plan if step.startswith(f"SCAN {table}") and "INDEX" not in step] == [], sql


# Facets people ask for on the petitions table (the benchmark's facet page); Datasette counts them so.
FACETS = ["category", "satisfaction"]


def facet_sql(column: str) -> str:
    return (
        f"SELECT {column} AS value, count(*) AS count FROM (SELECT * FROM petitions) "
        f"WHERE {column} IS NOT NULL GROUP BY {column} ORDER BY count DESC, value LIMIT 31"
    )


@pytest.mark.parametrize("column", FACETS)
def test_facets_of_the_petitions_read_an_index(db, column):
    plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + facet_sql(column))]
    assert [step for step in plan if step.startswith("SCAN petitions") and "INDEX" not in step] == []


def test_every_petitions_index_serves_a_canned_query_a_linked_page_or_a_facet(db):
    queries = build_metadata(Project.load(ROOT))["databases"]["sunshine"]["queries"].values()
    plans = [
        db.execute("EXPLAIN QUERY PLAN " + q["sql"], {p: "" for p in q["params"]}).fetchall() for q in queries
    ]
    for table, filters, sort, _ in LINKED_PAGES:
        where = " AND ".join(f"{c} = :{c}" for c in filters) or "1"
        for sql in (
            f"SELECT * FROM {table} WHERE {where} ORDER BY {sort} DESC",
            f"SELECT count(*) FROM {table} WHERE {where}",
        ):
            plans.append(db.execute("EXPLAIN QUERY PLAN " + sql, filters).fetchall())
    plans += [db.execute("EXPLAIN QUERY PLAN " + facet_sql(c)).fetchall() for c in FACETS]
    used = {word for plan in plans for step in plan for word in step[3].split() if word.startswith("idx_")}
    assert {f"idx_petitions_{suffix}" for suffix, _ in database.INDEXES["petitions"]} <= used


def test_unchanged_inputs_rebuild_at_once_and_leave_the_file_alone(tmp_path):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    before = target.stat().st_mtime_ns
    assert build_database(project, target).startswith("数据库没有变化")
    assert target.stat().st_mtime_ns == before
    with (project.root / "data" / "villages.csv").open("a", encoding="utf-8") as f:
        f.write("000000109999,新村,村,示例镇,示例县,1,2,甲,乙,0571-88000000,0571-88000001,新村村委会\n")
    assert build_database(project, target).startswith("数据库已写入")
    assert sqlite3.connect(target).execute("SELECT count(*) FROM villages").fetchone()[0] == 4


def test_search_index_is_the_same_however_the_two_processes_share_the_rows(tmp_path, monkeypatch):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    whole, shared = project.build_dir / "whole.db", project.build_dir / "shared.db"
    build_database(project, whole)
    monkeypatch.setattr(database, "CHUNK", 7)  # many small chunks, claimed by both processes
    build_database(project, shared)
    for path in (whole, shared):
        conn = sqlite3.connect(path)
        portal.prepare_connection(conn, "sunshine", None)
        found = [
            conn.execute(
                "SELECT group_concat(rowid) FROM (SELECT rowid FROM petitions_fts WHERE petitions_fts MATCH "
                "escape_fts(?) ORDER BY rowid)",
                [word],
            ).fetchone()[0]
            for word in ("路灯", "噪声", "低保", "村委会", "反映")
        ]
        conn.close()
        if path == whole:
            expected = found
    assert found == expected
    assert all(found)


@pytest.mark.parametrize("ragged", [False, True], ids=["read by Arrow", "Arrow gives up half way"])
def test_the_search_worker_reads_the_rows_of_its_chunks_as_the_tables_are_loaded(
    tmp_path, monkeypatch, ragged
):
    monkeypatch.setattr(database, "CSV_BLOCK_BYTES", 200)  # many blocks
    table = sample_project().tables["petitions"]
    rows = [[f"{n}" for n in range(len(table.field_names))] for _ in range(25)]
    summary, outcome = table.field_names.index("summary"), table.field_names.index("outcome")
    for i, row in enumerate(rows):
        row[summary] = f'第{i}行，\r\n跨行的"引号"' if i % 3 == 0 else ""
        row[outcome] = f"办结{i}" if i % 4 else "NA"
    path = tmp_path / "petitions.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(table.field_names)
        writer.writerows(rows)
        if ragged:  # a short row, which only the standard library's reader pads
            f.write(",".join(str(n) for n in range(summary + 1)) + "\r\n")
    want = [(r[summary], r[outcome]) for r in rows] + ([(str(summary), "")] if ragged else [])
    read = database._CsvRows(path, ("summary", "outcome"))
    assert read(0, 4) + read(4, 8) == want[:8]
    assert read(12, 16) == want[12:16]  # rows 8-11 are another process's chunk
    assert read(16, 40) == want[16:]
    assert read(40, 44) == []


def test_a_file_arrow_gives_up_on_loads_as_the_standard_librarys_reader_reads_it(tmp_path):
    """Columns in another order and a last row short of its two empty columns: Arrow stops at the
    short row, and the table is loaded again by the reader that pads a short row with empty cells."""
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    want = sqlite3.connect(target).execute("SELECT * FROM petitions ORDER BY rowid").fetchall()
    path = project.root / "data" / "petitions.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8-sig")))
    header = [c for c in rows[0] if c not in ("grid_id", "followup_on")] + ["grid_id", "followup_on"]
    extra = dict(rows[-1], case_id="2099-0000001", grid_id="", followup_on="")
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows([row[c] for c in header] for row in rows)
        writer.writerow([extra[c] for c in header[:-2]])
    build_database(Project.load(project.root), target)
    got = sqlite3.connect(target).execute("SELECT * FROM petitions ORDER BY rowid").fetchall()
    names = Project.load(project.root).tables["petitions"].field_names
    assert got[:-1] == want
    assert got[-1] == tuple(None if c in ("grid_id", "followup_on") else extra[c] for c in names)


def test_a_header_cell_over_two_lines_is_read_as_the_header(tmp_path):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    want = sqlite3.connect(target).execute("SELECT * FROM petitions ORDER BY rowid").fetchall()
    path = project.root / "data" / "petitions.csv"
    path.write_text('"\ncase_id"' + path.read_text(encoding="utf-8-sig")[len("case_id") :], encoding="utf-8")
    build_database(Project.load(project.root), target)
    assert sqlite3.connect(target).execute("SELECT * FROM petitions ORDER BY rowid").fetchall() == want


def test_without_a_folder_for_temporary_files_the_indexes_are_sorted_in_memory(tmp_path, monkeypatch):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    want = {
        name: sqlite3.connect(target).execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall()
        for name in TABLES
    }
    monkeypatch.setattr(database.os, "access", lambda path, mode: False)
    assert database.sqlite_temp_dir() is None
    target.unlink()
    build_database(Project.load(project.root), target)
    conn = sqlite3.connect(target)
    assert {name: conn.execute(f"SELECT * FROM {name} ORDER BY rowid").fetchall() for name in TABLES} == want
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_temporary_files_of_a_killed_build_are_removed_by_the_next_build(tmp_path):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    target = project.build_dir / "sunshine.db"
    killed = subprocess.Popen([sys.executable, "-c", "pass"])
    killed.wait()
    target.parent.mkdir()
    leftovers = [
        target.with_name(f".sunshine.db.{killed.pid}.tmp"),
        target.with_name(f".sunshine.db.{killed.pid}.tmp.fts"),
    ]
    for path in leftovers:
        path.write_bytes(b"half-written")
    build_database(project, target)
    assert sorted(os.listdir(target.parent)) == ["sunshine.db"]


def test_a_failed_build_keeps_the_previous_database_and_leaves_no_temporary_file(tmp_path):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    good = target.read_bytes()
    path = project.root / "data" / "petitions.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines + [lines[1]]), encoding="utf-8")  # a duplicate case_id
    with pytest.raises(BuildError, match="写入数据库时出错"):
        build_database(project, target)
    assert target.read_bytes() == good
    assert sorted(os.listdir(target.parent)) == ["sunshine.db"]


# The search contract (sunshine.search): every word of the query must be found as a word of the text.
SEARCH_ROWS = {
    "P1": "村口路灯不亮，夜间出行不便。",
    "P2": "建议召开村民代表会议讨论修路。",
    "P3": "征地补偿款未足额发放。",
    "P4": "夜间施工噪声扰民。",
    "P5": "咨询低保申请条件。",
    "P6": "灯笼挂在村口。",
    "P7": "村委会门口的路面积水。",
    "P8": "12345热线转办：小区停车位不足。",
}
SEARCHES = [
    ("路灯", {"P1"}),
    ("噪声", {"P4"}),
    ("低保", {"P5"}),
    ("村民代表会议", {"P2"}),
    ("村民代表", {"P2"}),
    ("会议", {"P2"}),
    ("征地补偿款", {"P3"}),
    ("补偿款", {"P3"}),
    ("征地补偿", {"P3"}),
    ("村口", {"P1", "P6"}),
    ("村口路灯", {"P1"}),
    ("夜间 出行", {"P1"}),
    ("夜间，施工！", {"P4"}),
    ("路灯的", {"P1"}),
    ("灯", set()),  # a single character only matches where it stands as a word
    ("自来水", set()),
    ("路灯 噪声", set()),
    ('"路灯', {"P1"}),
    ("！！", set()),
    ("12345", {"P8"}),  # the hotline's number alone finds what its dictionary word holds
    ("12345热线", {"P8"}),
    ("热线", {"P8"}),
]


@pytest.fixture(scope="module")
def search_db(tmp_path_factory) -> sqlite3.Connection:
    root = copy_package(
        ROOT, tmp_path_factory.mktemp("search") / "pkg", data_from=ROOT / "tests" / "fixture" / "data"
    )
    path = root / "data" / "petitions.csv"
    template = next(csv.DictReader(path.open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(template))
        writer.writeheader()
        for i, (key, summary) in enumerate(SEARCH_ROWS.items(), 1):
            writer.writerow({**template, "case_id": f"2024-{i:07d}", "summary": summary, "outcome": key})
    target = root / "build" / "sunshine.db"
    build_database(Project.load(root), target)
    conn = sqlite3.connect(target)
    portal.prepare_connection(conn, "sunshine", None)
    yield conn
    conn.close()


def test_codes_keep_their_leading_zeros_as_text(search_db):
    # built from the fixture package, whose codes start with zeros
    codes = search_db.execute("SELECT typeof(village_code), village_code FROM villages ORDER BY 2").fetchall()
    assert codes == [("text", "000000101001"), ("text", "000000101002")]


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_chinese_search_finds_exactly_the_rows_holding_every_word(search_db, query, expected):
    # The clause Datasette builds for ?_search= on a table with fts_table and fts_pk = rowid.
    found = search_db.execute(
        "SELECT outcome FROM petitions WHERE rowid IN "
        "(SELECT rowid FROM petitions_fts WHERE petitions_fts MATCH escape_fts(:search))",
        {"search": query},
    ).fetchall()
    assert {r[0] for r in found} == expected


def test_segment_shows_the_words_a_text_is_indexed_under(search_db):
    words = search_db.execute("SELECT segment(?)", [SEARCH_ROWS["P2"]]).fetchone()[0].split()
    assert {"村民代表会议", "村民代表", "会议", "修路"} <= set(words)
    assert "，" not in words


def test_the_search_index_is_hidden_beside_a_clean_public_table(search_db):
    columns = [r[1] for r in search_db.execute("PRAGMA table_info(petitions)")]
    assert columns == Project.load(ROOT).tables["petitions"].field_names
    hidden = search_db.execute(
        "SELECT name FROM sqlite_master WHERE name LIKE 'petitions_fts%' AND type = 'table'"
    )
    assert "petitions_fts" in {r[0] for r in hidden}
