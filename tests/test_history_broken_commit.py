"""A commit whose CSV has a quote that makes csv read many lines into one cell (a quote typed at the
start of a cell and never closed, or closed lines later by a quote followed by text) never passed
validation: the history records nothing of it. The table is as it was before that commit, and the
commit that fixes the quote is compared with the last version that could be read. The history is
the same whether the commits arrive together, one by one, or are read from nothing."""

from __future__ import annotations

import io
import shutil
import sqlite3
from contextlib import contextmanager
from pathlib import Path

import pytest

from sunshine.history import bulk, wellformed
from sunshine.history.build import build_history
from sunshine.history.versions import Writer
from sunshine.package import Project
from sunshine.site.pages.changes import changes_pages

from .git_fixture import (
    COMMITMENTS_HEADER,
    COMMITTEE_MEMBERS_HEADER,
    D1,
    D2,
    DISCLOSURES_HEADER,
    GRID_STAFF,
    GRIDS,
    P1,
    P2,
    PETITIONS_HEADER,
    ROOT,
    VILLAGES,
    commit,
    git,
    make_repo,
    write,
)

DATASETTE = "http://127.0.0.1:8001"
PUBLISH = "Publish 800 petitions"
BREAK = "Quote a summary"
FIX = "Close the quote, and correct petition 2024-0100010"


def petition(n: int) -> str:
    return P1.replace("2024-0000001", f"2024-{100000 + n:07d}").replace("村东路灯损坏", f"第{n}号路灯损坏")


# Line 1 is the header, line 2 petition 2024-0000001, line n petition 2024-01(n - 2): 800 records.
GOOD = PETITIONS_HEADER + P1 + "".join(petition(n) for n in range(1, 800))


def with_lines(text: str, changed: dict[int, tuple[str, str]]) -> str:
    """The text with, on each line given (1 = the header), one piece of text replaced by another."""
    lines = text.splitlines(keepends=True)
    for number, (old, new) in changed.items():
        assert old in lines[number - 1]
        lines[number - 1] = lines[number - 1].replace(old, new)
    return "".join(lines)


BREAKAGES = {
    # A quote at the start of the summary of line 701, never closed: csv reads lines 701-801 as one row.
    "a quote never closed": {701: ("第699号", '"第699号')},
    # The same quote, closed on line 750 by a quote typed inside a summary: lines 701-750 as one row.
    "a quote closed fifty lines later": {701: ("第699号", '"第699号'), 750: ("第748号路灯", '第748号"路灯')},
}
FIXED = with_lines(GOOD, {12: ("第10号路灯损坏", "第10号路灯已修好")})


