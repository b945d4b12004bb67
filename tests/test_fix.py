"""`sunshine fix`: repairs what has one meaning, keeps the original, prints every change, guesses nothing."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sunshine.cli import cli
from sunshine.fix.run import fix_cell
from sunshine.fix.xlsx import write_template
from sunshine.package import Project
from sunshine.validate.run import validate_project

ID = "110105198001011238"


def fix(project: Project, monkeypatch: pytest.MonkeyPatch, *files: str):
    monkeypatch.chdir(project.root)
    return CliRunner().invoke(cli, ["fix", *files])


def data(project: Project, table: str) -> Path:
    return project.root / "data" / f"{table}.csv"


def replace(project: Project, table: str, old: str, new: str) -> None:
    path = data(project, table)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("codec", ["gbk", "gb18030", "utf-16"])
def test_an_excel_encoding_becomes_utf8_and_the_original_is_kept(fixture_package, monkeypatch, codec):
    path = data(fixture_package, "villages")
    original = path.read_text(encoding="utf-8")
    path.write_bytes(original.encode(codec))
    result = fix(fixture_package, monkeypatch, "data/villages.csv")
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == original
    assert (fixture_package.root / "data" / "villages.orig.csv").read_bytes() == original.encode(codec)
    assert "→ UTF-8（无 BOM）" in result.output
    assert "原文件保留为 data/villages.orig.csv" in result.output
    assert validate_project(fixture_package).errors == []


def test_a_bom_is_removed(fixture_package, monkeypatch):
    path = data(fixture_package, "grids")
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = fix(fixture_package, monkeypatch, "data/grids.csv")
    assert result.exit_code == 0, result.output
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2024/5/3", "2024-05-03"),
        ("2024年5月3日", "2024-05-03"),
        ("2024.5.3", "2024-05-03"),
        ("２０２４－０５－０３", "2024-05-03"),
        ("45415", "2024-05-03"),
        (" 2024-05-03\u3000", "2024-05-03"),
    ],
)
def test_known_date_habits_become_iso_dates(fixture_package, monkeypatch, typed, stored):
    replace(fixture_package, "petitions", ",2024-05-03,", f",{typed},")
    result = fix(fixture_package, monkeypatch, "data/petitions.csv")
    assert result.exit_code == 0, result.output
    assert f"data/petitions.csv 第 2 行 “受理日期”（received_on）：{typed!r} → {stored!r}" in result.output
    assert validate_project(fixture_package).errors == []


def test_an_ambiguous_date_is_left_alone_and_the_exit_code_says_so(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",2024-05-03,", ",03/05/2024,")
    result = fix(fixture_package, monkeypatch, "data/petitions.csv")
    assert result.exit_code == 1, result.output
    assert "看不出是“日/月/年”还是“月/日/年”，没有自动修改" in result.output
    assert "仍有 1 个问题无法自动修复" in result.output
    assert ",03/05/2024," in data(fixture_package, "petitions").read_text(encoding="utf-8")


def test_money_and_full_width_digits_become_plain_numbers(fixture_package, monkeypatch):
    replace(fixture_package, "disclosures", ",12800.50,", ',"¥12,800.50",')
    replace(fixture_package, "disclosures", ",56000,", ",５６０００,")
    result = fix(fixture_package, monkeypatch, "data/disclosures.csv")
    assert result.exit_code == 0, result.output
    text = data(fixture_package, "disclosures").read_text(encoding="utf-8")
    assert ",12800.50,收入," in text
    assert ",56000,支出," in text


def test_spaces_and_blank_rows_are_removed(fixture_package, monkeypatch):
    replace(fixture_package, "grids", ",第一网格,", ",\u3000第一网格 ,")
    replace(fixture_package, "grids", "\n000000101002-01", "\n,,,,,\n\n000000101002-01")
    result = fix(fixture_package, monkeypatch, "data/grids.csv")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:3] == [
        "  data/grids.csv 第 2 行 “网格名称”（name）：'\\u3000第一网格 ' → '第一网格'",
        "  data/grids.csv 第 4 行：空行 → 已删除",
        "  data/grids.csv 第 5 行：空行 → 已删除",
    ]
    assert data(fixture_package, "grids").read_text(encoding="utf-8") == (
        Path(__file__).parent.joinpath("fixture", "data", "grids.csv").read_text(encoding="utf-8")
    )


def test_an_excel_serial_outside_a_date_column_is_not_a_date(fixture_package, monkeypatch):
    replace(fixture_package, "grids", ",138,", ",45415,")
    result = fix(fixture_package, monkeypatch, "data/grids.csv")
    assert result.exit_code == 0
    assert "没有需要自动修复的内容" in result.output
    assert not (fixture_package.root / "data" / "grids.orig.csv").exists()


def test_personal_numbers_are_masked_in_the_list_of_changes(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", "垃圾收集点清运不及时。", f"垃圾收集点清运不及时。{ID} ")
    result = fix(fixture_package, monkeypatch, "data/petitions.csv")
    assert ID not in result.output
    assert "110105********1238" in result.output
    assert result.exit_code == 1  # the ID number itself is for a person to remove


def test_a_file_outside_the_package_is_a_usage_error_and_nothing_changes(fixture_package, monkeypatch):
    before = {p.name: p.read_bytes() for p in (fixture_package.root / "data").iterdir()}
    result = fix(fixture_package, monkeypatch, "data/villages.csv", "notes.csv")
    assert result.exit_code == 2
    assert "notes.csv 不是数据包中的表" in result.output
    assert {p.name: p.read_bytes() for p in (fixture_package.root / "data").iterdir()} == before


def test_a_second_fix_keeps_the_first_original_and_leaves_no_temporary_files(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",2024-05-03,", ",2024/5/3,")
    original = data(fixture_package, "petitions").read_bytes()
    assert fix(fixture_package, monkeypatch, "data/petitions.csv").exit_code == 0
    replace(fixture_package, "petitions", ",2024-05-07,", ",2024/5/7,")
    assert fix(fixture_package, monkeypatch, "data/petitions.csv").exit_code == 0
    assert (fixture_package.root / "data" / "petitions.orig.csv").read_bytes() == original
    assert sorted(p.name for p in (fixture_package.root / "data").iterdir()) == [
        "commitments.csv",
        "committee_members.csv",
        "disclosures.csv",
        "grid_staff.csv",
        "grids.csv",
        "petitions.csv",
        "petitions.orig.csv",
        "villages.csv",
    ]


def test_after_fixing_validate_treats_the_backup_as_a_warning(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",2024-05-03,", ",2024/5/3,")
    fix(fixture_package, monkeypatch, "data/petitions.csv")
    report = validate_project(fixture_package)
    assert report.valid
    assert report.flatten(("code", "file", "severity")) == [
        ("backup-file", "data/petitions.orig.csv", "warning")
    ]


@pytest.mark.parametrize(
    ("value", "field", "expected"),
    [
        ("5/3", {"type": "date"}, ("5/3", "缺少年份")),
        ("1,200", {"type": "integer"}, ("1200", None)),
        ("约100", {"type": "integer"}, ("约100", None)),
        (
            "００００００１０１００１",
            {"type": "string", "constraints": {"pattern": "^[0-9]{12}$"}},
            ("000000101001", None),
        ),
        ("１２３", {"type": "string"}, ("１２３", None)),
    ],
)
def test_fix_cell_repairs_only_what_has_one_meaning(value, field, expected):
    assert fix_cell(value, field) == expected


def test_a_header_of_chinese_titles_becomes_the_column_names(fixture_package, monkeypatch):
    path = data(fixture_package, "grids")
    original = path.read_text(encoding="utf-8")
    header, rest = original.split("\n", 1)
    path.write_text("网格编号,所属村（社区）代码, 网格名称,网格范围,户数,人口\n" + rest, encoding="utf-8")
    result = fix(fixture_package, monkeypatch, "data/grids.csv")
    assert result.exit_code == 0, result.output
    assert path.read_text(encoding="utf-8") == original
    assert (
        "data/grids.csv 第 1 行 “表头”（village_code）：'所属村（社区）代码' → 'village_code'"
        in result.output
    )


def test_rows_are_numbered_one_way_in_one_output(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", "\n2024-0000002", "\n,,,,,,,,,,,,\n2024-0000002")
    replace(fixture_package, "petitions", ",2024-05-07,", ",03/05/2024,")
    result = fix(fixture_package, monkeypatch, "data/petitions.csv")
    assert result.exit_code == 1, result.output
    assert "  data/petitions.csv 第 3 行：空行 → 已删除" in result.output
    assert "data/petitions.csv 第 4 行 “受理日期”（received_on）：'03/05/2024' 看不出是" in result.output
    assert "仍有 1 个问题无法自动修复，需要手工改正（行号按修改前的文件）" in result.output
    assert "  ✗ 第 4 行，“受理日期”（received_on）：不是有效的日期。内容：03/05/2024" in result.output


@pytest.mark.parametrize("space", ["\u2003", "\u2002", "\u205f", "\u2028", "\u1680"])
def test_a_typographic_space_after_a_name_is_a_space_to_remove_not_part_of_the_name(
    fixture_package, monkeypatch, space
):
    """Every later stage trims what Python's and polars' strip() trim: validation must not let it pass."""
    replace(fixture_package, "grids", ",第一网格,", f",第一网格{space},")
    problems = [(p.code, p.row, p.column) for p in validate_project(fixture_package).problems]
    assert ("whitespace", 2, "name") in problems
    result = fix(fixture_package, monkeypatch, "data/grids.csv")
    assert result.exit_code == 0, result.output
    assert (
        f"  data/grids.csv 第 2 行 “网格名称”（name）：'第一网格\\u{ord(space):04x}' → '第一网格'"
        in result.output
    )
    assert validate_project(fixture_package).errors == []


def test_a_village_code_the_fix_changes_is_shown_as_it_is_not_masked(fixture_package, monkeypatch):
    replace(fixture_package, "grids", "-01,000000101001,", "-01,０００００01010０1\u3000,")
    result = fix(fixture_package, monkeypatch, "data/grids.csv")
    assert result.exit_code == 0, result.output
    assert (
        "  data/grids.csv 第 2 行 “所属村（社区）代码”（village_code）：'０００００01010０1\\u3000' → '000000101001'"
        in result.output
    )


@pytest.mark.parametrize(
    "old, new",
    [
        (
            "村口路灯不亮，夜间出行不便。",
            '"村口路灯不亮，夜间出行不便。',
        ),  # never closed: reads on to the end
        ("垃圾收集点清运不及时。", '"村民反映"垃圾收集点"清运不及时。"'),  # quotes that would vanish
    ],
    ids=["unclosed", "stray"],
)
def test_a_file_with_a_quote_out_of_place_is_left_as_it_is(fixture_package, monkeypatch, old, new):
    replace(fixture_package, "petitions", old, new)
    replace(fixture_package, "petitions", ",2024-06-01,社区服务中心", ",２０２４－０６－０１,社区服务中心")
    before = data(fixture_package, "petitions").read_bytes()
    result = fix(fixture_package, monkeypatch, "data/petitions.csv")
    assert result.exit_code == 1, result.output
    row = 2 if old.startswith("村口") else 3
    assert result.output.splitlines()[0] == (
        f"✗ data/petitions.csv：第 {row} 行的英文双引号不成对或用错了位置，自动修复会改变单元格的内容，"
        "所以没有修改这个文件。请先按 sunshine validate 的提示改正这一行的引号，再运行 sunshine fix。"
    )
    assert data(fixture_package, "petitions").read_bytes() == before
    assert not (fixture_package.root / "data" / "petitions.orig.csv").exists()


def test_a_workbook_for_a_table_without_a_csv_becomes_its_csv_and_leaves_no_empty_backup(
    fixture_package, monkeypatch
):
    path = data(fixture_package, "grid_staff")
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    workbook = fixture_package.root / "data" / "grid_staff.xlsx"
    write_template(fixture_package.tables["grid_staff"], workbook)
    wb = load_workbook(workbook)
    for r, row in enumerate(rows[1:], start=3):
        for c, value in enumerate(row, start=1):
            wb.active.cell(row=r, column=c, value=value)
    wb.save(workbook)
    path.unlink()
    result = fix(fixture_package, monkeypatch, "data/grid_staff.xlsx")
    assert result.exit_code == 0, result.output
    assert "✓ data/grid_staff.csv：由 data/grid_staff.xlsx 生成，这张表原来没有 CSV 文件。" in result.output
    assert list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")))) == rows
    assert not (fixture_package.root / "data" / "grid_staff.orig.csv").exists()
    assert validate_project(fixture_package).problems == []
