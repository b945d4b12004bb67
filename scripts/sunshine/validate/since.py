"""Validating a file by the records that changed since a version found clean (validate/kept.py).

The records the two versions do not share are found by their kept indexes (sunshine.records) and
checked by the same scan as a whole file, numbered by the rows they stand at; the keys of the whole
table are the kept keys of the unchanged records, renumbered, and those of the changed ones. The
outcome is what a full validation finds, or None when that cannot be sure:
- anything but whole records changed: the header, a blank line, a carriage return, a NUL byte,
  a record that is not one CSV row or not UTF-8, a record that stands twice;
- too many records changed;
- what a full scan would have cut short: a limit on problems or on cells looked at one by one.
Unchanged records raise nothing: every check of a record reads that record alone, and the clean
version raised nothing in them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from sunshine import records
from sunshine.package import Table
from sunshine.problems import Problem
from sunshine.validate.collect import Collector
from sunshine.validate.kept import Clean
from sunshine.validate.scan import PER_BATCH, PER_COLUMN, ROW, TableScan

FIRST_ROW = 2  # a clean version's header is its first line
MAX_CHANGED = 20_000  # records changed beyond which a full scan is as quick


@dataclass
class Changed:
    """What a full validation of the file would have found, from its changed records."""

    keys: pl.DataFrame
    rows: int
    problems: list[Problem]  # of the changed records, in the order a full scan adds them
    examined: dict[str, int]  # at most this many suspicious cells of each column
    changed: int  # records added or changed


def _one_row(record: bytes) -> bool:
    """UTF-8 without NUL bytes, read by Python's csv as exactly one row (as the scan reads it)."""
    if b"\x00" in record:
        return False
    try:
        text = record.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if '"' not in text and "\n" not in text:
        return True
    try:
        return len(list(csv.reader(io.StringIO(text)))) == 1
    except csv.Error:
        return False


def validate_changed(
    table: Table,
    path: Path,
    file: str,
    blob: str,
    base: Clean,
    key_fields: list[str],
    scratch: Path,
    focus: dict[str, set[int]],
) -> Changed | None:
    """The file at `path` (git object id `blob`) validated by what changed since `base`."""
    old = records.kept_index(base.blob)
    if old is None or old.records != base.keys.height:
        return None
    new = records.index_of(path, blob)
    if new.header != old.header or any(i.blank or i.cr for i in (old, new)):
        return None
    old_h, new_h = old.frame["h"], new.frame["h"]
    if old_h.n_unique() != old.records or new_h.n_unique() != new.records:
        return None
    numbered = new.frame.with_row_index("j")
    added = numbered.filter(~pl.col("h").is_in(old_h.implode()))
    removed = old.records - (new.records - added.height)
    if added.height + removed > MAX_CHANGED:
        return None
    texts = records.read_records(path, added)
    if texts is None or not all(_one_row(t) for t in texts):
        return None
    small = scratch / f"{table.name}.changed.csv"
    small.write_bytes(b"\n".join([new.header, *texts]) + b"\n")
    rows = [FIRST_ROW + j for j in added["j"]]
    probe = Collector(focus=focus)
    scan = TableScan(table, small, file, base.columns, key_fields, header_row=1, rows=rows)
    scanned = scan.run(probe)
    examined = {
        name: base.examined.get(name, 0) + scan.examined.get(name, 0)
        for name in base.examined.keys() | scan.examined.keys()
    }
    if (
        not scanned.complete
        or scanned.rows != len(texts)
        or probe.dropped
        or len(probe.problems) >= PER_BATCH
        or any(n > PER_COLUMN for n in examined.values())
    ):
        return None
    same = (
        numbered.select("h", "j")
        .join(old.frame.select("h").with_row_index("i"), on="h", how="inner")
        .select(pl.col("i").cast(pl.Int64), (pl.col("j").cast(pl.Int64) + FIRST_ROW).alias("__new"))
    )
    kept = (
        base.keys.with_row_index("i")
        .with_columns(pl.col("i").cast(pl.Int64))
        .join(same, on="i", how="inner")
        .with_columns(pl.col("__new").alias(ROW))
        .select(base.keys.columns)
    )
    keys = pl.concat([kept, scanned.keys.select(base.keys.columns)], how="vertical").sort(ROW)
    return Changed(keys, new.records, list(probe.problems), examined, added.height)
