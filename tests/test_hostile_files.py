"""Files that point elsewhere or that replace each other: nothing outside the repository is
published, and `sunshine fix` never loses an original however often it runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.package import Project
from sunshine.problems import BuildError
from sunshine.site.build import build as build_site
from sunshine.validate.run import validate_project

from .conftest import FIXTURE, ROOT, copy_package

SECRET = "SUNSHINE_TEST_SECRET=do-not-publish"


@pytest.fixture
def package(tmp_path: Path) -> Project:
    root = copy_package(ROOT, tmp_path / "pkg", data_from=FIXTURE / "data")
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    return Project.load(root)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "environ"
    secret.parent.mkdir()
    secret.write_text(SECRET, encoding="utf-8")
    return secret


def unsafe(project: Project) -> list[tuple[str, str, str]]:
    return validate_project(project).flatten(("code", "file", "message"))


# -- content/ --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "link",
    [
        "content/docs/environ.md",
        "content/docs/stylesheets/extra.txt",
        "content/overrides/partials/footer.html",
    ],
)
def test_a_link_to_a_file_outside_the_repository_in_content_is_refused(package, outside, link):
    (package.root / link).parent.mkdir(parents=True, exist_ok=True)
    (package.root / link).unlink(missing_ok=True)
    (package.root / link).symlink_to(outside)
    assert ("unsafe-path", link, "这是一个符号链接，不是普通文件") in unsafe(package)
    assert not validate_project(package).valid


def test_a_link_to_proc_self_environ_is_refused_even_inside_a_linked_folder(package):
    (package.root / "content/docs/proc").symlink_to("/proc/self")
    (package.root / "content/docs/environ.txt").symlink_to("/proc/self/environ")
    problems = [p for p in unsafe(package) if p[0] == "unsafe-path"]
    assert problems == [
        ("unsafe-path", "content/docs/environ.txt", "这是一个符号链接，不是普通文件"),
        ("unsafe-path", "content/docs/proc", "这是一个符号链接，不是普通文件"),
    ]


def test_content_that_is_itself_a_link_is_refused(package, tmp_path):
    moved = tmp_path / "elsewhere"
    shutil.move(package.root / "content", moved)
    (package.root / "content").symlink_to(moved)
    assert ("unsafe-path", "content", "content/ 目录是一个符号链接") in unsafe(package)


def test_a_pipe_in_content_is_refused_rather_than_read(package):
    os.mkfifo(package.root / "content/docs/pipe.md")
    assert ("unsafe-path", "content/docs/pipe.md", "这不是普通文件或文件夹") in unsafe(package)


def test_the_site_build_publishes_nothing_from_a_link_and_keeps_the_last_good_site(package, outside):
    (package.root / "content/docs/environ.md").symlink_to(outside)
    target = package.build_dir / "site"
    target.mkdir(parents=True)
    (target / "index.html").write_text("last good site", encoding="utf-8")
    with pytest.raises(BuildError, match="content/docs/environ.md：这是一个符号链接"):
        build_site(package, target, datasette_url="http://127.0.0.1:8001")
    assert (target / "index.html").read_text(encoding="utf-8") == "last good site"
    published = [
        p for p in package.build_dir.rglob("*") if p.is_file() and SECRET in p.read_text(errors="ignore")
    ]
    assert published == []


def test_ordinary_content_passes(package):
    assert [p for p in unsafe(package) if p[0] == "unsafe-path"] == []


# -- sunshine fix and its originals ----------------------------------------------------------------


def fix(project: Project, monkeypatch: pytest.MonkeyPatch, *files: str):
    monkeypatch.chdir(project.root)
    return CliRunner().invoke(cli, ["fix", *files])


def excel_export(project: Project, old: str, new: str) -> bytes:
    """The table as Excel saves "CSV UTF-8": a BOM and CRLF line ends, with one date typed as 2024/5/3."""
    path = project.root / "data" / "petitions.csv"
    text = (FIXTURE / "data" / "petitions.csv").read_text(encoding="utf-8")
    assert old in text
    content = "\ufeff" + text.replace(old, new, 1).replace("\r\n", "\n").replace("\n", "\r\n")
    path.write_bytes(content.encode("utf-8"))
    return path.read_bytes()


def test_a_new_export_saved_over_a_fixed_file_is_kept_beside_the_first_original(package, monkeypatch):
    first = excel_export(package, ",2024-05-03,", ",2024/5/3,")
    assert fix(package, monkeypatch, "data/petitions.csv").exit_code == 0
    second = excel_export(package, ",2024-05-07,", ",2024/5/7,")
    result = fix(package, monkeypatch, "data/petitions.csv")
    assert result.exit_code == 0, result.output
    data = package.root / "data"
    assert (data / "petitions.orig.csv").read_bytes() == first
    assert (data / "petitions.2.orig.csv").read_bytes() == second
    assert (
        "修改前的文件保留为 data/petitions.2.orig.csv；最早的原文件仍在 data/petitions.orig.csv。"
        in result.output
    )
    assert validate_project(package).flatten(("code", "file")) == [
        ("backup-file", "data/petitions.2.orig.csv"),
        ("backup-file", "data/petitions.orig.csv"),
    ]


def test_fixing_a_file_already_fixed_and_edited_by_hand_says_where_the_original_is(package, monkeypatch):
    first = excel_export(package, ",2024-05-03,", ",2024/5/3,")
    fix(package, monkeypatch, "data/petitions.csv")
    path = package.root / "data" / "petitions.csv"
    path.write_text(
        path.read_text(encoding="utf-8").replace(",2024-05-07,", ",2024/5/7,", 1), encoding="utf-8"
    )
    result = fix(package, monkeypatch, "data/petitions.csv")
    assert "修改前的文件是上次修复的结果，最早的原文件仍在 data/petitions.orig.csv。" in result.output
    assert (package.root / "data" / "petitions.orig.csv").read_bytes() == first
    assert not (package.root / "data" / "petitions.2.orig.csv").exists()


def test_the_same_original_fixed_again_is_not_kept_twice(package, monkeypatch):
    first = excel_export(package, ",2024-05-03,", ",2024/5/3,")
    fix(package, monkeypatch, "data/petitions.csv")
    (package.root / "data" / "petitions.csv").write_bytes(first)
    result = fix(package, monkeypatch, "data/petitions.csv")
    assert "原文件保留为 data/petitions.orig.csv。" in result.output
    assert sorted(p.name for p in (package.root / "data").glob("petitions*")) == [
        "petitions.csv",
        "petitions.orig.csv",
    ]


def test_fix_refuses_a_table_that_is_a_link_and_copies_nothing(package, monkeypatch, outside):
    table = package.root / "data" / "petitions.csv"
    table.unlink()
    table.symlink_to(outside)
    result = fix(package, monkeypatch, "data/petitions.csv")
    assert "✗ data/petitions.csv：这是一个符号链接，不是普通文件" in result.output
    assert outside.read_text(encoding="utf-8") == SECRET
    assert not (package.root / "data" / "petitions.orig.csv").exists()
