"""`build/history.db`: every version of every row of data/, with the commit, date and message that made it.

git-history records the versions (one namespace per table). On top of it this module keeps what
git-history does not: commit messages, rows deleted by a commit, and a `changes` table that reads
as a list of corrections (old → new per field), flagged when a published record was altered.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import warnings
from collections.abc import Iterator
from contextlib import closing, redirect_stdout
from pathlib import Path
from typing import Any

import click
import sqlite_utils

from sunshine import staging, typed
from sunshine.corrections import correction_reasons
from sunshine.history.gitrepo import Commit, GitRepo, NotARepository, UnknownStart, names_date, read_rows
from sunshine.history.schema import (
    ADDED,
    CHANGES_COLUMNS_TYPES,
    MODIFIED,
    REMOVED,
)
from sunshine.package import Project, Table
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
    staging.remove_stale(target)  # the copy a killed build was working on
    for legacy in target.parent.glob(".history-*.db"):  # the same, as earlier versions named it
        legacy.unlink(missing_ok=True)
    tmp = staging.temporary(target)
    tmp.unlink(missing_ok=True)
    try:
        if target.exists():
            shutil.copyfile(target, tmp)
            if not _intact(tmp):
                tmp.write_bytes(b"")  # a damaged history is rebuilt from the whole git history
        db = _connect(tmp)
        try:
            summary = _update(project, db)
            db.conn.commit()
        finally:
            db.close()
        if not _intact(tmp):
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


def _connect(path: Path) -> sqlite_utils.Database:
    """A connection for the private copy: no journal on disk and no fsync per statement.

    Safe because the copy is checked and synced before it replaces history.db, and thrown away on failure.
    """
    conn = sqlite3.connect(path)
    conn.execute("pragma synchronous = off")
    conn.execute("pragma journal_mode = memory")
    return sqlite_utils.Database(conn)


def _intact(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def _update(project: Project, db: sqlite_utils.Database) -> str:
    try:
        repo = GitRepo.find(project.root)
        if not repo.has_commits():
            raise _Empty("仓库还没有任何提交，没有可以记录的修改历史。")
        start = project.settings.history_start
        paths = [t.path for t in project.tables.values()]
        if not repo.commits(*paths, start=start):
            raise _Empty("还没有任何提交修改过 data/ 下的表格，没有可以记录的修改历史。")
    except UnknownStart as exc:
        raise BuildError(str(exc)) from exc
    except (NotARepository, _Empty) as exc:
        reason = f"{exc}没有可以记录的修改历史。" if isinstance(exc, NotARepository) else str(exc)
        _write_info(db, coverage=reason, shallow=False, first=None, head=None)
        _derive(project, db)
        return f"修改历史：{reason}"

    all_commits = repo.commits(start=start)
    _forget_rewritten_history(db, {c.hash for c in all_commits})
    _forget_unmasked(db)
    before = _recorded_commits(db)
    point = _start_point(repo, start, all_commits)
    for table in project.tables.values():
        _record_table(repo, table, db, start, point)
    _record_commit_info(db, repo.commits(*paths, start=start), repo.publication_positions())
    _record_reasons(db, repo)
    processed = len(_recorded_commits(db) - before)

    shallow = repo.is_shallow()
    first = all_commits[0]
    coverage = _coverage_text(shallow, first, start)
    _write_info(db, coverage=coverage, shallow=shallow, first=first, head=all_commits[-1])
    baseline = {name: _rows_at(repo, t, point) for name, t in project.tables.items()} if point else {}
    counts = _derive(project, db, point=point, baseline=baseline)
    summary = (
        f"修改历史 history.db：本次处理 {processed} 个新提交，共记录 {counts['versions']} 个行版本、"
        f"{counts[REMOVED]} 次删除；已公开记录被修改 {counts['flagged_modified']} 处、被删除 {counts['flagged_removed']} 行"
    )
    return f"{summary}。{coverage}" if shallow else summary


def _coverage_text(shallow: bool, first: Commit, start: str = "") -> str:
    if start:
        return f"公开的修改历史从提交 {first.short}（{first.date}）开始（sunshine.toml 的 history.start），更早的修改不公开。"
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


def _record_table(
    repo: GitRepo, table: Table, db: sqlite_utils.Database, start: str = "", point: str | None = None
) -> None:
    from git_history.cli import file as git_history_file

    commits = repo.commits(table.path, start=start)
    if not (repo.cwd / table.path).exists() or not commits:
        return  # git-history reads the file's history only while the file exists
    args = [
        "history.db",  # replaced by the open connection below
        str(repo.toplevel / repo.relative_to_toplevel(table.path)),
        "--repo",
        str(repo.toplevel),
        "--branch",
        "HEAD",
        "--namespace",
        table.name,
        "--import",
        "sunshine.history.build",
        "--convert",
        f"sunshine.history.build.convert(content, {table.name!r})",
        "--ignore-duplicate-ids",
        "--silent",
    ]
    for key in table.primary_key:
        args += ["--id", key]
    if start:
        # git-history skips the commits it has recorded; --start-at skips those before the start too.
        recorded = _namespace_commits(db, table.name)
        new = [c for c in commits if c.hash not in recorded]
        if not new:
            _record_removals(repo, table, db, start, point)
            return
        args += ["--start-at", new[0].hash]
    _CONVERTING[table.name] = table
    try:
        with redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # git-history's choice of GitPython backend
            with git_history_file.make_context("file", args) as ctx:
                ctx.params["database"] = db.conn
                ctx.invoke(git_history_file.callback, **ctx.params)
    except click.ClickException as exc:
        raise BuildError(f"无法读取 {table.path} 的修改历史：{exc.format_message()}") from exc
    _record_removals(repo, table, db, start, point)


def _namespace_commits(db: sqlite_utils.Database, name: str) -> set[str]:
    if not (db["namespaces"].exists() and db["commits"].exists()):
        return set()
    sql = "select hash from commits join namespaces on commits.namespace = namespaces.id where namespaces.name = ?"
    return {row[0] for row in db.execute(sql, [name]).fetchall()}


# The tables git-history is reading, for `convert` (it names the table it is called for).
_CONVERTING: dict[str, Table] = {}


def convert(content: bytes, table_name: str) -> list[dict[str, str]]:
    """git-history's --convert: rows of one version of a CSV, masked, keyed by the Table Schema."""
    return _version_rows(content, _CONVERTING[table_name])


