"""Limits on the shape of a CSV, so a pathological file fails in about a second, in little memory,
with the row where it goes wrong.

- MAX_COLUMNS: our widest table has 13 columns; a spreadsheet saved with some empty columns to the
  right has a few dozen. A thousand is no table of ours, and a header of 400,000 columns would
  otherwise become 400,000 columns of the reader (gigabytes) and as many problems.
- MAX_CELL_CHARS: the most an Excel or WPS cell holds, 32,767 characters. A longer cell was not
  typed into a spreadsheet; it is almost always an opening quote without its closing quote, which
  pulls the rest of the file into one cell.
- MAX_ROW_BYTES: one row (one record, over however many lines its quoted cells span) is read as a
  whole, so it is bounded: 1 MiB of UTF-8, the block the batch reader works in.

`first_problem` reads the file one record at a time with Python's csv module and never holds more
than MAX_ROW_BYTES of it; it is used for the header, and for the rest of the file when the batch
reader gives up (a row larger than its block).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from sunshine.problems import Problem

MAX_COLUMNS = 1000
MAX_CELL_CHARS = 32_767
MAX_ROW_BYTES = 1 << 20

QUOTE_HINT = (
    '最常见的原因是某个单元格以英文双引号“"”开头却没有结尾的引号，后面的内容都被读进了同一个单元格：'
    "找到这一行，补上结尾的引号或删除开头的引号。"
)


def too_many_columns(file: str, row: int, count: int, *, at_least: bool = False) -> Problem:
    return Problem(
        code="too-many-columns",
        file=file,
        row=row,
        message=f"这一行{'至少' if at_least else ''}有 {count:,} 列，超过上限 {MAX_COLUMNS:,} 列",
        hint="本数据包的表最多十几列。请检查是否把整张表导出成了一行，或在 Excel/WPS 中删除右侧多余的列后重新保存。",
    )


def cell_too_large(file: str, row: int, column: int | None, chars: int | None) -> Problem:
    which = f"第 {column} 列的单元格" if column else "有一个单元格"
    size = f"有 {chars:,} 个字符" if chars else ""
    return Problem(
        code="cell-too-large",
        file=file,
        row=row,
        message=f"{which}{size}{'，' if size else ''}超过 Excel 单元格的上限 {MAX_CELL_CHARS:,} 个字符",
        hint=QUOTE_HINT,
    )


def row_too_long(file: str, row: int, size: int | None = None) -> Problem:
    limit = f"{MAX_ROW_BYTES // 1024 // 1024} MB"
    return Problem(
        code="row-too-long",
        file=file,
        row=row,
        message=f"这一行有 {size / 1024 / 1024:.1f} MB，超过上限 {limit}"
        if size
        else f"从这一行开始的一条记录超过 {limit} 还没有结束",
        hint=QUOTE_HINT,
    )


def _records(path: Path, encoding: str, read: dict[str, int]) -> Iterator[str]:
    """The file's lines, never more than MAX_ROW_BYTES at once; read["bytes"] counts the current record's."""
    with open(path, encoding=encoding, newline="") as f:
        while line := f.readline(MAX_ROW_BYTES + 1):
            read["bytes"] += len(line) if line.isascii() else len(line.encode("utf-8"))
            if read["bytes"] > MAX_ROW_BYTES:
                read["over"] = 1
                yield line  # the start of the record, so its columns can still be counted
                return
            yield line


def first_problem(
    path: Path, file: str, *, encoding: str = "utf-8-sig", header_only: bool = False
) -> Problem | None:
    """The first record that breaks a limit (rows numbered as a spreadsheet shows them), or None.

    header_only stops after the first record that is not an empty line.
    """
    read = {"bytes": 0, "over": 0}
    reader = csv.reader(_records(path, encoding, read))
    row = 0
    try:
        for row, cells in enumerate(reader, start=1):  # noqa: B007  (row is used after the loop)
            over = bool(read["over"])
            if len(cells) > MAX_COLUMNS:
                return too_many_columns(file, row, len(cells), at_least=over)
            for column, cell in enumerate(cells, start=1):
                if len(cell) > MAX_CELL_CHARS:
                    return cell_too_large(file, row, column, None if over else len(cell))
            if over:
                return row_too_long(file, row)
            read["bytes"] = 0
            if header_only and cells:
                return None
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            return cell_too_large(file, row + 1, None, None)  # csv does not say which cell
        return None
    if read["over"]:
        return row_too_long(file, row + 1)
    return None


def large_cells(
    body: pl.DataFrame, names: list[str], row_column: str, file: str, *, limit: int
) -> list[tuple[int, int, Problem]]:
    """(row, position, problem) for the cells of a batch longer than a spreadsheet cell can be, and
    its rows longer than MAX_ROW_BYTES. Bytes first: cheap, and never fewer than characters."""
    if not names:
        return []
    sizes = body.select(row_column, *(pl.col(n).str.len_bytes() for n in names))
    longest = sizes.select(names).max().row(0)
    out: list[tuple[int, int, Problem]] = []
    if sum(v or 0 for v in longest) > MAX_ROW_BYTES:
        total = pl.sum_horizontal(names)
        long_rows = sizes.filter(total > MAX_ROW_BYTES).select(row_column, total.alias("bytes"))
        for row, size in long_rows.head(limit).iter_rows():
            out.append((row, -1, row_too_long(file, row, size)))
    for pos, (name, most) in enumerate(zip(names, longest, strict=True)):
        if most is None or most <= MAX_CELL_CHARS:
            continue
        chars = pl.col(name).str.len_chars()
        large = body.filter(chars > MAX_CELL_CHARS).select(row_column, chars)
        for row, count in large.head(limit).iter_rows():
            out.append((row, pos, cell_too_large(file, row, pos + 1, count)))
    return out
