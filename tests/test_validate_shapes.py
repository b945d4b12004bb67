"""Pathological shapes: too many columns, a cell larger than a spreadsheet holds, a row that never
ends. Each is one problem naming its row, found while streaming, however large the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from sunshine.package import Project
from sunshine.validate import shape
from sunshine.validate.run import validate_project

from .conftest import FIXTURE, ROOT, copy_package

SOURCE = (FIXTURE / "data" / "petitions.csv").read_text(encoding="utf-8")
HEADER, *ROWS = SOURCE.rstrip("\n").split("\n")
SUMMARY = HEADER.split(",").index("summary")


def package(tmp_path: Path, text: str) -> Project:
    root = copy_package(ROOT, tmp_path / "pkg", data_from=FIXTURE / "data")
    (root / "data" / "petitions.csv").write_text(text, encoding="utf-8")
    return Project.load(root)


def problems(project: Project) -> list[tuple[str, int | None]]:
    return [(p.code, p.row) for p in validate_project(project).problems if p.file == "data/petitions.csv"]


def with_summary(row: str, summary: str) -> str:
    cells = row.split(",")
    cells[SUMMARY] = summary
    return ",".join(cells)


def large_file(bad_row: str, *, before: int = 20_000) -> str:
    """A valid table of more than 2 MB with bad_row as row before + 2, then more valid rows."""
    body = [
        ROWS[i % len(ROWS)].replace(ROWS[i % len(ROWS)].split(",")[0], f"2024-{i:07d}", 1)
        for i in range(2 * before)
    ]
    assert len("\n".join(body).encode()) > 2_000_000
    return "\n".join([HEADER, *body[:before], bad_row, *body[before:]]) + "\n"


def test_a_header_of_400000_columns_is_one_problem_on_row_1(tmp_path):
    text = ",".join(["abc"] * 400_000) + "\n" + "\n".join(ROWS) + "\n"
    assert len(text) > 1_500_000
    project = package(tmp_path, text)
    assert problems(project) == [("too-many-columns", 1)]
    message = validate_project(project).problems[0].message
    assert message == "这一行至少有 262,145 列，超过上限 1,000 列"


def test_a_header_one_column_past_the_limit_is_refused_and_one_within_it_is_not(tmp_path):
    wide = HEADER + "," + ",".join(f"x{i}" for i in range(shape.MAX_COLUMNS - HEADER.count(",")))
    assert problems(package(tmp_path / "a", wide + "\n")) == [("too-many-columns", 1)]
    within = wide.rsplit(",", 1)[0]
    assert ("too-many-columns", 1) not in problems(package(tmp_path / "b", within + "\n"))


def test_a_row_of_400000_cells_is_one_problem_on_its_row(tmp_path):
    text = "\n".join([HEADER, *ROWS[:3], ",".join(["abc"] * 400_000), *ROWS[3:]]) + "\n"
    assert problems(package(tmp_path, text)) == [("too-many-columns", 5)]


def test_a_4_mb_cell_in_a_large_file_is_reported_on_its_row(tmp_path):
    bad = with_summary(ROWS[1], "很长的摘要" * 280_000)
    assert problems(package(tmp_path, large_file(bad))) == [("cell-too-large", 20_002)]


def test_an_unclosed_quote_in_a_large_file_is_reported_on_the_row_it_opens(tmp_path):
    bad = with_summary(ROWS[1], '"引号没有结尾的摘要')
    found = problems(package(tmp_path, large_file(bad)))
    assert found == [("cell-too-large", 20_002)]


def test_a_single_line_of_3_mb_is_reported_on_its_row(tmp_path):
    text = HEADER + "\n" + ROWS[0] + "\n" + "x" * 3_000_000
    assert problems(package(tmp_path, text)) == [("cell-too-large", 3)]


def test_a_row_of_many_cells_adding_up_past_1_mb_is_reported_on_its_row(tmp_path):
    cells = ",".join(["很" * 30_000] * 12)  # each cell fits a spreadsheet, the row does not fit a block
    text = HEADER + "\n" + ROWS[0] + "\n" + cells + "\n" + "\n".join(ROWS[1:]) + "\n"
    project = package(tmp_path, text)
    assert [p for p in problems(project) if p[0] == "row-too-long"] == [("row-too-long", 3)]
    assert [p.message for p in validate_project(project).problems if p.code == "row-too-long"] == [
        "这一行有 1.0 MB，超过上限 1 MB"
    ]


def test_a_cell_longer_than_excel_holds_in_a_small_file_is_reported_with_its_length(tmp_path):
    bad = with_summary(ROWS[1], "字" * (shape.MAX_CELL_CHARS + 1))
    project = package(tmp_path, "\n".join([HEADER, ROWS[0], bad, *ROWS[2:]]) + "\n")
    assert problems(project) == [("constraint-error", 3), ("cell-too-large", 3)]  # also past maxLength
    message = validate_project(project).problems[1].message
    assert message == f"第 {SUMMARY + 1} 列的单元格有 32,768 个字符，超过 Excel 单元格的上限 32,767 个字符"


def test_a_cell_as_long_as_excel_holds_passes(tmp_path):
    fine = with_summary(ROWS[1], "字" * shape.MAX_CELL_CHARS)
    found = problems(package(tmp_path, "\n".join([HEADER, ROWS[0], fine, *ROWS[2:]]) + "\n"))
    assert found == [("constraint-error", 3)]  # past the schema's maxLength, not past the limit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b\n\n" + "x" * (shape.MAX_ROW_BYTES + 10), ("cell-too-large", 3)),
        ('a,b\n"one\ntwo",2\n' + "y," * 1001 + "\n", ("too-many-columns", 3)),
        ("a,b\n1,2\n", None),
        ("\n\n" + "h," * 1001 + "\n", ("too-many-columns", 3)),
    ],
)
def test_rows_are_counted_as_a_spreadsheet_shows_them(tmp_path, text, expected):
    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    found = shape.first_problem(path, "t.csv")
    assert ((found.code, found.row) if found else None) == expected
