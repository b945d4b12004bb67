"""A pull request merged after a commit made on the main branch meanwhile: each commit is read against
its first parent, so the history built after every commit and the history built once from nothing
list the same changes, and the main branch's commit is not shown undoing the request's changes."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sunshine.history.build import build_history
from sunshine.package import Project

from .git_fixture import P1, PETITIONS_HEADER, commit, git, make_repo, write

P3 = P1.replace("2024-0000001", "2024-0000003").replace("村东路灯损坏", "村西水渠堵塞")
P4 = P1.replace("2024-0000001", "2024-0000004").replace("村东路灯损坏", "村南桥面破损")


def build(repo: Path) -> None:
    build_history(Project.load(repo), repo / "build" / "history.db")


def changes(repo: Path) -> list[tuple]:
    with sqlite3.connect(repo / "build" / "history.db") as conn:
        return conn.execute(
            "select id, seq, record_id, kind, summary, commit_message from changes where seq >= 5 order by id"
        ).fetchall()


def test_a_merged_request_is_listed_once_whether_built_after_each_commit_or_from_nothing(tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    (repo / ".gitignore").write_text("build/\n", encoding="utf-8")
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P4 + P3)
    commit(repo, "Add petitions 2024-0000003 and 2024-0000004", "2024-06-08T09:00:00+08:00")
    build(repo)
    git(repo, "checkout", "-q", "-b", "followup")
    write(repo, "petitions.csv", PETITIONS_HEADER + P1.replace(",满意", ",基本满意") + P4 + P3)
    commit(repo, "Record the follow-up of 2024-0000001", "2024-06-09T09:00:00+08:00")
    git(repo, "checkout", "-q", "main")
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P4 + P3.replace("堵塞", "堵塞，已清理"))
    commit(repo, "Record the outcome of 2024-0000003", "2024-06-10T09:00:00+08:00")
    build(repo)
    git(
        repo,
        "merge",
        "-q",
        "--no-ff",
        "followup",
        "-m",
        "Merge the follow-up",
        date="2024-06-11T09:00:00+08:00",
    )
    build(repo)
    cold = tmp_path / "cold"
    shutil.copytree(repo, cold, ignore=shutil.ignore_patterns("build"))
    build(cold)

    assert changes(repo) == [
        (
            14,
            5,
            "2024-0000003",
            "新增",
            "村西水渠堵塞，夜间出行不便。",
            "Add petitions 2024-0000003 and 2024-0000004",
        ),
        (
            15,
            5,
            "2024-0000004",
            "新增",
            "村南桥面破损，夜间出行不便。",
            "Add petitions 2024-0000003 and 2024-0000004",
        ),
        (16, 6, "2024-0000001", "修改", "满意度：满意 → 基本满意", "Record the follow-up of 2024-0000001"),
        (
            17,
            7,
            "2024-0000003",
            "修改",
            "诉求摘要：村西水渠堵塞，夜间出行不便。 → 村西水渠堵塞，已清理，夜间出行不便。",
            "Record the outcome of 2024-0000003",
        ),
    ]
    assert changes(cold) == changes(repo)
