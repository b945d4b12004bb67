"""Lines that end in a lone CR: old Mac Excel's "CSV (Macintosh)", and some exports.

csv reads such a file as any other, but to git the whole file is one line (a pull request's diff
shows the whole table changed, and the history cannot compare its rows), and the site's reader
splits lines at LF only. The file is valid; `sunshine fix` rewrites its line ends as LF, and until
then it is not published. A CR inside a quoted cell is the cell's text, not a line end.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

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


def first_lone_cr_row(lines: Iterable[str]) -> int | None:
    """The spreadsheet row (the header is row 1) of the first record that ends in a lone CR, given
    the text's lines as `open(..., newline="")` yields them (each with its line end), or None."""
    row, quoted = 1, False
    for line in lines:
        if line.count('"') % 2:
            quoted = not quoted
        if quoted:
            continue
        if line.endswith("\r"):
            return row
        row += 1
    return None


def lone_cr_row(path: Path, encoding: str) -> int | None:
    """`first_lone_cr_row` of a file, reading its text only when a lone CR is in it."""
    if not has_lone_cr(path):
        return None
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        return first_lone_cr_row(f)
