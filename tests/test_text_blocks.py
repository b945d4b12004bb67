"""Reading a table a block at a time (typed.text_frames) gives the rows and cells of reading it whole,
and so the site's figures, newest petitions and downloads do not depend on where the blocks end."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from sunshine import typed
from sunshine.package import Project
from sunshine.sample.generate import Sizes, generate
from sunshine.site.pages.data import SiteData
from sunshine.site.pages.downloads import write_table_downloads

from .conftest import ROOT, copy_package

COLUMNS = ["id", "said", "n"]
TRICKY = (
    "\ufeffid,said,n\r\n"
    '1,"a cell that spans\r\ntwo lines, with a comma",3\r\n'
    "2,,\r\n"
    "\r\n"
    '3,"quotes ""inside"" a quoted cell",5\r\n'
    "4,plain,6\n"
    '5,"three\nlines\nhere",7\n'
    "6,last without a line end,8"
)


@pytest.mark.parametrize("chunk", [1, 7, 16, 40, 1 << 20])
def test_blocks_of_any_size_read_as_the_whole_file(tmp_path: Path, chunk: int):
    path = tmp_path / "t.csv"
    path.write_bytes(TRICKY.encode("utf-8"))
    blocks = list(typed.text_frames(path, COLUMNS, chunk))
    assert pl.concat(blocks).equals(typed.text_frame(path, COLUMNS))
    assert pl.concat(blocks)["id"].drop_nulls().to_list() == ["1", "2", "3", "4", "5", "6"]
    assert pl.concat(blocks)["said"][0] == "a cell that spans\r\ntwo lines, with a comma"


def test_a_stray_quote_is_read_by_the_csv_module_from_its_block_on(tmp_path: Path):
    path = tmp_path / "t.csv"
    rows = (
        [f"{i},fine,{i}" for i in range(40)]
        + ['40,村民说"路灯坏了,1']
        + [f"{i},fine,{i}" for i in range(41, 60)]
    )
    path.write_text("id,said,n\n" + "\n".join(rows) + "\n", encoding="utf-8")
    whole = typed.text_frame(path, COLUMNS)
    assert pl.concat(typed.text_frames(path, COLUMNS, 64)).equals(whole)
    assert whole["said"][40] == '村民说"路灯坏了'


def test_a_header_alone_is_one_empty_block(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("id,said,n\n", encoding="utf-8")
    assert [b.shape for b in typed.text_frames(path, COLUMNS)] == [(0, 3)]


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Project:
    base = tmp_path_factory.mktemp("blocks")
    generate(base / "data", Sizes(villages=4, disclosures=200, petitions=3000), seed=5)
    return Project.load(copy_package(ROOT, base / "pkg", data_from=base / "data"))


def test_the_site_data_is_the_same_whatever_the_blocks(county: Project, monkeypatch):
    whole = SiteData.load(county)
    monkeypatch.setattr(typed, "CHUNK", 4096)  # dozens of blocks
    blocks = SiteData.load(county)
    assert blocks.petitions.equals(whole.petitions)
    assert blocks.recent_petitions.equals(whole.recent_petitions)
    assert blocks.petitions.height == 3000
    assert blocks.recent_petitions["resolved_on"].to_list() == sorted(
        whole.recent_petitions["resolved_on"].to_list(), reverse=True
    )


def test_downloads_are_the_same_bytes_whatever_the_blocks(county: Project, tmp_path: Path, monkeypatch):
    table = county.tables["petitions"]
    source = county.root / table.path
    whole = write_table_downloads(table, source, tmp_path / "whole")
    monkeypatch.setattr(typed, "CHUNK", 4096)
    blocks = write_table_downloads(table, source, tmp_path / "blocks")
    for kind in ("csv", "excel", "json"):
        assert blocks[kind].read_bytes() == whole[kind].read_bytes(), kind
    assert len(json.loads(blocks["json"].read_text(encoding="utf-8"))) == 3000
    assert blocks["excel"].read_bytes().startswith(b"\xef\xbb\xbf")
