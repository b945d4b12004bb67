"""A cell that spans lines hides its inner lines from a line-by-line comparison: a line in the middle
of a quoted cell (a blank one, or one without quotes) looks like a row of its own. When such a line
changes, the database, the history and the diff still read the change as a cold build would.
A stray quote (one inside a cell that is not quoted) makes the database compare the file whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.database.build import build_database
from sunshine.history.build import build_history
from sunshine.package import Project

from .git_fixture import P1, PETITIONS_HEADER, commit, make_repo, write

TWO_PARAGRAPHS = "村民反映：\n\n村东路灯损坏，夜间出行不便。"
ONE_PARAGRAPH = "村民反映：\n村东路灯损坏，夜间出行不便。"
THREE_LINES = "村民反映：\n村东路灯损坏\n夜间出行不便。"
OTHER_MIDDLE = "村民反映：\n村西水渠堵塞\n夜间出行不便。"


def petition(summary: str) -> str:
    return P1.replace("村东路灯损坏，夜间出行不便。", '"' + summary + '"')


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    make_repo(repo)
    return repo


def build(repo: Path) -> tuple[str, str]:
    project = Project.load(repo)
    return (
        build_database(project, repo / "build" / "sunshine.db"),
        build_history(project, repo / "build" / "history.db"),
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [(TWO_PARAGRAPHS, ONE_PARAGRAPH), (ONE_PARAGRAPH, TWO_PARAGRAPHS), (THREE_LINES, OTHER_MIDDLE)],
    ids=["a blank line taken out", "a blank line put in", "a middle line rewritten"],
)
def test_a_change_inside_a_cell_that_spans_lines_reaches_the_database_and_the_history(repo, before, after):
    write(repo, "petitions.csv", PETITIONS_HEADER + petition(before))
    commit(repo, "Write the summary in paragraphs", "2024-06-10T09:00:00+08:00")
    build(repo)
    write(repo, "petitions.csv", PETITIONS_HEADER + petition(after))
    commit(repo, "Reflow the summary", "2024-06-11T09:00:00+08:00")
    database, _ = build(repo)

    assert database.endswith("按变化的 1 行更新）")  # the record, its lines together
    assert rows(repo / "build" / "sunshine.db", "select case_id, summary from petitions") == [
        ("2024-0000001", after)
    ]
    history = repo / "build" / "history.db"
    assert rows(history, "select case_id, summary from petitions order by case_id") == [
        ("2024-0000001", after),
        ("2024-0000002", "小区垃圾清运不及时。"),  # removed in an earlier commit
    ]
    assert rows(
        history,
        "select record_id, kind, commit_message from changes where commit_message = 'Reflow the summary'",
    ) == [("2024-0000001", "修改", "Reflow the summary")]
    assert rows(
        history,
        "select count(*) from removals where commit_hash in (select hash from commit_info "
        "where message = 'Reflow the summary')",
    ) == [(0,)]


def test_the_diff_of_a_middle_line_names_the_record_it_belongs_to(repo, monkeypatch):
    write(repo, "petitions.csv", PETITIONS_HEADER + petition(THREE_LINES))
    commit(repo, "Write the summary in lines", "2024-06-10T09:00:00+08:00")
    write(repo, "petitions.csv", PETITIONS_HEADER + petition(OTHER_MIDDLE))
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["diff", "--base", "HEAD"])
    assert result.exit_code == 0, result.output
    assert "群众诉求办结 data/petitions.csv：新增 0 行，删除 0 行，修改 1 行\n" in result.stdout
    assert "合计：新增 0 行，删除 0 行，修改 1 行。" in result.stdout


P3 = P1.replace("2024-0000001", "2024-0000003").replace("村东路灯损坏", "村西水渠堵塞")
STRAY = P1.replace("村东路灯损坏", '村民说"路灯坏了')


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (petition(TWO_PARAGRAPHS) + P3, petition(TWO_PARAGRAPHS).replace("\n", "\r\n") + P3),
        (STRAY + P3, STRAY + P3.replace("堵塞", "堵塞，已清理")),
        (STRAY + P3, STRAY.replace("坏了", "坏了两盏") + P3),
        (P3 + petition(THREE_LINES), petition(OTHER_MIDDLE) + P3.replace("堵塞", "堵塞，已清理")),
    ],
    ids=["line ends inside a cell", "a row after a stray quote", "the row of a stray quote", "rows moved"],
)
def test_the_database_updated_from_records_equals_one_built_from_nothing(repo, tmp_path, before, after):
    write(repo, "petitions.csv", PETITIONS_HEADER + before)
    build_database(Project.load(repo), repo / "build" / "sunshine.db")
    (repo / "data" / "petitions.csv").write_bytes((PETITIONS_HEADER + after).encode("utf-8"))
    build_database(Project.load(repo), repo / "build" / "sunshine.db")
    cold = tmp_path / "cold"
    cold.mkdir()
    build_database(Project.load(repo), cold / "sunshine.db")
    sql = "select * from petitions order by case_id"
    assert rows(repo / "build" / "sunshine.db", sql) == rows(cold / "sunshine.db", sql)


def test_line_ends_inside_a_cell_written_another_way_are_no_change(repo, monkeypatch):
    write(repo, "petitions.csv", PETITIONS_HEADER + petition(TWO_PARAGRAPHS.replace("\n", "\r\n")))
    commit(repo, "Write the summary in paragraphs", "2024-06-10T09:00:00+08:00")
    build(repo)
    write(repo, "petitions.csv", PETITIONS_HEADER + petition(TWO_PARAGRAPHS))
    commit(repo, "Save with other line ends", "2024-06-11T09:00:00+08:00")
    build(repo)

    history = repo / "build" / "history.db"
    assert rows(
        history, "select count(*) from changes where commit_message = 'Save with other line ends'"
    ) == [(0,)]
    assert rows(history, "select summary from petitions where case_id = '2024-0000001'") == [
        (TWO_PARAGRAPHS,)
    ]
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["diff", "--base", "HEAD~1"])
    assert result.exit_code == 0, result.output
    assert "合计：新增 0 行，删除 0 行，修改 0 行。" in result.stdout
