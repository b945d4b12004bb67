"""build/history.db records every version of every row, with the commit that made it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest

from sunshine.history import build as history
from sunshine.history.build import build_history
from sunshine.history.schema import HISTORY_QUERIES, history_tables_metadata
from sunshine.package import Project
from sunshine.privacy import VERSION as MASKING
from sunshine.problems import BuildError
from sunshine.site.pages.changes import changes_pages

from .git_fixture import (
    D1,
    D2,
    D3,
    DISCLOSURES_HEADER,
    P1,
    PETITIONS_HEADER,
    commit,
    excel_resave,
    git,
    make_repo,
    write,
)

DATASETTE = "http://127.0.0.1:8001"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], str]:
    """The fixture repository with its history built once: (repository, commit hashes, summary)."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    hashes = make_repo(repo)
    summary = build_history(Project.load(repo), repo / "build" / "history.db")
    return repo, hashes, summary


@pytest.fixture
def repo_copy(built: tuple[Path, dict[str, str], str], tmp_path: Path) -> Path:
    """A writable copy of the built repository, .git and build/history.db included."""
    return Path(shutil.copytree(built[0], tmp_path / "repo"))


def rows(db: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params or {}).fetchall()


def test_the_summary_counts_commits_versions_and_published_changes(built):
    _, _, summary = built
    assert summary == (
        "修改历史 history.db：本次处理 5 个新提交，共记录 12 个行版本、1 次删除；已公开记录被修改 1 处、被删除 1 行"
    )


def test_every_change_is_recorded_with_its_commit_date_and_message(built):
    repo, hashes, _ = built
    recorded = rows(
        repo / "build" / "history.db",
        "select table_name, record_id, kind, version, commit_date, commit_hash, commit_message, summary, "
        "village_code, after_publication from changes where kind != '新增' or commit_date > '2024-05-01' order by id",
    )
    assert recorded == [
        ("disclosures", "D00000003", "新增", 1, "2024-05-10", hashes["added"],
         "Add the first-quarter Party dues disclosure", "2024年第一季度党费收缴情况", "330102001002", 0),
        ("disclosures", "D00000001", "修改", 2, "2024-05-20", hashes["amount"],
         "Correct the road repair payment to 1500 yuan", "金额（元）：1200.00 → 1500.00", "330102001001", 1),
        ("petitions", "2024-0000002", "删除", None, "2024-06-01", hashes["removed"],
         "Remove petition 2024-0000002, entered twice", "小区垃圾清运不及时。", "330102001002", 1),
        ("grids", "330102001001-01", "修改", 2, "2024-06-05", hashes["typo"],
         "Fix the area of the first grid of Qingshi", "网格范围：村东片一至三组 → 村东片一至四组", "330102001001", 0),
    ]  # fmt: skip


def test_the_first_commit_adds_every_row_and_staff_belong_to_their_grids_village(built):
    repo, hashes, _ = built
    first = rows(
        repo / "build" / "history.db",
        "select table_name, record_id, village_code from changes where commit_hash = ? order by id",
        [hashes["first"]],
    )
    assert first == [
        ("villages", "330102001001", "330102001001"),
        ("villages", "330102001002", "330102001002"),
        ("grids", "330102001001-01", "330102001001"),
        ("grids", "330102001002-01", "330102001002"),
        ("grid_staff", "S000001", "330102001001"),
        ("disclosures", "D00000001", "330102001001"),
        ("disclosures", "D00000002", "330102001001"),
        ("petitions", "2024-0000001", "330102001001"),
        ("petitions", "2024-0000002", "330102001002"),
    ]


