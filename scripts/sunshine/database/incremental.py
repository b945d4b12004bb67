"""Bring the last build/sunshine.db up to date from the rows that changed, when only rows changed.

After each build the CSVs it read are kept in the user's cache directory (`$XDG_CACHE_HOME/sunshine/`,
a folder per database, one file per table named by git's object id of its bytes); losing them only
costs a full build. The next build compares each CSV with that copy record
by record (a record is a row; the line end after it does not count), matches the changed ones by primary key,
and on a copy of the database deletes, updates or inserts exactly those rows, taking their words
out of and putting them into the search index. It falls back to a full build, and says why, when
anything but rows changed: the Table Schemas, the word list, the code, a header, a quote out of place,
or a missing copy. A record whose quoted cell spans lines is compared as one, its lines together.
Both versions are compared by their kept indexes (sunshine.records.index_of): after a validation,
neither file is read again, only the records that differ.

What is checked before the copy replaces the database: `quick_check` (every page and record is
well formed), foreign keys of the rows that changed (of every row of the tables below a changed
table of villages or grids), and row counts. Index entries are not re-read against their tables
(integrity_check): the indexes were written by SQLite in the same transaction as the rows.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sunshine import records
from sunshine.chinese import search
from sunshine.package import Project, Table


class NotIncremental(Exception):
    """The change cannot be applied row by row; the message says why (Chinese)."""


@dataclass
class Delta:
    """Rows of one table that changed, as CSV cells in schema order, keyed by primary key."""

    table: Table
    removed: dict[tuple[str, ...], list[str]] = field(default_factory=dict)
    added: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.removed.keys() | self.added.keys())


# -- the kept inputs --------------------------------------------------------------------------


def inputs_dir(target: Path) -> Path:
    name = hashlib.sha256(str(Path(target).resolve()).encode()).hexdigest()[:20]
    return records.cache_root() / "database-inputs" / name


def digest(path: Path) -> str:
    """git's object id of the file: the history and `sunshine diff` find the same comparison by it."""
    return records.blob_id(path)


_copying: dict[Path, threading.Thread] = {}  # kept copies being written while the database is updated


def _copy(source: Path, kept: Path) -> None:
    tmp = kept.with_name(f"{kept.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, kept)
    except OSError:
        tmp.unlink(missing_ok=True)  # keep_inputs copies it again and says what went wrong


def copy_ahead(source: Path, kept: Path) -> None:
    """Start copying a CSV to its kept copy while the database is updated (the copy runs in the
    kernel, beside the work of this process); keep_inputs waits for it."""
    if kept in _copying or kept.exists():
        return
    _copying[kept] = threading.Thread(target=_copy, args=(source, kept), name="keep-input")
    _copying[kept].start()


def keep_inputs(project: Project, target: Path, digests: dict[str, str], names: list[str]) -> None:
    """Copy the CSVs just built from beside the database; drop copies of older versions."""
    folder = inputs_dir(target)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"{name}.{digests[name]}.csv" for name in names if name in digests}
    for name in names:
        if name not in digests:
            continue
        kept = folder / f"{name}.{digests[name]}.csv"
        if (started := _copying.pop(kept, None)) is not None:
            started.join()
        if not kept.exists():
            tmp = kept.with_name(kept.name + f".{os.getpid()}.tmp")
            shutil.copyfile(project.root / project.tables[name].path, tmp)
            os.replace(tmp, kept)
    for path in folder.iterdir():
        if path.name not in wanted:
            path.unlink(missing_ok=True)


# -- comparing a CSV with its kept copy ---------------------------------------------------------


def _opener(path: Path) -> records.Opener:
    return lambda: path.open("rb")


def _header(path: Path) -> bytes:
    with path.open("rb") as f:
        return records.header(f)


def delta(table: Table, old: Path, new: Path, ids: tuple[str, str]) -> Delta:
    """The rows of `new` that are not in `old` (git object ids `ids`) and the other way round, by whole
    records. `old` is a kept copy: `new` starts being copied beside it for the next build."""
    copy_ahead(new, old.with_name(f"{table.name}.{ids[1]}.csv"))
    try:
        removed_lines, added_lines = records.compare_kept(
            *ids, _opener(old), _opener(new), repeats=False, paths=(old, new)
        )
    except records.HeaderChanged as exc:
        raise NotIncremental(f"{table.path} 的表头变了") from exc
    except records.Repeated as exc:
        raise NotIncremental(f"{table.path} 有重复的行") from exc  # a set of lines cannot see a repeated one
    header = next(csv.reader([_header(new).decode("utf-8")]))
    out = Delta(table)
    for lines, into in ((removed_lines, out.removed), (added_lines, out.added)):
        for cells in _parse(table, header, lines):
            key = tuple(cells[i] for i in _key_positions(table))
            if key in into:
                raise NotIncremental(f"{table.path} 有重复的主键 {' / '.join(key)}")
            into[key] = cells
    return out


