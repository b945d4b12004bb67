"""Documentation written from code stays in step with it."""

from __future__ import annotations

from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.docs import GENERATED, stale

from .conftest import ROOT


def test_generated_parts_of_the_documentation_match_the_code():
    assert sorted(stale(ROOT)) == [], "运行 sunshine docs 重新生成"
    assert {name for name, _ in GENERATED} == {"README.md", "CONTRIBUTING.md"}


def test_docs_check_fails_when_a_generated_part_was_edited_by_hand(tmp_path, monkeypatch):
    for name in ("README.md", "CONTRIBUTING.md", "datapackage.json"):
        (tmp_path / name).write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    contributing = tmp_path / "CONTRIBUTING.md"
    contributing.write_text(
        contributing.read_text(encoding="utf-8").replace("| `blank-row` |", "| `blank` |")
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["docs", "--check"])
    assert result.exit_code == 1, result.output
    assert "CONTRIBUTING.md 中生成的部分已过时" in result.output
    assert CliRunner().invoke(cli, ["docs"]).exit_code == 0
    assert CliRunner().invoke(cli, ["docs", "--check"]).exit_code == 0
