"""Every command explains itself, and the README tells a new user about each one."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from sunshine.cli import cli

from .conftest import ROOT

COMMANDS = sorted(cli.commands)


def test_the_cli_has_the_commands_the_readme_promises():
    assert COMMANDS == [
        "build",
        "diff",
        "docs",
        "fix",
        "generate",
        "init",
        "metadata",
        "next-id",
        "publish",
        "serve",
        "template",
        "validate",
    ]


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_chinese_help(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    help_text = cli.commands[name].help or ""
    assert any("\u4e00" <= ch <= "\u9fff" for ch in help_text), f"{name} has no Chinese help"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_is_documented_in_the_readme(name):
    assert f"sunshine {name}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_a_command_outside_a_data_repository_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert "找不到 datapackage.json" in result.output


def test_a_broken_settings_file_stops_a_command_with_the_reason_alone(tmp_path, monkeypatch, fixture_package):
    (fixture_package.root / "sunshine.toml").write_text('[site]\ntitle = "x\n', encoding="utf-8")
    monkeypatch.chdir(fixture_package.root)
    result = CliRunner().invoke(cli, ["validate"])
    assert result.exit_code == 2
    assert result.output.startswith("错误：sunshine.toml 无法读取：第 2 行第 11 列附近写法有误。")
    assert "Usage" not in result.output and "Try " not in result.output
