"""One typed reader of a table: every cell read for what it means, by its Table Schema field type.

Excel and WPS rewrite a file on every save: dates become `2024/1/9`, `4476.00` becomes `4476`, a
thousands separator appears, the file is saved as GBK with CRLF line ends. None of that changes what
the table says. `sunshine diff`, the public history and validation compare and show the *canonical
text* of each cell (dates YYYY-MM-DD, amounts with the schema's decimal places, integers without
separators), so a re-save is never a change. A cell that has no single meaning keeps its text.

Columns are matched by name (Table Schema `fieldsMatch: "equal"`), and a field's Chinese title is
accepted for its name: a re-ordered header, or one typed from the data dictionary, reads the same.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from sunshine import normalize
from sunshine.package import Table

ENCODINGS = ("utf-8-sig", "gb18030")
# How Excel and WPS write a date on saving: 2024/1/9, 2024-1-9, 2024年1月9日.
RESAVED_DATE = re.compile(r"^[0-9]{4}(/[0-9]{1,2}/|-[0-9]{1,2}-|年[0-9]{1,2}月)[0-9]{1,2}日?$")
_LINE_END = re.compile(r"\r\n?|\n")
CHUNK = 1 << 23  # text_frames reads eight megabytes at a time
TRUE = ("true", "True", "TRUE", "1", "是")
FALSE = ("false", "False", "FALSE", "0", "否")


class Unreadable(Exception):
    """The bytes are in no encoding a spreadsheet program writes; the message is Chinese."""


# ---------------------------------------------------------------- cells


def value(spec: dict[str, Any], text: str | None) -> Any:
    """The typed value a cell means: date, Decimal, int, bool or str; None when empty or unreadable."""
    if text is None:
        return None
    plain = normalize.strip_spaces(text)
    if plain == "":
        return None
    kind = spec.get("type", "string")
    if kind == "date":
        d, _ = normalize.parse_date(plain)
        return d
    if kind == "number":
        amount = plain if normalize.PLAIN_NUMBER.match(plain) else normalize.parse_amount(plain)
        if amount is None:
            return None
        try:
            return Decimal(amount)
        except InvalidOperation:
            return None
    if kind == "integer":
        whole = plain if normalize.PLAIN_INTEGER.match(plain) else normalize.parse_integer(plain)
        return int(whole) if whole is not None else None
    if kind == "boolean":
        trues = spec.get("trueValues", TRUE)
        falses = spec.get("falseValues", FALSE)
        return True if plain in trues else False if plain in falses else None
    return text


def canonical(spec: dict[str, Any], text: str | None) -> str:
    """The text a cell is stored and compared as; the cell's own text when it has no single meaning."""
    if text is None:
        return ""
    kind = spec.get("type", "string")
    if kind == "string":  # a line break inside a cell is one, however an editor writes it
        return text.replace("\r\n", "\n") if "\r" in text else text
    typed = value(spec, text)
    if typed is None:
        return "" if normalize.strip_spaces(text) == "" else text
    if isinstance(typed, date):
        return typed.isoformat()
    if isinstance(typed, Decimal):
        places = spec.get("x-decimals")
        if places is not None and -_exponent(typed) <= places:
            return f"{typed.quantize(Decimal(1).scaleb(-places)):f}"
        return f"{typed:f}"
    if isinstance(typed, bool):
        trues = spec.get("trueValues", TRUE)
        falses = spec.get("falseValues", FALSE)
        return text if text in (trues if typed else falses) else (trues[0] if typed else falses[0])
    return str(typed)


def _exponent(d: Decimal) -> int:
    exponent = d.as_tuple().exponent
    return exponent if isinstance(exponent, int) and exponent < 0 else 0


def is_resave(spec: dict[str, Any], text: str) -> bool:
    """True when the cell is another spelling Excel or WPS writes on saving of one canonical value.

    `2024/1/9`, `2024-1-9`, `2024年1月9日` in a date column; `1,511.56` in a number column; `1,200`
    in an integer column. Full-width digits, currency signs and Excel serials are not what a
    re-save writes and stay for a person to see.
    """
    if text != normalize.strip_spaces(text) or normalize.has_fullwidth(text) or text == "":
        return False
    kind = spec.get("type")
    if kind == "date":
        if not RESAVED_DATE.match(text):
            return False
        d, reason = normalize.parse_date(text, serials=False)
        return d is not None and not reason and d.isoformat() != text
    if kind == "number":
        return (
            "," in text and normalize.parse_amount(text) is not None and not any(c in text for c in "¥￥元")
        )
    if kind == "integer":
        return "," in text and normalize.parse_integer(text) is not None
    return False


