"""Line ends: lines that end in a lone CR, and writing a table with LF line ends.

A lone CR ends each line of old Mac Excel's "CSV (Macintosh)" and of some exports. csv reads such a
file as any other, but to git the whole file is one line (a pull request's diff shows the whole
table changed, and the history cannot compare its rows), and the site's reader splits lines at LF
only. The file is valid; `sunshine fix` rewrites its line ends as LF, and until then it is not
published. A CR inside a quoted cell is the cell's text, not a line end.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sunshine import typed

CHUNK = 8 << 20


def has_lone_cr(path: Path) -> bool:
    """Whether the file holds a CR not followed by LF, by a pass over its bytes (a CR or an LF byte
    is never part of a character in UTF-8 or GB18030)."""
    carry = b""
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if carry:
                if not chunk.startswith(b"\n"):
                    return True
                carry = b""
            if b"\r" not in chunk:  # most files: a file `sunshine fix` wrote has no CR at all
                continue
            if chunk.endswith(b"\r"):
                carry, chunk = b"\r", chunk[:-1]
            if chunk.count(b"\r") != chunk.count(b"\r\n"):
                return True
    return bool(carry)


def first_lone_cr_row(lines: Iterable[str], delimiter: str = ",") -> int | None:
    """The spreadsheet row (the header is row 1) of the first record that ends in a lone CR, as csv
    reads the records, given the text's lines as `open(..., newline="")` yields them (each with its
    line end); None when there is none, or when csv cannot read the text to its end."""
    last = [""]

    def remembered() -> Iterator[str]:
        for line in lines:
            last[0] = line
            yield line

    try:
        for row, _ in enumerate(csv.reader(remembered(), delimiter=delimiter), start=1):
            if last[0].endswith("\r"):
                return row
    except csv.Error:  # a quote never closed: reported as such by validation
        return None
    return None


def lone_cr_row(path: Path, encoding: str) -> int | None:
    """`first_lone_cr_row` of a file, reading its text only when a lone CR is in it."""
    if not has_lone_cr(path):
        return None
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        first = f.readline()
        f.seek(0)
        return first_lone_cr_row(f, delimiter=typed.dialect_of(first))


class Writer:
    """csv's writer with LF line ends, minimal quoting, and a cell that holds a CR quoted.

    csv's writer quotes a cell for the characters of its own line terminator only: with "\\n", a
    cell holding a lone CR would be written bare, and every reader would end the record there."""

    def __init__(self, f: TextIO) -> None:
        self._f = f
        self._lf = csv.writer(f, lineterminator="\n")
        self._buf = io.StringIO()
        self._crlf = csv.writer(self._buf, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        cells = list(row)
        if not any(isinstance(c, str) and "\r" in c for c in cells):
            self._lf.writerow(cells)
            return
        self._buf.seek(0)
        self._buf.truncate()
        self._crlf.writerow(cells)
        self._f.write(self._buf.getvalue()[:-2] + "\n")

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
