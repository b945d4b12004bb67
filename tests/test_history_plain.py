"""A large file's plain lines are read by polars (history/plain.py), and every batch it reads is what
csv reads (`typed.stream_columns`): the same names, rows and cells, whatever the file holds."""

from __future__ import annotations

import csv
import io
import random

import pytest

from sunshine import typed
from sunshine.history import plain
from sunshine.package import Project

from .conftest import FIXTURE

HEADER = "case_id,village_code,summary,received_on,备注\n"


@pytest.fixture(scope="module")
def table():
    return Project.load(FIXTURE.parent.parent).tables["petitions"]


def _by_csv(table, data: bytes, size: int) -> tuple[list[str], list[dict[str, str]]]:
    lines = io.StringIO(data.decode("utf-8-sig"), newline="")
    names, batches = typed.stream_columns(table, lines, size)
    return names, [dict(zip(b, row, strict=True)) for b in batches for row in zip(*b.values(), strict=True)]


def _by_plain(
    table, data: bytes, size: int, chunk: int
) -> tuple[list[str], list[dict[str, str]], list[bool]]:
    names, batches = plain.stream_columns(table, io.BytesIO(data), size, chunk)
    rows, by_polars = [], []
    for columns, series in batches:
        assert all(len(cells) <= size for cells in columns.values())
        if series:  # the Series polars read hold the very cells of the batch
            assert list(series) == list(columns)
            assert all(series[name].to_list() == cells for name, cells in columns.items())
        by_polars.append(bool(series))
        rows += [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
    return names, rows, by_polars


def _same(table, data: bytes, size: int = 3, chunk: int = 64) -> list[bool]:
    names, rows = _by_csv(table, data, size)
    got_names, got_rows, by_polars = _by_plain(table, data, size, chunk)
    assert got_names == names
    assert got_rows == rows
    return by_polars


def _file(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    return (header + "".join(row + end for row in rows)).encode()


ROWS = [f"2024-{i:07d},000000101001,村口路灯不亮，夜间出行不便。,2024-05-03,第{i}条" for i in range(40)]


def test_a_plain_file_is_read_by_polars_as_csv_reads_it(table):
    assert set(_same(table, _file(*ROWS))) == {True}


def test_windows_line_ends_a_bom_and_tabs_are_plain(table):
    assert set(_same(table, b"\xef\xbb\xbf" + _file(*ROWS, end="\r\n"))) == {True}
    tabbed = _file(*(row.replace(",", "\t") for row in ROWS), header=HEADER.replace(",", "\t"))
    assert set(_same(table, tabbed)) == {True}


def test_a_bom_that_starts_a_block_stays_in_its_cell(table):
    # A header put in front of a file Excel saved as "CSV UTF-8": the first row starts with a BOM.
    data = b"\xef\xbb\xbf" + _file("\ufeff" + ROWS[0], *ROWS[1:])
    assert _by_plain(table, data, 3, 1 << 20)[1][0]["case_id"] == "\ufeff2024-0000000"
    for chunk in range(8, 400, 13):
        _same(table, data, chunk=chunk)


def test_blank_rows_are_left_out_as_csv_leaves_them_out(table):
    assert set(_same(table, _file(ROWS[0], ",,,,", " ,\u3000,, ,", ROWS[1], ",,,,"))) == {True}
    assert _same(table, _file(",,,,", ",,,,")) == []


@pytest.mark.parametrize(
    "odd",
    [
        '2024-1,"000000101001",带引号,2024-05-03,',  # a quoted cell
        '2024-1,000000101001,村民说"路灯坏了,2024-05-03,',  # a quote inside a cell
        "2024-1,000000101001,少一格,2024-05-03",  # a short row
        "2024-1,000000101001,多一格,2024-05-03,,",  # a long row
        "",  # a blank line
        "2024-1,000000101001,回车\r在中间,2024-05-03,",  # a lone carriage return
        "2024-1,000000101001,空字符\x00,2024-05-03,",  # a NUL
    ],
)
def test_from_a_block_that_is_not_plain_csv_reads_the_rest_of_the_file(table, odd):
    by_polars = _same(table, _file(*ROWS[:20], odd, *ROWS[20:]))
    assert by_polars[0] is True
    assert by_polars[-1] is False
    assert by_polars == sorted(by_polars, reverse=True)  # polars, then csv to the end


def test_a_quoted_cell_over_the_end_of_a_block_stays_one_cell(table):
    quoted = '2024-1,000000101001,"第一行\n第二行,还有逗号",2024-05-03,'
    for chunk in range(8, 200, 7):
        _same(table, _file(*ROWS[:5], quoted, *ROWS[5:10]), size=2, chunk=chunk)


def test_a_header_that_is_not_plain_has_csv_read_the_whole_file(table):
    assert set(_same(table, _file(*ROWS, header='"case_id",village_code,summary\n'))) == {False}
    assert set(_same(table, _file(*ROWS, header="\n" + HEADER))) == {False}


def test_a_last_line_without_its_line_end_is_read(table):
    assert set(_same(table, _file(*ROWS)[:-1])) == {True}


@pytest.fixture
def csv_limit():
    """csv's own limit on a cell (frictionless raises it to 2 GB when it is imported)."""
    before = csv.field_size_limit(128 * 1024)
    yield 128 * 1024
    csv.field_size_limit(before)


def test_a_cell_longer_than_csv_takes_is_refused_as_csv_refuses_it(table, csv_limit):
    data = _file(ROWS[0], f"2024-1,000000101001,{'长' * (csv_limit + 1)},2024-05-03,")
    with pytest.raises(csv.Error):
        _by_csv(table, data, 3)
    with pytest.raises(csv.Error):
        _by_plain(table, data, 3, 1 << 20)


def test_random_files_are_read_as_csv_reads_them(table):
    pieces = [
        "a",
        "中",
        "１",
        " ",
        "\u3000",
        ",",
        ",",
        ",",
        '"',
        "\r",
        "\n",
        "\r\n",
        "\t",
        "\ufeff",
        "\x00",
        "ab",
    ]
    rng = random.Random(20261203)
    read_by = set()
    for _ in range(400):
        rows = []
        for _ in range(rng.randrange(0, 12)):
            if rng.random() < 0.7:
                rows.append(",".join(rng.choice(["", "x", "中文", " y "]) for _ in range(5)))
            else:
                rows.append("".join(rng.choice(pieces) for _ in range(rng.randrange(0, 12))))
        data = _file(*rows, end=rng.choice(["\n", "\r\n"]))
        read_by.update(_same(table, data, size=rng.randrange(1, 5), chunk=rng.randrange(1, 80)))
    assert read_by == {True, False}  # both readers were tried
