"""Reading a table a block at a time (typed.text_frames) gives the rows and cells of reading it whole,
and so the site's figures, newest petitions and downloads do not depend on where the blocks end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import polars as pl
import pytest

from sunshine import typed
from sunshine.package import Project
from sunshine.sample.generate import Sizes, generate
from sunshine.site.pages import data, downloads
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


# -- the petitions the last build kept ---------------------------------------------------------


@pytest.fixture
def township(tmp_path: Path, monkeypatch) -> Project:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    generate(tmp_path / "data", Sizes(villages=3, disclosures=100, petitions=2000), seed=11)
    return Project.load(copy_package(ROOT, tmp_path / "pkg", data_from=tmp_path / "data"))


def petitions_file(project: Project) -> Path:
    return project.root / project.tables["petitions"].path


def edit_rows(project: Project) -> None:
    """Edit three petitions (one resolved later than any other), delete two, add two, swap two."""
    head, *rows = petitions_file(project).read_text(encoding="utf-8").splitlines(keepends=True)
    rows[5] = rows[5].replace("满意", "不满意", 1)
    cells = rows[700].split(",")
    cells[8] = "2099-12-31"  # resolved_on: now the newest petition
    rows[700] = ",".join(cells)
    rows[1500] = rows[1500].replace(",", ", ", 1)
    rows[10], rows[11] = rows[11], rows[10]
    added = [r.replace(r[:12], f"2030-{i:07d}", 1) for i, r in enumerate((rows[3], rows[4]))]
    del rows[900], rows[100]
    rows[1200:1200] = added[:1]
    rows.append(added[1])
    petitions_file(project).write_text(head + "".join(rows), encoding="utf-8")


def must_not_read_whole(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the whole petitions file was read")

    monkeypatch.setattr(typed, "text_frames", refuse)


def test_the_kept_petitions_brought_up_to_date_equal_a_whole_read(township: Project, tmp_path, monkeypatch):
    kept = tmp_path / "petitions"
    first = SiteData.load(township, kept)
    assert first.petitions.equals(SiteData.load(township).petitions)
    assert len(list(kept.iterdir())) == 1
    edit_rows(township)
    whole = SiteData.load(township)
    must_not_read_whole(monkeypatch)
    patched = SiteData.load(township, kept)
    assert patched.petitions.equals(whole.petitions)
    assert patched.recent_petitions.equals(whole.recent_petitions)
    assert patched.petitions.height == 2000
    assert patched.recent_petitions["resolved_on"][0] == "2099-12-31"
    assert SiteData.load(township, kept).petitions.equals(whole.petitions)  # kept again, as patched


def test_petitions_edited_deleted_and_added_are_spliced_into_the_kept_rows(
    township: Project, tmp_path, monkeypatch
):
    kept = tmp_path / "petitions"
    SiteData.load(township, kept)
    edit_rows(township)
    whole = SiteData.load(township)
    must_not_read_whole(monkeypatch)
    monkeypatch.setattr(pl.DataFrame, "join", lambda *a, **k: pytest.fail("the kept rows were joined"))
    patched = SiteData.load(township, kept)
    assert patched.petitions.equals(whole.petitions)
    assert patched.recent_petitions.equals(whole.recent_petitions)
    assert patched.petitions.n_chunks() > 1  # the kept rows in slices, not copied


def hashes(*values: int) -> pl.Series:
    return pl.Series(values, dtype=pl.UInt64)


def test_kept_positions_follow_rows_edited_deleted_and_added():
    kept = hashes(1, 2, 3, 4, 5, 6)
    assert data.kept_positions(kept, hashes(1, 9, 3, 5, 6, 7)).to_list() == [0, None, 2, 4, 5, None]
    assert data.kept_positions(kept, hashes(0, 1, 2, 3, 4, 5, 6)).to_list() == [None, 0, 1, 2, 3, 4, 5]
    assert data.kept_positions(kept, hashes(6, 5, 4, 3, 2, 1)).to_list() == [5, 4, 3, 2, 1, 0]
    assert data.kept_positions(hashes(), hashes(1, 2)).to_list() == [None, None]


def test_many_rows_edited_above_a_row_added_still_follow_the_kept_rows():
    kept = list(range(3000))
    now = [10**6 + i if i < 140 and i % 2 == 0 else i for i in kept]
    now.insert(200, 10**7)
    at = data.kept_positions(hashes(*kept), hashes(*now))
    assert at is not None
    assert at.null_count() == 71  # the 70 rows edited and the one added
    assert at.drop_nulls().to_list() == [i for i in kept if not (i < 140 and i % 2 == 0)]


def test_records_moved_every_which_way_are_left_to_a_join(monkeypatch):
    monkeypatch.setattr(data, "SHIFTS_AT_MOST", 2)
    monkeypatch.setattr(data, "SPLICED_AT_MOST", 2)
    assert data.kept_positions(hashes(1, 2, 3, 4, 5, 6), hashes(6, 5, 4, 3, 2, 1)) is None


def test_rows_are_assembled_from_slices_of_the_kept_and_the_fresh():
    old = pl.DataFrame({"v": ["a", "b", "c", "d"]})
    fresh = pl.DataFrame({"v": ["X", "Y"]})
    at = pl.Series([0, None, 2, 3, None], dtype=pl.Int64)
    assert data._assembled(old, fresh, at)["v"].to_list() == ["a", "X", "c", "d", "Y"]
    assert data._assembled(old, fresh, pl.Series([3, 2], dtype=pl.Int64))["v"].to_list() == ["d", "c"]
    assert data._assembled(old.clear(), fresh, pl.Series([None, None], dtype=pl.Int64))["v"].to_list() == [
        "X",
        "Y",
    ]


@pytest.mark.parametrize("damage", ["truncated", "another schema", "too many changes"])
def test_kept_petitions_that_cannot_be_used_are_read_again_whole(
    township: Project, tmp_path: Path, monkeypatch, damage: str
):
    kept = tmp_path / "petitions"
    SiteData.load(township, kept)
    edit_rows(township)
    if damage == "truncated":
        (file,) = kept.iterdir()
        file.write_bytes(file.read_bytes()[:1000])
    elif damage == "another schema":
        township.tables["petitions"].schema["fields"][6]["description"] = "诉求内容的摘要，已改写。"
    else:
        monkeypatch.setattr(data, "PATCHED_AT_MOST", 1)
    whole = SiteData.load(township)
    read: list[Path] = []
    frames = typed.text_frames
    monkeypatch.setattr(
        typed, "text_frames", lambda path, *a, **k: read.append(path) or frames(path, *a, **k)
    )
    again = SiteData.load(township, kept)
    assert read == [petitions_file(township)]
    assert again.petitions.equals(whole.petitions)
    assert again.recent_petitions.equals(whole.recent_petitions)
    assert len(list(kept.iterdir())) == 1  # and kept for the next build


def test_a_file_polars_refuses_is_read_whole_and_nothing_is_kept(township: Project, tmp_path: Path):
    kept = tmp_path / "petitions"
    path = petitions_file(township)
    head, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows[50] = rows[50].replace("，", '，村民说"', 1)
    path.write_text(head + "".join(rows), encoding="utf-8")
    assert SiteData.load(township, kept).petitions.equals(SiteData.load(township).petitions)
    assert not kept.exists()


# -- downloads, chunk by chunk -------------------------------------------------------------------


def downloads_at_once(table, source: Path, folder: Path) -> dict[str, bytes]:
    """The three files as the block reader writes them, from the whole table."""
    folder.mkdir()
    paths = {kind: folder / kind for kind in downloads.KINDS}
    with paths["csv"].open("wb") as c, paths["excel"].open("wb") as e, paths["json"].open("wb") as j:
        downloads._write(table, source, c, e, j)
    return {kind: path.read_bytes() for kind, path in paths.items()}


def test_downloads_written_chunk_by_chunk_are_the_bytes_of_the_whole_table(township: Project, tmp_path):
    table = township.tables["petitions"]
    made = write_table_downloads(table, petitions_file(township), tmp_path / "dl")
    expected = downloads_at_once(table, petitions_file(township), tmp_path / "whole")
    assert {kind: made[kind].read_bytes() for kind in downloads.KINDS} == expected
    assert len(json.loads(made["json"].read_text(encoding="utf-8"))) == 2000


def test_downloads_after_an_edit_are_made_again_only_where_rows_changed(
    township: Project, tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(downloads, "CHUNK_RECORDS", 16)  # about 125 chunks of 16 rows
    table = township.tables["petitions"]
    first = write_table_downloads(table, petitions_file(township), tmp_path / "dl")
    edit_rows(township)
    masked: list[int] = []
    block_bytes = downloads._block_bytes
    monkeypatch.setattr(
        downloads, "_block_bytes", lambda t, rows: masked.append(rows.height) or block_bytes(t, rows)
    )
    again = write_table_downloads(table, petitions_file(township), tmp_path / "dl")
    # Each of the 9 changed places changes its own chunk, and the next when it ended a chunk.
    assert 0 < len(masked) <= 18
    assert sum(masked) < 1000  # of 2,000 rows
    expected = downloads_at_once(table, petitions_file(township), tmp_path / "whole")
    assert {kind: again[kind].read_bytes() for kind in downloads.KINDS} == expected
    assert not any(path.exists() for path in first.values())
    assert len(list((tmp_path / "dl").iterdir())) == 4  # the three files and where their chunks are


def test_downloads_of_a_file_polars_refuses_are_written_whole(township: Project, tmp_path: Path):
    path = petitions_file(township)
    head, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows[50] = rows[50].replace("，", '，村民说"', 1)
    path.write_text(head + "".join(rows), encoding="utf-8")
    table = township.tables["petitions"]
    made = write_table_downloads(table, path, tmp_path / "dl")
    assert {kind: made[kind].read_bytes() for kind in downloads.KINDS} == downloads_at_once(
        table, path, tmp_path / "whole"
    )
    assert sorted(p.suffix for p in (tmp_path / "dl").iterdir()) == [".csv", ".csv", ".json"]


def test_petitions_written_into_a_file_that_had_only_its_header_are_added_to_the_kept_rows(
    township: Project, tmp_path: Path
):
    kept = tmp_path / "petitions"
    path = petitions_file(township)
    whole_file = path.read_text(encoding="utf-8")
    path.write_text(whole_file.splitlines(keepends=True)[0], encoding="utf-8")
    assert SiteData.load(township, kept).petitions.height == 0  # kept: no rows
    path.write_text(whole_file, encoding="utf-8")
    patched = SiteData.load(township, kept)
    whole = SiteData.load(township)
    assert patched.petitions.equals(whole.petitions)
    assert patched.recent_petitions.equals(whole.recent_petitions)
    assert patched.petitions.height == 2000


def test_a_blank_line_added_in_an_edit_is_read_as_a_whole_read_reads_it(township: Project, tmp_path: Path):
    kept = tmp_path / "petitions"
    SiteData.load(township, kept)
    path = petitions_file(township)
    head, *rows = path.read_text(encoding="utf-8").splitlines(keepends=True)
    rows.insert(60, "\n")
    path.write_text(head + "".join(rows), encoding="utf-8")
    assert SiteData.load(township, kept).petitions.equals(SiteData.load(township).petitions)


@pytest.mark.parametrize("damage", ["offsets past the end", "lengths past the end", "old file cut short"])
def test_downloads_whose_kept_chunks_are_not_in_the_old_files_are_the_bytes_of_the_whole_table(
    township: Project, tmp_path: Path, monkeypatch, damage: str
):
    monkeypatch.setattr(downloads, "CHUNK_RECORDS", 16)
    table = township.tables["petitions"]
    first = write_table_downloads(table, petitions_file(township), tmp_path / "dl")
    (chunks,) = (tmp_path / "dl").glob("*.chunks")
    if damage == "old file cut short":
        first["csv"].write_bytes(first["csv"].read_bytes()[: first["csv"].stat().st_size // 2])
    else:
        part = "at" if damage == "offsets past the end" else "length"
        where = pl.read_ipc(chunks)
        where.with_columns(pl.col(f"{kind}_{part}") + 10_000_000 for kind in downloads.KINDS).write_ipc(
            chunks
        )
    edit_rows(township)
    again = write_table_downloads(table, petitions_file(township), tmp_path / "dl")
    expected = downloads_at_once(table, petitions_file(township), tmp_path / "whole")
    assert {kind: again[kind].read_bytes() for kind in downloads.KINDS} == expected


def test_what_a_killed_download_writer_was_writing_goes_with_the_next_version(
    township: Project, tmp_path: Path
):
    table = township.tables["petitions"]
    folder = tmp_path / "dl"
    write_table_downloads(table, petitions_file(township), folder)
    gone = subprocess.Popen(["true"])
    gone.wait()
    killed = [
        folder / f"petitions-0123456789abcdef{end}.{gone.pid}.tmp" for end in (".csv", "-excel.csv", ".json")
    ]
    for path in killed:
        path.write_bytes(b"case_id,village_code\n2024-0000001,")
    edit_rows(township)
    made = write_table_downloads(table, petitions_file(township), folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [*(p.name for p in made.values()), made["csv"].name.removesuffix(".csv") + ".chunks"]
    )
