"""Rendering one report three ways: Chinese text for a clerk, JSON for tools, annotations for CI."""

from __future__ import annotations

import json

from sunshine.problems import Problem, Report
from sunshine.validate.report import render

REPORT = Report(
    problems=[
        Problem(
            code="type-error",
            file="data/petitions.csv",
            row=7,
            column="received_on",
            column_title="受理日期",
            value="2024/5/3",
            message="日期格式不对",
            hint="应写作 2024-05-03。",
            fixable=True,
        ),
        Problem(code="backup-file", file="data/petitions.orig.csv", message="备份", severity="warning"),
    ],
    stats={"files": 5, "rows": {"data/petitions.csv": 10}},
)


def test_text_groups_by_file_and_ends_with_a_summary():
    assert render(REPORT, "text").splitlines() == [
        "data/petitions.csv（1 个错误）",
        "  ✗ 第 7 行，“受理日期”（received_on）：日期格式不对。内容：2024/5/3",
        "    → 应写作 2024-05-03。",
        "",
        "data/petitions.orig.csv（1 个提醒）",
        "  ! 备份",
        "",
        "校验未通过：1 个文件中共有 1 个错误，1 个提醒。请按提示改正后重新运行 sunshine validate。",
    ]


def test_a_valid_report_says_how_much_was_checked():
    assert render(Report(stats={"files": 5, "rows": {"a": 3, "b": 4}}), "text") == (
        "校验通过：5 张表，共 7 行数据，没有发现错误。\n"
    )


def test_json_separates_errors_from_warnings_and_keeps_every_field():
    doc = json.loads(render(REPORT, "json"))
    assert doc["valid"] is False
    assert doc["errors"] == [REPORT.problems[0].to_dict()]
    assert [w["code"] for w in doc["warnings"]] == ["backup-file"]


def test_github_annotations_use_error_and_warning_levels():
    lines = render(REPORT, "github").splitlines()
    assert lines[0] == (
        "::error file=data/petitions.csv,line=7,title=type-error received_on::"
        "第 7 行，“受理日期”（received_on）：日期格式不对。内容：2024/5/3。应写作 2024-05-03。"
    )
    assert lines[1] == "::warning file=data/petitions.orig.csv,title=backup-file::备份"


def _shown_lines(project, table: str, old: str, new: str) -> list[str]:
    from sunshine.validate.run import validate_project

    path = project.root / "data" / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return render(validate_project(project), "text").splitlines()


def test_a_village_code_that_names_no_village_is_shown_whole_so_the_clerk_can_find_it(fixture_package):
    lines = _shown_lines(fixture_package, "grids", "-01,000000101001,", "-01,990101109999,")
    assert any(line.endswith("中不存在。内容：990101109999") for line in lines), lines


def test_a_grid_number_typed_full_width_is_shown_as_typed(fixture_package):
    lines = _shown_lines(
        fixture_package, "grid_staff", "S000001,000000101001-01,", "S000001,000000101001－０１,"
    )
    assert any(line.endswith("内容：000000101001－０１") for line in lines), lines


def test_a_work_phone_is_shown_whole_in_the_hint_of_its_own_column(fixture_package):
    lines = _shown_lines(fixture_package, "grid_staff", ",13900000001,", ",１３９０００００００１,")
    assert (
        "    → 应写作 13900000001（去掉空格、全角改半角）。可运行 sunshine fix data/grid_staff.csv 自动改正。"
        in lines
    ), lines
