"""A large UTF-8 file's rows read by polars where csv would read them alike, column by column.

A county's first history reads a million petitions, and csv reading them and polars building each
column again from csv's lists took half the reading process's time. Most files are plain: no quote,
no line end but \\n or \\r\\n, every line with the header's number of cells. polars reads such a block
of lines into the very cells csv reads, several times faster, and its columns are the Series the
hashes and the masking pretests work on. A block that is anything else (a quote, a lone \\r, a short
or long row, a blank line, a NUL, a cell past csv's limit, a BOM opening the block) is read by csv,
and so is the rest of the file after it: a quoted cell may run over the lines a block ends on.

`typed.stream_columns` is the reference: `tests/test_history_plain.py` holds this reader to it.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from typing import IO

import polars as pl

from sunshine import normalize, typed
from sunshine.package import Table

# A batch's columns: the cells of each, and the same as Series where polars read them.
Columns = tuple[dict[str, list[str]], dict[str, pl.Series]]


def stream_columns(
    table: Table, stream: IO[bytes], size: int, chunk: int = typed.CHUNK
) -> tuple[list[str], Iterator[Columns]]:
    """`typed.stream_columns` of a file's bytes, known to be UTF-8 (a BOM allowed): the names kept and
    batches of up to `size` rows, each cell as written."""
    head = stream.readline()
    first = head.decode("utf-8").removeprefix("\ufeff")
    keys, known = typed.header_keys(table, first)
    delimiter = typed.dialect_of(first)
    if len(keys) < 2 or not head.endswith(b"\n") or not _plain(head, len(keys), delimiter.encode()):
        return _by_csv(table, first, b"", stream, size)
    return known, _batches(table, first, keys, known, stream, size, chunk)


def _batches(
    table: Table,
    first: str,
    keys: list[str | None],
    known: list[str],
    stream: IO[bytes],
    size: int,
    chunk: int,
) -> Iterator[Columns]:
    names = list(dict.fromkeys(known))  # a row's cells in the order `typed.stream_columns` gives them
    at = {name: i for i, name in enumerate(keys) if name is not None}  # the last column of a name wins
    delimiter = typed.dialect_of(first)

    def batch(rows: pl.DataFrame) -> Columns:
        series = {name: rows.to_series(at[name]) for name in names}
        return {name: s.to_list() for name, s in series.items()}, series

    waiting: pl.DataFrame | None = None  # rows read, fewer than a batch
    rest = b""
    while True:
        block = stream.read(chunk)
        data = rest + block
        cut = len(data) if not block else data.rfind(b"\n") + 1
        rest, data = data[cut:], data[:cut]
        frame = _frame(data, len(keys), delimiter) if data else None
        if data and frame is None:
            if waiting is not None and waiting.height:
                yield batch(waiting)
            yield from _by_csv(table, first, data + rest + stream.readline(), stream, size)[1]
            return
        if frame is not None:
            waiting = frame if waiting is None else pl.concat([waiting, frame], rechunk=False)
            # Whole batches of `size` rows: the writer's work per batch does not grow with their number.
            while waiting.height >= size:
                yield batch(waiting.slice(0, size))
                waiting = waiting.slice(size)
        if not block:
            if waiting is not None and waiting.height:
                yield batch(waiting)
            return


def _plain(data: bytes, width: int, delimiter: bytes) -> bool:
    """Whether csv reads every line of `data` (whole lines) as one row of `width` cells, as written:
    no quote, no NUL, no line end but \\n and \\r\\n, and `width - 1` delimiters on each line (a line
    with more is refused by polars)."""
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    return (
        b'"' not in data
        and b"\x00" not in data
        and data.count(b"\r") == data.count(b"\r\n")
        and data.count(delimiter) == lines * (width - 1)
    )


def _frame(data: bytes, width: int, delimiter: str) -> pl.DataFrame | None:
    """The rows of a block of whole lines, every cell a string ("" for an empty one), blank rows left
    out as csv's reader leaves them out; None when csv may read the block otherwise."""
    if not _plain(data, width, delimiter.encode()) or data.startswith(codecs.BOM_UTF8):
        return None  # polars would drop a BOM at the start of its bytes, which csv keeps in the cell
    try:
        frame = pl.read_csv(
            data, has_header=False, separator=delimiter, quote_char=None, infer_schema=False, encoding="utf8"
        )
    except pl.exceptions.PolarsError:
        return None
    lines = data.count(b"\n") + (not data.endswith(b"\n"))
    if frame.width != width or frame.height != lines:
        return None
    frame = frame.fill_null("")
    limit = csv.field_size_limit()  # csv refuses a longer cell; it counts characters, each a byte or more
    if any((n or 0) > limit for n in frame.select(pl.all().str.len_bytes().max()).row(0)):
        return None
    first = frame.to_series(0)
    if (first.str.strip_chars(normalize.SPACES) == "").any():  # maybe blank rows, which csv leaves out
        blank = pl.all_horizontal(pl.all().str.strip_chars(normalize.SPACES) == "")
        frame = frame.filter(~blank)
    return frame


def _by_csv(
    table: Table, first: str, data: bytes, stream: IO[bytes], size: int
) -> tuple[list[str], Iterator[Columns]]:
    """The names kept and the batches of the header line `first`, then `data` (whole lines: it decodes
    alone) and the rest of the stream, read by csv."""
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="")  # type: ignore[type-var]
    lines = itertools.chain([first], io.StringIO(data.decode("utf-8"), newline=""), text)
    names, batches = typed.stream_columns(table, lines, size)
    return names, ((columns, {}) for columns in batches)