def test_git_history_keeps_one_namespace_per_table_with_every_version(built):
    repo, hashes, _ = built
    db = repo / "build" / "history.db"
    assert rows(db, "select name from namespaces order by id") == [
        ("villages",),
        ("grids",),
        ("grid_staff",),
        ("disclosures",),
        ("petitions",),
        ("committee_members",),
        ("commitments",),
    ]
    assert rows(
        db,
        "select _version, _commit_hash, amount_yuan from disclosures_version_detail "
        "where _item = (select _id from disclosures where disclosure_id = 'D00000001') order by _version",
    ) == [(1, hashes["first"], "1200.00"), (2, hashes["amount"], "1500.00")]


def test_the_canned_queries_answer_a_journalists_questions(built):
    repo, hashes, _ = built
    db = repo / "build" / "history.db"

    def query(name: str, **params: str) -> list[tuple]:
        return rows(db, HISTORY_QUERIES[name]["sql"], params)

    assert [(r[2], r[5]) for r in query("modified_after_publication")] == [
        ("D00000001", "金额（元）：1200.00 → 1500.00")
    ]
    assert [(r[2], r[3]) for r in query("deleted_records")] == [("2024-0000002", "小区垃圾清运不及时。")]
    assert [(r[2], r[4]) for r in query("village_corrections", village_code="330102001001")] == [
        ("330102001001-01", "修改"),
        ("D00000001", "修改"),
    ]
    assert [
        (r[1], r[6]) for r in query("record_history", table_name="disclosures", record_id="D00000001")
    ] == [
        ("新增", hashes["first"]),
        ("修改", hashes["amount"]),
    ]
    assert {"title", "description", "sql"} <= HISTORY_QUERIES["village_corrections"].keys()
    assert HISTORY_QUERIES["village_corrections"]["params"] == ["village_code"]


