"""`build/history.db`: every version of every row of data/, with the commit, date and message that made it.

git-history records the versions (one namespace per table). On top of it this module keeps what
git-history does not: commit messages, rows deleted by a commit, and a `changes` table that reads
as a list of corrections (old → new per field), flagged when a published record was altered.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import sqlite_utils
from git_history.cli import _hash
from git_history.utils import fix_reserved_columns

from sunshine.history.gitrepo import Commit, GitRepo, NotARepository
from sunshine.history.schema import (
    ADDED,
    CHANGES_COLUMNS,
    CHANGES_COLUMNS_TYPES,
    MODIFIED,
    REMOVED,
)
from sunshine.history.versions import Change, Writer
from sunshine.history.versions import key_of as _key
from sunshine.package import KEY_SEPARATOR, Project, Table
from sunshine.privacy import VERSION as MASKING
from sunshine.privacy import Columns, mask, mask_row
from sunshine.problems import BuildError
from sunshine.shown import record_label, shown_value


class _Empty(Exception):
    """Nothing to historicise; the message says why."""


# ---------------------------------------------------------------- build


def build_history(project: Project, target: Path) -> str:
    """Bring build/history.db up to date with the commits of data/; return a one-line Chinese summary.

    The previous database is copied, updated, checked and swapped in, so an interrupted build
    leaves the last good one. Commits already recorded are not processed again.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".history-", suffix=".db", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        # One check, after the update: a copy that was already damaged fails it (or the update),
        # and the history is then rebuilt from the whole git history.
        copied = target.exists()
        if copied:
            shutil.copyfile(target, tmp)
        try:
            summary = _update_file(project, tmp)
            damaged = not _intact(tmp)
        except sqlite3.DatabaseError:
            if not copied:
                raise
            damaged = True
        if damaged and copied:
            tmp.write_bytes(b"")
            summary = _update_file(project, tmp)
            damaged = not _intact(tmp)
        if damaged:
            raise BuildError("修改历史数据库完整性检查未通过，未替换上一次的 history.db。")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, target)
        return summary
    except (OSError, sqlite3.Error) as exc:
        raise BuildError(f"无法写入修改历史 {target}：{exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _update_file(project: Project, path: Path) -> str:
    db = _connect(path)
    try:
        summary = _update(project, db)
        db.conn.commit()
    finally:
        db.close()
    return summary


def _connect(path: Path) -> sqlite_utils.Database:
    """A connection for the private copy: no journal on disk and no fsync per statement.

    Safe because the copy is checked and synced before it replaces history.db, and thrown away on failure.
    """
    conn = sqlite3.connect(path)
    conn.execute("pragma synchronous = off")
    conn.execute("pragma journal_mode = memory")
    # 100 MB of page cache: a county's first build writes millions of index entries.
    conn.execute("pragma cache_size = -100000")
    return sqlite_utils.Database(conn)


def _intact(path: Path) -> bool:
    """quick_check: every page and record well formed; it skips matching each index entry to its row,
    which integrity_check does at many seconds a million rows, for damage SQLite itself never makes."""
    try:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute("pragma quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def _update(project: Project, db: sqlite_utils.Database) -> str:
    try:
        repo = GitRepo.find(project.root)
        if not repo.has_commits():
            raise _Empty("仓库还没有任何提交，没有可以记录的修改历史。")
        paths = [t.path for t in project.tables.values()]
        if not repo.commits(*paths):
            raise _Empty("还没有任何提交修改过 data/ 下的表格，没有可以记录的修改历史。")
    except (NotARepository, _Empty) as exc:
        reason = f"{exc}没有可以记录的修改历史。" if isinstance(exc, NotARepository) else str(exc)
        _write_info(db, coverage=reason, shallow=False, first=None, head=None)
        _Changes(project, db, {}).append()
        return f"修改历史：{reason}"

    all_commits = repo.commits()
    _forget_rewritten_history(db, {c.hash for c in all_commits})
    _forget_unmasked(db)
    before = _recorded_commits(db)
    known = _commit_info(db)
    _record_commit_info(db, repo.commits(*paths), repo.publication_positions())
    commits = _commit_info(db)
    # Existing rows of `changes` stay as they are unless a merge renumbered the commits they name.
    again = _renumbered(known, commits) or (bool(before) and not db["changes"].exists())
    changes = _Changes(project, db, commits)
    for table in project.tables.values():
        if (repo.cwd / table.path).exists() and repo.commits(table.path):
            Writer(db.conn, repo, table, _masker(table)).run(changes.add)
    if again or changes.grid_moved:
        _rederive(project, db, changes)
    changes.append()
    processed = len(_recorded_commits(db) - before)

    shallow = repo.is_shallow()
    first = all_commits[0]
    coverage = _coverage_text(shallow, first)
    _write_info(db, coverage=coverage, shallow=shallow, first=first, head=all_commits[-1])
    counts = _counts(db)
    summary = (
        f"修改历史 history.db：本次处理 {processed} 个新提交，共记录 {counts['versions']} 个行版本、"
        f"{counts[REMOVED]} 次删除；已公开记录被修改 {counts['flagged_modified']} 处、被删除 {counts['flagged_removed']} 行"
    )
    return f"{summary}。{coverage}" if shallow else summary


def _masker(table: Table) -> Callable[[dict[str, str]], dict[str, Any]]:
    """Every cell of every column masked, keys and column names included: an old version never
    passed validation, and an ID number may stand in any column (pushed there by an unquoted comma)."""
    columns = Columns.of(table.fields)
    return lambda row: mask_row(row, columns)


def _commit_info(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {r["hash"]: r for r in db["commit_info"].rows} if db["commit_info"].exists() else {}


def _renumbered(known: dict[str, dict[str, Any]], commits: dict[str, dict[str, Any]]) -> bool:
    return any(
        (info["seq"], info["published_seq"]) != (commits[h]["seq"], commits[h]["published_seq"])
        for h, info in known.items()
        if h in commits
    )


def _coverage_text(shallow: bool, first: Commit) -> str:
    if shallow:
        return (
            f"注意：这是浅克隆，只能看到从提交 {first.short}（{first.date}）开始的历史，"
            "更早的修改没有记录，该提交中的行都显示为“新增”。"
        )
    return f"历史完整：从第一个提交 {first.short}（{first.date}）开始。"


def _recorded_commits(db: sqlite_utils.Database) -> set[str]:
    if not db["commits"].exists():
        return set()
    return {r[0] for r in db.execute("select distinct hash from commits").fetchall()}


def _forget_rewritten_history(db: sqlite_utils.Database, reachable: set[str]) -> None:
    """Start over when recorded commits are no longer in HEAD's history (rewritten, or another repository)."""
    if _recorded_commits(db) <= reachable:
        return
    for view in db.view_names():
        db[view].drop()
    for table in db.table_names():
        db[table].drop(ignore=True)


def _forget_unmasked(db: sqlite_utils.Database) -> None:
    """Start over when the history was recorded by a version that masked less than this one does."""
    info = db["history_info"]
    if not info.exists():
        return
    row = db.execute("select value from history_info where key = 'masking'").fetchone()
    if row is None or row[0] != MASKING:
        _forget_rewritten_history(db, set())


def _record_commit_info(db: sqlite_utils.Database, commits: list[Commit], positions: dict[str, int]) -> None:
    """Commits of data/ in order, with `published_seq`: when the commit reached HEAD's first-parent line
    (the main branch), so that corrections made inside one pull request are not flagged as corrections
    of published records."""
    db["commit_info"].insert_all(
        (
            {
                "hash": c.hash,
                "seq": seq,
                "published_seq": positions.get(c.hash, seq),
                "short": c.short,
                "committed_at": c.committed_at,
                "message": mask(c.subject),
            }
            for seq, c in enumerate(commits)
        ),
        pk="hash",
        replace=True,
        alter=True,
    )


def _write_info(
    db: sqlite_utils.Database, *, coverage: str, shallow: bool, first: Commit | None, head: Commit | None
) -> None:
    db["history_info"].insert_all(
        [
            {"key": "coverage", "value": coverage},
            {"key": "shallow", "value": "1" if shallow else "0"},
            {"key": "first_commit", "value": first.hash if first else ""},
            {"key": "first_commit_at", "value": first.committed_at if first else ""},
            {"key": "head_commit", "value": head.hash if head else ""},
            {"key": "head_commit_at", "value": head.committed_at if head else ""},
            {"key": "masking", "value": MASKING},
        ],
        pk="key",
        replace=True,
    )


# ---------------------------------------------------------------- derived, readable tables


def _field_titles(table: Table) -> dict[str, str]:
    return {f["name"]: f.get("title", f["name"]) for f in table.fields}


def _versions(
    db: sqlite_utils.Database, table: Table
) -> Iterator[tuple[str, int, str, dict[str, Any], dict[str, Any]]]:
    """(record id, version, commit hash, state before, state after) for every version recorded.

    Only for a full re-derivation; a build hands the versions it writes straight to `_Changes`."""
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
        yield _key(table, after), row["_version"], row["_hash"], before, after


def _modified_fields(table: Table, before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    titles = _field_titles(table)
    return [
        {"field": f, "title": titles.get(f, f), "old": before.get(f), "new": after.get(f)}
        for f in _ordered(table, after)
        if before.get(f) != after.get(f)
    ]


_PENDING = "temp.pending_changes"


class _Changes:
    """Rows of `changes` for the versions and removals a build writes, appended in the order a full
    derivation gives them: by commit, then table, then record. Events wait in a temporary table
    (a county's first build makes a million) and are numbered after the existing rows at the end."""

    def __init__(
        self, project: Project, db: sqlite_utils.Database, commits: dict[str, dict[str, Any]]
    ) -> None:
        self.project, self.db, self.commits = project, db, commits
        self.order = list(project.tables)
        self.grid_village: dict[str, str] = {}
        self.grid_moved = False
        names = [c for c in CHANGES_COLUMNS if c != "id"]
        db.execute(f"DROP TABLE IF EXISTS {_PENDING}")
        db.execute(f"CREATE TABLE {_PENDING} ({', '.join(names)}, _order INTEGER)")
        self.names = names

    def add(self, changes: Iterable[Change]) -> None:
        rows = []
        for c in changes:
            table = c.table
            if c.version is None:
                event = _event(table, c.record_id, REMOVED, None, c.commit_hash, c.before, [])
            else:
                kind = ADDED if c.version == 1 else MODIFIED
                fields = _modified_fields(table, c.before, c.after) if kind == MODIFIED else []
                event = _event(table, c.record_id, kind, c.version, c.commit_hash, c.after, fields)
                if table.name == "grids" and c.after.get("grid_id"):
                    if kind == MODIFIED and c.before.get("village_code") != c.after.get("village_code"):
                        self.grid_moved = True  # earlier staff rows were placed by the old village
                    self.grid_village[c.after["grid_id"]] = c.after.get("village_code") or ""
            rows.append(self._finish(event))
        marks = ", ".join("?" * (len(self.names) + 1))
        self.db.conn.executemany(
            f"INSERT INTO {_PENDING} VALUES ({marks})",
            ([r[n] for n in self.names] + [r["_order"]] for r in rows),
        )

    def _finish(self, e: dict[str, Any]) -> dict[str, Any]:
        info = self.commits.get(e["commit_hash"], {})
        e.update(
            seq=info.get("seq"),
            commit_short=e["commit_hash"][:7],
            committed_at=info.get("committed_at", ""),
            commit_date=(info.get("committed_at") or "")[:10],
            commit_message=info.get("message", ""),
            _order=self.order.index(e["table_name"]),
        )
        if not e["village_code"] and e.pop("_grid", None):
            e["village_code"] = self._village_of_grid(e["_grid_id"])
        e.pop("_grid", None)
        e.pop("_grid_id", None)
        if e["after_publication"] and not _published_before(
            self.commits, self._added_in(e["table_name"], e["record_id"]), e["commit_hash"]
        ):
            e["after_publication"] = 0
        return e

    def _village_of_grid(self, grid_id: str) -> str:
        if grid_id not in self.grid_village and self.db["grids"].exists():
            found = self.db.execute("select village_code from grids where grid_id = ?", [grid_id]).fetchone()
            self.grid_village[grid_id] = (found[0] or "") if found else ""
        return self.grid_village.get(grid_id, "")

    def _added_in(self, table_name: str, record_id: str) -> str | None:
        """The commit that recorded the record's first version."""
        table = self.project.tables[table_name]
        if not self.db[f"{table_name}_version"].exists():
            return None
        item_id = _item_id(table, record_id)
        found = self.db.execute(
            f"select c.hash from [{table_name}_version] v join [{table_name}] i on i._id = v._item "
            f"join commits c on c.id = v._commit where i._item_id = ? and v._version = 1",
            [item_id],
        ).fetchone()
        return found[0] if found else None

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
        db["changes"].create_index(["village_code"], if_not_exists=True)
        db["changes"].create_index(["after_publication"], if_not_exists=True)
        db["changes"].create_index(["kind"], if_not_exists=True)  # the deleted-records query; the counts
        for table in self.project.tables.values():
            db.create_view(
                f"{table.name}_changes",
                f"select * from changes where table_name = '{table.name}' order by seq desc, id desc",
                replace=True,
            )


def _item_id(table: Table, record_id: str) -> str:
    ids = fix_reserved_columns({k: 1 for k in table.primary_key})
    parts = record_id.split(KEY_SEPARATOR)
    return _hash(dict(zip(ids, parts, strict=False)))


def _rederive(project: Project, db: sqlite_utils.Database, changes: _Changes) -> None:
    """Every row of `changes` again from the recorded versions and removals."""
    db["changes"].drop(ignore=True)
    db.execute(f"DELETE FROM {_PENDING}")
    for table in project.tables.values():
        changes.add(
            Change(table, record_id, version, commit_hash, before, after)
            for record_id, version, commit_hash, before, after in _versions(db, table)
        )
        if db["removals"].exists():
            changes.add(
                Change(table, r["record_id"], None, r["commit_hash"], json.loads(r["row"]), {})
                for r in db["removals"].rows_where("namespace = ?", [table.name])
            )


def _counts(db: sqlite_utils.Database) -> dict[str, int]:
    if not db["changes"].exists():
        return {"versions": 0, REMOVED: 0, "flagged_modified": 0, "flagged_removed": 0}
    # Each count from an index or a small table: a county's history has millions of rows.
    total = db.execute("select count(*) from changes").fetchone()[0]
    removed = db.execute("select count(*) from changes where kind = ?", [REMOVED]).fetchone()[0]
    flagged_modified, flagged_removed = db.execute(
        "select count(*) filter (where kind = ?), count(*) filter (where kind = ?) "
        "from changes where after_publication = 1",
        [MODIFIED, REMOVED],
    ).fetchone()
    versions = total - removed
    return {
        "versions": versions,
        REMOVED: removed,
        "flagged_modified": flagged_modified,
        "flagged_removed": flagged_removed,
    }


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
    return {
        "table_name": table.name,
        "table_title": table.title,
        "record_id": record_id,
        "label": record_label(table, row),
        "village_code": row.get("village_code") or "",
        "_grid": "village_code" not in row and bool(row.get("grid_id")),
        "_grid_id": row.get("grid_id") or "",
        "kind": kind,
        "version": version,
        "commit_hash": commit_hash,
        "summary": summary or record_label(table, row),
        "fields": json.dumps(fields, ensure_ascii=False),
        "after_publication": int(flagged),
    }