def rows(db: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def build(repo: Path) -> str:
    return build_history(Project.load(repo), repo / "build" / "history.db")


def published(repo: Path) -> None:
    """The fixture repository with 800 petitions published on 10 June."""
    make_repo(repo)
    (repo / ".gitignore").write_text("build/\n", encoding="utf-8")
    write(repo, "petitions.csv", GOOD)
    commit(repo, PUBLISH, "2024-06-10T09:00:00+08:00")


def broken(repo: Path, breakage: str) -> str:
    write(repo, "petitions.csv", with_lines(GOOD, BREAKAGES[breakage]))
    return commit(repo, BREAK, "2024-06-11T09:00:00+08:00")


def fixed(repo: Path, text: str = FIXED) -> str:
    write(repo, "petitions.csv", text)
    return commit(repo, FIX, "2024-06-12T09:00:00+08:00")


# What the three histories must hold alike.
SAME = [
    "select * from changes order by id",
    "select * from removals order by 1, 2, 3",
    "select * from commit_info order by hash",
    "select * from history_info order by key",
    "select _commit_hash, _version, case_id, summary, received_on, _item_full_hash, _changed_columns "
    "from petitions_version_detail order by case_id, _version",
    # Each record's latest state (commit ids are numbered in the order the commits were read).
    "select i._item_id, c.hash, i.case_id, i.summary, i.received_on from petitions i "
    "join commits c on c.id = i._commit order by i._item_id",
]


@pytest.fixture(scope="module", params=list(BREAKAGES))
def histories(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The broken commit and its fix built: together in one build, one build each, and from nothing."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
        root = tmp_path_factory.mktemp("broken")
        one_by_one = root / "one-by-one"
        published(one_by_one)
        before = build(one_by_one)
        together = Path(shutil.copytree(one_by_one, root / "together"))
        hashes = {"broken": broken(one_by_one, request.param)}
        after_broken = build(one_by_one)
        hashes["fixed"] = fixed(one_by_one)
        build(one_by_one)
        assert (broken(together, request.param), fixed(together)) == (hashes["broken"], hashes["fixed"])
        summary = build(together)
        cold = Path(shutil.copytree(one_by_one, root / "cold", ignore=shutil.ignore_patterns("build")))
        build(cold)
    return {
        "before": before,
        "after broken": after_broken,
        "summary": summary,
        "hashes": hashes,
        "together": together,
        "one by one": one_by_one,
        "cold": cold,
    }


def test_the_broken_commit_records_nothing_and_its_fix_only_what_it_corrected(histories):
    db = histories["together"] / "build" / "history.db"
    assert histories["before"] == (
        "修改历史 history.db：本次处理 6 个新提交，共记录 811 个行版本、1 次删除；"
        "已公开记录被修改 1 处、被删除 1 行"
    )
    assert histories["summary"] == (
        "修改历史 history.db：本次处理 2 个新提交，共记录 812 个行版本、1 次删除；"
        "已公开记录被修改 1 处、被删除 1 行"
    )
    assert rows(
        db,
        "select kind, record_id, version, summary, commit_message from changes "
        "where commit_message in (?, ?) order by id",
        (BREAK, FIX),
    ) == [
        (
            "修改",
            "2024-0100010",
            2,
            "诉求摘要：第10号路灯损坏，夜间出行不便。 → 第10号路灯已修好，夜间出行不便。",
            FIX,
        )
    ]
    assert rows(db, "select record_id, commit_message from changes where kind = '删除'") == [
        ("2024-0000002", "Remove petition 2024-0000002, entered twice")
    ]


def test_no_version_of_the_broken_commit_is_kept(histories):
    db = histories["together"] / "build" / "history.db"
    broken_hash = histories["hashes"]["broken"]
    assert rows(
        db, "select count(*) from petitions_version_detail where _commit_hash = ?", (broken_hash,)
    ) == [(0,)]
    assert rows(db, "select count(*) from removals where commit_hash = ?", (broken_hash,)) == [(0,)]
    assert rows(db, "select count(*) from changes where commit_hash = ?", (broken_hash,)) == [(0,)]
    assert rows(
        db,
        "select _commit_hash, _version, summary, received_on from petitions_version_detail "
        "where case_id = '2024-0100699' order by _version",
    ) == [(rows(db, "select hash from commit_info where message = ?", (PUBLISH,))[0][0], 1,
           "第699号路灯损坏，夜间出行不便。", "2024-04-02")]  # fmt: skip
    assert rows(db, "select max(length(summary)) from petitions_version") == [
        (len("第699号路灯损坏，夜间出行不便。"),)
    ]
    assert rows(db, "select count(*) from petitions") == [(801,)]


def test_the_broken_commit_built_on_its_own_records_nothing_either(histories):
    assert histories["after broken"] == (
        "修改历史 history.db：本次处理 1 个新提交，共记录 811 个行版本、1 次删除；"
        "已公开记录被修改 1 处、被删除 1 行"
    )


@pytest.mark.parametrize("sql", SAME)
def test_the_history_is_the_same_built_together_one_by_one_and_from_nothing(histories, sql):
    together, one_by_one, cold = (
        histories[k] / "build" / "history.db" for k in ("together", "one by one", "cold")
    )
    assert rows(together, sql) == rows(one_by_one, sql) == rows(cold, sql)


def test_the_change_pages_list_no_change_of_the_broken_commit(histories):
    repo = histories["together"]
    pages = changes_pages(Project.load(repo), repo / "build" / "history.db", DATASETTE)
    assert [name for name, page in pages.items() if BREAK in page] == []
    index = pages["changes/index.md"]
    assert "| [群众诉求办结](petitions.md) | 801 | 1 | 1 | 2024-06-12 |" in index
    # Published petitions corrected are not flagged, deleted ones are: the broken commit deleted none.
    flagged = [line for line in index.splitlines() if line.startswith("| 2024-")]
    assert [line.split(" | ")[:5] for line in flagged] == [
        ["| 2024-06-01", "群众诉求办结", "2024-0000002", "删除", "小区垃圾清运不及时。"],
        ["| 2024-05-20", "三务公开事项", "D00000001", "修改", "金额（元）：1200.00 → 1500.00"],
    ]  # fmt: skip
    assert (
        "- [2024 年 6 月](month/2024-06.md)（802 处）" in index
    )  # 799 added, 1 corrected, 1 deleted, 1 grid


def test_a_fix_that_puts_the_file_back_as_it_was_records_nothing_at_all(tmp_path, monkeypatch):
    """The tester's report: the quote of line 701 never closed, then taken out again."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    published(repo)
    build(repo)
    broken(repo, "a quote never closed")
    fixed(repo, GOOD)
    assert build(repo) == (
        "修改历史 history.db：本次处理 2 个新提交，共记录 811 个行版本、1 次删除；"
        "已公开记录被修改 1 处、被删除 1 行"
    )
    db = repo / "build" / "history.db"
    assert rows(db, "select count(*) from changes where commit_message in (?, ?)", (BREAK, FIX)) == [(0,)]
    assert rows(db, "select count(*) from petitions_version where summary like '%' || char(10) || '%'") == [
        (0,)
    ]


def first_records(repo: Path, petitions: str) -> str:
    """A township whose first commit holds the petitions given (the commit a first history reads whole)."""
    repo.mkdir(parents=True)
    shutil.copy(ROOT / "datapackage.json", repo / "datapackage.json")
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    (repo / "data").mkdir()
    (repo / ".gitignore").write_text("build/\n", encoding="utf-8")
    git(repo, "init", "-q", "-b", "main")
    for name, text in [
        ("villages.csv", VILLAGES),
        ("grids.csv", GRIDS),
        ("grid_staff.csv", GRID_STAFF),
        ("disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1200.00") + D2),
        ("petitions.csv", petitions),
        ("committee_members.csv", COMMITTEE_MEMBERS_HEADER),
        ("commitments.csv", COMMITMENTS_HEADER),
    ]:
        write(repo, name, text)
    return commit(repo, "Publish the first records, a quote left open", "2024-05-01T09:00:00+08:00")


@pytest.mark.parametrize("elsewhere", [bulk.ELSEWHERE, 0], ids=["read here", "read by a process of its own"])
def test_a_first_commit_with_a_quote_left_open_records_nothing_and_its_fix_adds_every_row(
    tmp_path, monkeypatch, elsewhere
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(bulk, "ELSEWHERE", elsewhere)
    started = []
    original_start = bulk.start

    def start(*args):
        worker = original_start(*args)
        started.append(worker)
        return worker

    monkeypatch.setattr(bulk, "start", start)
    repo = tmp_path / "repo"
    first_records(repo, PETITIONS_HEADER + P1.replace("村东路灯损坏", '"村东路灯损坏') + P2)
    assert build(repo) == (
        "修改历史 history.db：本次处理 1 个新提交，共记录 7 个行版本、0 次删除；已公开记录被修改 0 处、被删除 0 行"
    )
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P2)
    commit(repo, "Close the quote", "2024-05-02T09:00:00+08:00")
    build(repo)
    cold = Path(shutil.copytree(repo, tmp_path / "cold", ignore=shutil.ignore_patterns("build")))
    build(cold)
    db = repo / "build" / "history.db"
    assert rows(
        db, "select kind, record_id, version, commit_message from changes where table_name = 'petitions'"
    ) == [
        ("新增", "2024-0000001", 1, "Close the quote"),
        ("新增", "2024-0000002", 1, "Close the quote"),
    ]
    assert rows(db, "select case_id, summary from petitions order by case_id") == [
        ("2024-0000001", "村东路灯损坏，夜间出行不便。"),
        ("2024-0000002", "小区垃圾清运不及时。"),
    ]
    for sql in SAME:
        assert rows(db, sql) == rows(cold / "build" / "history.db", sql)
    # Each file's first version had its reading process started early; each has ended.
    workers = [w for w in started if w is not None]
    assert bool(workers) == (elsewhere == 0)
    assert [w.returncode is None for w in workers] == [False] * len(workers)


def test_a_commit_read_by_its_changed_lines_is_not_read_whole_to_be_checked(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    repo = tmp_path / "repo"
    published(repo)
    build(repo)
    quoted = '"第298号路灯损坏，村民说""很急""。"'
    write(repo, "petitions.csv", with_lines(GOOD, {300: ("第298号路灯损坏，夜间出行不便。", quoted)}))
    commit(repo, "Quote what a resident said", "2024-06-11T09:00:00+08:00")
    checked = []
    original = Writer._well_formed
    monkeypatch.setattr(Writer, "_well_formed", lambda self, ref: checked.append(ref) or original(self, ref))
    assert "本次处理 1 个新提交，共记录 812 个行版本" in build(repo)
    assert checked == []


@contextmanager
def _bytes(data: bytes):
    yield io.BytesIO(data)


HEAD = "a,b,c\n"


@pytest.mark.parametrize(
    ("text", "reads"),
    [
        (HEAD + "1,2,3\n4,5,6\n", True),
        (HEAD + '1,"多行\n单元格",3\n4,"带""引号""",6\n', True),
        (HEAD + '1,"引号"后面还有字,3\n4,5,6\n', True),  # inside one line: read as typed
        (HEAD + '1,没有引号的"引号,3\n4,5,6\n', True),
        (HEAD + '1,a"b,3\n4,c"d,6\n7,8,9\n', True),
        (HEAD + "1,2\n4,5,6,7\n", True),  # rows of another width: read as written
        (HEAD + '1,"从未关闭,3\n4,5,6\n7,8,9\n', False),
        (HEAD + '1,"在后面一行关闭,3\n4,5"6,7\n8,9,0\n', False),
        (HEAD + '1,"a"b,"c\n4,5,6\n', False),  # a quote followed by text, then a cell left open
        (HEAD + '1,2,"最后一格\n', False),
    ],
)
def test_a_quick_look_at_the_records_never_calls_well_formed_what_csv_cannot_read(text, reads):
    data = text.encode("utf-8")
    assert wellformed.reads_strictly(io.StringIO(text, newline="")) is reads
    assert wellformed.looks_well_formed(lambda: _bytes(data)) in (reads, None)
    assert wellformed.looks_well_formed(lambda: _bytes(data.replace(b"\n", b"\r\n"))) in (reads, None)
    assert wellformed.looks_well_formed(lambda: _bytes(text.encode("gb18030"))) in (reads, None)


def test_a_file_without_a_quote_is_read_well_without_csv(monkeypatch):
    monkeypatch.setattr(wellformed, "read_alone", lambda *a: pytest.fail("read by csv"))
    data = (HEAD + "1,2,3\n" * 1000).encode()
    assert wellformed.looks_well_formed(lambda: _bytes(data)) is True
