"""The Table Schemas drive the pipeline: a sixth table needs a schema, a CSV and a line in datapackage.json, no code."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sunshine.chinese import search
from sunshine.database.build import build_database
from sunshine.package import Project
from sunshine.portal.metadata import build_metadata
from sunshine.validate.run import validate_project

from .conftest import FIXTURE, ROOT, copy_package

NOTICES_SCHEMA = {
    "fields": [
        {
            "name": "notice_id",
            "type": "string",
            "title": "通知编号",
            "description": "通知的编号。",
            "constraints": {"required": True, "pattern": "N[0-9]{4}"},
        },
        {
            "name": "village_code",
            "type": "string",
            "title": "村（社区）代码",
            "description": "发布通知的村。",
            "constraints": {"required": True, "pattern": "[0-9]{12}"},
        },
        {
            "name": "heading",
            "type": "string",
            "title": "标题",
            "description": "通知标题。",
            "x-search": True,
            "constraints": {"required": True},
        },
    ],
    "primaryKey": ["notice_id"],
    "foreignKeys": [
        {"fields": ["village_code"], "reference": {"resource": "villages", "fields": ["village_code"]}}
    ],
    "x-label": "heading",
}


@pytest.fixture
def six_tables(tmp_path) -> Project:
    """The fixture package with a throwaway sixth table listed first, before the table it refers to."""
    root = copy_package(ROOT, tmp_path / "pkg", data_from=FIXTURE / "data")
    (root / "schemas" / "notices.schema.json").write_text(json.dumps(NOTICES_SCHEMA, ensure_ascii=False))
    village = (root / "data" / "villages.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[0]
    (root / "data" / "notices.csv").write_text(
        f"notice_id,village_code,heading\nN0001,{village},停水通知\nN0002,{village},路灯维修完成\n",
        encoding="utf-8",
    )
    descriptor = json.loads((root / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["resources"].insert(
        0,
        {
            "name": "notices",
            "title": "通知",
            "description": "村里的通知。",
            "path": "data/notices.csv",
            "schema": "schemas/notices.schema.json",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
        },
    )
    (root / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False), encoding="utf-8")
    return Project.load(root)


def test_tables_load_after_the_tables_their_foreign_keys_point_to(six_tables):
    order = six_tables.load_order
    assert order == (
        "villages",
        "notices",
        "grids",
        "grid_staff",
        "disclosures",
        "petitions",
        "committee_members",
        "commitments",
    )


def test_a_sixth_table_is_validated_loaded_searchable_and_described(six_tables, tmp_path):
    assert validate_project(six_tables).valid
    target = tmp_path / "sunshine.db"
    build_database(six_tables, target)
    conn = sqlite3.connect(target)
    assert conn.execute("select heading from notices order by notice_id").fetchall() == [
        ("停水通知",),
        ("路灯维修完成",),
    ]
    fts = search.fts_table("notices")
    hits = conn.execute(f"select rowid from {fts} where {fts} match ?", ['"路灯"']).fetchall()
    assert hits == [(2,)]
    meta = build_metadata(six_tables)["databases"]["sunshine"]["tables"]
    assert meta["notices"]["title"] == "通知"
    assert meta["notices"]["fts_table"] == fts
    assert meta[fts] == {"hidden": True}


def test_a_foreign_key_cycle_is_refused_in_chinese(six_tables):
    villages = six_tables.tables["villages"].schema
    villages["foreignKeys"] = [
        {"fields": ["village_code"], "reference": {"resource": "notices", "fields": ["village_code"]}}
    ]
    with pytest.raises(ValueError, match="外键互相引用"):
        six_tables.load_order  # noqa: B018
