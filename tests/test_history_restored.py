"""A record deleted and later put back (a file emptied by mistake and restored, a withdrawn item
published again) is listed as added again, not left as deleted: whether built after each commit or
from nothing."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sunshine.history.build import build_history
from sunshine.package import Project

from .git_fixture import GRID_STAFF, P1, P2, PETITIONS_HEADER, commit, make_repo, write


def build(repo: Path) -> None:
    build_history(Project.load(repo), repo / "build" / "history.db")


def events(repo: Path, record_id: str) -> list[tuple]:
    with sqlite3.connect(repo / "build" / "history.db") as conn:
        return conn.execute(
            "select kind, version, commit_message from changes where record_id = ? order by id", [record_id]
        ).fetchall()


def test_a_record_put_back_is_added_again_after_each_commit_and_from_nothing(tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)  # petition 2024-0000002 removed on 1 June
    (repo / ".gitignore").write_text("build/\n", encoding="utf-8")
    build(repo)
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P2)
    commit(repo, "Put petition 2024-0000002 back", "2024-06-10T09:00:00+08:00")
    build(repo)
    write(repo, "grid_staff.csv", "")
    commit(repo, "Save the staff list (emptied by mistake)", "2024-06-11T09:00:00+08:00")
    build(repo)
    write(repo, "grid_staff.csv", GRID_STAFF.replace("走访农户", "每周走访农户"))
    commit(repo, "Restore the staff list", "2024-06-12T09:00:00+08:00")
    build(repo)
    cold = tmp_path / "cold"
    shutil.copytree(repo, cold, ignore=shutil.ignore_patterns("build"))
    build(cold)

    assert events(repo, "2024-0000002") == [
        ("新增", 1, "Publish the first records of May"),
        ("删除", None, "Remove petition 2024-0000002, entered twice"),
        ("新增", 2, "Put petition 2024-0000002 back"),
    ]
    assert events(repo, "S000001") == [
        ("新增", 1, "Publish the first records of May"),
        ("删除", None, "Save the staff list (emptied by mistake)"),
        ("新增", 2, "Restore the staff list"),
    ]
    for record_id in ("2024-0000002", "S000001"):
        assert events(cold, record_id) == events(repo, record_id)


def test_a_record_put_back_is_added_again_when_the_changes_are_derived_again(tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P2.replace("基本满意", "满意"))
    commit(repo, "Put petition 2024-0000002 back, followed up", "2024-06-10T09:00:00+08:00")
    build(repo)
    listed = events(repo, "2024-0000002")
    with sqlite3.connect(repo / "build" / "history.db") as conn:
        conn.execute("drop table changes")  # derived again from the versions and removals
    build(repo)
    assert (
        events(repo, "2024-0000002")
        == listed
        == [
            ("新增", 1, "Publish the first records of May"),
            ("删除", None, "Remove petition 2024-0000002, entered twice"),
            ("新增", 2, "Put petition 2024-0000002 back, followed up"),
        ]
    )


def test_a_history_recorded_by_an_earlier_rule_is_recorded_again_with_the_record_put_back(tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P2)
    commit(repo, "Put petition 2024-0000002 back", "2024-06-10T09:00:00+08:00")
    build(repo)
    with sqlite3.connect(repo / "build" / "history.db") as conn:  # as recorded before records came back
        conn.execute("delete from history_info where key = 'recording'")
        conn.execute("delete from changes where commit_message = 'Put petition 2024-0000002 back'")
    build(repo)
    assert events(repo, "2024-0000002")[-1] == ("新增", 2, "Put petition 2024-0000002 back")
