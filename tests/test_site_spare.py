"""The site a build replaces is kept and brought up to date as the next one: after the rows of a
village's month go (and with them pages and a notice-board sheet), every file is the same as in a
site built from nothing, and no file of the replaced site survives."""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from sunshine.package import Project
from sunshine.sample.generate import Sizes, generate
from sunshine.site.build import SPARE, WORK, _free_replaced_downloads, build

from .conftest import ROOT, copy_package

DATASETTE = "http://127.0.0.1:8001"


def files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def rewrite(path: Path, keep) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, list(reader)
    gone = [r for r in rows if not keep(r)]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(r for r in rows if keep(r))
    return gone


@pytest.fixture
def township(tmp_path: Path, monkeypatch) -> Project:
    monkeypatch.setenv("SUNSHINE_CHROMIUM", "")  # no PDFs
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    generate(tmp_path / "generated", Sizes(villages=3, disclosures=120, petitions=60), seed=8)
    root = copy_package(ROOT, tmp_path / "pkg", data_from=tmp_path / "generated")
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    return Project.load(root)


def test_a_site_made_from_the_replaced_one_equals_a_site_made_from_nothing(township: Project, tmp_path: Path):
    root, target = township.root, township.build_dir / "site"
    build(township, target, datasette_url=DATASETTE)
    build(township, target, datasette_url=DATASETTE)  # replaces the first, which is kept
    spare = township.build_dir / WORK / SPARE
    assert spare.is_dir()
    old, kept = files(spare), spare.stat().st_ino

    first = {}
    gone = rewrite(
        root / "data" / "disclosures.csv",
        lambda r: (
            first.setdefault("row", r)["village_code"] != r["village_code"]
            or first["row"]["published_on"][:7] != r["published_on"][:7]
        ),
    )
    code = first["row"]["village_code"]
    assert gone
    township = Project.load(root)
    build(township, target, datasette_url=DATASETTE)
    assert target.stat().st_ino == kept  # the new site is the replaced one, brought up to date
    assert files(spare) == old  # and the site it replaced is the next spare

    cold_root = tmp_path / "cold"
    shutil.copytree(root, cold_root, ignore=shutil.ignore_patterns("build"))
    cold = Project.load(cold_root)
    build(cold, cold.build_dir / "site", datasette_url=DATASETTE)
    mine, theirs = files(target), files(cold.build_dir / "site")
    assert sorted(mine) == sorted(theirs)
    assert [name for name in mine if mine[name] != theirs[name]] == []
    assert any(name.startswith(f"noticeboard/{code}/") for name in old)


def test_the_spare_sites_downloads_that_nothing_else_links_to_are_freed(tmp_path: Path):
    spare = tmp_path / SPARE
    (spare / "downloads").mkdir(parents=True)
    (spare / "downloads" / "old.csv").write_text("replaced since", encoding="utf-8")
    (tmp_path / "kept.csv").write_text("still published", encoding="utf-8")
    os.link(tmp_path / "kept.csv", spare / "downloads" / "kept.csv")
    _free_replaced_downloads(spare)
    assert sorted(p.name for p in (spare / "downloads").iterdir()) == ["kept.csv"]


def test_a_hand_written_page_in_the_downloads_folder_lives_beside_the_downloads_and_goes_with_its_file(
    township: Project,
):
    page = township.root / "content" / "docs" / "downloads" / "about.md"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text("# 关于数据下载\n\n每张表都可以下载。\n", encoding="utf-8")
    target = township.build_dir / "site"
    for _ in range(2):  # from nothing, then from the replaced site
        build(township, target, datasette_url=DATASETTE)
        assert "关于数据下载" in (target / "downloads" / "about" / "index.html").read_text(encoding="utf-8")
        assert (target / "downloads" / "villages.csv").is_file()
    page.unlink()
    build(township, target, datasette_url=DATASETTE)
    assert not (target / "downloads" / "about").exists()
    assert (target / "downloads" / "villages.csv").is_file()
