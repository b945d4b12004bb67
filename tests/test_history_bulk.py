"""A county's first history is written column by column (history/bulk.py); what it writes is exactly
what the row-by-row writer writes, table by table and row by row, awkward cells included."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from git_history.cli import _hash

from sunshine import privacy, typed
from sunshine.history import bulk
from sunshine.history.build import build_history
from sunshine.history.changes import Changes
from sunshine.history.versions import Writer
from sunshine.package import Project

from .git_fixture import (
    COMMITMENTS_HEADER,
    COMMITTEE_MEMBERS_HEADER,
    GRID_STAFF,
    ROOT,
    VILLAGES,
    commit,
    excel_resave,
    git,
    make_repo,
    write,
)

# Cells a clerk's spreadsheet, a paste or a careless edit can put in a file.
AWKWARD_TEXT = [
    "",
    " ",
    "\u3000",
    '村民说"路灯坏了"，很急',
    "第一行\n第二行",
    "第一行\r\n第二行",
    "末尾回车\r",
    "逗号,在中间",
    "反斜杠\\和制表符\t",
    "控制字符\x01和\x7f",
    "表情😀和𠀀",
    "é à ü ß",
    "身份证110105198001011238",
    "电话13812345678",
    "电话 138 1234 5678",
    "电话一三八一二三四五六七八",
    "电话１３８１２３４５６７８",
    "邮箱a@b.cn",
    "账号6222021234567890128",
    "长数字123456789012345",
    "路口 0571-86001001",
    "零宽\u200b字符",
]
AWKWARD_DATES = ["2024-05-03", "2024/5/3", "2024年5月3日", "２０２４-０５-０３", " 2024-05-03 ", "2024-02-30",
                 "45415", "0000-01-01", "2024-5-3\n", "明天", ""]  # fmt: skip
AWKWARD_NUMBERS = ["1200.00", "1200", "1,200", "1200.5", "¥1,200.00", "１２００", "-0.00", "0.10", "1e3",
                   "12345678901234567890.00", "", " ", "1200.00\n"]  # fmt: skip
AWKWARD_INTEGERS = [
    "420",
    "0420",
    "1,200",
    "-0",
    "-12",
    "１２",
    " 12 ",
    "12.0",
    "",
    "0",
    "99999999999999999999",
]
AWKWARD_BOOLEANS = ["是", "否", "true", "1", " 是 ", "", "yes"]


def _quoted(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"'


def _petitions() -> str:
    """Petitions with every awkward cell, quoted as Excel quotes them, CRLF line ends, a title for a
    field name, an extra column, duplicate and missing keys, blank, short and long lines."""
    header = "case_id,village_code,grid_id,渠道,request_type,category,summary,received_on,resolved_on,"
    header += "department,outcome,followup_on,satisfaction,备注"
    lines = [header]
    n = 0
    for i, text in enumerate(AWKWARD_TEXT):
        for j, day in enumerate(AWKWARD_DATES[i % 3 :: 3]):
            n += 1
            case = f"2024-{n:07d}"
            cells = [case, "330102001001", "330102001001-01" if n % 2 else "", "来访", "求助", "道路交通",
                     text, day, AWKWARD_DATES[(i + j) % len(AWKWARD_DATES)], "青石村村委会", text[::-1],
                     "2024-04-08", "满意", text]  # fmt: skip
            lines.append(",".join(_quoted(c) for c in cells))
    lines += [
        "2024-0000001,330102001001,,来访,求助,道路交通,同一编号的第二行,2024-04-02,,,,,,",  # a duplicate key
        ",330102001001,,来访,求助,道路交通,没有编号,2024-04-02,,,,,,",
        "",
        " , ,\u3000,,,,,,,,,,,",
        "2024-0900001,330102001001,,来访,求助,道路交通,短行",
        "2024-0900002,330102001001,,来访,求助,道路交通,长行,2024-04-02,,,,,,,多出的一格,再多一格",
        "110105198001011238,330102001001,,来访,求助,道路交通,编号是身份证号,2024-04-02,,,,,,",
        "13812345678,330102001001,,来访,求助,道路交通,编号是手机号,2024-04-02,,,,,,",
        '2024-0900003,330102001001,,来访,求助,道路交通,"引号"后面还有字,2024-04-02,,,,,,',
        '2024-0900004,330102001001,,来访,求助,道路交通,没有引号的"引号,2024-04-02,,,,,,',
    ]
    return "\r\n".join(lines) + "\r\n"


def _disclosures() -> str:
    header = (
        "disclosure_id,village_code,category,topic,title,content,period,published_on,amount_yuan,direction,"
    )
    header += "approval_ref,responsible"
    lines = [header]
    for n, amount in enumerate(AWKWARD_NUMBERS, start=1):
        text = AWKWARD_TEXT[n % len(AWKWARD_TEXT)]
        cells = [f"D{n:08d}", "330102001001", "财务公开", "工程项目", text, text, "2024-04",
                 AWKWARD_DATES[n % len(AWKWARD_DATES)], amount, "支出", "", "青石村村委会"]  # fmt: skip
        lines.append(",".join(_quoted(c) for c in cells))
    return "\n".join(lines) + "\n"


def _grids() -> str:
    lines = ["grid_id,village_code,name,area,households,population"]
    for n, households in enumerate(AWKWARD_INTEGERS, start=1):
        lines.append(
            f"330102001001-{n:02d},330102001001,第{n}网格,{_quoted(AWKWARD_TEXT[n])},{households},{n}"
        )
    return "\n".join(lines) + "\n"


def _members() -> str:
    lines = [COMMITTEE_MEMBERS_HEADER.rstrip("\n")]
    for n, party in enumerate(AWKWARD_BOOLEANS, start=1):
        phone = ["0571-86001001", "13812345678", "138-1234-5678", "110105198001011238", ""][n % 5]
        lines.append(
            f"M{n:06d},330102001001,村民委员会,委员,委员{n},{_quoted(party)},分管治安,{phone},2024-01-0{n}"
        )
    return "\n".join(lines) + "\n"


def _commitments() -> str:
    lines = [COMMITMENTS_HEADER.rstrip("\n")]
    for n in range(1, 6):
        lines.append(
            f"C{n:06d},M{n:06d},承诺{n},2024-01-02,2024/12/31,进行中,{_quoted(AWKWARD_TEXT[n + 10])},"
        )
    return "\n".join(lines) + "\n"


def _awkward_repo(repo: Path) -> None:
    """A township whose first commit holds every awkward cell (the commit a county's first history
    reads whole), a commit that adds a table and edits some rows (read by lines), and one that
    writes a table again as Excel saves it."""
    repo.mkdir(parents=True)
    shutil.copy(ROOT / "datapackage.json", repo / "datapackage.json")
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    (repo / "data").mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "data" / "villages.csv").write_bytes(VILLAGES.replace("\n", "\r\n").encode("gb18030"))
    write(repo, "petitions.csv", _petitions())
    write(repo, "disclosures.csv", _disclosures())
    write(repo, "grids.csv", _grids())
    write(repo, "committee_members.csv", _members())
    write(
        repo,
        "grid_staff.csv",
        GRID_STAFF + "S000002,330102001001-02,王五,网格员,否,13812345678,,2024-01-01\n",
    )
    commit(repo, "Publish the county's data", "2024-05-01T09:00:00+08:00")
    write(
        repo,
        "petitions.csv",
        _petitions().replace("同一编号的第二行", "改过").replace("2024/5/3", "2024-05-04"),
    )
    write(repo, "disclosures.csv", _disclosures().replace("财务公开", "村务公开", 3))
    write(repo, "commitments.csv", _commitments())
    commit(repo, "Correct some rows, add the commitments", "2024-06-08T09:00:00+08:00")
    gbk = "".join(c if c.encode("gbk", errors="ignore") else "?" for c in _grids())
    (repo / "data" / "grids.csv").write_bytes(excel_resave(gbk))
    commit(repo, "Save the grids in Excel", "2024-06-09T09:00:00+08:00")


def _tables(db: Path) -> dict[str, list[tuple]]:
    """Every table and view of a history, row by row (rowid included), and the schema."""
    with closing(sqlite3.connect(db)) as conn:
        master = conn.execute("select type, name, sql from sqlite_master order by name").fetchall()
        out: dict[str, list[tuple]] = {"sqlite_master": master}
        for kind, name, sql in master:
            if kind == "table" and sql.endswith("WITHOUT ROWID"):  # its rows are its primary key
                out[name] = conn.execute(f"select * from [{name}] order by 1, 2").fetchall()
            elif kind == "table" and not name.startswith("sqlite_"):
                out[name] = conn.execute(f"select rowid, * from [{name}] order by rowid").fetchall()
            elif kind == "view":
                out[name] = conn.execute(f"select * from [{name}]").fetchall()
    return out


@pytest.fixture(scope="module")
def awkward(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("bulk") / "repo"
    _awkward_repo(repo)
    return repo


@pytest.mark.parametrize(
    ("start", "elsewhere"),
    [("", False), ("2024-06-08", False), ("", True)],
    ids=["whole history", "history from a date", "read by a process of its own"],
)
def test_the_first_history_written_column_by_column_is_the_one_written_row_by_row(
    awkward: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: str, elsewhere: bool
):
    if elsewhere:
        monkeypatch.setattr(bulk, "ELSEWHERE", 0)
    if start:
        (awkward / "sunshine.toml").write_text(f'[history]\nstart = "{start}"\n', encoding="utf-8")
    try:
        project = Project.load(awkward)
        assert project.settings.history_start == start
        build_history(project, tmp_path / "bulk.db")
        _build_row_by_row(project, tmp_path / "rows.db", monkeypatch)
    finally:
        (awkward / "sunshine.toml").unlink(missing_ok=True)
    _assert_same(tmp_path / "bulk.db", tmp_path / "rows.db")
    assert len(_tables(tmp_path / "rows.db")["petitions_version"]) > 60
    assert b"110105198001011238" not in (tmp_path / "bulk.db").read_bytes()


def test_a_first_commit_in_key_order_is_written_as_the_row_path_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Every change arrives in order: `changes` is written as it comes, never waited and sorted."""
    repo = tmp_path / "repo"
    make_repo(repo)
    git(repo, "reset", "-q", "--hard", "published")
    monkeypatch.setattr(bulk, "ELSEWHERE", 0)
    project = Project.load(repo)
    build_history(project, tmp_path / "bulk.db")
    _build_row_by_row(project, tmp_path / "rows.db", monkeypatch)
    _assert_same(tmp_path / "bulk.db", tmp_path / "rows.db")
    assert len(_tables(tmp_path / "rows.db")["changes"]) == 9


