"""`sunshine validate` from inside a package, as staff and CI run it: exit codes, formats, files, limits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.package import Project
from sunshine.validate.collect import CAP
from sunshine.validate.run import validate_project

from .conftest import demo_only

ID = "110105198001011238"


def run(project: Project, monkeypatch: pytest.MonkeyPatch, *args: str):
    monkeypatch.chdir(project.root)
    return CliRunner().invoke(cli, ["validate", *args])


def replace(project: Project, table: str, old: str, new: str) -> Path:
    path = project.root / "data" / f"{table}.csv"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_valid_package_exits_0_with_a_chinese_summary(fixture_package, monkeypatch):
    result = run(fixture_package, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "校验通过：7 张表，共 25 行数据，没有发现错误。"


@demo_only
def test_the_repository_sample_data_is_valid(repo: Project):
    if not (repo.root / "data" / "petitions.csv").exists():
        pytest.skip("sample data not written yet")
    report = validate_project(repo)
    assert report.errors == [], report.errors[:5]


def test_an_invalid_package_exits_1_and_names_file_row_column_and_fix(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",2024-05-03,", ",03/05/2024,")
    result = run(fixture_package, monkeypatch)
    assert result.exit_code == 1, result.output
    assert result.output.splitlines() == [
        "data/petitions.csv（1 个错误）",
        "  ✗ 第 2 行，“受理日期”（received_on）：不是有效的日期。内容：03/05/2024",
        "    → 看不出是“日/月/年”还是“月/日/年”，请按 YYYY-MM-DD 填写完整日期，例如 2024-05-03。",
        "",
        "校验未通过：1 个文件中共有 1 个错误。请按提示改正后重新运行 sunshine validate。",
    ]


def test_what_excel_writes_on_saving_is_read_as_meant_and_said_as_a_notice(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",2024-05-03,", ",2024/5/3,")
    replace(fixture_package, "petitions", ",2024-05-07,", ",2024年5月7日,")
    replace(fixture_package, "grids", ",924", ',"1,924"')
    result = run(fixture_package, monkeypatch)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "data/grids.csv（1 个提醒）",
        "  ! 第 3 行，“人口”（population）：Excel 改写了数字的写法，按 1924 读取。内容：1,924",
        "    → 发布时规范为 1924。PR 检查会自动改正；也可运行 sunshine fix data/grids.csv。",
        "",
        "data/petitions.csv（2 个提醒）",
        "  ! 第 2 行，“受理日期”（received_on）：Excel 改写了日期的写法，按 2024-05-03 读取。内容：2024/5/3",
        "    → 发布时规范为 2024-05-03。PR 检查会自动改正；也可运行 sunshine fix data/petitions.csv。",
        "  ! 第 3 行，“受理日期”（received_on）：Excel 改写了日期的写法，按 2024-05-07 读取。内容：2024年5月7日",
        "    → 发布时规范为 2024-05-07。PR 检查会自动改正；也可运行 sunshine fix data/petitions.csv。",
        "",
        "校验通过：7 张表，共 25 行数据，没有发现错误，3 个提醒。",
    ]


def test_a_reordered_header_in_chinese_titles_reads_as_the_schema_says(fixture_package, monkeypatch):
    path = fixture_package.root / "data" / "grids.csv"
    rows = [line.split(",") for line in path.read_text(encoding="utf-8").splitlines()]
    titles = {f["name"]: f["title"] for f in fixture_package.tables["grids"].fields}
    rows[0] = [titles[name] for name in rows[0]]
    path.write_text("\n".join(",".join(reversed(r)) for r in rows) + "\n", encoding="utf-8")
    report = validate_project(fixture_package)
    assert report.valid
    assert [(p.code, p.severity) for p in report.problems] == [("header-title", "notice")] * 6


def test_json_lists_every_error_with_its_location(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",来电,", ",电话,")
    result = run(fixture_package, monkeypatch, "--format", "json")
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["valid"] is False
    [error] = doc["errors"]
    assert {k: error[k] for k in ("code", "file", "row", "column", "column_title", "value")} == {
        "code": "constraint-error",
        "file": "data/petitions.csv",
        "row": 2,
        "column": "channel",
        "column_title": "受理渠道",
        "value": "电话",
    }
    assert error["message"] == "不是允许的取值"
    assert error["hint"].startswith("是不是“来电”？只能填写：来访、来电")


def test_github_format_writes_escaped_annotations(fixture_package, monkeypatch):
    replace(fixture_package, "disclosures", "名单已在", "名单\n100%,已在")
    replace(fixture_package, "disclosures", ",12800.50,", ",NaN,")
    result = run(fixture_package, monkeypatch, "--format", "github")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "::error file=data/disclosures.csv,line=2,title=constraint-error amount_yuan::"
    )
    assert lines[1].startswith("::error file=data/disclosures.csv,line=2,title=not-a-number amount_yuan::")
    assert lines[-1].startswith("校验未通过")


def test_github_escaping_follows_the_workflow_command_rules():
    from sunshine.problems import Problem, Report
    from sunshine.validate.report import render

    report = Report([Problem(code="x", file="data/a,b:c.csv", row=3, message="50%\r\n下一行")])
    assert render(report, "github").splitlines()[0] == (
        "::error file=data/a%2Cb%3Ac.csv,line=3,title=x::第 3 行：50%25%0D%0A下一行"
    )


def test_a_missing_table_is_reported_without_a_traceback(fixture_package, monkeypatch):
    (fixture_package.root / "data" / "grid_staff.csv").unlink()
    result = run(fixture_package, monkeypatch)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert validate_project(fixture_package).flatten(("code", "file")) == [
        ("missing-file", "data/grid_staff.csv")
    ]


def test_outside_a_package_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "datapackage.json" in result.output


def test_a_symlinked_table_is_refused(fixture_package, tmp_path):
    data = fixture_package.root / "data"
    outside = tmp_path / "elsewhere.csv"
    (data / "villages.csv").rename(outside)
    os.symlink(outside, data / "villages.csv")
    report = validate_project(fixture_package)
    assert ("unsafe-path", "data/villages.csv") in report.flatten(("code", "file"))


def test_a_file_over_the_size_limit_is_not_read(fixture_package, monkeypatch):
    report = validate_project(
        fixture_package, max_bytes=1000
    )  # the fixture's two largest tables are over 1 kB
    too_big = [p.file for p in report.problems if p.code == "file-too-large"]
    assert too_big == ["data/disclosures.csv", "data/petitions.csv"]
    assert "GitHub" in report.problems[0].hint
    result = run(fixture_package, monkeypatch, "--max-bytes", "100000")
    assert result.exit_code == 0, result.output


def test_unknown_files_in_data_are_errors_and_fix_backups_only_warnings(fixture_package):
    data = fixture_package.root / "data"
    (data / "petitions (1).csv").write_text("x\n", encoding="utf-8")
    (data / "petitions.orig.csv").write_text("x\n", encoding="utf-8")
    (data / ".gitkeep").write_text("", encoding="utf-8")
    report = validate_project(fixture_package)
    assert report.flatten(("code", "file", "severity")) == [
        ("unknown-file", "data/petitions (1).csv", "error"),
        ("backup-file", "data/petitions.orig.csv", "warning"),
    ]


def test_errors_are_capped_per_code_and_file_with_a_warning(fixture_package):
    path = fixture_package.root / "data" / "petitions.csv"
    header, first = path.read_text(encoding="utf-8").splitlines()[:2]
    rows = [first.replace("2024-0000001", f"2024-{i:07d}").replace("来电", "电话") for i in range(1, 251)]
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    report = validate_project(fixture_package)
    assert [p.row for p in report.errors] == list(range(2, 2 + CAP))
    [warning] = [p for p in report.problems if p.severity == "warning"]
    assert (warning.code, warning.file) == ("error-limit", "data/petitions.csv")
    assert "约 150 个" in warning.message


def test_rows_are_numbered_as_a_spreadsheet_shows_them(fixture_package):
    replace(fixture_package, "petitions", "调整清运频次为每日一次。", '"调整清运频次\n为每日一次。"')
    replace(fixture_package, "petitions", "\n2024-0000004", "\n\n2024-0000004")
    replace(fixture_package, "petitions", ",2024-06-10,", ",2024/6/10,")
    report = validate_project(fixture_package)
    assert report.flatten() == [
        ("blank-row", "data/petitions.csv", 5, None),
        ("primary-key", "data/petitions.csv", 5, "case_id"),
        ("type-error", "data/petitions.csv", 6, "received_on"),
    ]


def test_a_gbk_file_that_starts_with_plain_ascii_is_still_recognised_and_read(fixture_package):
    path = fixture_package.root / "data" / "villages.csv"
    text = path.read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    padding = [
        rows[0].replace("清溪村", f"Village{i}").replace("000000101001", f"0000009{i:05d}")
        for i in range(400)
    ]
    path.write_bytes(("\n".join([header, *padding, *rows]) + "\n").encode("gbk"))
    [problem] = [p for p in validate_project(fixture_package).problems if p.file == "data/villages.csv"]
    assert (problem.code, problem.severity) == ("encoding", "notice")
    assert "GBK/GB18030" in problem.message
    assert "sunshine fix data/villages.csv" in problem.hint


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_personal_numbers_never_appear_in_full_in_any_format(fixture_package, monkeypatch, fmt):
    replace(fixture_package, "petitions", "垃圾收集点", f"居民{ID}，电话13812345678，垃圾收集点")
    replace(fixture_package, "petitions", ",2024-05-07,", f",{ID},")
    result = run(fixture_package, monkeypatch, "--format", fmt)
    assert result.exit_code == 1
    assert ID not in result.output
    assert "13812345678" not in result.output
    assert "110105********1238" in result.output
    assert "138****5678" in result.output


def test_a_file_where_every_row_is_broken_is_checked_in_bounded_time_and_memory(fixture_package, monkeypatch):
    from sunshine.validate import scan

    monkeypatch.setattr(scan, "INVALID_TEXT", 2)
    path = fixture_package.root / "data" / "grids.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join([header, *(r + ",多余" for r in rows)]) + "\n", encoding="utf-8")
    report = validate_project(fixture_package)
    assert report.flatten(("code", "row", "severity")) == [
        ("extra-cell", 2, "error"),
        ("extra-cell", 3, "error"),
        ("error-limit", None, "warning"),
    ]
    assert report.problems[-1].message == "列数不对的行太多，另有约 1 个没有逐一检查和列出"


def test_personal_data_is_still_found_after_the_per_column_budget(fixture_package, monkeypatch):
    from sunshine.validate import scan

    monkeypatch.setattr(scan, "PER_COLUMN", 1)
    replace(fixture_package, "petitions", "村口路灯不亮", " 村口路灯不亮")
    replace(fixture_package, "petitions", "垃圾收集点", " 垃圾收集点")
    replace(fixture_package, "petitions", "咨询城乡居民", f"{ID}咨询城乡居民")
    report = validate_project(fixture_package)
    assert report.flatten(("code", "row", "column")) == [
        ("whitespace", 2, "summary"),
        ("personal-id", 4, "summary"),
        ("error-limit", None, None),
    ]


def test_a_symlinked_data_directory_is_refused(fixture_package, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (fixture_package.root / "data").rename(elsewhere)
    os.symlink(elsewhere, fixture_package.root / "data")
    report = validate_project(fixture_package)
    assert {p.code for p in report.problems} == {"unsafe-path"}
    assert len(report.problems) == 7  # one per table


def test_a_broken_table_schema_is_a_chinese_message_not_a_traceback(fixture_package, monkeypatch):
    (fixture_package.root / "schemas" / "grids.schema.json").write_text("{", encoding="utf-8")
    result = run(fixture_package, monkeypatch)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "无法读取数据包描述或表结构（JSONDecodeError）" in result.output


def test_problems_on_the_rows_a_pull_request_changed_are_never_left_out_and_come_first(fixture_package):
    path = fixture_package.root / "data" / "petitions.csv"
    header, *rows = path.read_text(encoding="utf-8").splitlines()
    old = [f"2024-{i:07d}" + rows[0][12:].replace(",满意", ",很满意") for i in range(100, 100 + CAP + 20)]
    new = "2024-0009999" + rows[0][12:].replace("2024-05-03", "03/05/2024")
    path.write_text("\n".join([header, *old, new]) + "\n", encoding="utf-8")
    last = len(old) + 2
    report = validate_project(fixture_package, focus={"data/petitions.csv": {last}})
    mine = [p for p in report.problems if p.file == "data/petitions.csv"]
    assert (mine[0].row, mine[0].code, mine[0].column) == (last, "type-error", "received_on")
    assert sum(p.code == "constraint-error" for p in mine) == CAP


def test_the_build_publishes_nothing_until_excels_spellings_are_normalised(fixture_package, monkeypatch):
    replace(fixture_package, "petitions", ",2024-05-03,", ",2024/5/3,")
    monkeypatch.chdir(fixture_package.root)
    result = CliRunner().invoke(cli, ["build", "--only", "database"])
    assert result.exit_code == 1
    assert "data/petitions.csv 是 Excel 改写过的写法" in result.output
    assert "请运行 sunshine fix data/petitions.csv" in result.output
    assert not (fixture_package.root / "build" / "sunshine.db").exists()


@pytest.mark.parametrize(
    "separator, message",
    [
        (",", "文件是 UTF-16 编码的 CSV，需要转为 UTF-8"),
        ("\t", "这是 Excel 的“Unicode 文本”（UTF-16 编码、制表符分隔），不是 CSV"),
    ],
)
def test_a_utf16_file_is_named_for_what_it_is(fixture_package, separator, message):
    path = fixture_package.root / "data" / "villages.csv"
    text = path.read_text(encoding="utf-8").replace(",", separator)
    path.write_bytes(text.encode("utf-16"))
    report = validate_project(fixture_package)
    assert [(p.file, p.code, p.message) for p in report.errors] == [
        ("data/villages.csv", "encoding-error", message)
    ]
