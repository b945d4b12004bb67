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
version raised nothing in them. Checks across rows and tables look at the changed records and the
rows sharing a key with them only, when the clean version passed them against the same versions of
the tables it refers to; else at the whole table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

from sunshine import records
from sunshine.package import Project, Table
from sunshine.problems import Problem
from sunshine.validate import kept
from sunshine.validate.collect import Collector
from sunshine.validate.kept import Clean
from sunshine.validate.keys import check_all, referenced, unique_columns
from sunshine.validate.scan import PER_BATCH, PER_COLUMN, ROW, Scanned, TableScan

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
    rows_changed: pl.Series  # their rows


def _one_row(record: bytes) -> bool:
    """UTF-8 without NUL bytes, read by Python's csv as exactly one row (as the scan reads it)."""
    if b"\x00" in record or record.count(b'"') % 2:  # a quote never closed runs to the end
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
    if old is None or old.records != base.rows:
        return None
    new = records.index_of(path, blob)
    if new.header != old.header or any(i.blank or i.cr for i in (old, new)):
        return None
    if not old.unique or not new.unique:
        return None
    old_h, new_h = old.frame["h"], new.frame["h"]
    is_added = ~new_h.is_in(old_h.implode())
    is_removed = ~old_h.is_in(new_h.implode())
    if not old_h.filter(~is_removed).equals(new_h.filter(~is_added)):
        return None  # records moved (the rows sorted another way): their keys are read again
    added = new.frame.with_row_index("j").filter(is_added)
    if added.height + int(is_removed.sum()) > MAX_CHANGED:
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
        or scanned.keys.height != len(texts)
        or probe.dropped
        or len(probe.problems) >= PER_BATCH
        or any(n > PER_COLUMN for n in examined.values())
    ):
        return None
    try:
        old_keys = base.keys
    except (OSError, pl.exceptions.PolarsError):
        return None
    if old_keys.height != base.rows:
        return None
    keys = _spliced(old_keys, is_removed, added["j"], scanned.keys.sort(ROW).select(base.keys.columns))
    return Changed(keys, new.records, list(probe.problems), examined, added.height, pl.Series(rows))


def _spliced(old: pl.DataFrame, removed: pl.Series, at: pl.Series, added: pl.DataFrame) -> pl.DataFrame:
    """The keys of the new version in its order: the old rows not removed, in slices of the old
    frame (not copied), with the added rows at their places `at`, numbered again."""
    gone = removed.arg_true().to_list()
    kept = [
        old.slice(start, end - start)
        for start, end in zip([0, *(g + 1 for g in gone)], [*gone, old.height], strict=True)
    ]
    unchanged = pl.concat([k for k in kept if k.height] or [old.clear()], rechunk=False)
    pieces, done = [], 0
    for i, j in enumerate(at.to_list()):
        before = j - i  # unchanged records before the i-th added one
        pieces += [unchanged.slice(done, before - done), added.slice(i, 1)]
        done = before
    pieces.append(unchanged.slice(done))
    keys = pl.concat([p for p in pieces if p.height] or [old.clear()], rechunk=len(pieces) > 1000)
    return keys.with_columns(pl.int_range(FIRST_ROW, FIRST_ROW + keys.height, dtype=pl.Int64).alias(ROW))


@dataclass
class Keeping:
    """What this validation keeps for the next, and what it found kept."""

    fingerprint: str | None  # of the code and schemas (None: nothing is kept)
    read: bool  # whether kept versions are used, or only written
    blobs: dict[str, str] = field(default_factory=dict)  # table: git object id read this time
    by_changes: dict[str, int] = field(default_factory=dict)  # file: records checked (0: unchanged)

    def parents(self, table: Table) -> dict[str, str]:
        return {name: self.blobs.get(name, "") for name in sorted(referenced(table))}


def marks(collector: Collector, file: str) -> tuple[int, int]:
    """How many problems of a file were added and left out so far."""
    added = sum(1 for p in collector.problems if p.file == file)
    return added, sum(n for (f, _), n in collector.dropped.items() if f == file)


def _near(keys: pl.DataFrame, table: Table, rows: pl.Series) -> pl.DataFrame:
    """The rows `rows` and every row sharing a value of a unique column or of the primary key with
    one of them: all that can be found in them when the other rows passed every check."""
    changed = keys.filter(pl.col(ROW).is_in(rows.implode()))
    wanted = pl.col(ROW).is_in(rows.implode())
    for name in unique_columns(table):
        if name in keys.columns:
            wanted = wanted | pl.col(name).is_in(changed[name].drop_nulls().implode())
    return keys.filter(wanted)


def from_kept(
    project: Project,
    table: Table,
    path: Path,
    blob: str,
    fields: list[str],
    collector: Collector,
    loaded: dict[str, pl.DataFrame],
    scratch: Path,
    keeping: Keeping,
) -> int | None:
    """Rows of the table, its problems added, when a kept clean version spares reading it whole;
    else None (nothing added)."""
    fp, rel = keeping.fingerprint, table.path
    if fp is None or not keeping.read:
        return None
    base = kept.load(fp, table.name, blob)
    found = None
    if base is None:
        base = kept.latest(fp, table.name)
        found = base and validate_changed(table, path, rel, blob, base, fields, scratch, collector.focus)
        if not base or not found:
            return None
        for p in found.problems:
            collector.add(p)
    parents = keeping.parents(table)
    quiet = base.keys_clean and parents == base.parents
    referred = any(table.name in referenced(t) for t in project.tables.values() if t is not table)
    if found:
        keys = found.keys
    elif quiet and not referred:
        keeping.by_changes[rel] = 0
        return base.rows  # nothing to check, and no table's keys are checked against these
    else:
        try:
            keys = base.keys
        except (OSError, pl.exceptions.PolarsError):
            return None
    keeping.by_changes[rel] = found.changed if found else 0
    loaded[table.name] = keys
    before = marks(collector, rel)
    if not quiet:
        check_all(table, rel, keys, loaded, project.tables, collector)
    elif found:
        check_all(table, rel, _near(keys, table, found.rows_changed), loaded, project.tables, collector)
    keys_clean = marks(collector, rel) == before
    if found and not found.problems:
        clean = Clean(blob, found.examined, base.columns, parents, keys_clean, keys.height, keys)
        kept.save(fp, table.name, clean)
    elif not found and not quiet:  # checked against other versions of the tables it refers to
        clean = Clean(blob, base.examined, base.columns, parents, keys_clean, keys.height, keys)
        kept.save(fp, table.name, clean)
    return keys.height


def keep_whole(
    table: Table,
    path: Path,
    blob: str,
    scan: TableScan,
    scanned: Scanned,
    keeping: Keeping,
    *,
    keys_clean: bool,
) -> None:
    """Keep a version read whole and found clean, when its records are its rows one for one."""
    if keeping.fingerprint is None or not scanned.complete:
        return
    # The scan's blocks are freed but still held by the allocator: give them back before the file
    # is read again for its index (a county's validation peaks 20 MB lower).
    pa.default_memory_pool().release_unused()
    found = records.index_of(path, blob)
    keys = scanned.keys.sort(ROW)
    if found.blank or found.cr or not found.records == scanned.rows == keys.height:
        return
    if not keys[ROW].equals(pl.int_range(2, keys.height + 2, eager=True, dtype=pl.Int64), check_names=False):
        return
    parents = keeping.parents(table)
    clean = Clean(blob, dict(scan.examined), scan.ncols, parents, keys_clean, keys.height, keys)
    kept.save(keeping.fingerprint, table.name, clean)
