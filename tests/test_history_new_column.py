"""A column added to a table's schema (optional, at the end) is no correction of the records it
leaves empty: only the records given a value in it are listed as changed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sunshine.history.build import build_history
from sunshine.package import Project

from .git_fixture import D1, D2, D3, DISCLOSURES_HEADER, commit, make_repo, write


def test_a_new_column_lists_only_the_records_given_a_value(tmp_path: Path):
    repo = tmp_path / "repo"
    make_repo(repo)
    path = repo / "schemas" / "disclosures.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["fields"].append({"name": "remark", "type": "string", "title": "备注", "description": "备注。"})
    path.write_text(json.dumps(schema, ensure_ascii=False, indent=2), encoding="utf-8")
    rows = [DISCLOSURES_HEADER, D1.format(amount="1500.00"), D2, D3]
    remarks = ["remark", "", "已张榜公示", ""]
    write(
        repo,
        "disclosures.csv",
        "".join(r.rstrip("\n") + "," + m + "\n" for r, m in zip(rows, remarks, strict=True)),
    )
    commit(repo, "Add a remark to each disclosure", "2024-06-10T09:00:00+08:00")

    build_history(Project.load(repo), repo / "build" / "history.db")

    with sqlite3.connect(repo / "build" / "history.db") as conn:
        listed = conn.execute(
            "select record_id, kind, summary, after_publication from changes "
            "where commit_message = 'Add a remark to each disclosure'"
        ).fetchall()
    assert listed == [("D00000002", "修改", "备注：（空） → 已张榜公示", 1)]
