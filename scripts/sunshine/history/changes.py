"""The `changes` table of history.db: one readable row per added, modified or removed record per commit.

A build hands each new version and removal it writes (`versions.Change`) to `Changes.add`; the rows
wait in a temporary table and are numbered after the existing ones by `append`, in the order a full
derivation gives them: by commit, then table (in load order), then record. Only when a merge
renumbered recorded commits, a correction reason changed, or a grid or committee member moved to
another village (its earlier rows were placed by the old one) is the whole table derived again
from the recorded versions (`rederive`).

With `history.start`, the tables at the start point are the baseline: a record first recorded
after the start but already there at it is a change from its baseline row, or nothing.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import count, islice, repeat
from typing import Any

import sqlite_utils
from git_history.cli import _hash
from git_history.utils import fix_reserved_columns

from sunshine.history.bulk import Batch
from sunshine.history.schema import ADDED, CHANGES_COLUMNS, CHANGES_COLUMNS_TYPES, MODIFIED, REMOVED
from sunshine.history.versions import Change
from sunshine.package import KEY_SEPARATOR, Project, Table
from sunshine.shown import record_label, shown_value

_PENDING = "temp.pending_changes"
Rows = dict[str, dict[str, str]]  # rows of one table by record key
Key = tuple[int, int, str]  # the order of `changes`: commit (seq), table (load order), record key

# Tables whose rows are placed in a village through another table's row: the field naming that
# row, and the table holding it (staff are in a grid's village, commitments in a member's).
_PLACED_BY = {"grid_id": "grids", "member_id": "committee_members"}


class Changes:
    def __init__(
        self,
        project: Project,
        db: sqlite_utils.Database,
        commits: dict[str, dict[str, Any]],
        *,
        point: str | None = None,
        baseline: Callable[[Table], Rows] | None = None,
    ) -> None:
        self.project, self.db, self.commits = project, db, commits
        self.point = point
        self._baseline_of = baseline
        self._baselines: dict[str, Rows] = {}
        self.order = list(project.tables)
        self.village_of: dict[str, dict[str, str]] = {field: {} for field in _PLACED_BY}
        self.moved = False  # a grid or member changed village: earlier rows were placed by the old one
        names = [c for c in CHANGES_COLUMNS if c != "id"]
        db.execute(f"DROP TABLE IF EXISTS {_PENDING}")
        db.execute(f"CREATE TABLE {_PENDING} ({', '.join(names)}, _order INTEGER)")
        self.names = names
        self._arrived()

    def _arrived(self) -> None:
        """No row has arrived yet (`_arrive`, `_store`)."""
        self.waiting, self.in_order = 0, True  # rows arrived; whether the last ones go straight in
        self._batch: tuple[Key, Key, bool, int] | None = None  # the rows arriving: least, greatest key
        self._last: Key | None = None  # the greatest key written straight into `changes`
        self._least_waiting: Key | None = None  # the least key in the waiting table
        self._direct = False  # rows are in `changes` from id _start + 1 (_written of them)
        self._start = self._written = 0

    def _baseline(self, table: Table) -> Rows:
        if self._baseline_of is None:
            return {}
        if table.name not in self._baselines:
            self._baselines[table.name] = self._baseline_of(table)
        return self._baselines[table.name]

    def add(self, changes: Iterable[Change]) -> None:
        rows = []
        for c in changes:
            if c.commit_hash == self.point:
                continue  # the start point itself is the baseline, not a change
            event = self._event(c)
            if event is not None:
                rows.append(self._finish(event, c))
        keys = [(-1 if r["seq"] is None else r["seq"], r["_order"], r["record_id"]) for r in rows]
        if keys:
            self._arrive(min(keys), max(keys), all(map(operator.le, keys, islice(keys, 1, None))), len(keys))
            self._store([*(r[n] for n in self.names), r["_order"]] for r in rows)

    def _arrive(self, least: Key, greatest: Key, inside: bool, n: int) -> None:
        """Count rows arriving, and whether they can go straight into `changes` in the order `append`
        numbers them (by commit, table and record key): `inside`, in order among themselves, after
        every row written so far and before every row waiting."""
        self._batch = (least, greatest, inside, n)
        self.in_order = self._fits()
        self.waiting += n

    def _fits(self) -> bool:
        assert self._batch is not None
        least, greatest, inside, _ = self._batch
        return (
            inside
            and (self._last is None or self._last <= least)
            # A row with the key of a waiting row came after it, and is numbered after it.
            and (self._least_waiting is None or greatest < self._least_waiting)
        )

    def _store(self, rows: Iterable[Sequence[Any]]) -> None:
        """Rows that arrived (`_arrive`), each ending with its table's place in the load order.

        Rows that come in order go straight into `changes`, numbered as `append` would number them:
        a county's first build reads each file in the order of its keys, and a million rows are
        then written once, not waited and sorted. Rows out of order wait, and `append` sorts them
        after those written. The files are read table by table, each through all its commits, so
        the later commits of one table come before the first commit of the next: those few rows
        are taken back to wait, and the next table's first commit still goes straight in."""
        assert self._batch is not None
        least, greatest, _, n = self._batch
        db, names = self.db, ", ".join(self.names)
        if not self.in_order and self._last is not None and least < self._last:
            self._take_back(least)
            self.in_order = self._fits()
        if self.in_order:
            if not self._direct:
                if not db["changes"].exists():
                    db["changes"].create(CHANGES_COLUMNS_TYPES, pk="id")
                self._start = db.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
                self._direct = True
            marks = ", ".join("?" * (len(self.names) + 1))
            db.conn.executemany(
                f"INSERT INTO changes (id, {names}) VALUES ({marks})",
                (
                    (number, *row[:-1])
                    for number, row in zip(count(self._start + self._written + 1), rows, strict=False)
                ),
            )
            self._written += n
            self._last = greatest
            return
        marks = ", ".join("?" * (len(self.names) + 1))
        db.conn.executemany(f"INSERT INTO {_PENDING} VALUES ({marks})", rows)
        self._least_waiting = least if self._least_waiting is None else min(least, self._least_waiting)

    def _take_back(self, least: Key) -> None:
        """Move the rows written straight in with a key after `least` to the waiting table: they
        are the last ones written, in order."""
        db, names = self.db, ", ".join(self.names)
        places = " ".join(f"WHEN {_quote(name)} THEN {i}" for i, name in enumerate(self.order))
        key = f"coalesce(seq, -1), CASE table_name {places} END, record_id"
        found = db.execute(
            f"SELECT id, {key} FROM changes WHERE id > ? AND ({key}) <= (?, ?, ?) ORDER BY id DESC LIMIT 1",
            [self._start, *least],
        ).fetchone()
        kept = found[0] if found else self._start  # the last row that stays
        first = db.execute(f"SELECT {key} FROM changes WHERE id = ?", [kept + 1]).fetchone()
        if first is None:
            return
        db.execute(
            f"INSERT INTO {_PENDING} SELECT {names}, CASE table_name {places} END FROM changes "
            f"WHERE id > ? ORDER BY id",
            [kept],
        )
        db.execute("DELETE FROM changes WHERE id > ?", [kept])
        self._written = kept - self._start
        self._last = (found[1], found[2], found[3]) if found else None
        moved: Key = (first[0], first[1], first[2])
        self._least_waiting = moved if self._least_waiting is None else min(moved, self._least_waiting)

    def add_first(self, table: Table, commit_hash: str, batch: Batch) -> None:
        """`add` of the first versions of a batch of rows (each one a record added), column by column."""
        if commit_hash == self.point:
            return
        if self.point is not None:  # a record may be in the baseline: each is compared with it
            self.add(
                Change(table, key, 1, commit_hash, {}, row)
                for key, row in zip(batch.keys, batch.rows(), strict=True)
            )
            return
        n, cells = len(batch), batch.columns
        for field, parent in _PLACED_BY.items():  # `_place`
            if table.name == parent and field in cells:
                villages = cells.get("village_code") or repeat("")
                known = self.village_of[field]
                for value, village in zip(cells[field], villages, strict=False):
                    if value:
                        known[value] = village or ""
        labels = [v or "" for v in cells[table.label_field]] if table.label_field in cells else [""] * n
        if "village_code" in cells:
            villages = [v or "" for v in cells["village_code"]]
        else:  # placed through a grid or a committee member, as `_finish` does
            placed = [f for f in _PLACED_BY if f in cells]
            villages = (
                [
                    next((self._village(f, v) for f, v in zip(placed, values, strict=True) if v), "")
                    for values in zip(*(cells[f] for f in placed), strict=True)
                ]
                if placed
                else [""] * n
            )
        info = self.commits.get(commit_hash, {})
        committed_at = info.get("committed_at", "")
        constant = {
            "seq": info.get("seq"),
            "table_name": table.name,
            "table_title": table.title,
            "kind": ADDED,
            "version": 1,
            "commit_hash": commit_hash,
            "commit_short": commit_hash[:7],
            "committed_at": committed_at,
            "commit_date": (info.get("committed_at") or "")[:10],
            "commit_message": info.get("message", ""),
            "fields": "[]",
            "after_publication": 0,
            "reason": info.get("reason") or "",
        }
        varying = {"record_id": batch.keys, "label": labels, "village_code": villages, "summary": labels}
        columns = [varying[name] if name in varying else repeat(constant[name]) for name in self.names]
        place = self.order.index(table.name)
        seq = -1 if constant["seq"] is None else constant["seq"]
        ids = batch.keys
        inside = all(map(operator.le, ids, islice(ids, 1, None)))
        least, greatest = (ids[0], ids[-1]) if inside else (min(ids), max(ids))
        self._arrive((seq, place, least), (seq, place, greatest), inside, n)
        self._store(zip(*columns, repeat(place), strict=False))

    def _event(self, c: Change) -> dict[str, Any] | None:
        table = c.table
        if c.version is None:
            return _event(table, c.record_id, REMOVED, None, c.commit_hash, c.before, [])
        self._place(table, c)
        if c.restored:  # put back after a removal: added again, whatever it held before
            return _event(table, c.record_id, ADDED, c.version, c.commit_hash, c.after, [])
        kind, before = (ADDED, c.before) if c.version == 1 else (MODIFIED, c.before)
        if c.version == 1 and self.point is not None:
            base = self._baseline(table).get(c.record_id)
            if base is not None:  # first recorded after the start, but already there at it
                kind, before = MODIFIED, base
        fields = _modified_fields(table, before, c.after) if kind == MODIFIED else []
        if kind == MODIFIED and not fields:
            return None
        return _event(table, c.record_id, kind, c.version, c.commit_hash, c.after, fields)

    def _place(self, table: Table, c: Change) -> None:
        """Remember the village of each grid and committee member as its versions go by."""
        for field, parent in _PLACED_BY.items():
            if table.name == parent and c.after.get(field):
                village = c.after.get("village_code") or ""
                if c.version != 1 and (c.before.get("village_code") or "") != village:
                    self.moved = True
                self.village_of[field][c.after[field]] = village

    def _finish(self, e: dict[str, Any], c: Change) -> dict[str, Any]:
        info = self.commits.get(e["commit_hash"], {})
        e.update(
            seq=info.get("seq"),
            commit_short=e["commit_hash"][:7],
            committed_at=info.get("committed_at", ""),
            commit_date=(info.get("committed_at") or "")[:10],
            commit_message=info.get("message", ""),
            reason=info.get("reason") or "",
            _order=self.order.index(e["table_name"]),
        )
        placed_by = e.pop("_placed_by")
        if not e["village_code"] and placed_by:
            e["village_code"] = self._village(*placed_by)
        if e["after_publication"] and not _published_before(
            self.commits, self._added_in(c), e["commit_hash"]
        ):
            e["after_publication"] = 0
        return e

    def _village(self, field: str, value: str) -> str:
        known = self.village_of[field]
        parent = _PLACED_BY[field]
        if value not in known and self.db[parent].exists():
            found = self.db.execute(
                f"select village_code from [{parent}] where [{field}] = ?", [value]
            ).fetchone()
            known[value] = (found[0] or "") if found else ""
        return known.get(value, "")

    def _added_in(self, c: Change) -> str | None:
        """The commit that added the record; None when it was there before the public history starts."""
        table = c.table
        if self.point is not None and c.record_id in self._baseline(table):
            return None
        if c.version == 1:
            return c.commit_hash
        if not self.db[f"{table.name}_version"].exists():
            return None
        found = self.db.execute(
            f"select c.hash from [{table.name}_version] v join [{table.name}] i on i._id = v._item "
            f"join commits c on c.id = v._commit where i._item_id = ? and v._version = 1",
            [_item_id(table, c.record_id)],
        ).fetchone()
        return found[0] if found else None

    def rederive(self) -> None:
        """Every row of `changes` again from the recorded versions and removals."""
        db = self.db
        db["changes"].drop(ignore=True)
        db.execute(f"DELETE FROM {_PENDING}")
        self._arrived()
        for table in self.project.tables.values():
            removals = (
                list(db["removals"].rows_where("namespace = ?", [table.name]))
                if db["removals"].exists()
                else []
            )
            self.add(self._restored(table, removals))
            self.add(
                Change(table, r["record_id"], None, r["commit_hash"], json.loads(r["row"]), {})
                for r in removals
            )

    def _restored(self, table: Table, removals: list[dict[str, Any]]) -> Iterator[Change]:
        """The recorded versions of a table, each marked `restored` when a removal came between it
        and the version before it, as the versions' writer marks them."""
        seq = {h: info.get("seq") for h, info in self.commits.items()}
        gone: dict[str, list[int]] = {}
        for r in removals:
            if seq.get(r["commit_hash"]) is not None:
                gone.setdefault(r["record_id"], []).append(seq[r["commit_hash"]])
        last: dict[str, int | None] = {}
        for record_id, version, commit_hash, before, after in _versions(self.db, table):
            here, prior = seq.get(commit_hash), last.get(record_id)
            restored = (
                version > 1
                and here is not None
                and prior is not None
                and any(prior < s < here for s in gone.get(record_id, ()))
            )
            last[record_id] = here
            yield Change(table, record_id, version, commit_hash, before, after, restored)

    def append(self) -> None:
        """Number the waiting events after the existing rows and add them to `changes`."""
        db = self.db
        if not db["changes"].exists():
            db["changes"].create(CHANGES_COLUMNS_TYPES, pk="id")
        start = db.execute("select coalesce(max(id), 0) from changes").fetchone()[0]
        names = ", ".join(self.names)
        db.execute(
            f"insert into changes (id, {names}) select {start} + row_number() over "
            f"(order by coalesce(seq, -1), _order, record_id, rowid), {names} from {_PENDING}"
        )
        db.execute(f"DROP TABLE {_PENDING}")
        db["changes"].create_index(["table_name", "record_id"], if_not_exists=True)
        # A village's changes, newest first (its 变更记录 page and the village_corrections query).
        db["changes"].create_index(["village_code", "seq", "id"], if_not_exists=True)
        db["changes"].create_index(["after_publication"], if_not_exists=True)
        db["changes"].create_index(["kind"], if_not_exists=True)  # the deleted-records query; the counts
        # The newest changes first, of all tables and of one: what the site's 变更记录 pages list.
        db["changes"].create_index(["seq", "id"], if_not_exists=True)
        db["changes"].create_index(["table_name", "seq", "id"], if_not_exists=True)
        for table in self.project.tables.values():
            db.create_view(
                f"{table.name}_changes",
                f"select * from changes where table_name = '{table.name}' order by seq desc, id desc",
                replace=True,
            )


def counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Versions, removals and flagged corrections in `changes`, each from an index."""
    if not db["changes"].exists():
        return {"versions": 0, REMOVED: 0, "flagged_modified": 0, "flagged_removed": 0}
    total = db.execute("select count(*) from changes").fetchone()[0]
    removed = db.execute("select count(*) from changes where kind = ?", [REMOVED]).fetchone()[0]
    flagged_modified, flagged_removed = db.execute(
        "select count(*) filter (where kind = ?), count(*) filter (where kind = ?) "
        "from changes where after_publication = 1",
        [MODIFIED, REMOVED],
    ).fetchone()
    return {
        "versions": total - removed,
        REMOVED: removed,
        "flagged_modified": flagged_modified,
        "flagged_removed": flagged_removed,
    }


def _versions(
    db: sqlite_utils.Database, table: Table
) -> Iterator[tuple[str, int, str, dict[str, Any], dict[str, Any]]]:
    """(record id, version, commit hash, state before, state after) for every version recorded."""
    ns = table.name
    if not db[f"{ns}_version"].exists():
        return
    changed: dict[int, set[str]] = {}
    for vid, column in db.execute(
        f"select c.item_version, col.name from [{ns}_changed] c join columns col on col.id = c.column"
    ):
        changed.setdefault(vid, set()).add(column)
    state: dict[int, dict[str, Any]] = {}
    rows = db.query(
        f"select v.*, commits.hash as _hash from [{ns}_version] v "
        f"join commits on commits.id = v._commit order by v._item, v._version"
    )
    for row in rows:
        before = state.get(row["_item"], {})
        after = dict(before)
        for column in changed.get(row["_id"], ()):
            after[column] = row.get(column)
        state[row["_item"]] = after
        yield table.record_key(after), row["_version"], row["_hash"], before, after


def _item_id(table: Table, record_id: str) -> str:
    ids = fix_reserved_columns({k: 1 for k in table.primary_key})
    parts = record_id.split(KEY_SEPARATOR)
    return _hash(dict(zip(ids, parts, strict=False)))


def _modified_fields(table: Table, before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    titles = {f["name"]: f.get("title", f["name"]) for f in table.fields}
    return [
        {"field": f, "title": titles.get(f, f), "old": before.get(f), "new": after.get(f)}
        for f in _ordered(table, after)
        if (before.get(f) or "") != (after.get(f) or "")  # a column added empty changed nothing
    ]


def _published_before(commits: dict[str, dict[str, Any]], added: str | None, changed: str) -> bool:
    """Whether the record was on the main branch before `changed` reached it."""
    if added is None or added not in commits or changed not in commits:
        return True
    return commits[added]["published_seq"] < commits[changed]["published_seq"]


def _ordered(table: Table, row: dict[str, Any]) -> list[str]:
    names = table.field_names
    return names + sorted(k for k in row if k not in names and not k.startswith("_"))


def _event(
    table: Table, record_id: str, kind: str, version: int | None, commit_hash: str, row: dict, fields: list
) -> dict[str, Any]:
    flagged = (kind == MODIFIED and table.flags_modified) or (kind == REMOVED and table.flags_removed)
    summary = "；".join(f"{f['title']}：{shown_value(f['old'])} → {shown_value(f['new'])}" for f in fields)
    placed_by = next(
        ((field, row[field]) for field in _PLACED_BY if "village_code" not in row and row.get(field)), None
    )
    return {
        "table_name": table.name,
        "table_title": table.title,
        "record_id": record_id,
        "label": record_label(table, row),
        "village_code": row.get("village_code") or "",
        "_placed_by": placed_by,
        "kind": kind,
        "version": version,
        "commit_hash": commit_hash,
        "summary": summary or record_label(table, row),
        "fields": json.dumps(fields, ensure_ascii=False),
        "after_publication": int(flagged),
    }


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
