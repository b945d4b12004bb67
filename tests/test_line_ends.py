"""Lines that end in a lone CR (old Mac Excel's "CSV (Macintosh)"): valid, read as any other file,
fixed by `sunshine fix`, not published until then, and read by the history from any commit."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine import lineends, typed
from sunshine.build import build_command
from sunshine.cli import cli
from sunshine.history.build import build_history
from sunshine.package import Project
from sunshine.validate.run import validate_project

from .git_fixture import commit, make_repo


def lone_cr(text: str) -> bytes:
    return text.replace("\n", "\r").encode("utf-8")


def first_row(text: str) -> int | None:
    return lineends.first_lone_cr_row(io.StringIO(text, newline=""))


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ("a,b\n1,2\n", None),
        ("a,b\r\n1,2\r\n", None),
        ("a,b\r1,2\r", 1),
        ("a,b\n1,2\r3,4\n", 2),
        ('a,b\n1,"two\rlines"\n3,4\n', None),  # a CR inside a quoted cell is the cell's text
        ('a,b\n1,"two\nlines"\n3,4\r', 3),  # rows are counted as a spreadsheet shows them
        ('a,b\n1,"say ""hi""\r"\n', None),
        ("a,b\n1,2", None),
        ('a,b\n5" screen,x\n1,2\r', 3),  # a quote inside an unquoted cell is text, as csv reads it
        ('a,b\n5" screen,x\n1,2\n6" screen,y\n3,4\r', 5),
        ("a,b\r\r\n1,2\n", 1),
    ],
)
def test_a_record_that_ends_in_a_lone_cr_is_found_by_its_row(text, row):
    assert first_row(text) == row


def test_a_crlf_cut_by_the_end_of_a_block_is_not_a_lone_cr(tmp_path: Path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n")
    for size in range(1, 12):
        monkeypatch.setattr(lineends, "CHUNK", size)
        assert not lineends.has_lone_cr(path)
    path.write_bytes(b"a,b\r\n1,2\r")
    for size in range(1, 11):
        monkeypatch.setattr(lineends, "CHUNK", size)
        assert lineends.has_lone_cr(path)


def test_a_gbk_file_with_lone_cr_line_ends_is_found_too(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_bytes("名称,人口\r青石村,1310\r".encode("gbk"))
    assert lineends.lone_cr_row(path, "gb18030") == 1


def test_the_writer_quotes_a_cell_that_holds_a_cr_and_ends_lines_with_lf():
    buf = io.StringIO(newline="")
    lineends.Writer(buf).writerows([["a", "b"], ["line1\rline2", "x"], ["c,d", 'say "hi"'], [1, None]])
    assert buf.getvalue() == 'a,b\n"line1\rline2",x\n"c,d","say ""hi"""\n1,\n'
    assert list(csv.reader(io.StringIO(buf.getvalue(), newline=""))) == [
        ["a", "b"],
        ["line1\rline2", "x"],
        ["c,d", 'say "hi"'],
        ["1", ""],
    ]


def test_the_first_line_of_a_lone_cr_file_decides_comma_or_tab():
    text = "a,b\r巡查\t走访\t完毕,x\r巡查\t走访\t完毕,y\r"
    assert typed.dialect_of(text) == ","
    assert typed.dialect_of("a\tb,c\tc\r1\t2\r") == "\t"


def test_a_file_with_lone_cr_line_ends_is_valid_with_a_notice_that_fix_can_apply(fixture_package):
    path = fixture_package.root / "data" / "grids.csv"
    path.write_bytes(lone_cr(path.read_text(encoding="utf-8")))
    report = validate_project(fixture_package)
    assert report.valid
    [notice] = [p for p in report.problems if p.code == "line-ends"]
    assert (notice.file, notice.row, notice.severity, notice.fixable) == ("data/grids.csv", 1, "notice", True)
    assert "sunshine fix data/grids.csv" in notice.hint


def test_a_cr_inside_a_quoted_cell_gives_no_notice(fixture_package):
    path = fixture_package.root / "data" / "grids.csv"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    cells = lines[1].rstrip("\n").split(",")
    cells[3] = f'"{cells[3]}\r第二行"'
    path.write_text("".join([lines[0], ",".join(cells) + "\n", *lines[2:]]), encoding="utf-8")
    assert [p for p in validate_project(fixture_package).problems if p.code == "line-ends"] == []


def quoted_cr(project: Project) -> str:
    """The grids table with a quoted cell that holds a CR (a line break typed in the cell)."""
    path = project.root / "data" / "grids.csv"
    text = path.read_text(encoding="utf-8")
    assert "上清溪自然村、第一村民小组" in text
    return text.replace("上清溪自然村、第一村民小组", '"上清溪自然村\r第一村民小组"')


@pytest.mark.parametrize(
    "saved",
    [
        lambda t: lone_cr(t),
        lambda t: b"\xef\xbb\xbf" + t.encode("utf-8"),
        lambda t: t.replace("\n", "\r\n").encode("gbk"),
    ],
    ids=["lone-cr", "bom", "gbk-crlf"],
)
def test_a_cell_that_holds_a_cr_keeps_it_through_validation_and_fix(fixture_package, monkeypatch, saved):
    path = fixture_package.root / "data" / "grids.csv"
    text = quoted_cr(fixture_package)
    table = fixture_package.tables["grids"]
    expected = typed.read(table, text.encode("utf-8")).rows
    path.write_bytes(saved(text))
    assert validate_project(fixture_package).errors == []
    monkeypatch.chdir(fixture_package.root)
    result = CliRunner().invoke(cli, ["fix", "data/grids.csv"])
    assert result.exit_code == 0, result.output
    assert path.read_bytes().decode("utf-8") == text
    assert typed.read(table, path.read_bytes()).rows == expected
    assert [p.code for p in validate_project(fixture_package).problems] == ["backup-file"]