# ---------------------------------------------------------------- files


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode 文本"), GB18030."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    line = 1 + data.count(b"\n")
    raise Unreadable(f"文件中有无法识别的字符（共 {line} 行），不是 UTF-8，也不是 GBK。")


def dialect_of(text: str) -> str:
    """ "\\t" for a tab-separated file (Excel's "Unicode 文本"), else ","."""
    first = _LINE_END.split(text, 1)[0]  # a lone CR ends a line too (old Mac Excel)
    return "\t" if first.count("\t") > first.count(",") else ","


def header_map(table: Table, labels: list[str]) -> list[str | None]:
    """For each column of the header, the field it holds (by name, else by Chinese title), or None."""
    names = set(table.field_names)
    titles = {f.get("title"): f["name"] for f in table.fields if f.get("title")}
    out: list[str | None] = []
    for label in labels:
        clean = normalize.halfwidth(normalize.strip_spaces(label)) if label else label
        name = (
            label
            if label in names
            else clean
            if clean in names
            else titles.get(normalize.strip_spaces(label))
        )
        out.append(name if name not in out else None)
    return out


@dataclass
class Row:
    number: int  # spreadsheet row, header = 1
    cells: dict[str, str]  # field name → the cell as written


@dataclass
class TypedTable:
    table: Table
    encoding: str
    labels: list[str]
    columns: list[str | None]  # field name of each column (None: a column the schema does not know)
    rows: list[Row] = field(default_factory=list)

    def canonical_rows(self) -> list[dict[str, str]]:
        """Every row with a value, each cell as its canonical text, keyed by field name."""
        specs = {f["name"]: f for f in self.table.fields}
        return [
            {
                name: canonical(specs[name], text) if name in specs else text
                for name, text in row.cells.items()
            }
            for row in self.rows
        ]


def read(table: Table, data: bytes) -> TypedTable:
    """Read a CSV (or Excel's tab-separated Unicode text) as the schema defines it."""
    text, encoding = decode(data)
    text = text.removeprefix("\ufeff")
    records = csv.reader(io.StringIO(text, newline=""), delimiter=dialect_of(text))
    labels, number = _header(records)
    columns = header_map(table, labels)
    out = TypedTable(table, encoding, labels, columns)
    keys = _keys(table, columns, labels)
    known = [k for k in keys if k is not None]
    for record in records:
        number += 1
        cells = _cells(keys, known, record)
        if cells is not None:
            out.rows.append(Row(number, cells))
    return out


def stream(table: Table, lines: Iterable[str]) -> tuple[list[str], Iterator[dict[str, str]]]:
    """The column names of a version of a table, and its rows as `canonical_rows` gives them, read
    as the lines arrive (decoded text, line ends kept): a million-row version is never held whole."""
    records, keys, known = _records(table, lines)
    specs = {f["name"]: f for f in table.fields}

    def rows() -> Iterator[dict[str, str]]:
        for record in records:
            cells = _cells(keys, known, record)
            if cells is not None:
                yield {name: canonical(specs[name], t) if name in specs else t for name, t in cells.items()}

    return known, rows()


def stream_columns(
    table: Table, lines: Iterable[str], size: int
) -> tuple[list[str], Iterator[dict[str, list[str]]]]:
    """`stream` a batch of up to `size` rows at a time, each batch column by column, for a reader that
    works on whole columns (a county's first history): the same rows, each cell as written
    (`canonical_column` makes it what `stream` gives)."""
    records, keys, known = _records(table, lines)
    names = list(dict.fromkeys(known))  # a row's cells in the order `_cells` gives them
    at = {name: i for i, name in enumerate(keys) if name is not None}  # the last column of a name wins

    def batches() -> Iterator[dict[str, list[str]]]:
        while batch := list(itertools.islice(records, size)):
            columns = _columns(keys, known, names, at, batch)
            if columns is not None:
                yield columns

    return known, batches()


def header_keys(table: Table, first: str) -> tuple[list[str | None], list[str]]:
    """Where each column of a header line (without its BOM) keeps its cells (`_keys`), and the names
    kept; ([], []) for a blank line."""
    _, keys, known = _records(table, [first])
    return keys, known


