"""A sheet whose village, rows and settings are unchanged is not made again: its key is kept under a
digest of what it is made from, and the pages written are the same as made from nothing."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from sunshine.noticeboard import build as noticeboard
from sunshine.package import Project
from sunshine.sample.generate import Sizes, generate
from sunshine.site.build import with_csp
from sunshine.site.pages.data import SiteData

from .conftest import ROOT, copy_package

DATASETTE = "https://data.example.gov.cn"


@pytest.fixture
def township(tmp_path: Path, monkeypatch) -> Project:
    monkeypatch.setenv("SUNSHINE_CHROMIUM", "")  # no PDFs: the pages alone
    generate(tmp_path / "generated", Sizes(villages=3, disclosures=120, petitions=50), seed=3)
    return Project.load(copy_package(ROOT, tmp_path / "pkg", data_from=tmp_path / "generated"))


def made_sheets(monkeypatch) -> list[tuple[str, str]]:
    """Record which sheets are made (village, quarter) from now on."""
    made: list[tuple[str, str]] = []
    real = noticeboard.sheets

    def sheets(villages, disclosures, *args, **kwargs):
        out = real(villages, disclosures, *args, **kwargs)
        made.extend((s.code, s.period) for s in out)
        return out

    monkeypatch.setattr(noticeboard, "sheets", sheets)
    return made


def files(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


def write(project: Project, site: Path, cache: Path) -> str:
    note, _ = noticeboard.write_sheets(
        project, SiteData.load(project), site, cache / "pdf", datasette_url=DATASETTE, finish=with_csp
    )
    return note


def test_only_the_sheet_of_a_changed_row_is_made_again_and_the_pages_equal_a_fresh_build(
    township: Project, tmp_path: Path, monkeypatch
):
    cache = tmp_path / "work"
    first = write(township, tmp_path / "first", cache)
    count = len(noticeboard.project_sheets(township, SiteData.load(township)))
    assert first.startswith(f"公开栏打印页 {count} 张（本次写出 {count} 张）")

    made = made_sheets(monkeypatch)
    assert write(township, tmp_path / "again", cache).startswith(f"公开栏打印页 {count} 张（本次写出 0 张）")
    assert made == []
    assert files(tmp_path / "again") == files(tmp_path / "first")

    path = township.root / "data" / "disclosures.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    changed = rows[7]
    changed["content"] += "（已更正）"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    quarter = noticeboard._quarter(changed["published_on"])
    write(township, tmp_path / "changed", cache)
    assert made == [(changed["village_code"], quarter)]

    fresh = tmp_path / "fresh-work"
    write(township, tmp_path / "fresh", fresh)
    assert files(tmp_path / "changed") == files(tmp_path / "fresh")
    sheet = f"noticeboard/{changed['village_code']}/{quarter}/index.html"
    assert "（已更正）" in files(tmp_path / "changed")[sheet].decode("utf-8")


def test_the_kept_keys_are_those_of_the_sheets_of_this_build(township: Project, tmp_path: Path):
    cache = tmp_path / "work"
    write(township, tmp_path / "first", cache)
    kept = noticeboard.KeptKeys(cache / noticeboard.SHEET_KEYS).kept
    assert len(kept) == len(noticeboard.project_sheets(township, SiteData.load(township)))


def test_a_village_index_that_is_the_same_as_last_time_is_left_in_place(township: Project, tmp_path: Path):
    site, cache = tmp_path / "site", tmp_path / "work"
    write(township, site, cache)
    indexes = sorted((site / noticeboard.FOLDER).glob("*/index.html"))
    assert len(indexes) == 3
    before = {p: p.stat().st_ino for p in indexes}
    stale = indexes[0]
    stale.unlink()
    stale.write_text("上次没写完", encoding="utf-8")
    write(township, site, cache)
    assert {p: p.stat().st_ino for p in indexes[1:]} == {p: before[p] for p in indexes[1:]}
    assert stale.read_text(encoding="utf-8").startswith("<!") and "上次没写完" not in stale.read_text(
        encoding="utf-8"
    )
