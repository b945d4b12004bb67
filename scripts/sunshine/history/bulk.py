"""The first version of every row of a file read whole, worked out column by column.

A county's first history reads a million rows at once, and each must become what the row-by-row
reader makes of it (`versions.Reader._stream_rows`): canonical cells, masked, the first row of each
record key, and the two hashes git-history gives a version (`_hash` of the key fields, and of the
whole row). Here each step runs over a batch of columns: the cells already in canonical form and
those masking cannot change are recognised by one pattern per column, and the hashes' JSON is
assembled from each column's escaped text. `tests/test_history_bulk.py` holds it to the row-by-row
reader, awkward cells included.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, repeat
from operator import methodcaller
from typing import IO, Any

import polars as pl
from git_history.utils import reserved_with_suffix_re

from sunshine import typed
from sunshine.history import plain
from sunshine.package import KEY_SEPARATOR, Table
from sunshine.privacy import RowMasker, mask

_END = "\x00"  # ends each row's JSON text: JSON writes a NUL inside a string as \u0000


@dataclass
class Batch:
    """Rows of one table, column by column (masked, canonical), with their record keys and hashes."""

    columns: dict[str, list[str]]
    keys: list[str]  # record keys
    item_ids: list[str]  # git-history's `_item_id`: _hash of the primary-key fields
    full: list[str]  # `_item_full_hash`: _hash of the whole row

    def __len__(self) -> int:
        return len(self.keys)

    def rows(self) -> Iterator[dict[str, str]]:
        """The rows as the row-by-row reader gives them."""
        names = list(self.columns)
        return (dict(zip(names, values, strict=True)) for values in zip(*self.columns.values(), strict=True))


def readable(table: Table, names: list[str], masker: RowMasker) -> bool:
    """Whether rows with these columns can be read column by column: every primary-key field is
    there, no column name needs git-history's renaming, and masking leaves every name as it is."""
    return (
        bool(names)
        and all(k in names for k in table.primary_key)
        and len(set(names)) == len(names)
        and not any(reserved_with_suffix_re.match(name) for name in names)
        and all(mask(name, runs=masker.runs) == name for name in names)
    )


def batches(
    table: Table, masker: RowMasker, lines: Iterable[str], size: int
) -> tuple[list[str], Iterator[Batch] | None]:
    """The column names of a file and its rows in batches; None for the batches when the rows
    cannot be read column by column (`readable`)."""
    read: Iterator[plain.Columns]
    if isinstance(lines, io.TextIOWrapper) and (lines.encoding, lines.errors) == ("utf-8-sig", "strict"):
        names, read = plain.stream_columns(table, lines.buffer, size)  # nothing read from it yet
    else:
        names, by_csv = typed.stream_columns(table, lines, size)
        read = ((columns, {}) for columns in by_csv)
    if not readable(table, names, masker):
        return names, None
    return names, _batches(table, masker, read)


def _batches(table: Table, masker: RowMasker, read: Iterator[plain.Columns]) -> Iterator[Batch]:
    pk = table.primary_key
    specs = {f["name"]: f for f in table.fields}
    seen: set[str] = set()
    for written, read_series in read:
        read_columns = {
            name: _canonical(specs.get(name), cells, read_series.get(name)) for name, cells in written.items()
        }
        # Rows with every key field filled (canonical, before masking), then masked.
        filled = [all(cells) for cells in zip(*(read_columns[k][0] for k in pk), strict=True)]
        series: dict[str, pl.Series] = {}  # the Series of each column masking left as it was
        if all(filled):
            columns = {}
            for name, (cells, cells_series) in read_columns.items():
                columns[name] = masker.column(name, cells, cells_series)
                if cells_series is not None and columns[name] is cells:
                    series[name] = cells_series
        else:
            columns = {
                name: masker.column(name, list(compress(c, filled))) for name, (c, _) in read_columns.items()
            }
        del read_columns
        keys = _record_keys(pk, columns)
        # The first row of each record key, over the whole file.
        if len(set(keys)) != len(keys) or not seen.isdisjoint(keys):
            first = []
            for key in keys:
                first.append(key not in seen)
                seen.add(key)
            keys = list(compress(keys, first))
            columns = {name: list(compress(cells, first)) for name, cells in columns.items()}
            series = {}
        else:
            seen.update(keys)
        if keys:
            item_ids = hashes({k: columns[k] for k in pk}, len(keys), series)
            yield Batch(columns, keys, item_ids, hashes(columns, len(keys), series))


def _canonical(
    spec: dict | None, cells: list[str], series: pl.Series | None = None
) -> tuple[list[str], pl.Series | None]:
    """The canonical cells of a column, and the Series of them when it is at hand (`series`: the
    cells as polars read them)."""
    if series is None:
        try:
            series = pl.Series(cells, dtype=pl.String)
        except (TypeError, ValueError, pl.exceptions.PolarsError):  # not valid Unicode
            return [typed.canonical(spec, c) if spec else c for c in cells], None
    canonical = typed.canonical_column(spec, cells, series)
    return canonical, (series if canonical is cells else None)


def _record_keys(pk: list[str], columns: dict[str, list[str]]) -> list[str]:
    """`Table.record_key` of each row (every key field is filled)."""
    if len(pk) == 1:
        return columns[pk[0]]
    return list(map(KEY_SEPARATOR.join, zip(*(columns[k] for k in pk), strict=True)))