def _version_rows(content: bytes, table: Table) -> list[dict[str, str]]:
    """Rows of one committed version of a CSV; rows without a key are left out.

    Cells are compared as their canonical text (sunshine.typed), so a re-save by Excel is no change.
    Every cell of every column is masked, keys and column names included: an old version never
    passed validation, and an ID number may stand in any column (pushed there by an unquoted comma).
    """
    try:
        rows = typed.canonical_rows(table, content)
    except typed.Unreadable:
        _, rows = read_rows(content.decode("utf-8", "replace"))
    columns = Columns.of(table.fields)
    return [mask_row(row, columns) for row in rows if all(row.get(k) for k in table.primary_key)]


def _key(table: Table, row: dict[str, Any]) -> str:
    return table.record_key(row)


def _record_removals(
    repo: GitRepo, table: Table, db: sqlite_utils.Database, start: str = "", point: str | None = None
) -> None:
    """Rows present before a commit and absent after it; git-history records additions and changes only."""
    scanned = db["scanned_commits"]
    seen = (
        {r["hash"] for r in scanned.rows_where("namespace = ?", [table.name])} if scanned.exists() else set()
    )
    previous_hash, previous_rows = None, None
    commits = repo.commits(table.path, start=start)
    first = commits[0].hash if start and commits else None
    for commit in commits:
        if commit.hash in seen:
            continue
        parent = repo.first_parent(commit.hash)
        if parent is None or commit.hash == point:
            before: dict[str, dict] = {}  # the start commit is the baseline: nothing it removed is listed
        elif commit.hash == first:
            before = _rows_at(repo, table, point) if point else {}
        elif parent == previous_hash and previous_rows is not None:
            before = previous_rows
        else:
            before = _rows_at(repo, table, parent)
        after = _rows_at(repo, table, commit.hash)
        gone = [
            {
                "namespace": table.name,
                "record_id": key,
                "commit_hash": commit.hash,
                "row": json.dumps(row, ensure_ascii=False),
            }
            for key, row in before.items()
            if key not in after
        ]
        db["removals"].insert_all(gone, pk=("namespace", "record_id", "commit_hash"), replace=True)
        scanned.insert({"namespace": table.name, "hash": commit.hash}, pk=("namespace", "hash"), replace=True)
        previous_hash, previous_rows = commit.hash, after


def _rows_at(repo: GitRepo, table: Table, ref: str) -> dict[str, dict[str, str]]:
    data = repo.show(ref, table.path)
    if data is None:
        return {}
    return {_key(table, row): row for row in _version_rows(data, table)}


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


def _record_reasons(db: sqlite_utils.Database, repo: GitRepo) -> None:
    """`reason` of each commit: its own 更正原因 line, else that of the merge that published it."""
    messages = {}
    for record in repo.text("log", "--format=%H%x1f%B%x1e", "HEAD").split("\x1e"):
        if "\x1f" in record:
            hash_, body = record.strip("\n").split("\x1f", 1)
            messages[hash_] = "；".join(correction_reasons(body))
    line = repo.text("rev-list", "--first-parent", "--reverse", "HEAD").split()
    positions = repo.publication_positions()
    for row in list(db["commit_info"].rows):
        own = messages.get(row["hash"], "")
        at = positions.get(row["hash"])
        merged = messages.get(line[at], "") if at is not None and at < len(line) else ""
        db["commit_info"].update(row["hash"], {"reason": own or merged}, alter=True)


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
    """(record id, version, commit hash, state before, state after) for every version git-history recorded."""
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