def _parse(table: Table, header: list[str], lines: list[bytes]) -> Iterator[list[str]]:
    try:
        texts = [line.decode("utf-8") for line in lines]
    except UnicodeDecodeError as exc:
        raise NotIncremental(f"{table.path} 不是 UTF-8 编码") from exc
    names = table.field_names
    try:
        order = [[h.strip() for h in header].index(n) for n in names]
    except ValueError as exc:
        raise NotIncremental(f"{table.path} 的表头与表结构不一致") from exc
    for text in texts:
        try:
            (cells,) = csv.reader([text])  # one record, or a quote out of place: compared whole
        except (csv.Error, ValueError) as exc:
            raise NotIncremental(f"{table.path} 有引号不成对的单元格") from exc
        yield [cells[i] if i < len(cells) else "" for i in order]


def _key_positions(table: Table) -> list[int]:
    names = table.field_names
    return [names.index(k) for k in table.primary_key]


# -- applying a delta to a copy of the database -------------------------------------------------


@dataclass
class Applied:
    """Rowids written in each table (for the foreign-key check) and the change in row counts."""

    touched: dict[str, list[int]] = field(default_factory=dict)
    removed_keys: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def apply(
    conn: sqlite3.Connection,
    d: Delta,
    value_sql: list[str],
    columns: tuple[str, ...],
    segmenter: search.Segmenter | None,
    applied: Applied,
) -> None:
    """Delete, update and insert the rows of `d` in its table and in the table's search index."""
    table = d.table
    names = table.field_names
    where = " AND ".join(f"{k} = ?" for k in table.primary_key)
    positions = [names.index(c) for c in columns]
    fts = search.fts_table(table.name)
    sets = ", ".join(f"{n} = {sql}" for n, sql in zip(names, value_sql, strict=True))
    touched = applied.touched.setdefault(table.name, [])
    gone = applied.removed_keys.setdefault(table.name, [])

    def unindex(rowid: int, cells: list[str]) -> None:
        if segmenter is not None and columns:
            words = [segmenter.index_text(cells[p]) for p in positions]
            marks = ", ".join("?" * len(columns))
            conn.execute(
                f"INSERT INTO {fts} ({fts}, rowid, {', '.join(columns)}) VALUES ('delete', ?, {marks})",
                [rowid, *words],
            )

    def index(rowid: int, cells: list[str]) -> None:
        if segmenter is not None and columns:
            words = [segmenter.index_text(cells[p]) for p in positions]
            marks = ", ".join("?" * len(columns))
            conn.execute(
                f"INSERT INTO {fts} (rowid, {', '.join(columns)}) VALUES (?, {marks})", [rowid, *words]
            )

    def rowid_of(key: tuple[str, ...]) -> int:
        found = conn.execute(f"SELECT rowid FROM {table.name} WHERE {where}", list(key)).fetchone()
        if found is None:
            raise NotIncremental(f"上一次的数据库里找不到 {table.name} {' / '.join(key)}")
        return found[0]

    change = 0
    for key, cells in d.removed.items():
        rowid = rowid_of(key)
        unindex(rowid, cells)
        if key in d.added:
            new = d.added[key]
            conn.execute(f"UPDATE {table.name} SET {sets} WHERE rowid = ?", [*new, rowid])
            index(rowid, new)
            touched.append(rowid)
        else:
            conn.execute(f"DELETE FROM {table.name} WHERE rowid = ?", [rowid])
            gone.append(key)
            change -= 1
    marks = ", ".join(value_sql)
    for key, cells in d.added.items():
        if key in d.removed:
            continue
        rowid = conn.execute(f"INSERT INTO {table.name} VALUES ({marks})", cells).lastrowid
        index(rowid, cells)
        touched.append(rowid)
        change += 1
    applied.counts[table.name] = change


def check_foreign_keys(conn: sqlite3.Connection, project: Project, applied: Applied) -> list[str]:
    """Foreign keys of the rows written; every row of a table that refers to a table rows left."""
    problems = []
    for table in project.tables.values():
        for fk in table.foreign_keys:
            parent = fk["resource"]
            if applied.removed_keys.get(parent) or applied.touched.get(parent) and parent != table.name:
                rows = conn.execute(f"PRAGMA foreign_key_check({table.name})").fetchall()
                if rows:
                    problems.append(f"{table.name} 有 {len(rows)} 行引用了不存在的 {parent}")
                continue
            rowids = applied.touched.get(table.name)
            if not rowids:
                continue
            cols, refs = fk["fields"], fk["reference_fields"]
            match = " AND ".join(f"p.{r} = t.{c}" for c, r in zip(cols, refs, strict=True))
            present = " AND ".join(f"t.{c} IS NOT NULL" for c in cols)
            for start in range(0, len(rowids), 500):
                part = rowids[start : start + 500]
                bad = conn.execute(
                    f"SELECT count(*) FROM {table.name} t WHERE t.rowid IN ({', '.join('?' * len(part))}) "
                    f"AND {present} AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE {match})",
                    part,
                ).fetchone()[0]
                if bad:
                    problems.append(f"{table.name} 有 {bad} 行引用了不存在的 {parent}")
    return problems
