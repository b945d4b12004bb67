"""Whether a version of a table's file can be read as rows, so that the history may record it.

A quote typed at the start of a cell and never closed makes csv read every line after it into that
one cell: the rows after it vanish, and one row holds them all. csv's strict mode tells such a file
from a table: a quoted cell left open to the end of the file, or one that runs over line ends and is
closed by a quote followed by other text (a quote typed at the start of a cell, and another in a
later line). Such a version never passed validation, and the history records none of it
(`versions.Writer`).

A quote whose trouble stays inside one line is left to the lenient reader, which the history has
always read such rows with (the awkward first commit of tests/test_history_bulk.py): "引号"后面还有字
and 没有引号的"引号 are read as typed, and so are rows with too few or too many cells. They spoil a
row, not the rows after it.

Reading a whole file with csv's strict mode takes as long as reading its rows (3 s for a county's
million petitions), so a file is first looked at as records (`sunshine.records`: a row as written,
with the lines of a quoted cell that spans them). A file without a quote is read well; otherwise only
the records with a quote are read by csv, each alone: when each of them ends as a record ends, no
row of the file runs from one record into the next. Any doubt (a quote csv reads otherwise than
the records split, many quoted rows, a header with a quote, UTF-16 text) is settled by csv reading
the whole file strictly.
"""

from __future__ import annotations

import codecs
import csv
import itertools
from collections.abc import Iterable, Iterator
from itertools import compress, repeat

from sunshine import records, typed

BOM_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class _RunsOn(Exception):
    """A quoted cell runs over line ends to the end of the file, or to a quote followed by text."""


def _row_ends(lines: Iterable[str], delimiter: str) -> Iterator[int]:
    """The line each row ends on, as csv's strict mode reads the lines (text, line ends kept). A quote
    followed by text inside a row of one line is let be: the row is read as typed, its line alone.
    Raises _RunsOn at a quoted cell that makes one row out of several lines and cannot be read so."""
    last = [""]

    def fed() -> Iterator[str]:
        for line in lines:
            last[0] = line
            yield line

    reader = csv.reader(fed(), delimiter=delimiter, strict=True)
    start = 1  # the line the next row starts on
    while True:
        try:
            next(reader)
        except StopIteration:
            return
        except csv.Error:  # strict mode gives up the rest of the line, and reads on from the next
            if reader.line_num != start or not _closed(last[0], delimiter):
                raise _RunsOn from None
        yield reader.line_num
        start = reader.line_num + 1


def _closed(line: str, delimiter: str) -> bool:
    """Whether the lenient reader, reading one line (with its line end), leaves no quoted cell open."""
    try:
        return len(list(csv.reader([line, "\n"], delimiter=delimiter))) == 2  # the row, then the blank line
    except csv.Error:  # a cell past csv's limit (128 K characters)
        return False


def read_alone(texts: Iterable[str], delimiter: str = ",") -> bool:
    """Whether csv's strict mode reads each record alone, as lines, into rows that end where the
    record ends: no row of the file can then run from one record into the next."""
    ends: list[int] = []  # the number of lines up to the end of each record

    def lines() -> Iterator[str]:
        for text in texts:
            parts = text.split("\n")
            ends.append((ends[-1] if ends else 0) + len(parts))
            for part in parts:
                yield part + "\n"

    record = 0  # the record the next row starts in
    start = 1  # the line the next row starts on
    try:
        for end in _row_ends(lines(), delimiter):
            while ends[record] < start:
                record += 1
            if end > ends[record]:
                return False  # read on into the next record
            start = end + 1
    except _RunsOn:
        return False
    return True


def looks_well_formed(opener: records.Opener) -> bool | None:
    """True when the file's records show it read well; None when only csv reading it whole can tell.

    Structure only: quotes, separators and line ends are the same bytes in UTF-8 and GB18030 (no byte
    of a multi-byte character is one of them), so records are read as Latin-1, whatever the text."""
    with opener() as stream:
        first = stream.readline()
        if first.startswith(BOM_UTF16) or b'"' in first:
            return None
        quoted = False
        while block := stream.read(records.CHUNK):
            if b'"' in block:
                quoted = True
                break
    if not quoted:
        return True  # without a quote no cell is quoted, and every line is read as it stands
    delimiter = typed.dialect_of(first.decode("latin-1"))
    with opener() as stream:
        for batch in records.batches(stream):
            doubtful = list(compress(batch, map(bytes.__contains__, batch, repeat(b'"'))))
            if len(doubtful) > len(batch) // 8:
                return None  # quoted cells in many rows: csv reads the file whole sooner than each of them
            if doubtful and not read_alone((r.decode("latin-1") for r in doubtful), delimiter):
                return None
    return True


def reads_strictly(lines: Iterable[str]) -> bool:
    """Whether no quoted cell of the text (decoded, line ends kept) runs over line ends to the end of
    the file or to a quote followed by text, as csv's strict mode reads it."""
    lines = iter(lines)
    first = next(lines, "").removeprefix("\ufeff")
    try:
        for _ in _row_ends(itertools.chain([first], lines), typed.dialect_of(first)):
            pass
    except _RunsOn:
        return False
    return True
