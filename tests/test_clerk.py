"""A clerk's month, as a clerk does it: Excel or WPS on Chinese Windows, GitHub in the browser.

Each task is a pull request against the fixture repository; each run of scripts/pr-check is one round
the clerk waits for. Files are written the way Excel and WPS write them: GBK, CRLF, dates re-saved as
2024/6/3, amounts without trailing zeros or with thousands separators, Chinese header titles.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sunshine.fix.xlsx import read_workbook, write_template
from sunshine.package import Project

from .git_fixture import excel_resave, git, make_repo

ROOT = Path(__file__).resolve().parent.parent
PR_CHECK = ROOT / "scripts" / "pr-check"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("clerk") / "repo"
    hashes = make_repo(repo)
    git(repo, "update-ref", "refs/remotes/origin/main", hashes["typo"])
    return repo


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(template, tmp_path / "repo"))


def pr_check(repo: Path, *, commit: bool = True, body: str = "") -> tuple[int, str, str]:
    """One round: (exit status, log, job summary)."""
    summary = repo.parent / "summary.md"
    summary.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUNSHINE_")) and k != "CI"}
    env |= {
        "SUNSHINE_PROJECT_DIR": str(repo),
        "SUNSHINE_PR_CHECK_TESTS": "0",
        "SUNSHINE_PR_CHECK_BUILD_ONLY": "history",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GIT_AUTHOR_NAME": "阳光村务检查",
        "GIT_AUTHOR_EMAIL": "check@example.org",
        "GIT_COMMITTER_NAME": "阳光村务检查",
        "GIT_COMMITTER_EMAIL": "check@example.org",
    }
    if commit:
        env["SUNSHINE_PR_CHECK_COMMIT"] = "1"
    if body:
        env["SUNSHINE_PR_BODY"] = body
    proc = subprocess.run([str(PR_CHECK)], cwd=repo, env=env, capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout + proc.stderr, summary.read_text(encoding="utf-8")


def excel_edit(repo: Path, table: str, edit) -> None:
    """Open data/<table>.csv in Excel, change it, save: everything Excel rewrites on the way."""
    path = repo / "data" / f"{table}.csv"
    text = path.read_bytes().decode("utf-8")
    path.write_bytes(excel_resave(edit(text)))


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


NEW_ROWS = (
    "D00000004,330102001001,财务公开,集体资金收支,2024年6月村集体收入,收取村集体鱼塘承包费。,2024-06,2024-06-03,8000.00,收入,,青石村村委会\n"
    "D00000005,330102001001,财务公开,集体资金收支,2024年6月村集体支出,支付村道路灯电费。,2024-06,2024-06-05,1250.50,支出,,青石村村委会\n"
)


def test_new_finance_rows_saved_by_excel_pass_in_one_round_and_are_normalised(repo):
    excel_edit(repo, "disclosures", lambda t: t + NEW_ROWS)
    commit_all(repo, "Add the June finance disclosures")
    status, log, summary = pr_check(repo)
    assert status == 0, log + summary
    assert git(repo, "log", "-1", "--format=%s") == "自动规范格式"
    text = (repo / "data" / "disclosures.csv").read_text(encoding="utf-8")
    assert "\r" not in text and "2024/6/3" not in text
    assert (
        "D00000005,330102001001,财务公开,集体资金收支,2024年6月村集体支出,支付村道路灯电费。,2024-06,2024-06-05,1250.5,支出"
        in text
    )
    assert "| 自动规范格式 | ✅ 已规范 1 个文件并提交 |" in summary
    assert "| 三务公开事项 | data/disclosures.csv | 2 | 0 | 0 |" in summary
    assert "已公开记录的改动" not in summary


def test_a_fork_gets_the_normalised_file_to_download_instead_of_a_commit(repo):
    excel_edit(repo, "disclosures", lambda t: t + NEW_ROWS)
    commit_all(repo, "Add the June finance disclosures")
    head = git(repo, "rev-parse", "HEAD")
    status, log, summary = pr_check(repo, commit=False)
    assert status == 0, log + summary
    assert git(repo, "rev-parse", "HEAD") == head
    fixed = repo / "build" / "normalised" / "data" / "disclosures.csv"
    assert ",2024-06-03,8000,收入," in fixed.read_text(encoding="utf-8")
    assert "| 自动规范格式 | 💡 可规范 1 个文件（见下方说明） |" in summary
    assert "Artifacts 中下载“normalised-data”（自动规范的文件）" in summary


def test_a_correction_in_a_resaved_file_shows_only_what_changed_and_needs_a_reason(repo):
    excel_edit(repo, "disclosures", lambda t: t.replace(",1500.00,", ",1800.00,"))
    commit_all(repo, "Correct the road repair payment to 1800 yuan")
    status, log, summary = pr_check(repo)
    assert status == 1, log + summary
    assert "| 更正原因 | ❌ 未通过 |" in summary
    assert "还没有写明更正原因：请在合并请求的说明中加一行“更正原因：……”" in summary
    # Second round: the clerk adds the reason to the pull request's description.
    status, log, summary = pr_check(repo, body="本月更正。\n更正原因：按工程结算单更正金额\n")
    assert status == 0, log + summary
    assert "| 更正原因 | ✅ 通过 |" in summary
    assert "\n更正原因：按工程结算单更正金额\n" in summary
    assert "### ⚠ 已公开记录的改动（1 处）" in summary
    assert "| 修改 | D00000001 | 村道修缮工程款支付 | 金额（元） | 1500.00 | 1800.00 |" in summary
    assert "| 三务公开事项 | data/disclosures.csv | 0 | 0 | 1 |" in summary


def test_roster_changes_with_a_rare_character_lost_to_gbk_take_two_rounds(repo):
    new = "S000002,330102001002-01,李䶮,专职网格员,否,0571-86002002,入户走访、收集民情,2024-06-01\n"
    path = repo / "data" / "grid_staff.csv"
    path.write_bytes((path.read_text(encoding="utf-8") + new).replace("\n", "\r\n").encode("gbk", "replace"))
    commit_all(repo, "Add a grid worker")
    status, log, summary = pr_check(repo)
    assert status == 1
    assert "lost-character" in log
    assert "姓名中有“?”：多半是文件另存为 GBK 时保存不了的生僻字" in summary
    # Second round: the clerk fills the Excel template and uploads it as data/grid_staff.xlsx.
    table = Project.load(repo).tables["grid_staff"]
    workbook = repo / "data" / "grid_staff.xlsx"
    write_template(table, workbook)
    wb = load_workbook(workbook)
    ws = wb.active
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("gbk"))))[1:]
    rows[-1][2] = "李䶮"
    for r, row in enumerate(rows, start=3):
        for c, value in enumerate(row, start=1):
            ws.cell(row=r, column=c, value=value)
    wb.save(workbook)
    path.unlink()
    commit_all(repo, "Upload the roster as an Excel workbook")
    status, log, summary = pr_check(repo)
    assert status == 0, log + summary
    assert not workbook.exists()
    assert "S000002,330102001002-01,李䶮,专职网格员" in path.read_text(encoding="utf-8")
    assert "| 网格人员名册 | data/grid&#95;staff.csv | 1 | 0 | 0 |" in summary


def test_the_template_holds_names_titles_drop_downs_text_columns_and_notes(tmp_path):
    table = Project.load(ROOT).tables["petitions"]
    path = tmp_path / "petitions.xlsx"
    write_template(table, path)
    ws = load_workbook(path).active
    assert [c.value for c in ws[1]] == table.field_names
    assert [c.value for c in ws[2]] == [f["title"] for f in table.fields]
    assert ws["A1"].comment.text.startswith("诉求编号\n")
    assert ws["H3"].number_format == "@"  # received_on: a date kept as text
    lists = {str(dv.sqref).split(":")[0][:-1]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists["D"] == '"来访,来电,12345热线,网格员走访,网上留言,来信"'
    assert read_workbook(table, path) == [table.field_names]


def test_annotations_stop_at_ten_and_the_summary_lists_every_problem(repo):
    excel_edit(
        repo,
        "petitions",
        lambda t: (
            t.replace(",满意\n", ",很满意\n")
            + "".join(
                f"2024-{i:07d},330102001001,330102001001-01,来访,求助,道路交通,路灯坏了。,03/05/2024,2024-04-05,青石村村委会,已修好。,2024-04-08,满意\n"
                for i in range(10, 22)
            )
        ),
    )
    commit_all(repo, "Add petitions")
    status, log, summary = pr_check(repo)
    assert status == 1
    annotations = [line for line in log.splitlines() if line.startswith("::error")]
    assert len(annotations) == 10
    assert "::notice title=另有 31 个问题::" in log
    assert "全部 41 个，本次新增或修改的行在前。" in summary
    assert (
        "整列“办结日期”被 Excel 改写（13 行：第 2、3、4、5、6、7、8、9 行等），一次自动规范即可改正"
        in summary
    )
    assert summary.index("✗ 第 3、4、5、6、7、8、9、10 行等") < summary.index("整列“办结日期”")
    assert "第 3、4、5、6、7、8、9、10 行等（共 12 行），“受理日期”（received_on）：不是有效的日期" in summary


def test_a_data_only_pull_request_needs_no_code_tests(repo):
    excel_edit(repo, "disclosures", lambda t: t + NEW_ROWS)
    commit_all(repo, "Add the June finance disclosures")
    proc = subprocess.run(
        [str(PR_CHECK)],
        cwd=repo,
        env={
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("GITHUB_", "SUNSHINE_")) and k != "CI"
            },
            "SUNSHINE_PROJECT_DIR": str(repo),
            "SUNSHINE_PR_CHECK_BUILD_ONLY": "history",
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| 测试 | ⏭ 未运行（只修改了 data/ 下的数据） |" in proc.stdout


@pytest.mark.parametrize("name", ["villages", "grids", "grid_staff", "disclosures", "petitions"])
def test_the_committed_templates_follow_the_schemas(name, tmp_path):
    """templates/*.xlsx is what a clerk downloads in the browser; `sunshine template --out templates` rewrites it."""
    table = Project.load(ROOT).tables[name]
    fresh = tmp_path / f"{name}.xlsx"
    write_template(table, fresh)

    def content(path: Path) -> tuple:
        ws = load_workbook(path).active
        return (
            ws.title,
            [(c.value, c.comment.text if c.comment else None) for c in ws[1]],
            [c.value for c in ws[2]],
            sorted((str(dv.sqref), dv.formula1) for dv in ws.data_validations.dataValidation),
        )

    assert content(ROOT / "templates" / f"{name}.xlsx") == content(fresh), (
        "运行 sunshine template --out templates"
    )


def test_a_new_petition_with_a_deleted_cases_number_is_refused_and_the_next_free_one_offered(
    repo, monkeypatch
):
    from click.testing import CliRunner

    from sunshine.cli import cli

    reused = "2024-0000002,330102001001,330102001001-01,来电,咨询,社会保障,咨询养老保险缴费。,2024-06-10,2024-06-10,青石村村委会,已电话告知。,2024-06-12,满意\n"
    path = repo / "data" / "petitions.csv"
    path.write_text(path.read_text(encoding="utf-8") + reused, encoding="utf-8")
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(cli, ["validate", "--base", "origin/main"])
    assert result.exit_code == 1, result.output
    assert (
        "  ✗ 第 3 行，“诉求编号”（case_id）：编号 2024-0000002 曾属于已删除的记录“小区垃圾清运不及时。”"
        "（2024-06-01 在提交 " in result.output
    )
    assert (
        "请换一个从未用过的编号，例如 2024-0000003（运行 sunshine next-id petitions 可得到下一个可用编号）。"
        in result.output
    )
    result = CliRunner().invoke(cli, ["next-id", "petitions"])
    assert result.output == "2024-0000003\n"
