"""metadata.json is generated from the Table Schemas and the overlay, and committed without drift."""

from __future__ import annotations

import json

import pytest

from sunshine.package import Project
from sunshine.portal.metadata import build_metadata, metadata_command, render

from .conftest import ROOT, copy_package

CANNED = {
    "petitions_by_category": ["year"],
    "petitions_by_department": ["year"],
    "petitions_by_month": ["category"],
    "satisfaction_by_department": ["year"],
    "petitions_per_1000_by_grid": ["village_code"],
    "income_expenditure": ["village_code", "year"],
    "latest_disclosures": ["village_code"],
    "grid_staff_serving": ["village_code", "grid_id"],
}


@pytest.fixture(scope="module")
def meta():
    return build_metadata(Project.load(ROOT))


def test_committed_metadata_json_matches_the_generator():
    committed = (ROOT / "metadata.json").read_text(encoding="utf-8")
    assert committed == render(build_metadata(Project.load(ROOT))), (
        "运行 sunshine metadata 重新生成 metadata.json"
    )


def test_check_mode_reports_drift_without_writing(tmp_path, capsys):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    stale = '{"title": "old"}\n'
    (project.root / "metadata.json").write_text(stale, encoding="utf-8")
    assert metadata_command(project, check=True) == 1
    assert "sunshine metadata" in capsys.readouterr().err
    assert (project.root / "metadata.json").read_text(encoding="utf-8") == stale
    assert metadata_command(project, check=False) == 0
    assert metadata_command(project, check=True) == 0


def test_site_wide_title_license_and_source(meta):
    if Project.load(ROOT).settings.sample:
        assert "示例数据" in meta["title"]
        assert "sample data" in meta["description"]
    else:
        assert "示例数据" not in meta["title"]
    assert (meta["license"], meta["license_url"]) == (
        "CC BY 4.0",
        "https://creativecommons.org/licenses/by/4.0/",
    )
    assert meta["source"]


def test_every_schema_field_is_described_with_its_title(meta):
    tables = meta["databases"]["sunshine"]["tables"]
    for name, table in Project.load(ROOT).tables.items():
        assert tables[name]["title"] == table.title
        assert ("示例数据" in tables[name]["description"]) == Project.load(ROOT).settings.sample
        columns = tables[name]["columns"]
        assert list(columns) == table.field_names
        for field in table.fields:
            assert columns[field["name"]].startswith(field["title"])
    assert "单位：元" in tables["disclosures"]["columns"]["amount_yuan"]
    assert "单位：天" in tables["petitions_detail"]["columns"]["days_to_resolve"]


def test_labels_search_and_hidden_tables(meta):
    tables = meta["databases"]["sunshine"]["tables"]
    assert tables["villages"]["label_column"] == "name"
    assert tables["grids"]["label_column"] == "name"
    assert (tables["petitions"]["fts_table"], tables["petitions"]["fts_pk"]) == ("petitions_fts", "rowid")
    assert (tables["disclosures"]["fts_table"], tables["disclosures"]["fts_pk"]) == (
        "disclosures_fts",
        "rowid",
    )
    assert {n for n, t in tables.items() if t.get("hidden")} == {"_build", "petitions_fts", "disclosures_fts"}


def test_canned_queries_have_the_names_and_parameters_the_site_links_to(meta):
    queries = meta["databases"]["sunshine"]["queries"]
    assert {n: q["params"] for n, q in queries.items() if n in CANNED} == CANNED
    for name, q in queries.items():
        assert q["title"] and q["description"], name
        for param in q["params"]:
            assert f":{param}" in q["sql"], (name, param)


def test_history_queries_and_tables_come_from_the_history_schema_module(meta):
    from sunshine.history.schema import HISTORY_QUERIES, history_tables_metadata

    served = meta["databases"]["history"]["queries"]
    assert {name: served[name] for name in HISTORY_QUERIES} == {
        name: {**query, "hide_sql": True} for name, query in json.loads(json.dumps(HISTORY_QUERIES)).items()
    }
    tables = json.loads(json.dumps(history_tables_metadata(Project.load(ROOT))))
    assert meta["databases"]["history"]["tables"] == tables
    assert tables["commits"] == {"hidden": True}