def test_fix_keeps_a_comma_file_with_tabs_in_its_cells_and_lone_cr_line_ends_comma_separated(
    fixture_package, monkeypatch
):
    path = fixture_package.root / "data" / "grid_staff.csv"
    original = path.read_text(encoding="utf-8")
    assert original.count("入户走访、信息采集") == 1
    tabbed = original.replace("入户走访、信息采集", "\t".join(["入户走访", "信息采集"] * 5))
    path.write_bytes(lone_cr(tabbed))
    monkeypatch.chdir(fixture_package.root)
    result = CliRunner().invoke(cli, ["fix", "data/grid_staff.csv"])
    assert result.exit_code == 0, result.output
    assert "制表符" not in result.output
    assert path.read_bytes().decode("utf-8") == tabbed
    assert [p.code for p in validate_project(fixture_package).problems] == ["backup-file"]


def test_a_header_alone_ending_in_a_lone_cr_gets_the_notice_after_a_kept_validation(
    fixture_package, monkeypatch, tmp_path
):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert validate_project(fixture_package).problems == []  # kept: every file was clean
    path = fixture_package.root / "data" / "grid_staff.csv"
    path.write_bytes(path.read_bytes().split(b"\n", 1)[0] + b"\r")
    notices = [p for p in validate_project(fixture_package).problems if p.code == "line-ends"]
    assert [(p.file, p.row) for p in notices] == [("data/grid_staff.csv", 1)]


def test_fix_rewrites_lone_cr_line_ends_as_lf_and_keeps_every_cell(fixture_package, monkeypatch):
    path = fixture_package.root / "data" / "grids.csv"
    original = path.read_text(encoding="utf-8")
    path.write_bytes(lone_cr(original))
    monkeypatch.chdir(fixture_package.root)
    result = CliRunner().invoke(cli, ["fix", "data/grids.csv"])
    assert result.exit_code == 0, result.output
    assert "data/grids.csv：单独的回车符（CR）换行（旧版 Mac 版 Excel） → 标准换行符（LF）" in result.output
    assert path.read_bytes().decode("utf-8") == original
    table = fixture_package.tables["grids"]
    assert typed.read(table, path.read_bytes()).rows == typed.read(table, lone_cr(original)).rows
    assert [p for p in validate_project(fixture_package).problems if p.code == "line-ends"] == []


def test_a_build_publishes_nothing_until_the_line_ends_are_fixed(fixture_package, capsys):
    path = fixture_package.root / "data" / "grids.csv"
    path.write_bytes(lone_cr(path.read_text(encoding="utf-8")))
    assert build_command(fixture_package, datasette_url="http://127.0.0.1:8001", only=["database"]) == 1
    err = capsys.readouterr().err
    assert "data/grids.csv 是 Excel 改写过的写法（编码、换行符、日期、数字或中文表头）" in err
    assert "请运行 sunshine fix data/grids.csv" in err
    assert not (fixture_package.build_dir / "sunshine.db").exists()


def test_the_history_reads_a_commit_saved_with_lone_cr_line_ends_and_records_only_real_changes(tmp_path):
    repo = tmp_path / "repo"
    make_repo(repo)
    db = repo / "build" / "history.db"
    build_history(Project.load(repo), db)
    grids = repo / "data" / "grids.csv"
    text = grids.read_text(encoding="utf-8")
    grids.write_bytes(lone_cr(text))
    commit(repo, "Save the grids on an old Mac", "2024-06-10T09:00:00+08:00")
    grids.write_bytes(lone_cr(text.replace("柳塘路以北", "柳塘路以北、滨河路以东")))
    commit(repo, "Widen the first grid of Liutang", "2024-06-11T09:00:00+08:00")
    grids.write_text(text.replace("柳塘路以北", "柳塘路以北、滨河路以东"), encoding="utf-8")
    commit(repo, "Line ends fixed", "2024-06-12T09:00:00+08:00")
    summary = build_history(Project.load(repo), db)
    assert summary.startswith("修改历史 history.db：本次处理 3 个新提交")
    with sqlite3.connect(db) as conn:
        changed = conn.execute(
            "SELECT commit_date, record_id, kind FROM changes WHERE commit_date >= '2024-06-10' ORDER BY id"
        ).fetchall()
    assert changed == [("2024-06-11", "330102001002-01", "修改")]


@pytest.mark.parametrize("codec", ["utf-8", "gbk"])
def test_a_quote_never_closed_before_lone_cr_line_ends_is_named_in_its_column_alone(fixture_package, codec):
    path = fixture_package.root / "data" / "grids.csv"
    text = path.read_text(encoding="utf-8").replace(",274,924\n", ',274,"924\n')
    path.write_bytes(text.replace("\n", "\r").encode(codec))
    found = [
        (p.code, p.row, p.column)
        for p in validate_project(fixture_package).problems
        if p.file == "data/grids.csv"
    ]
    assert ("unclosed-quote", 3, "population") in found
    assert [f for f in found if f[0] not in ("unclosed-quote", "line-ends", "encoding")] == []
