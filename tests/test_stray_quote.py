"""A double quote typed inside a cell that is not itself quoted (村民说"路灯坏了) passes validation and
is read as typed by the database and the history; the site reads it the same way instead of failing."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path

from sunshine import typed
from sunshine.database.build import build_database
from sunshine.package import Project
from sunshine.site.pages.data import read_table
from sunshine.site.pages.downloads import write_table_downloads
from sunshine.validate.run import validate_project

from .git_fixture import P1, PETITIONS_HEADER, make_repo, write

SAID = '村民说"路灯坏了，夜间出行不便。'


def test_a_quote_inside_an_unquoted_cell_is_read_as_typed_by_every_stage(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    make_repo(repo)
    write(repo, "petitions.csv", PETITIONS_HEADER + P1.replace("村东路灯损坏，夜间出行不便。", SAID))
    project = Project.load(repo)
    assert validate_project(project).valid

    build_database(project, repo / "build" / "sunshine.db")
    with sqlite3.connect(repo / "build" / "sunshine.db") as conn:
        assert conn.execute("select summary from petitions").fetchall() == [(SAID,)]
    assert read_table(project, "petitions")["summary"].to_list() == [SAID]
    assert typed.text_rows(repo / "data" / "petitions.csv", ["summary"], [0])["summary"].to_list() == [SAID]
    made = write_table_downloads(
        project.tables["petitions"], repo / "data" / "petitions.csv", tmp_path / "dl"
    )
    with made["csv"].open(encoding="utf-8", newline="") as f:
        assert [row["summary"] for row in csv.DictReader(f)] == [SAID]


def test_rows_read_by_position_come_in_the_order_asked(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text('id,text\n1,a\n2,"b,\nc"\n3,d\n', encoding="utf-8")
    assert typed.text_rows(path, ["text", "id"], [2, 0, 1]).rows() == [("d", "3"), ("a", "1"), ("b,\nc", "2")]


def test_two_stray_quotes_in_one_commit_are_recorded_in_the_history_as_typed(tmp_path: Path, monkeypatch):
    """A quote counted as opening a cell on one changed line and closing it on another: the history
    reads those lines as csv does, one record per line, not as one record spanning both."""
    from sunshine.history.build import build_history

    from .git_fixture import P2, commit

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    make_repo(repo)
    (repo / ".gitignore").write_text("build/\n", encoding="utf-8")
    build_history(Project.load(repo), repo / "build" / "history.db")
    first = P1.replace("村东路灯损坏，夜间出行不便。", SAID)
    second = P2.replace("小区垃圾清运不及时。", '垃圾"清运不及时。')
    write(
        repo,
        "petitions.csv",
        PETITIONS_HEADER
        + first
        + P2.replace("小区", "西区")
        + second.replace("2024-0000002", "2024-0000003"),
    )
    commit(repo, "Quote what residents said", "2024-06-20T09:00:00+08:00")
    assert validate_project(Project.load(repo)).valid
    build_history(Project.load(repo), repo / "build" / "history.db")
    with sqlite3.connect(repo / "build" / "history.db") as conn:
        latest = dict(conn.execute("select case_id, summary from petitions order by case_id").fetchall())
    assert latest == {
        "2024-0000001": SAID,
        "2024-0000002": "西区垃圾清运不及时。",
        "2024-0000003": '垃圾"清运不及时。',
    }