def test_later_commits_wait_while_each_table_s_first_commit_goes_straight_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Each file is read through all its commits before the next file: the later commits of one table
    are taken back to wait, the next table's first commit is written as it comes, and the numbering
    is the one `append` gives when every change waits."""
    repo = tmp_path / "repo"
    make_repo(repo)
    monkeypatch.setattr(bulk, "ELSEWHERE", 0)
    taken, written = [], []
    take_back, store = Changes._take_back, Changes._store

    def spy_take_back(self: Changes, least: Any) -> None:
        taken.append(least[:2])
        take_back(self, least)

    def spy_store(self: Changes, rows: Any) -> None:
        store(self, rows)
        written.append(self.in_order)

    with monkeypatch.context() as m:
        m.setattr(Changes, "_take_back", spy_take_back)
        m.setattr(Changes, "_store", spy_store)
        build_history(Project.load(repo), tmp_path / "bulk.db")
    _build_row_by_row(Project.load(repo), tmp_path / "rows.db", monkeypatch)
    _assert_same(tmp_path / "bulk.db", tmp_path / "rows.db")
    # Taken back when the first commits of the third and the fifth table came; one batch waited.
    assert (taken, written.count(True), written.count(False)) == ([(0, 2), (0, 4)], 8, 1)


def _build_row_by_row(project: Project, target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The history as the row-by-row writer writes it, every change waited and sorted by `append`."""
    arrive = Changes._arrive

    def out_of_order(self: Changes, *args: Any) -> None:
        arrive(self, *args)
        self.in_order = False

    with monkeypatch.context() as m:
        m.setattr(Writer, "_write_first", lambda self, commit, commit_id: False)
        m.setattr(Changes, "_arrive", out_of_order)
        build_history(project, target)