def test_datasette_runs_the_canned_queries(built, tmp_path):
    import json

    repo, _, _ = built
    metadata = tmp_path / "metadata.json"
    metadata.write_text(
        json.dumps({"databases": {"history": {"queries": HISTORY_QUERIES}}}), encoding="utf-8"
    )
    datasette = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "datasette"
    proc = subprocess.run(
        [str(datasette), str(repo / "build" / "history.db"), "-m", str(metadata), "--get",
         "/history/village_corrections.json?village_code=330102001002&_shape=array"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert [(r["record_id"], r["kind"]) for r in json.loads(proc.stdout)] == [("2024-0000002", "删除")]


def test_a_second_build_processes_no_commit_again_and_a_new_commit_once(repo_copy):
    project = Project.load(repo_copy)
    db = repo_copy / "build" / "history.db"
    assert build_history(project, db).startswith(
        "修改历史 history.db：本次处理 0 个新提交，共记录 12 个行版本"
    )
    # git-history keeps a row per table a commit touched: 7 for the first commit, 1 for each of the four others.
    assert rows(db, "select count(*) from commits") == [(11,)]

    write(repo_copy, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1500.00") + D3)
    removed = commit(repo_copy, "Withdraw the work plan, superseded", "2024-06-10T09:00:00+08:00")
    assert build_history(project, db).startswith(
        "修改历史 history.db：本次处理 1 个新提交，共记录 12 个行版本、2 次删除"
    )
    assert rows(
        db, "select record_id, kind, after_publication from changes where commit_hash = ?", [removed]
    ) == [("D00000002", "删除", 1)]
    assert not list(db.parent.glob(".history-*"))


def test_a_shallow_clone_says_where_its_history_starts(built, tmp_path):
    repo, hashes, _ = built
    subprocess.run(["git", "clone", "-q", "--depth", "1", repo.as_uri(), str(tmp_path / "clone")], check=True)
    project = Project.load(tmp_path / "clone")
    db = tmp_path / "clone" / "build" / "history.db"
    note = (
        f"注意：这是浅克隆，只能看到从提交 {hashes['typo'][:7]}（2024-06-05）开始的历史，"
        "更早的修改没有记录，该提交中的行都显示为“新增”。"
    )
    assert build_history(project, db).endswith(f"行。{note}")
    assert rows(db, "select value from history_info where key = 'coverage'") == [(note,)]
    assert f"> {note}" in changes_pages(project, db, DATASETTE)["changes/index.md"]


def test_a_directory_outside_git_gets_an_empty_history_and_a_clear_message(built, tmp_path):
    repo, _, _ = built
    plain = tmp_path / "plain"
    shutil.copytree(repo, plain, ignore=shutil.ignore_patterns(".git", "build"))
    project = Project.load(plain)
    summary = build_history(project, plain / "build" / "history.db")
    assert summary == f"修改历史：{plain} 不是 git 仓库。没有可以记录的修改历史。"
    assert rows(plain / "build" / "history.db", "select count(*) from changes") == [(0,)]
    assert (
        "这张表还没有变更记录。"
        in changes_pages(project, plain / "build" / "history.db", DATASETTE)["changes/grids.md"]
    )


def test_a_repository_whose_commits_never_touched_data_has_no_history(tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    shutil.rmtree(repo / ".git")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "datapackage.json", "schemas")
    git(repo, "commit", "-q", "-m", "Add the data contract", date="2024-04-01T09:00:00+08:00")
    summary = build_history(Project.load(repo), repo / "build" / "history.db")
    assert summary == "修改历史：还没有任何提交修改过 data/ 下的表格，没有可以记录的修改历史。"


def test_personal_numbers_committed_by_mistake_are_masked_in_the_history(repo_copy):
    leaked = P1.replace("村东路灯损坏，夜间出行不便。", "村民（电话13812345678）反映路灯损坏。")
    write(repo_copy, "petitions.csv", PETITIONS_HEADER + leaked)
    commit(repo_copy, "Add the caller's number", "2024-06-11T09:00:00+08:00")
    write(repo_copy, "petitions.csv", PETITIONS_HEADER + P1)
    commit(repo_copy, "Remove the caller's number", "2024-06-12T09:00:00+08:00")
    db = repo_copy / "build" / "history.db"
    build_history(Project.load(repo_copy), db)
    assert b"13812345678" not in db.read_bytes()
    assert rows(db, "select summary from changes where commit_message = 'Add the caller''s number'") == [
        ("诉求摘要：村东路灯损坏，夜间出行不便。 → 村民（电话138****5678）反映路灯损坏。",)
    ]


def test_a_personal_number_in_a_correction_reason_is_masked_in_the_history(repo_copy):
    write(repo_copy, "petitions.csv", PETITIONS_HEADER + P1.replace(",满意", ",基本满意"))
    commit(
        repo_copy,
        "Correct the satisfaction\n\n更正原因：申请人33010219800101123X来电，回访结果录错。",
        "2024-06-11T09:00:00+08:00",
    )
    db = repo_copy / "build" / "history.db"
    build_history(Project.load(repo_copy), db)
    assert b"33010219800101123X" not in db.read_bytes()
    assert rows(db, "select reason from changes where commit_message = 'Correct the satisfaction'") == [
        ("申请人330102********123X来电，回访结果录错。",)
    ]


def test_a_failed_build_keeps_the_last_good_history(repo_copy, monkeypatch):
    db = repo_copy / "build" / "history.db"
    before = db.read_bytes()

    def broken(project, db):
        db["changes"].drop()
        db["half_written"].insert({"row": 1})
        raise BuildError("模拟失败")

    monkeypatch.setattr(history, "_update", broken)
    with pytest.raises(BuildError):
        build_history(Project.load(repo_copy), db)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["history.db"]


def test_change_pages_kept_between_builds_are_the_ones_written_again(built, tmp_path, monkeypatch):
    repo, _, _ = built
    db = repo / "build" / "history.db"
    fresh = changes_pages(Project.load(repo), db, DATASETTE)
    assert changes_pages(Project.load(repo), db, DATASETTE, tmp_path) == fresh
    kept = sorted(tmp_path.iterdir())
    assert len(kept) == sum(p.startswith(("changes/month/", "changes/village/")) for p in fresh)
    monkeypatch.setattr("sunshine.site.pages.changes._sentence_item", lambda *a: pytest.fail("written again"))
    assert changes_pages(Project.load(repo), db, DATASETTE, tmp_path) == fresh
    assert sorted(tmp_path.iterdir()) == kept


def test_the_change_pages_list_each_change_with_its_links(built):
    repo, hashes, _ = built
    pages = changes_pages(Project.load(repo), repo / "build" / "history.db", DATASETTE)
    assert sorted(p for p in pages if p.count("/") == 1) == [
        "changes/commitments.md",
        "changes/committee_members.md",
        "changes/disclosures.md",
        "changes/grid_staff.md",
        "changes/grids.md",
        "changes/index.md",
        "changes/petitions.md",
        "changes/villages.md",
    ]
    index = pages["changes/index.md"]
    assert (
        "| 2024-05-20 | 三务公开事项 | D00000001 | 修改 | 金额（元）：1200.00 → 1500.00 | "
        "Correct the road repair payment to 1500 yuan | "
        f"[查看这条记录]({DATASETTE}/sunshine/disclosures/D00000001) · "
        f"[全部版本]({DATASETTE}/history/record_history?table_name=disclosures&record_id=D00000001) |"
    ) in index
    # A deleted record has no row in the published database any more: only its history is linked.
    assert (
        "| 2024-06-01 | 群众诉求办结 | 2024-0000002 | 删除 | 小区垃圾清运不及时。 | "
        "Remove petition 2024-0000002, entered twice | "
        f"[全部版本]({DATASETTE}/history/record_history?table_name=petitions&record_id=2024-0000002) |"
    ) in index
    assert "| [网格](grids.md) | 2 | 1 | 0 | 2024-06-05 |" in index
    assert f"- [发布后被修改的记录]({DATASETTE}/history/modified_after_publication)" in index
    disclosures = pages["changes/disclosures.md"]
    assert (
        "**2024-05-20 · 修改 · D00000001** 村道修缮工程款支付\n\n"
        "⚠ 已公开的记录在公开后被修改。\n\n"
        f"提交说明：Correct the road repair payment to 1500 yuan（提交 {hashes['amount'][:7]}）\n\n"
        "| 字段 | 原值 | 新值 |\n| --- | --- | --- |\n| 金额（元） | 1200.00 | 1500.00 |\n"
    ) in disclosures
    assert disclosures.index("2024-05-20 · 修改") < disclosures.index("2024-05-10 · 新增")


def test_data_text_in_the_change_pages_cannot_become_markup_or_links(repo_copy):
    title = "关于[点我](javascript:alert(1))<script>alert(1)</script>的公示"
    write(
        repo_copy,
        "disclosures.csv",
        DISCLOSURES_HEADER + D1.format(amount="1500.00") + D2.replace("2024年村务工作计划", title) + D3,
    )
    commit(repo_copy, "Retitle <b>the</b> plan", "2024-06-13T09:00:00+08:00")
    project = Project.load(repo_copy)
    build_history(project, repo_copy / "build" / "history.db")
    page = changes_pages(project, repo_copy / "build" / "history.db", DATASETTE)["changes/disclosures.md"]
    assert "<script>" not in page and "<b>" not in page and "](javascript" not in page
    assert (
        "| 标题 | 2024年村务工作计划 | 关于&#91;点我&#93;&#40;javascript:alert&#40;1&#41;&#41;"
        "&#60;script&#62;alert&#40;1&#41;&#60;/script&#62;的公示 |"
    ) in page
    assert "提交说明：Retitle &#60;b&#62;the&#60;/b&#62; plan" in page


def test_each_table_has_a_view_of_its_changes_newest_first(built):
    repo, _, _ = built
    assert rows(repo / "build" / "history.db", "select record_id, kind from petitions_changes") == [
        ("2024-0000002", "删除"),
        ("2024-0000002", "新增"),
        ("2024-0000001", "新增"),
    ]


def test_without_a_history_database_the_pages_say_so(tmp_path):
    project = Project.load(make_repo(tmp_path / "repo") and tmp_path / "repo")
    pages = changes_pages(project, tmp_path / "missing.db", DATASETTE)
    assert "> 还没有生成修改历史。" in pages["changes/index.md"]
    assert "没有已公开的记录在公开后被修改或删除。" in pages["changes/index.md"]


def test_a_correction_inside_a_merged_pull_request_is_not_a_change_to_a_published_record(repo_copy):
    d4 = D3.replace("D00000003", "D00000004").replace("2024-05-10", "2024-06-20")
    git(repo_copy, "checkout", "-q", "-b", "june")
    write(repo_copy, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1500.00") + D2 + D3 + d4)
    commit(repo_copy, "Add the second-quarter dues", "2024-06-20T09:00:00+08:00")
    write(
        repo_copy,
        "disclosures.csv",
        DISCLOSURES_HEADER + D1.format(amount="1500.00") + D2 + D3 + d4.replace("1520.00", "1560.00"),
    )
    commit(repo_copy, "Correct the dues before review", "2024-06-21T09:00:00+08:00")
    git(repo_copy, "checkout", "-q", "main")
    git(
        repo_copy,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge the June disclosures",
        "june",
        date="2024-06-22T09:00:00+08:00",
    )
    db = repo_copy / "build" / "history.db"
    build_history(Project.load(repo_copy), db)
    assert rows(
        db, "select record_id, kind, summary, after_publication from changes where record_id = 'D00000004'"
    ) == [
        ("D00000004", "新增", "2024年第一季度党费收缴情况", 0),
        ("D00000004", "修改", "金额（元）：1520.00 → 1560.00", 0),
    ]
    assert rows(db, "select record_id from changes where after_publication = 1 order by id") == [
        ("D00000001",),
        ("2024-0000002",),
    ]


def test_the_datasette_metadata_names_every_table_and_view_of_history_db(built):
    repo, _, _ = built
    names = {
        r[0]
        for r in rows(
            repo / "build" / "history.db", "select name from sqlite_master where type in ('table', 'view')"
        )
    }
    described = history_tables_metadata(Project.load(repo))
    assert names - described.keys() == set()
    assert set(described["changes"]["columns"]) == {
        r[1] for r in rows(repo / "build" / "history.db", "pragma table_info(changes)")
    }


def test_rewritten_history_is_recorded_again_from_the_start(repo_copy):
    git(
        repo_copy,
        "commit",
        "-q",
        "--amend",
        "-m",
        "Fix the area of grid 330102001001-01",
        date="2024-06-05T10:00:00+08:00",
    )
    db = repo_copy / "build" / "history.db"
    assert build_history(Project.load(repo_copy), db).startswith(
        "修改历史 history.db：本次处理 5 个新提交，共记录 12 个行版本"
    )
    assert rows(db, "select commit_message from changes where table_name = 'grids' and kind = '修改'") == [
        ("Fix the area of grid 330102001001-01",)
    ]


def test_change_pages_never_show_a_history_recorded_before_masking_was_complete(repo_copy):
    db = repo_copy / "build" / "history.db"
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("delete from history_info where key = 'masking'")
    pages = changes_pages(Project.load(repo_copy), db, DATASETTE)
    assert "> 修改历史是旧版本的程序生成的，没有按现在的规则隐去个人信息" in pages["changes/index.md"]
    assert "没有已公开的记录在公开后被修改或删除。" in pages["changes/index.md"]
    summary = build_history(Project.load(repo_copy), db)
    assert summary.startswith("修改历史 history.db：本次处理 5 个新提交")  # recorded again, masked
    assert rows(db, "select value from history_info where key = 'masking'") == [(MASKING,)]


@pytest.mark.parametrize("start", ["added", "2024-05-10"])
def test_the_public_history_begins_where_sunshine_toml_says(built, tmp_path, start):
    repo, hashes, _ = built
    copy = Path(shutil.copytree(repo, tmp_path / "repo"))
    setting = hashes[start][:7] if start in hashes else start
    (copy / "sunshine.toml").write_text(f'[history]\nstart = "{setting}"\n', encoding="utf-8")
    db = copy / "build" / "history.db"
    db.unlink()
    build_history(Project.load(copy), db)
    recorded = rows(db, "select record_id, kind, commit_hash, after_publication from changes order by id")
    # A commit is the baseline, listed no more; a date lists what was committed from that day on.
    assert recorded == [("D00000003", "新增", hashes["added"], 0)] * (start != "added") + [
        ("D00000001", "修改", hashes["amount"], 1),
        ("2024-0000002", "删除", hashes["removed"], 1),
        ("330102001001-01", "修改", hashes["typo"], 0),
    ]
    (coverage,) = rows(db, "select value from history_info where key = 'coverage'")[0]
    assert coverage.startswith("公开的修改历史从") and "history.start" in coverage


def test_a_history_start_that_names_no_commit_is_a_chinese_error(repo_copy):
    (repo_copy / "sunshine.toml").write_text('[history]\nstart = "deadbeef"\n', encoding="utf-8")
    with pytest.raises(BuildError, match="history.start"):
        build_history(Project.load(repo_copy), repo_copy / "build" / "history.db")


def test_changes_read_as_sentences_by_month_and_by_village_with_the_commit_folded(built):
    repo, hashes, _ = built
    pages = changes_pages(Project.load(repo), repo / "build" / "history.db", DATASETTE)
    may = pages["changes/month/2024-05.md"]
    sentence = (
        "<li><p>⚠ 2024-05-20，青石村修改了三务公开事项“村道修缮工程款支付”：金额（元）由“1200.00”改为“1500.00”。"
        "这条记录修改前已经公开。说明：Correct the road repair payment to 1500 yuan</p>"
        f'<details class="technical"><summary>技术信息</summary><p>提交 {hashes["amount"][:7]} · '
    )
    assert sentence in may
    assert "2024-06-05" not in may and "2024-06-05，青石村修改了网格" in pages["changes/month/2024-06.md"]
    village = pages["changes/village/330102001001.md"]
    assert village.index("2024-06-05，青石村") < village.index("2024-05-20，青石村")
    index = pages["changes/index.md"]
    assert index.index("- [2024 年 6 月](month/2024-06.md)") < index.index("## ⚠ 已公开记录的修改和删除")
    assert "- [青石村](village/330102001001.md)" in index


def test_a_merged_excel_resave_records_no_correction(repo_copy):
    for name in ("disclosures", "petitions", "grids"):
        path = repo_copy / "data" / f"{name}.csv"
        path.write_bytes(excel_resave(path.read_text(encoding="utf-8")))
    commit(repo_copy, "Save the tables again in Excel", "2024-06-10T09:00:00+08:00")
    db = repo_copy / "build" / "history.db"
    summary = build_history(Project.load(repo_copy), db)
    assert summary.startswith("修改历史 history.db：本次处理 1 个新提交，共记录 12 个行版本")
    assert rows(db, "select count(*) from changes where commit_date = '2024-06-10'") == [(0,)]


def test_a_correction_keeps_its_reason_in_the_history_and_on_the_change_page(built):
    repo, hashes, _ = built
    db = repo / "build" / "history.db"
    assert rows(db, "select record_id, reason from changes where after_publication = 1 order by id") == [
        ("D00000001", "按工程结算单更正金额"),
        ("2024-0000002", "同一诉求重复录入"),
    ]
    page = changes_pages(Project.load(repo), db, DATASETTE)["changes/disclosures.md"]
    assert "| 金额（元） | 1200.00 | 1500.00 |\n\n⚠ 更正原因：按工程结算单更正金额\n" in page
