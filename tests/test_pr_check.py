"""scripts/pr-check: annotations in the log, a summary in every case, a failing status when the data is wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .git_fixture import P1, PETITIONS_HEADER, git, make_repo, write

ROOT = Path(__file__).resolve().parent.parent
PR_CHECK = ROOT / "scripts" / "pr-check"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The fixture repository, with origin/main where a pull request would start: the first commit."""
    repo = tmp_path_factory.mktemp("pr") / "repo"
    hashes = make_repo(repo)
    git(repo, "update-ref", "refs/remotes/origin/main", hashes["first"])
    return repo, hashes


@pytest.fixture
def repo(template: tuple[Path, dict[str, str]], tmp_path: Path) -> Path:
    return Path(shutil.copytree(template[0], tmp_path / "repo"))


def pr_check(repo: Path, summary: Path | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUNSHINE_")) and k != "CI"}
    env |= {
        "SUNSHINE_PROJECT_DIR": str(repo),
        "SUNSHINE_PR_CHECK_TESTS": "0",  # these tests are part of the test step
        "SUNSHINE_PR_CHECK_BUILD_ONLY": "history",
    }
    if summary:
        env["GITHUB_STEP_SUMMARY"] = str(summary)
    return subprocess.run([str(PR_CHECK)], cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def test_a_clean_pull_request_passes_and_summarises_its_changes(repo, template, tmp_path):
    summary = tmp_path / "summary.md"
    proc = pr_check(repo, summary)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "::error" not in proc.stdout
    assert (repo / "build" / "history.db").is_file()
    text = summary.read_text(encoding="utf-8")
    assert text.startswith(
        "# 数据检查结果\n\n全部检查通过。\n\n| 步骤 | 结果 |\n| --- | --- |\n"
        "| 校验数据 | ✅ 通过 |\n| 构建数据库和网站 | ✅ 通过 |\n| 测试 | ⏭ 未运行（SUNSHINE_PR_CHECK_TESTS=0） |\n"
    )
    assert "修改历史 history.db：本次处理 5 个新提交" in text
    assert f"工作区中的 `data/` 与 origin/main（{template[1]['first'][:7]}）相比。" in text
    assert "### ⚠ 已公开记录的改动（2 处）" in text
    assert "| 修改 | D00000001 | 村道修缮工程款支付 | 金额（元） | 1200.00 | 1500.00 |" in text


def test_invalid_data_fails_with_annotations_skips_the_build_and_still_summarises(repo, tmp_path):
    write(repo, "petitions.csv", PETITIONS_HEADER + P1.replace("2024-04-02", "04/02/2024"))
    summary = tmp_path / "summary.md"
    proc = pr_check(repo, summary)
    assert proc.returncode == 1
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::error")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=data/petitions.csv,line=2,")
    assert not (repo / "build" / "history.db").exists()
    text = summary.read_text(encoding="utf-8")
    assert "| 校验数据 | ❌ 未通过 |\n| 构建数据库和网站 | ⏭ 未运行（数据未通过校验） |\n" in text
    assert "<details><summary>校验发现的问题</summary>" in text
    assert (
        "| 修改 | 2024-0000001 | 村东路灯损坏，夜间出行不便。 | 受理日期 | 2024-04-02 | 04/02/2024 |" in text
    )


def test_without_a_summary_file_the_summary_is_printed(repo):
    write(repo, "grids.csv", "grid_id,village_code,name,area,households,population\n")
    proc = pr_check(repo, None)
    assert proc.returncode == 1
    assert (
        "\n== 检查摘要\n# 数据检查结果\n\n数据没有通过校验：问题已在“Files changed”页的对应行上标出"
        in proc.stdout
    )
    assert "| 网格 | data/grids.csv | 0 | 2 | 0 |" in proc.stdout


def test_a_failed_build_fails_the_check_and_says_it_is_not_the_datas_fault(repo, tmp_path):
    (repo / "build" / "history.db").mkdir(parents=True)  # nothing can be written where the history goes
    summary = tmp_path / "summary.md"
    proc = pr_check(repo, summary)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    text = summary.read_text(encoding="utf-8")
    assert "数据通过了校验，但有 ❌ 的步骤没有通过：请把本页链接发给数据管理员。" in text
    assert "| 校验数据 | ✅ 通过 |\n| 构建数据库和网站 | ❌ 未通过 |\n" in text
    assert "构建失败：无法写入修改历史" in text


def test_a_change_to_the_data_contract_is_flagged_for_a_maintainer(repo, tmp_path):
    schema = repo / "schemas" / "petitions.schema.json"
    schema.write_text(
        schema.read_text(encoding="utf-8").replace('"maxLength": 500', '"maxLength": 5000'), "utf-8"
    )
    summary = tmp_path / "summary.md"
    proc = pr_check(repo, summary)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        "::warning file=schemas/petitions.schema.json,title=contract-change::"
        "数据契约变更（schemas/petitions.schema.json），需要数据管理员审核。"
    ) in proc.stdout
    text = summary.read_text(encoding="utf-8")
    assert "## ⚠ 数据契约变更：需要数据管理员审核\n" in text
    assert "\n- `schemas/petitions.schema.json`\n" in text


def test_a_pull_request_that_leaves_the_contract_alone_is_not_flagged(repo, tmp_path):
    summary = tmp_path / "summary.md"
    pr_check(repo, summary)
    assert "数据契约变更" not in summary.read_text(encoding="utf-8")


def test_maintainers_own_the_contract_the_code_the_workflows_and_the_published_content():
    owners = (ROOT / ".github" / "CODEOWNERS").read_text(encoding="utf-8")
    paths = [line.split()[0] for line in owners.splitlines() if line.strip() and not line.startswith("#")]
    assert paths == ["/schemas/", "/datapackage.json", "/scripts/", "/.github/", "/content/"]
    assert all(
        len(line.split()) >= 2 for line in owners.splitlines() if line.strip() and not line.startswith("#")
    )
