"""`sunshine diff` lists rows added, removed and changed since a base version, published records first."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine.cli import cli

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
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    repo = tmp_path_factory.mktemp("diff") / "repo"
    return repo, make_repo(repo)


@pytest.fixture
def repo(template: tuple[Path, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A writable copy of the fixture repository, as the working directory."""
    copy = Path(shutil.copytree(template[0], tmp_path / "repo"))
    monkeypatch.chdir(copy)
    monkeypatch.delenv("SUNSHINE_DATASETTE_URL", raising=False)
    return copy


def diff(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["diff", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout, result.stderr


def test_the_text_diff_lists_published_changes_first_then_every_table(repo, template):
    status, out, _ = diff("--base", "published")
    assert status == 0, out
    assert (
        out
        == f"""数据变更：工作区中的 data/ 与 published（{template[1]["first"][:7]}）相比。

⚠ 已公开记录的改动 2 处，请逐条核对：
  更正原因：按工程结算单更正金额；同一诉求重复录入
  · 三务公开事项 D00000001 被修改：金额（元） 1200.00 → 1500.00
    {DATASETTE}/sunshine/disclosures/D00000001
  · 群众诉求办结 2024-0000002 被删除：小区垃圾清运不及时。
    {DATASETTE}/sunshine/petitions/2024-0000002

村（社区） data/villages.csv：没有变化
网格 data/grids.csv：新增 0 行，删除 0 行，修改 1 行
  ~ 330102001001-01 青石村第一网格
      网格范围：村东片一至三组 → 村东片一至四组
网格人员名册 data/grid_staff.csv：没有变化
三务公开事项 data/disclosures.csv：新增 1 行，删除 0 行，修改 1 行
  ~ D00000001 村道修缮工程款支付
      金额（元）：1200.00 → 1500.00
  + D00000003 2024年第一季度党费收缴情况
      村（社区）代码：330102001002
      所属期间：2024-Q1
      金额（元）：1520.00
      收支方向：收入
群众诉求办结 data/petitions.csv：新增 0 行，删除 1 行，修改 0 行
  - 2024-0000002 小区垃圾清运不及时。
村两委成员与分工 data/committee_members.csv：没有变化
两委成员公开承诺 data/commitments.csv：没有变化

合计：新增 1 行，删除 1 行，修改 2 行。
"""
    )


def test_the_markdown_diff_has_counts_first_and_a_table_per_data_table(repo, template):
    status, out, _ = diff(
        "--base", "published", "--format", "markdown", "--datasette-url", "https://data.example.org/"
    )
    assert status == 0, out
    url = "https://data.example.org"
    assert (
        out
        == f"""## 数据变更

工作区中的 `data/` 与 published（{template[1]["first"][:7]}）相比。

### ⚠ 已公开记录的改动（2 处）

这些记录已经公开，请审核人员逐条核对，并在说明中写明修改原因。

更正原因：按工程结算单更正金额；同一诉求重复录入

- 三务公开事项 [D00000001]({url}/sunshine/disclosures/D00000001) 被修改：金额（元） 1200.00 → 1500.00（[修改历史]({url}/history/record_history?table_name=disclosures&record_id=D00000001)）
- 群众诉求办结 [2024-0000002]({url}/sunshine/petitions/2024-0000002) 被删除：小区垃圾清运不及时。（[修改历史]({url}/history/record_history?table_name=petitions&record_id=2024-0000002)）

| 表 | 文件 | 新增 | 删除 | 修改 |
| --- | --- | ---: | ---: | ---: |
| 村（社区） | data/villages.csv | 0 | 0 | 0 |
| 网格 | data/grids.csv | 0 | 0 | 1 |
| 网格人员名册 | data/grid&#95;staff.csv | 0 | 0 | 0 |
| 三务公开事项 | data/disclosures.csv | 1 | 0 | 1 |
| 群众诉求办结 | data/petitions.csv | 0 | 1 | 0 |
| 村两委成员与分工 | data/committee&#95;members.csv | 0 | 0 | 0 |
| 两委成员公开承诺 | data/commitments.csv | 0 | 0 | 0 |

### 网格（data/grids.csv）

新增 0 行，删除 0 行，修改 1 行。

| 变化 | 编号 | 标题或名称 | 字段 | 原值 | 新值 |
| --- | --- | --- | --- | --- | --- |
| 修改 | 330102001001-01 | 青石村第一网格 | 网格范围 | 村东片一至三组 | 村东片一至四组 |

### 三务公开事项（data/disclosures.csv）

新增 1 行，删除 0 行，修改 1 行。

| 变化 | 编号 | 标题或名称 | 字段 | 原值 | 新值 |
| --- | --- | --- | --- | --- | --- |
| 修改 | D00000001 | 村道修缮工程款支付 | 金额（元） | 1200.00 | 1500.00 |
| 新增 | D00000003 | 2024年第一季度党费收缴情况 | 村（社区）代码 |  | 330102001002 |
| 新增 | D00000003 | 2024年第一季度党费收缴情况 | 所属期间 |  | 2024-Q1 |
| 新增 | D00000003 | 2024年第一季度党费收缴情况 | 金额（元） |  | 1520.00 |
| 新增 | D00000003 | 2024年第一季度党费收缴情况 | 收支方向 |  | 收入 |

### 群众诉求办结（data/petitions.csv）

新增 0 行，删除 1 行，修改 0 行。

| 变化 | 编号 | 标题或名称 | 字段 | 原值 | 新值 |
| --- | --- | --- | --- | --- | --- |
| 删除 | 2024-0000002 | 小区垃圾清运不及时。 |  |  |  |
"""
    )


def test_uncommitted_edits_are_compared_with_the_base(repo):
    write(repo, "petitions.csv", PETITIONS_HEADER + P1.replace(",满意\n", ",基本满意\n"))
    status, out, _ = diff("--base", "HEAD")
    assert status == 0
    assert "群众诉求办结 data/petitions.csv：新增 0 行，删除 0 行，修改 1 行\n" in out
    assert "      满意度：满意 → 基本满意\n" in out
    assert "⚠" not in out  # editing a petition (its follow-up, its satisfaction) is routine


def test_the_same_amount_written_differently_is_no_change(repo):
    write(repo, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1500") + D2 + D3)
    status, out, _ = diff("--base", "HEAD")
    assert "三务公开事项 data/disclosures.csv：没有变化\n" in out


def test_without_origin_the_local_branch_is_used_and_said(repo):
    write(repo, "grid_staff.csv", "staff_id,grid_id,name,role,party_member,work_phone,duties,since\n")
    status, out, _ = diff()
    assert status == 0
    assert out.splitlines()[1] == "找不到 origin/main（远程分支还没有取回），改为与本地分支 main 比较。"
    assert "网格人员名册 data/grid_staff.csv：新增 0 行，删除 1 行，修改 0 行\n" in out


def test_a_clone_compares_with_origin_main(template, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(template[0]), str(clone)], check=True)
    monkeypatch.chdir(clone)
    status, out, _ = diff()
    assert status == 0
    assert out.startswith(f"数据变更：工作区中的 data/ 与 origin/main（{template[1]['typo'][:7]}）相比。\n\n")


def test_a_missing_base_is_a_usage_error_with_a_way_out(repo):
    status, out, err = diff("--base", "origin/release")
    assert status == 2
    assert out == ""
    assert err == (
        "无法比较：找不到要比较的版本 origin/release。请先运行 git fetch origin，或用 --base 指定一个存在的分支、"
        "标签或提交，例如 --base HEAD（只看还没有提交的修改）。\n"
    )


def test_a_file_missing_in_the_base_is_all_added(repo):
    git(repo, "rm", "-q", "--cached", "data/grid_staff.csv")
    git(repo, "commit", "-q", "-m", "Stop tracking the staff list", date="2024-06-06T09:00:00+08:00")
    status, out, _ = diff("--base", "HEAD")
    assert status == 0
    assert (
        "网格人员名册 data/grid_staff.csv：新增 1 行，删除 0 行，修改 0 行\n  比较的版本中还没有这个文件，全部行都是新增。\n  + S000001 陈海\n"
        in out
    )


def test_a_byte_order_mark_changes_nothing(repo):
    text = (repo / "data" / "villages.csv").read_text(encoding="utf-8")
    (repo / "data" / "villages.csv").write_text("\ufeff" + text, encoding="utf-8")
    status, out, _ = diff("--base", "HEAD")
    assert status == 0
    assert "村（社区） data/villages.csv：没有变化\n" in out


def test_a_file_saved_as_gbk_is_read_for_what_it_says(repo):
    (repo / "data" / "grids.csv").write_bytes(
        (repo / "data" / "grids.csv").read_text(encoding="utf-8").encode("gbk")
    )
    status, out, _ = diff("--base", "HEAD")
    assert status == 0
    assert "网格 data/grids.csv：没有变化\n" in out


def test_a_file_in_no_known_encoding_is_named_with_what_to_do(repo):
    (repo / "data" / "grids.csv").write_bytes(b"grid_id,village_code\n\xff\xfe\x00\x81\n")
    status, out, _ = diff("--base", "HEAD")
    assert status == 1
    assert (
        "网格 data/grids.csv：无法比较。data/grids.csv：文件中有无法识别的字符（共 3 行），不是 UTF-8，也不是 GBK。"
        "请在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”。\n"
    ) in out


def test_an_excel_resave_of_every_table_is_no_change(repo):
    for name in ("villages", "grids", "grid_staff", "disclosures", "petitions"):
        path = repo / "data" / f"{name}.csv"
        path.write_bytes(excel_resave(path.read_text(encoding="utf-8")))
    assert "2024/5/1" in (repo / "data" / "disclosures.csv").read_bytes().decode("gbk")
    status, out, _ = diff("--base", "HEAD")
    assert status == 0, out
    assert out.endswith("合计：新增 0 行，删除 0 行，修改 0 行。\n")


def test_a_real_change_in_a_resaved_file_is_the_only_change(repo):
    path = repo / "data" / "disclosures.csv"
    path.write_bytes(excel_resave(path.read_text(encoding="utf-8").replace("1500.00", "1500.50")))
    status, out, _ = diff("--base", "HEAD")
    assert status == 0, out
    assert "      金额（元）：1500.00 → 1500.50\n" in out
    assert out.endswith("合计：新增 0 行，删除 0 行，修改 1 行。\n")


def test_personal_numbers_are_masked_and_data_cannot_inject_markdown(repo):
    summary = "村民（身份证号110105199003071234）反映[路灯](javascript:alert(1))<script>x</script>"
    write(repo, "petitions.csv", PETITIONS_HEADER + P1.replace("村东路灯损坏，夜间出行不便。", summary))
    _, text, _ = diff("--base", "HEAD")
    _, markdown, _ = diff("--base", "HEAD", "--format", "markdown")
    assert "110105199003071234" not in text + markdown
    assert (
        "      诉求摘要：村东路灯损坏，夜间出行不便。 → 村民（身份证号110105********1234）反映[路灯](javascript:alert(1))<script>x</script>\n"
        in text
    )
    assert "<script>" not in markdown and "](javascript" not in markdown
    assert (
        "| 诉求摘要 | 村东路灯损坏，夜间出行不便。 | 村民（身份证号110105&#42;&#42;&#42;&#42;&#42;&#42;&#42;&#42;1234）反映"
        "&#91;路灯&#93;&#40;javascript:alert&#40;1&#41;&#41;&#60;script&#62;x&#60;/script&#62; |"
    ) in markdown


def test_outside_git_the_diff_says_so(template, tmp_path, monkeypatch):
    plain = Path(shutil.copytree(template[0], tmp_path / "plain", ignore=shutil.ignore_patterns(".git")))
    monkeypatch.chdir(plain)
    status, out, err = diff()
    assert status == 2
    assert err == f"无法比较：{plain} 不是 git 仓库。\n"


def test_a_changed_paragraph_shows_only_the_changed_words(repo):
    plan = "全年重点：村道修缮、垃圾分类、河塘清淤。"
    longer = (
        "全年重点：村道修缮、垃圾分类、河塘清淤，更换村东主干道路灯24盏，维修线路3处，所需费用由村集体列支。"
    )
    path = repo / "data" / "disclosures.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(plan, longer), encoding="utf-8")
    commit(repo, "Add the street lights to the plan", "2024-06-06T09:00:00+08:00")
    path.write_text(path.read_text(encoding="utf-8").replace("24盏", "42盏"), encoding="utf-8")
    _, out, _ = diff("--base", "HEAD")
    assert "      公开内容：…东主干道路灯〔24盏〕，维修线路3… → …东主干道路灯〔42盏〕，维修线路3…\n" in out
    _, out, _ = diff("--base", "HEAD", "--format", "markdown")
    assert "| 公开内容 | …东主干道路灯**24盏**，维修线路3… | …东主干道路灯**42盏**，维修线路3… |" in out


def test_a_correction_without_a_reason_says_how_to_give_one_and_a_reason_given_is_shown(repo):
    path = repo / "data" / "disclosures.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",1500.00,", ",1800.00,"), encoding="utf-8")
    _, out, _ = diff("--base", "HEAD")
    assert (
        "⚠ 已公开记录的改动 1 处，请逐条核对：\n"
        "  还没有写明更正原因：请在合并请求的说明中（或提交说明中）加一行“更正原因：……”，例如“更正原因：按工程结算单更正金额”。\n"
    ) in out
    _, out, _ = diff("--base", "HEAD", "--reason", "发票金额录入错误，以会计凭证为准")
    assert "⚠ 已公开记录的改动 1 处，请逐条核对：\n  更正原因：发票金额录入错误，以会计凭证为准\n" in out
