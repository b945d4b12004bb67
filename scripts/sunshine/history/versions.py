"""Versions of every row, in git-history's layout, written in proportion to what each commit changed.

The tables are the ones `git-history file --id ... --ignore-duplicate-ids` writes (namespaces,
commits, columns, one item table, `_version`, `_changed` and `_version_detail` per table) with the
same ids, hashes and rules: a row gets a new version when its masked content differs from the
version recorded last, and a version lists only the columns that changed. git-history reads
every version of a file whole and writes it row by row; here a commit is read as the lines
`git diff` says it changed, against the commit before it in the file's history, and only the
rows on those lines are parsed, masked, compared and written. A commit that changes the header
or whose changed lines split a quoted cell over lines, or that csv cannot read line by line, is read
whole, streamed.

A version of a file whose quotes make csv read many lines into one cell (`wellformed`: a quoted cell
left open to the end of the file, or closed over lines by a quote followed by text) never passed
validation and records nothing: the commit is scanned, and the next commit is compared with the last
version that could be read, as if the file had not changed in between. A commit read by its changed
lines is told by them; only one read whole is looked at whole.

The first commit of a county (a million rows) is written in batches with executemany, and the
`_changed` rows of first versions (every column) are made by one INSERT ... SELECT. `_changed` is
stored WITHOUT ROWID: its rows are its primary key, so each is written to one b-tree, not to the
table and again to its key's index (a county's 13 million took 4.6 s, now 3.0 s).

Each new version and each removal becomes a `Change` handed to the caller, which turns it into
a row of `changes`; the caller never re-reads the versions it just wrote.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sqlite3
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import sqlite_utils
from git_history.cli import _hash, create_views
from git_history.utils import RESERVED_SET, fix_reserved_columns, reserved_with_suffix_re

from sunshine import typed
from sunshine.history import bulk, wellformed
from sunshine.history.gitrepo import Commit, GitRepo
from sunshine.package import Table
from sunshine.privacy import RowMasker

BATCH = 20_000
HEADER_BYTES = 1 << 20  # a longer first line is no header: the file is read whole

Mask = Callable[[dict[str, str]], dict[str, str]]  # one row of the table, masked


@dataclass
class Change:
    """A new version of a record (version ≥ 1) or its removal (version None), with the states around it."""

    table: Table
    record_id: str
    version: int | None
    commit_hash: str
    before: dict[str, Any]
    after: dict[str, Any]
    restored: bool = False  # the record was removed after its last version: this version puts it back


@dataclass
class _Read:
    """What a commit did to a file: header, rows on added lines, keys on removed lines (None: read whole)."""

    header: list[str]
    added: list[dict[str, str]]
    removed: list[dict[str, str]] | None


def ensure_tables(conn: sqlite3.Connection) -> None:
    # Statement by statement: executescript would first commit the build's one transaction.
    for statement in _TABLES.split(";"):
        if statement.strip():
            conn.execute(statement)


_TABLES = """
        CREATE TABLE IF NOT EXISTS "namespaces" ("id" INTEGER PRIMARY KEY, "name" TEXT);
        CREATE UNIQUE INDEX IF NOT EXISTS "idx_namespaces_name" ON "namespaces" ("name");
        CREATE TABLE IF NOT EXISTS "commits" (
           "id" INTEGER PRIMARY KEY,
           "namespace" INTEGER REFERENCES "namespaces"("id"),
           "hash" TEXT,
           "commit_at" TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS "idx_commits_namespace_hash" ON "commits" ("namespace", "hash");
        CREATE TABLE IF NOT EXISTS "columns" (
           "id" INTEGER PRIMARY KEY,
           "namespace" INTEGER REFERENCES "namespaces"("id"),
           "name" TEXT
        );
        CREATE UNIQUE INDEX IF NOT EXISTS "idx_columns_namespace_name" ON "columns" ("namespace", "name");
        CREATE TABLE IF NOT EXISTS "scanned_commits" ("namespace" TEXT, "hash" TEXT, PRIMARY KEY ("namespace", "hash"));
        CREATE TABLE IF NOT EXISTS "removals" (
           "namespace" TEXT, "record_id" TEXT, "commit_hash" TEXT, "row" TEXT,
           PRIMARY KEY ("namespace", "record_id", "commit_hash")
        );
        """


class Reader:
    """The versions of one table's file as git holds them, read as masked rows with canonical cells."""

    def __init__(self, repo: GitRepo, table: Table, mask: Mask) -> None:
        self.repo, self.table, self.mask = repo, table, mask
        self.pk = table.primary_key

    def rows_at(self, ref: str) -> dict[str, dict[str, str]]:
        """Every row of the file at ref by record key ({} when it did not exist there)."""
        if not self.repo.exists(ref, self.table.path):
            return {}
        return {self.table.record_key(row): row for row in self._stream_rows(ref)}

    def _header_line(self, ref: str) -> str | None:
        """The first line of the file at ref when it is UTF-8 text whose lines git can compare (the
        only text `changed_records` reads). None otherwise: the file is then read whole. A file whose
        lines end in a lone CR (old Mac Excel's "CSV (Macintosh)") is one line to git and to
        `changed_records`, and only its whole reading splits its records where csv does."""
        proc = subprocess.Popen(
            ["git", "show", f"{ref}:./{self.table.path}"],
            cwd=self.repo.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            line = proc.stdout.readline(HEADER_BYTES)  # type: ignore[union-attr]
        finally:
            proc.kill()
            proc.wait()
        try:
            text = line.decode("utf-8-sig").rstrip("\r\n")
        except UnicodeDecodeError:
            return None
        if "\r" in text or not line.endswith(b"\n") and len(line) == HEADER_BYTES:
            return None
        return text + "\n" if text else None

    def _parse(self, header: str, lines: list[str]) -> list[dict[str, str]]:
        """Masked rows with a key, from the text of some lines under the file's header."""
        _, rows = typed.stream(self.table, [header, *(line + "\n" for line in lines)])
        return [self.mask(row) for row in rows if all(row.get(k) for k in self.pk)]

    def _show(self, ref: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["git", "show", f"{ref}:./{self.table.path}"],
            cwd=self.repo.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )

    def _encoding(self, ref: str) -> tuple[str, str]:
        """(encoding, errors) of the file at ref, in the order `typed.decode` tries them, by one pass over
        its bytes per encoding: a version is streamed, and a stream cannot start over once rows are written."""
        for encoding in ("utf-16", *typed.ENCODINGS):
            proc = self._show(ref)
            try:
                head = proc.stdout.read(4)  # type: ignore[union-attr]
                if encoding == "utf-16":
                    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                        return encoding, "replace"
                    continue
                decoder = codecs.getincrementaldecoder(encoding)()
                try:
                    decoder.decode(head)
                    stdout = proc.stdout
                    while chunk := stdout.read(1 << 20):  # type: ignore[union-attr]
                        decoder.decode(chunk)
                    decoder.decode(b"", final=True)
                    return encoding, "strict"
                except UnicodeDecodeError:
                    continue
            finally:
                proc.kill()
                proc.wait()
        return "utf-8", "replace"  # no spreadsheet wrote this: read what can be read

    def _text(self, ref: str) -> tuple[subprocess.Popen[bytes], io.TextIOWrapper]:
        """The file at ref as text, decoded as it arrives from `git show`."""
        encoding, errors = self._encoding(ref)
        proc = self._show(ref)
        return proc, io.TextIOWrapper(proc.stdout, encoding=encoding, errors=errors, newline="")  # type: ignore[arg-type]

    def _stream(self, ref: str) -> tuple[list[str], Iterator[dict[str, str]]]:
        """The column names of the file at ref and its rows (canonical text), read from `git show` as they arrive."""
        proc, text = self._text(ref)
        keys, rows = typed.stream(self.table, text)

        def read() -> Iterator[dict[str, str]]:
            try:
                yield from rows
            finally:
                proc.kill()
                proc.wait()

        return keys, read()

    def _stream_rows(self, ref: str) -> Iterator[dict[str, str]]:
        """Masked rows with a key, first of each key only (git-history's --ignore-duplicate-ids)."""
        seen: set[str] = set()
        _, rows = self._stream(ref)
        for row in rows:
            if not all(row.get(k) for k in self.pk):
                continue
            masked = self.mask(row)
            key = self.table.record_key(masked)
            if key in seen:
                continue
            seen.add(key)
            yield masked


class Writer(Reader):
    """Writes the versions of one table (one namespace) for the commits not yet recorded."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        repo: GitRepo,
        table: Table,
        mask: Mask,
        *,
        start: str = "",
        point: str | None = None,
    ) -> None:
        super().__init__(repo, table, mask)
        self.conn = conn
        self.start, self.point = start, point  # history.start, and the commit the public history starts at
        self.on_first: Callable[[Table, str, bulk.Batch], None] | None = None
        self.ns = table.name
        self.ids = list(fix_reserved_columns({k: 1 for k in self.pk}))
        ensure_tables(conn)
        conn.execute("INSERT OR IGNORE INTO namespaces (name) VALUES (?)", [self.ns])
        self.ns_id = conn.execute("SELECT id FROM namespaces WHERE name = ?", [self.ns]).fetchone()[0]
        self.columns: dict[str, int] = dict(
            conn.execute("SELECT name, id FROM columns WHERE namespace = ?", [self.ns_id])
        )
        self.item_columns: list[str] = self._table_columns(self.ns)
        self.empty = (
            not self.item_columns or not conn.execute(f"SELECT 1 FROM [{self.ns}] LIMIT 1").fetchone()
        )
        self.unreadable: set[str] = set()  # versions (git object ids) of the file csv could not read
        self._reading: subprocess.Popen[bytes] | None = None  # a large first version's reading process

    # -- schema

    def _table_columns(self, name: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"PRAGMA table_info([{name}])")]

    def _ensure_schema(self, header: list[str]) -> None:
        """Item and version tables with a TEXT column per field, in git-history's column order."""
        ns, fields = self.ns, [f for f in header if f not in RESERVED_SET]
        if not self.item_columns:
            self.conn.execute(f'CREATE TABLE [{ns}] ("_id" INTEGER PRIMARY KEY, "_item_id" TEXT)')
            self.conn.execute(f'CREATE UNIQUE INDEX "idx_{ns}__item_id" ON [{ns}] ("_item_id")')
            self.item_columns = ["_id", "_item_id"]
        for name in [*fields, "_commit"]:
            if name not in self.item_columns:
                kind = "INTEGER" if name == "_commit" else "TEXT"
                self.conn.execute(f"ALTER TABLE [{ns}] ADD COLUMN [{name}] {kind}")
                self.item_columns.append(name)
        version_columns = self._table_columns(f"{ns}_version")
        if not version_columns:
            body = ",\n   ".join(f'"{name}" TEXT' for name in fields)
            self.conn.execute(
                f'CREATE TABLE "{ns}_version" (\n   "_id" INTEGER PRIMARY KEY,\n'
                f'   "_item" INTEGER REFERENCES "{ns}"("_id"),\n   "_version" INTEGER,\n'
                f'   "_commit" INTEGER REFERENCES "commits"("id"),\n   {body},\n   "_item_full_hash" TEXT\n)'
            )
            # Before any version: a later commit of this build finds each item's last version by it.
            self.conn.execute(
                f'CREATE INDEX IF NOT EXISTS "idx_{ns}_version__item" ON "{ns}_version" ("_item")'
            )
            self.conn.execute(
                f'CREATE TABLE "{ns}_changed" (\n   "item_version" INTEGER REFERENCES "{ns}_version"("_id"),\n'
                f'   "column" INTEGER REFERENCES "columns"("id"),\n   PRIMARY KEY ("item_version", "column")\n) WITHOUT ROWID'
            )
        else:
            for name in fields:
                if name not in version_columns:
                    self.conn.execute(f'ALTER TABLE "{ns}_version" ADD COLUMN [{name}] TEXT')
        for name in fields:
            self._column_id(name)

    def _column_id(self, name: str) -> int:
        if name not in self.columns:
            cur = self.conn.execute("INSERT INTO columns (namespace, name) VALUES (?, ?)", [self.ns_id, name])
            self.columns[name] = cur.lastrowid
        return self.columns[name]

    # -- commits

    def run(
        self,
        on_change: Callable[[Iterable[Change]], None],
        on_first: Callable[[Table, str, bulk.Batch], None] | None = None,
    ) -> int:
        """Record every commit of the table's file not recorded yet; return how many were read.

        `on_first` takes the first versions of a file read whole into an empty table, a batch of
        columns at a time (`bulk`); without it they go to `on_change` one Change each."""
        self.on_first = on_first
        path = self.table.path
        history = self.repo.commits(path, start=self.start)
        seen = {r[0] for r in self.conn.execute("SELECT hash FROM commits WHERE namespace = ?", [self.ns_id])}
        scanned = {
            r[0] for r in self.conn.execute("SELECT hash FROM scanned_commits WHERE namespace = ?", [self.ns])
        }
        # Commits read before whose version could not be read (scanned, never recorded, the file there).
        versions = {h: self.repo.blob(h, path) for h in scanned - seen}
        unread = {h for h, blob in versions.items() if blob is not None}
        self.unreadable = {blob for blob in versions.values() if blob is not None}
        done = 0
        previous: Commit | None = None  # the last commit whose version was read
        for commit in history:
            if commit.hash in unread:
                continue
            if commit.hash in seen and commit.hash in scanned:
                previous = commit
                continue
            if self._commit(commit, previous, record_versions=commit.hash not in seen, on_change=on_change):
                previous = commit
            done += 1
        if self._table_columns(f"{self.ns}_version"):
            create_views(sqlite_utils.Database(self.conn), self.ns)
            self.conn.execute(
                f'CREATE INDEX IF NOT EXISTS "idx_{self.ns}_version__item" ON "{self.ns}_version" ("_item")'
            )
        return done

    def _commit(
        self,
        commit: Commit,
        previous: Commit | None,
        *,
        record_versions: bool,
        on_change: Callable[[Iterable[Change]], None],
    ) -> bool:
        """Record the versions and removals of one commit; False, with nothing recorded but the commit
        scanned, when its version of the file cannot be read (`wellformed`)."""
        path = self.table.path
        exists = self.repo.exists(commit.hash, path)
        # Read against the first parent, as for removals: against the commit listed before it, a commit
        # of the main branch made while a pull request was open would seem to undo the request's changes.
        # A version csv could not read counts for nothing: the file is as it was before it.
        parent = self._last_readable(self.repo.first_parent(commit.hash))
        base = parent if previous is not None else None
        if record_versions and exists:
            read = self._read(base, commit.hash)
            whole = read is not None and read.removed is None
            # A large file's first version is read in a process of its own, while it is looked over here.
            self._reading = (
                bulk.start(self, commit.hash, BATCH) if whole and self._first_by_columns() else None
            )
            try:
                if whole and not self._well_formed(commit.hash):
                    self.unreadable.add(self.repo.blob(commit.hash, path) or "")
                    self.conn.execute(
                        "INSERT OR REPLACE INTO scanned_commits VALUES (?, ?)", [self.ns, commit.hash]
                    )
                    return False
                commit_id = self._commit_row(commit)
                if read is not None and read.header:
                    self._ensure_schema(read.header)
                    if read.removed is None:
                        written = self.empty and self._write_first(commit, commit_id)
                        on_change_batches = [] if written else self._write_whole(commit, commit_id)
                    else:
                        on_change_batches = [self._write_rows(commit, commit_id, read.added)]
                    for changes in on_change_batches:
                        on_change(changes)
            finally:
                bulk.stop(self._reading)
                self._reading = None
        # Removals: against the first parent, the way a reader of the commit sees it.
        if parent is None or commit.hash == self.point:
            gone: list[dict[str, str]] = []  # the start commit is the baseline: nothing it removed is listed
        elif not exists:
            gone = list(self._stream_rows(parent))
        elif base is not None and record_versions:
            gone = self._gone(read.removed, read.added) if read and read.removed is not None else None
            if gone is None:
                gone = self._gone_whole(parent, commit.hash)
        else:
            diff = self._read(parent, commit.hash)
            gone = (
                self._gone(diff.removed, diff.added)
                if diff and diff.removed is not None
                else self._gone_whole(parent, commit.hash)
            )
        self.conn.executemany(
            "INSERT OR REPLACE INTO removals VALUES (?, ?, ?, ?)",
            [
                (self.ns, self.table.record_key(r), commit.hash, json.dumps(r, ensure_ascii=False))
                for r in gone
            ],
        )
        self.conn.execute("INSERT OR REPLACE INTO scanned_commits VALUES (?, ?)", [self.ns, commit.hash])
        if gone:
            on_change(Change(self.table, self.table.record_key(r), None, commit.hash, r, r) for r in gone)
        return True

    def _last_readable(self, ref: str | None) -> str | None:
        """ref, or when csv could not read the file there, the last commit before it on its first-parent
        line whose version of the file it could read, or had no file (None: no such commit)."""
        while ref is not None and self.unreadable and self.repo.blob(ref, self.table.path) in self.unreadable:
            written = self.repo.last_change(ref, self.table.path)
            ref = self.repo.first_parent(written) if written else None
        return ref

    def _well_formed(self, ref: str) -> bool:
        """Whether no quote of the file at ref makes csv read many lines into one cell (`wellformed`): its
        records with a quote looked at first, and only when they leave a doubt the whole file read by
        csv's strict mode."""
        opener = self.repo.opener(ref, self.table.path)
        if opener is not None and wellformed.looks_well_formed(opener):
            return True
        proc, text = self._text(ref)
        try:
            return wellformed.reads_strictly(text)
        finally:
            proc.kill()
            proc.wait()

    def _commit_row(self, commit: Commit) -> int:
        self.conn.execute(
            "INSERT OR IGNORE INTO commits (namespace, hash, commit_at) VALUES (?, ?, ?)",
            [self.ns_id, commit.hash, commit.committed_at],
        )
        return self.conn.execute(
            "SELECT id FROM commits WHERE namespace = ? AND hash = ?", [self.ns_id, commit.hash]
        ).fetchone()[0]

    # -- reading a commit

    def _read(self, old: str | None, new: str) -> _Read | None:
        """The lines `new` changed against `old`, parsed; `removed` is None when the file must be read whole."""
        header = self._header_line(new)
        if header is None:
            keys, _ = self._stream(new)
            return _Read(keys, [], None) if keys else None
        keys, _ = typed.stream(self.table, [header])
        if old is None:
            return _Read(keys, [], None)
        lines = self.repo.changed_records(old, new, self.table.path)
        if lines is None:
            return _Read(keys, [], None)  # read whole: the header changed, or a quoted cell is never closed
        removed_text, added_text = lines
        # The quoted records it added, each read alone, end where they end: the file reads as rows, as
        # the version it is compared with did. Else it is read whole, and may not read so (`wellformed`).
        if not wellformed.read_alone((t for t in added_text if '"' in t), typed.dialect_of(header)):
            return _Read(keys, [], None)
        try:
            return _Read(keys, self._parse(header, added_text), self._parse(header, removed_text))
        except csv.Error:
            # Quotes typed inside cells (a"b on one line, c"d on another) pair up for the record
            # splitter, which then hands csv one "record" of two lines; the file read whole is csv's own.
            return _Read(keys, [], None)

    def _gone(self, removed: list[dict[str, str]], added: list[dict[str, str]]) -> list[dict[str, str]]:
        kept = {self.table.record_key(r) for r in added}
        gone, seen = [], set()
        for row in removed:
            key = self.table.record_key(row)
            if key not in kept and key not in seen:
                seen.add(key)
                gone.append(row)
        return gone

    def _gone_whole(self, parent: str, commit: str) -> list[dict[str, str]]:
        after = {self.table.record_key(r) for r in self._stream_rows(commit)}
        return [r for r in self._stream_rows(parent) if self.table.record_key(r) not in after]

    # -- writing versions

    def _write_whole(self, commit: Commit, commit_id: int) -> Iterator[list[Change]]:
        fresh = self.empty  # the table was empty before this commit: no row has a version yet
        batch: list[dict[str, str]] = []
        for row in self._stream_rows(commit.hash):
            batch.append(row)
            if len(batch) >= BATCH:
                yield self._write_rows(commit, commit_id, batch, unique=True, fresh=fresh)
                batch = []
        if batch:
            yield self._write_rows(commit, commit_id, batch, unique=True, fresh=fresh)

    def _first_by_columns(self) -> bool:
        """Whether the next version may be written by `_write_first`: the table is empty, and its
        changes are taken a batch of columns at a time."""
        return self.empty and self.on_first is not None and isinstance(self.mask, RowMasker)

    def _write_first(self, commit: Commit, commit_id: int) -> bool:
        """The rows of a file read whole into the empty table, written a batch of columns at a time
        (the rows, versions, changed columns and changes `_write_rows` would write, in its order).
        False, with nothing written, when the file's columns cannot be read so (`bulk.readable`)."""
        if not self._first_by_columns():
            return False
        ns = self.ns
        with bulk.read(self, commit.hash, BATCH, self._reading) as (names, read), bulk.no_collections():
            if read is None:
                return False
            fields = [c for c in self.item_columns if c not in RESERVED_SET]
            version_fields = [c for c in self._table_columns(f"{ns}_version") if c not in RESERVED_SET]
            every = set(names) == set(fields)  # a first version changes every column
            column_ids = [self.columns[c] for c in fields] if every else [self._column_id(c) for c in names]
            insert_item = (
                f"INSERT INTO [{ns}] ({', '.join(f'[{c}]' for c in ['_id', '_item_id', *fields, '_commit'])}) "
                f"VALUES ({', '.join('?' * (len(fields) + 3))})"
            )
            # A first version holds its item's cells: copied inside SQLite, with the hashes given.
            copied = ", ".join(f"i.[{c}]" if c in fields else "NULL" for c in version_fields)
            insert_version = (
                f"INSERT INTO [{ns}_version] "
                f"({', '.join(f'[{c}]' for c in ['_id', '_item', '_version', '_commit', *version_fields])}, "
                f"_item_full_hash) SELECT :version + h.key, i._id, 1, :commit, {copied}, h.value "
                f"FROM json_each(:full) h CROSS JOIN [{ns}] i ON i._id = :item + h.key ORDER BY h.key"
            )
            # An index filled row by row in the order of random hashes costs twice its building at the end.
            self.conn.execute(f'DROP INDEX IF EXISTS "idx_{ns}__item_id"')
            for batch in read:
                n = len(batch)
                first_item = self.conn.execute(f"SELECT coalesce(max(_id), 0) + 1 FROM [{ns}]").fetchone()[0]
                first = self.conn.execute(f"SELECT coalesce(max(_id), 0) + 1 FROM [{ns}_version]").fetchone()[
                    0
                ]
                items = range(first_item, first_item + n)
                vids = range(first, first + n)
                cells = batch.columns
                self.conn.executemany(
                    insert_item,
                    zip(
                        items,
                        batch.item_ids,
                        *(cells.get(c) or repeat(None) for c in fields),
                        repeat(commit_id),
                    ),
                )
                self.conn.execute(
                    insert_version,
                    {
                        "version": first,
                        "item": first_item,
                        "commit": commit_id,
                        "full": json.dumps(batch.full),
                    },
                )
                if every:
                    self.conn.execute(
                        f"INSERT INTO [{ns}_changed] (item_version, column) "
                        f"SELECT v.value, c.value FROM json_each(?) v, json_each(?) c",
                        [json.dumps(list(vids)), json.dumps(column_ids)],
                    )
                else:
                    self.conn.executemany(
                        f"INSERT INTO [{ns}_changed] (item_version, column) VALUES (?, ?)",
                        ((vid, c) for vid in vids for c in column_ids),
                    )
                self.empty = False
                self.on_first(self.table, commit.hash, batch)
            self.conn.execute(f'CREATE UNIQUE INDEX "idx_{ns}__item_id" ON [{ns}] ("_item_id")')
            return True

    def _write_rows(
        self,
        commit: Commit,
        commit_id: int,
        rows: list[dict[str, str]],
        *,
        unique: bool = False,
        fresh: bool = False,
    ) -> list[Change]:
        """New versions of the rows that differ from their last version; one Change per version."""
        ns = self.ns
        items: dict[str, dict[str, str]] = {}
        # Rows of one read share their columns: rename reserved ones only when there are any.
        reserved = any(reserved_with_suffix_re.match(k) for row in rows[:1] for k in row)
        for row in rows:
            item = fix_reserved_columns(row) if reserved else row
            item_id = _hash({k: item.get(k) for k in self.ids})
            if unique or item_id not in items:
                items.setdefault(item_id, item)
        previous = {} if fresh else self._previous(list(items))
        removed = self._removed_since(previous)
        fields = [c for c in self.item_columns if c not in RESERVED_SET]
        new_items, updates, versions, changes = [], [], [], []
        for item_id, item in items.items():
            full = _hash(item)
            before_row = previous.get(item_id)
            restored = item_id in removed
            if before_row is not None and before_row["_full"] == full and not restored:
                continue
            if before_row is None:
                new_items.append((item_id, *(item.get(c) for c in fields), commit_id))
                version, before, cols = 1, {}, list(item)
            else:
                before = {c: before_row[c] for c in fields if c in before_row}
                cols = [
                    c
                    for c in (item.keys() | before.keys())
                    if c not in RESERVED_SET and item.get(c) != before.get(c)
                ]
                version = before_row["_version"] + 1
                updates.append((*(item.get(c, before.get(c)) for c in fields), commit_id, before_row["_id"]))
            versions.append((item_id, version, item, cols, full))
            after = {**before, **{c: item.get(c) for c in cols}}
            changes.append(
                Change(self.table, self.table.record_key(item), version, commit.hash, before, after, restored)
            )
        if new_items:
            marks = ", ".join("?" * (len(fields) + 2))
            names = ", ".join(f"[{c}]" for c in ["_item_id", *fields, "_commit"])
            self.conn.executemany(f"INSERT INTO [{ns}] ({names}) VALUES ({marks})", new_items)
        if updates:
            sets = ", ".join(f"[{c}] = ?" for c in [*fields, "_commit"])
            self.conn.executemany(f"UPDATE [{ns}] SET {sets} WHERE _id = ?", updates)
        if versions:
            self._write_versions(commit_id, versions, fields)
        self.empty = self.empty and not versions
        return changes

    def _removed_since(self, previous: dict[str, dict[str, Any]]) -> set[str]:
        """The items of `previous` removed by a commit after their last version (put back now)."""
        if not previous:
            return set()
        gone: dict[str, list[int]] = {}
        for record_id, seq in self.conn.execute(
            "SELECT r.record_id, i.seq FROM removals r JOIN commit_info i ON i.hash = r.commit_hash "
            "WHERE r.namespace = ?",
            [self.ns],
        ):
            gone.setdefault(record_id, []).append(seq)
        if not gone:
            return set()
        seq_of = dict(
            self.conn.execute(
                "SELECT c.id, i.seq FROM commits c JOIN commit_info i ON i.hash = c.hash WHERE c.namespace = ?",
                [self.ns_id],
            )
        )
        out = set()
        for item_id, row in previous.items():
            last = seq_of.get(row["_commit"])
            seqs = gone.get(self.table.record_key(row), ())
            if last is not None and any(s > last for s in seqs):
                out.add(item_id)
        return out

    def _previous(self, item_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Each known item's row, its last version number and full hash."""
        found: dict[str, dict[str, Any]] = {}
        ns = self.ns
        for start in range(0, len(item_ids), 500):
            part = item_ids[start : start + 500]
            marks = ", ".join("?" * len(part))
            cur = self.conn.execute(
                f"SELECT i.*, (SELECT max(_version) FROM [{ns}_version] v WHERE v._item = i._id) AS _version, "
                f"(SELECT _item_full_hash FROM [{ns}_version] v WHERE v._item = i._id "
                f"ORDER BY _version DESC LIMIT 1) AS _full FROM [{ns}] i WHERE i._item_id IN ({marks})",
                part,
            )
            names = [d[0] for d in cur.description]
            for values in cur:
                row = dict(zip(names, values, strict=True))
                found[row["_item_id"]] = row
        return found

    def _write_versions(self, commit_id: int, versions: list[tuple], fields: list[str]) -> None:
        ns = self.ns
        version_fields = [c for c in self._table_columns(f"{ns}_version") if c not in RESERVED_SET]
        ids = dict(
            self.conn.execute(
                f"SELECT _item_id, _id FROM [{ns}] WHERE _item_id IN (SELECT value FROM json_each(?))",
                [json.dumps([v[0] for v in versions])],
            )
        )
        first = self.conn.execute(f"SELECT coalesce(max(_id), 0) + 1 FROM [{ns}_version]").fetchone()[0]
        names = ", ".join(f"[{c}]" for c in ["_id", "_item", "_version", "_commit", *version_fields])
        marks = ", ".join("?" * (len(version_fields) + 5))
        rows, changed_later, first_versions = [], [], []
        for n, (item_id, version, item, cols, full) in enumerate(versions):
            vid = first + n
            wanted = set(cols)
            rows.append(
                (
                    vid,
                    ids[item_id],
                    version,
                    commit_id,
                    *(item.get(c) if c in wanted else None for c in version_fields),
                    full,
                )
            )
            if version == 1 and set(cols) == set(fields):
                first_versions.append(vid)
            else:
                changed_later.extend((vid, self._column_id(c)) for c in cols)
        self.conn.executemany(f"INSERT INTO [{ns}_version] ({names}, _item_full_hash) VALUES ({marks})", rows)
        if first_versions:
            # Every column of a first version changed: one statement, in SQLite, for the whole batch.
            column_ids = [self.columns[c] for c in fields]
            self.conn.execute(
                f"INSERT INTO [{ns}_changed] (item_version, column) "
                f"SELECT v.value, c.value FROM json_each(?) v, json_each(?) c",
                [json.dumps(first_versions), json.dumps(column_ids)],
            )
        if changed_later:
            self.conn.executemany(
                f"INSERT INTO [{ns}_changed] (item_version, column) VALUES (?, ?)", changed_later
            )