def _columns(
    keys: list[str | None], known: list[str], names: list[str], at: dict[str, int], batch: list[list[str]]
) -> dict[str, list[str]] | None:
    """The cells of a batch of records by column name, blank lines left out (None: all blank)."""
    width = len(keys)
    if any(len(record) != width for record in batch):  # short or long records: one at a time
        rows = [cells for record in batch if (cells := _cells(keys, known, record)) is not None]
        return {name: [row[name] for row in rows] for name in names} if rows else None
    if width == 0:
        return None
    columns = list(zip(*batch, strict=True))
    first = columns[0]
    maybe_blank = [i for i, cell in enumerate(first) if not cell.strip(normalize.SPACES)]
    if maybe_blank:
        blank = {i for i in maybe_blank if _cells(keys, known, batch[i]) is None}
        if len(blank) == len(batch):
            return None
        if blank:
            kept = [i for i in range(len(batch)) if i not in blank]
            return {name: [columns[at[name]][i] for i in kept] for name in names}
    return {name: list(columns[at[name]]) for name in names}


# Cells whose text is already what `canonical` makes of them, by field type (fullmatch).
_CANONICAL = {
    "date": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"),
    "integer": re.compile(r"0|-?[1-9][0-9]{0,17}"),
}


def canonical_column(
    spec: dict[str, Any] | None, cells: list[str], series: pl.Series | None = None
) -> list[str]:
    """`canonical` of every cell of one column (None: a column the schema does not know, kept as
    written). One pattern over the column (`series`: the cells as a polars Series, when at hand)
    finds the cells already in canonical form; only the others are read one by one."""
    if spec is None:
        return cells
    kind = spec.get("type", "string")
    if kind == "boolean":
        same = {*spec.get("trueValues", TRUE), *spec.get("falseValues", FALSE), ""}
        return [c if c in same else canonical(spec, c) for c in cells]
    pattern = _canonical_pattern(spec)
    if pattern is None:
        return [canonical(spec, c) for c in cells]
    if series is None:
        series = pl.Series(cells, dtype=pl.String)
    if kind == "string":
        other = series.str.contains(pattern, literal=True)
    else:
        other = ~series.str.contains(pattern) & (series != "")
    found = other.arg_true().to_list()
    if not found:
        return cells
    out = list(cells)
    for i in found:
        out[i] = canonical(spec, cells[i])
    return out


def _canonical_pattern(spec: dict[str, Any]) -> str | None:
    """A pattern (Rust's regex) of the cells `canonical` keeps as they are, by field type; for text,
    the one character it changes."""
    kind = spec.get("type", "string")
    if kind == "string":
        return "\r"
    if kind == "date":
        return "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    if kind == "integer":
        return "^(0|-?[1-9][0-9]{0,17})$"
    if kind == "number":
        places = spec.get("x-decimals")
        if places is None:
            tail = "(\\.[0-9]{1,10})?"
        elif isinstance(places, int) and not isinstance(places, bool) and 0 <= places <= 10:
            tail = f"\\.[0-9]{{{places}}}" if places else ""
        else:
            return None
        return f"^-?(0|[1-9][0-9]{{0,14}}){tail}$"
    return None


def _records(table: Table, lines: Iterable[str]) -> tuple[Iterator[list[str]], list[str | None], list[str]]:
    """The records after the header of a version's lines, where each column's cells are kept
    (`_keys`), and the names kept."""
    lines = iter(lines)
    first = next(lines, "").removeprefix("\ufeff")
    records = csv.reader(itertools.chain([first], lines), delimiter=dialect_of(first))
    labels, _ = _header(records)
    keys = _keys(table, header_map(table, labels), labels)
    return records, keys, [k for k in keys if k is not None]


def _header(records: Iterator[list[str]]) -> tuple[list[str], int]:
    """The first record that is not empty, and its line number."""
    number = 0
    for record in records:
        number += 1
        if record:
            return record, number
    return [], number


def _keys(table: Table, columns: list[str | None], labels: list[str]) -> list[str | None]:
    """Where each column's cells are kept: its field, or a column the schema does not know under its
    own label, as it was written (None: dropped, a second column for one field or an empty label)."""
    return [
        name or (label if label and label not in table.field_names else None)
        for name, label in zip(columns, labels, strict=True)
    ]