def _assert_same(mine: Path, theirs: Path) -> None:
    by_columns, by_rows = _tables(mine), _tables(theirs)
    assert sorted(by_columns) == sorted(by_rows)
    assert by_columns["sqlite_master"] == by_rows["sqlite_master"]
    assert [name for name in by_rows if by_columns[name] != by_rows[name]] == []


def test_the_awkward_files_take_the_column_path(
    awkward: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    written = []
    original = Writer._write_first

    def spy(self: Writer, commit, commit_id: int) -> bool:
        done = original(self, commit, commit_id)
        written.append((self.table.name, done))
        return done

    monkeypatch.setattr(Writer, "_write_first", spy)
    build_history(Project.load(awkward), tmp_path / "history.db")
    assert sorted(written) == sorted((name, True) for name in Project.load(awkward).tables)


def test_columns_read_as_the_rows_stream_reads_them(awkward: Path):
    project = Project.load(awkward)
    for table in project.tables.values():
        text = subprocess.run(
            ["git", "show", f"HEAD~1:./{table.path}"], cwd=awkward, capture_output=True, check=True
        ).stdout
        decoded, _ = typed.decode(text)
        lines = decoded.splitlines(keepends=True)
        keys, rows = typed.stream(table, lines)
        expected = list(rows)
        for size in (1, 2, 3, 7, 1000):
            names, batches = typed.stream_columns(table, lines, size)
            specs = {f["name"]: f for f in table.fields}
            got = [
                dict(zip(batch, values, strict=True))
                for batch in batches
                for values in zip(
                    *(typed.canonical_column(specs.get(name), cells) for name, cells in batch.items()),
                    strict=True,
                )
            ]
            assert names == keys
            assert got == expected, (table.name, size)


@pytest.mark.parametrize(
    ("spec", "cells"),
    [
        ({"type": "string"}, AWKWARD_TEXT),
        ({"type": "date"}, AWKWARD_DATES),
        ({"type": "number", "x-decimals": 2}, AWKWARD_NUMBERS),
        ({"type": "number", "x-decimals": 0}, AWKWARD_NUMBERS),
        ({"type": "number"}, AWKWARD_NUMBERS),
        ({"type": "integer"}, AWKWARD_INTEGERS),
        ({"type": "boolean", "trueValues": ["是"], "falseValues": ["否"]}, AWKWARD_BOOLEANS),
        ({"type": "boolean"}, AWKWARD_BOOLEANS),
        ({"type": "year"}, ["2024", " 2024", "", " "]),
    ],
)
def test_a_column_is_canonical_as_each_of_its_cells(spec, cells):
    cells = [*cells, *AWKWARD_TEXT, *AWKWARD_DATES, *AWKWARD_NUMBERS, *AWKWARD_INTEGERS]
    assert typed.canonical_column(spec, cells) == [typed.canonical(spec, c) for c in cells]


def test_masking_a_column_finds_every_cell_masking_changes(awkward: Path):
    project = Project.load(awkward)
    cells = [*AWKWARD_TEXT, "330102001001", "330102001001-01", "2024-0000001", "110105198001011238",
             "0571-86001001", "13812345678", "138-1234-5678", "M000001"]  # fmt: skip
    for table in project.tables.values():
        columns = privacy.Columns.of(table.fields)
        for name in table.field_names:
            changed = [i for i, c in enumerate(cells) if privacy.mask_cell(columns, name, c) != c]
            assert set(changed) <= set(privacy.could_change(columns, name, cells)), name
            masker = privacy.RowMasker(columns)
            assert masker.column(name, cells) == [privacy.RowMasker(columns)({name: c})[name] for c in cells]
    # A code in its column's format is left alone, unless it is long enough to be an ID number.
    villages = privacy.Columns.of(project.tables["villages"].fields)
    assert privacy.could_change(villages, "village_code", ["330102001001", "110105198001011238"]) == [1]


def test_rust_and_python_read_the_pretests_classes_alike():
    """Every code point is a digit, a separator or a control character for both regex engines alike."""
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    series = pl.Series(chars)
    for rust, python in (
        (privacy._RD, privacy._PY_DIGIT),
        (privacy._RS.removesuffix("{0,3}"), privacy._PY_SEP),
        (privacy._CONTROL.pattern, privacy._CONTROL.pattern),
    ):
        compiled = re.compile(python)
        assert series.str.contains(f"^{rust}$").to_list() == [bool(compiled.fullmatch(c)) for c in chars]


def test_the_hashes_are_git_historys():
    cells = [*AWKWARD_TEXT, "x"]
    columns = {"summary": cells, "a_id": cells[::-1], "名称": [c + "\\" for c in cells], '引"号': cells}
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    assert bulk.hashes(columns, len(cells)) == [_hash(row) for row in rows]


def test_the_hashes_escape_every_character_as_git_history_does():
    blocks = [
        "".join(chr(c) for c in range(start, start + 256) if not 0xD800 <= c <= 0xDFFF)
        for start in range(0, 0x110000, 256)
    ]
    cells = [block or "空" for block in blocks]  # the block of surrogates is empty
    columns = {"a": cells, "名称": cells[::-1]}
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    assert bulk.hashes(columns, len(cells)) == [_hash(row) for row in rows]


def test_cells_polars_cannot_hold_are_hashed_as_git_history_hashes_them():
    columns = {"a": ["孤立代理项\ud800", "x"]}
    assert bulk.hashes(columns, 2) == [_hash({"a": "孤立代理项\ud800"}), _hash({"a": "x"})]


@pytest.mark.parametrize("names", [["*", "b"], ["^a$", "b"], ["^b$", "b"], ["^.*$", "b"], ["^a$"], ["", "b"]])
def test_column_names_polars_would_read_as_patterns_are_hashed_as_names(names):
    columns = {name: [f"{name}的值", "第二行"] for name in names}
    rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    assert bulk.hashes(columns, 2) == [_hash(row) for row in rows]


def test_the_hashes_of_columns_given_as_series_are_those_of_their_cells():
    cells = [*AWKWARD_TEXT, "x"]
    columns = {"summary": cells, "a_id": cells[::-1]}
    series = {"summary": pl.Series("其他名称", cells, dtype=pl.String)}
    assert bulk.hashes(columns, len(cells), series) == bulk.hashes(columns, len(cells))