def hashes(columns: dict[str, list[str]], n: int, series: dict[str, pl.Series] | None = None) -> list[str]:
    """git-history's `_hash` of each row {name: cell}: the SHA-1 of its JSON with sorted keys, compact
    separators and non-ASCII characters escaped. polars writes each row's JSON (`series`: columns
    already at hand as Series), as `json.dumps` writes it with non-ASCII characters as they are; they
    are then escaped as `json.dumps` escapes them, the whole batch at once."""
    if n == 0:
        return []
    names = sorted(columns)
    series = series or {}
    try:
        frame = pl.DataFrame(
            {
                name: series[name] if name in series else pl.Series(columns[name], dtype=pl.String)
                for name in names
            }
        )
        # The columns as one struct by position: `pl.struct(names)` would read a name such as * or
        # ^a$ as a pattern of names.
        rows_json = frame.to_struct("row").struct.json_encode()
    except (TypeError, ValueError, pl.exceptions.PolarsError):  # not valid Unicode
        return _hashes_by_json(columns, n)
    if frame.columns != names:  # polars named a column otherwise (an empty name)
        return _hashes_by_json(columns, n)
    text = rows_json.str.join(_END).item()
    if rows_json.str.contains(_NOT_BY_BACKSLASHREPLACE.pattern).any():
        text = _NOT_BY_BACKSLASHREPLACE.sub(_json_escape, text)
    data = text.encode("ascii", "backslashreplace")
    rows = data.split(_END.encode())
    return list(map(methodcaller("hexdigest"), map(hashlib.sha1, rows)))


# What JSON escapes and `backslashreplace` does not, or not alike: DEL, which it leaves, U+0080 to
# U+00FF, which it writes \xe9 (JSON: \u00e9), and characters past U+FFFF, which JSON writes as two
# UTF-16 surrogates.
_NOT_BY_BACKSLASHREPLACE = re.compile("[\x7f-\xff\U00010000-\U0010ffff]")


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 | code >> 10:04x}\\u{0xDC00 | code & 0x3FF:04x}"


def _hashes_by_json(columns: dict[str, list[str]], n: int) -> list[str]:
    """`hashes` for cells polars does not take: the JSON assembled from each column's escaped text."""
    names = sorted(columns)
    stride = 2 * len(names) + 1
    parts: list[str] = [""] * (n * stride)
    for j, name in enumerate(names):
        before = ("{" if j == 0 else '",') + json.dumps(name) + ':"'
        parts[2 * j :: stride] = repeat(before, n)
        parts[2 * j + 1 :: stride] = _escaped(columns[name])
    parts[stride - 1 :: stride] = repeat('"}' + _END, n)
    texts = "".join(parts).split(_END)
    texts.pop()
    return list(map(methodcaller("hexdigest"), map(hashlib.sha1, map(str.encode, texts))))


def _escaped(cells: list[str]) -> list[str]:
    """Each cell as JSON writes a string, without its quotes (ASCII only)."""
    text = json.dumps(cells, separators=(",", ":"))
    return text[2:-2].split('","')


@dataclass
class Failed:
    """What stopped the process reading a file (`reading`), handed to the build to raise."""

    error: BaseException


def received(stream: IO[bytes]) -> Any:
    """The next object the reading process wrote (`reading`); its failure is raised here."""
    try:
        item = pickle.load(stream)
    except EOFError:
        raise RuntimeError("读取表格的进程意外退出。") from None
    if isinstance(item, Failed):
        raise item.error
    return item


@contextmanager
def no_collections() -> Iterator[None]:
    """No garbage collection while a file's rows pass: they hold no cycles, and a collection walks
    every list of cells alive (a batch of columns is millions of references)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# A file at least this large is read, masked and hashed by a process of its own while this one writes.
ELSEWHERE = 8 << 20


def start(reader: Any, ref: str, size: int) -> subprocess.Popen[bytes] | None:
    """The process reading the file at ref (`reading`) for `read`, started; None for a file small
    enough to be read here. Started early, it reads while the build looks the file over."""
    blob = reader.repo.run("cat-file", "-s", f"{ref}:./{reader.table.path}", check=False).stdout
    if not blob.strip().isdigit() or int(blob) < ELSEWHERE:
        return None
    worker = subprocess.Popen(
        [sys.executable, "-m", "sunshine.history.reading"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        # One core each: polars's threads would take the writer's core, and wait for each other.
        env={**os.environ, "POLARS_MAX_THREADS": "1"},
    )
    try:
        pickle.dump((reader.repo, reader.table, reader.mask.columns, ref, size), worker.stdin)  # type: ignore[arg-type,attr-defined]
        worker.stdin.close()  # type: ignore[union-attr]
    except BaseException:
        stop(worker)
        raise
    return worker


def stop(worker: subprocess.Popen[bytes] | None) -> None:
    """A reading process ended, whether or not its rows were all read."""
    if worker is not None:
        worker.kill()
        worker.wait()
        worker.stdout.close()  # type: ignore[union-attr]


@contextmanager
def read(
    reader: Any, ref: str, size: int, worker: subprocess.Popen[bytes] | None = None
) -> Iterator[tuple[list[str], Iterator[Batch] | None]]:
    """The column names of the file at ref and its batches of `size` rows (None: not readable by
    columns), read here by `reader` (a `versions.Reader`), or for a large file by another process
    (`reading`; `worker`: that process, started by `start` for this file): the two cores of a small
    server work at once."""
    worker = worker or start(reader, ref, size)
    if worker is None:
        proc, text = reader._text(ref)
        try:
            yield batches(reader.table, reader.mask, text, size)  # type: ignore[arg-type]
        finally:
            proc.kill()
            proc.wait()
        return
    try:
        names = received(worker.stdout)

        def arriving() -> Iterator[Batch]:
            while (batch := received(worker.stdout)) is not None:
                yield batch

        yield names, (arriving() if names is not None else None)
    finally:
        stop(worker)