def _cells(keys: list[str | None], known: list[str], record: list[str]) -> dict[str, str] | None:
    """One record's cells by column name; None for a blank line."""
    if not any(normalize.strip_spaces(c) for c in record):
        return None
    cells = {name: "" for name in known}
    for name, cell in zip(keys, record, strict=False):
        if name is not None:
            cells[name] = cell
    return cells


def canonical_rows(table: Table, data: bytes) -> list[dict[str, str]]:
    """The rows of one version of a table, each cell as its canonical text."""
    return read(table, data).canonical_rows()


def text_rows(path: Path, columns: list[str], rows: list[int]) -> pl.DataFrame:
    """text_frame of the records at the given positions (0 is the first after the header), in that
    order: the whole file is parsed, but only those rows are kept."""
    try:
        found = (
            pl.scan_csv(path, infer_schema=False, encoding="utf8-lossy")
            .select(columns)
            .with_row_index("_row")
            .filter(pl.col("_row").is_in(rows))
            .collect()
        )
    except pl.exceptions.ComputeError:
        return text_frame(path, columns)[rows]
    order = pl.DataFrame({"_row": rows}, schema={"_row": found.schema["_row"]})
    return order.join(found, on="_row", how="left").drop("_row")


def text_frame(path: Path, columns: list[str]) -> pl.DataFrame:
    """The named columns of a validated CSV as text, empty cells null, by polars (a million rows a
    second). Polars refuses what validation, the database and the history read as typed: an odd number
    of quotes inside a cell that is not itself quoted (村民说"路灯坏了); such a file is read by the csv module."""
    try:
        return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy", columns=columns)
    except pl.exceptions.ComputeError:
        pass
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
        return _csv_frame(f, columns)


def _csv_frame(f: Iterable[str], columns: list[str]) -> pl.DataFrame:
    """The named columns as text by the csv module (empty cells null)."""
    rows = csv.reader(f)
    header = [h.strip() for h in next(rows, [])]
    at = [header.index(c) for c in columns]
    cells: list[list[str | None]] = [[] for _ in columns]
    for record in rows:
        if record:
            for column, i in zip(cells, at, strict=True):
                column.append(record[i] if i < len(record) and record[i] != "" else None)
    return pl.DataFrame(dict(zip(columns, cells, strict=True)), schema=dict.fromkeys(columns, pl.String))


def text_frames(
    path: Path, columns: list[str], chunk: int | None = None, *, refused: Callable[[], None] | None = None
) -> Iterator[pl.DataFrame]:
    """text_frame a block of records at a time: the same rows and cells in the same order, for a
    reader that keeps only a summary of them, without polars mapping the whole file into memory.

    A block ends at a line end outside quotes (an even number of quotes before it), so a quoted cell
    that spans lines stays with its record, as sunshine.records reads records. From a block polars
    refuses on (a stray quote, see text_frame) to the end, the csv module reads the file, and
    `refused` is called."""
    with path.open("rb") as stream:
        head = stream.readline()
        if not head.endswith(b"\n"):
            head += b"\n"
        rest, done = b"", False
        while not done:
            block = stream.read(chunk or CHUNK)
            done = not block
            data = rest + block
            cut = len(data) if done else _block_end(data)
            rest = data[cut:]
            if not cut and not done:
                continue
            frame = text_block(head, data[:cut], columns)
            if frame is None:
                if refused is not None:
                    refused()
                remaining = io.BytesIO(head + data + stream.read())
                text = io.TextIOWrapper(remaining, encoding="utf-8-sig", errors="replace", newline="")
                yield _csv_frame(text, columns)
                return
            yield frame


def text_block(head: bytes, data: bytes, columns: list[str]) -> pl.DataFrame | None:
    """The named columns of whole records (`data`, below the header line `head`) as text_frames
    reads a block of them; None where polars refuses them."""
    try:
        return pl.read_csv(head + data, infer_schema=False, encoding="utf8-lossy", columns=columns)
    except pl.exceptions.ComputeError:
        return None


def _block_end(data: bytes) -> int:
    """Where the records of a block end: after its last line end outside quotes (0: none yet)."""
    end = data.rfind(b"\n")
    quotes = data.count(b'"', 0, end) if end >= 0 else 0
    while end >= 0 and quotes % 2:
        before = data.rfind(b"\n", 0, end)
        quotes -= data.count(b'"', max(before, 0), end)
        end = before
    return end + 1