def _start_point(repo: GitRepo, start: str, public: list[Commit]) -> str | None:
    """The commit whose tables are the public history's starting point: the history.start commit
    itself (listed as no change), or for a date the commit before the first one on that day."""
    if not start or not public:
        return None
    if not names_date(start):
        return repo.resolve(start)
    return repo.first_parent(public[0].hash)


def _derive(
    project: Project,
    db: sqlite_utils.Database,
    point: str | None = None,
    baseline: dict[str, dict[str, dict[str, str]]] | None = None,
) -> dict[str, int]:
    """(Re)write `changes`: one row per added, modified or removed record per commit."""
    commits = {r["hash"]: r for r in db["commit_info"].rows} if db["commit_info"].exists() else {}
    events: list[dict[str, Any]] = []
    grid_village: dict[str, str] = {}
    member_village: dict[str, str] = {}  # a commitment belongs to its member's village
    added_in: dict[tuple[str, str], str] = {}
    counts = {"versions": 0, REMOVED: 0, "flagged_modified": 0, "flagged_removed": 0}
    for table in project.tables.values():
        titles = _field_titles(table)
        base = (baseline or {}).get(table.name, {})
        for record_id, version, commit_hash, before, after in _versions(db, table):
            counts["versions"] += 1
            kind = ADDED if version == 1 else MODIFIED
            inherited = version == 1 and record_id in base and commit_hash != point
            if inherited:  # first recorded after the start, but already there at it: a change, or none
                before, kind = base[record_id], MODIFIED
            fields = [
                {"field": f, "title": titles.get(f, f), "old": before.get(f), "new": after.get(f)}
                for f in _ordered(table, after)
                if kind == MODIFIED and before.get(f) != after.get(f)
            ]
            if not inherited or fields:
                events.append(_event(table, record_id, kind, version, commit_hash, after, fields))
            if version == 1 and not inherited:
                added_in[(table.name, record_id)] = commit_hash
            if table.name == "grids" and after.get("grid_id"):
                grid_village[after["grid_id"]] = after.get("village_code") or ""
            if table.name == "committee_members" and after.get("member_id"):
                member_village[after["member_id"]] = after.get("village_code") or ""
        if db["removals"].exists():
            for r in db["removals"].rows_where("namespace = ?", [table.name]):
                row = json.loads(r["row"])
                counts[REMOVED] += 1
                events.append(_event(table, r["record_id"], REMOVED, None, r["commit_hash"], row, []))
    if point:
        events = [e for e in events if e["commit_hash"] != point]
    for e in events:
        info = commits.get(e["commit_hash"], {})
        e.update(
            seq=info.get("seq"),
            commit_short=e["commit_hash"][:7],
            committed_at=info.get("committed_at", ""),
            commit_date=(info.get("committed_at") or "")[:10],
            commit_message=info.get("message", ""),
            reason=info.get("reason") or "",
        )
        if not e["village_code"] and e.pop("_grid", None):
            e["village_code"] = grid_village.get(e["_grid_id"], "")
        if not e["village_code"] and e["_member_id"]:
            e["village_code"] = member_village.get(e["_member_id"], "")
        e.pop("_member_id", None)
        e.pop("_grid", None)
        e.pop("_grid_id", None)
        if e["after_publication"] and not _published_before(
            commits, added_in.get((e["table_name"], e["record_id"])), e["commit_hash"]
        ):
            e["after_publication"] = 0
        counts["flagged_modified"] += e["after_publication"] and e["kind"] == MODIFIED
        counts["flagged_removed"] += e["after_publication"] and e["kind"] == REMOVED
    order = list(project.tables)
    events.sort(
        key=lambda e: (
            e["seq"] if e["seq"] is not None else -1,
            order.index(e["table_name"]),
            e["record_id"],
        )
    )
    db["changes"].drop(ignore=True)
    db["changes"].create(CHANGES_COLUMNS_TYPES, pk="id")
    db["changes"].insert_all(({"id": i, **e} for i, e in enumerate(events, 1)), batch_size=1000)
    db["changes"].create_index(["table_name", "record_id"], if_not_exists=True)
    db["changes"].create_index(["village_code"], if_not_exists=True)
    db["changes"].create_index(["after_publication"], if_not_exists=True)
    for table in project.tables.values():
        db.create_view(
            f"{table.name}_changes",
            f"select * from changes where table_name = '{table.name}' order by seq desc, id desc",
            replace=True,
        )
    return counts


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
        "_member_id": row.get("member_id") if "village_code" not in row else "",
        "kind": kind,
        "version": version,
        "commit_hash": commit_hash,
        "summary": summary or record_label(table, row),
        "fields": json.dumps(fields, ensure_ascii=False),
        "after_publication": int(flagged),
    }
