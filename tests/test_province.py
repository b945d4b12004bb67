"""A province as county projects: a county is rebuilt only when what its build reads changed; one
Parquet layer over all counties answers DuckDB directly; the index links every county's site."""

from __future__ import annotations

import sqlite3

import duckdb

from sunshine.publish import province

from .conftest import ROOT, copy_package
from .portal_support import sample_database


def test_the_inputs_digest_changes_with_data_or_settings_and_not_with_the_build(tmp_path):
    root = copy_package(ROOT, tmp_path / "county")
    before = province.inputs_digest(root)
    (root / "build").mkdir()
    (root / "build" / "sunshine.db").write_bytes(b"anything")
    assert province.inputs_digest(root) == before
    villages = root / "data" / "villages.csv"
    villages.write_text(villages.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    changed = province.inputs_digest(root)
    assert changed != before
    (root / "sunshine.toml").write_text('[site]\ntitle = "某县阳光村务"\n', encoding="utf-8")
    assert province.inputs_digest(root) != changed


def test_a_county_whose_inputs_match_its_last_good_build_is_skipped(tmp_path):
    root = copy_package(ROOT, tmp_path / "county")
    (root / "build").mkdir()
    (root / "build" / province.STAMP).write_text(province.inputs_digest(root))
    result = province.build_county(root)
    assert (result.built, result.ok) == (False, True)


def test_duckdb_queries_the_province_parquet_layer_directly(tmp_path):
    db = sample_database()
    rows = province.write_parquet_layer({"county-a": db, "county-b": db}, tmp_path / "parquet")
    with sqlite3.connect(db) as conn:
        (petitions,) = conn.execute("SELECT count(*) FROM petitions").fetchone()
    assert rows["petitions"] == 2 * petitions
    glob = tmp_path / "parquet" / "petitions" / "*" / "*.parquet"
    got = duckdb.sql(
        f"SELECT county, count(*) FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY county ORDER BY county"
    ).fetchall()
    assert got == [("county-a", petitions), ("county-b", petitions)]


def test_the_index_links_every_county_and_escapes_names():
    page = province.index_page(
        "某省阳光村务",
        [
            province.CountyEntry("a", "甲县", "https://a.example.gov.cn/", 300, 1_000_000),
            province.CountyEntry("b", "<乙县>", "https://b.example.gov.cn/", 12, 40),
        ],
    )
    assert '<a href="https://a.example.gov.cn/">甲县</a></td><td>300</td><td>1,000,000</td>' in page
    assert "&lt;乙县&gt;" in page and "<乙县>" not in page
    assert 'http-equiv="Content-Security-Policy"' in page
