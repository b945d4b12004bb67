"""`build/history.db`: every version of every row of data/, with the commit, date and message that made it.

git-history records the versions (one namespace per table). On top of it this module keeps what
git-history does not: commit messages, rows deleted by a commit, and a `changes` table that reads
as a list of corrections (old → new per field), flagged when a published record was altered.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from sunshine import staging
from sunshine.corrections import correction_reasons
from sunshine.history import changes as changes_table
from sunshine.history.changes import Changes
from sunshine.history.gitrepo import Commit, GitRepo, NotARepository, UnknownStart, names_date
from sunshine.history.schema import REMOVED
from sunshine.history.versions import Reader, Writer
from sunshine.package import Project, Table
from sunshine.privacy import VERSION as MASKING
from sunshine.privacy import Columns, RowMasker, mask
from sunshine.problems import BuildError

# Bump when versions or changes are read differently from the commits: a history recorded by an
# earlier rule is recorded again, once, from the whole git history.
RECORDING = "4"  # 4: a version of a file csv cannot read records nothing (history/wellformed.py)


DAMAGE = ("SQLITE_CORRUPT", "SQLITE_NOTADB")  # what a damaged file gives, as SQLite names it


class _Empty(Exception):
    """Nothing to historicise; the message says why."""


# ---------------------------------------------------------------- build


def build_history(project: Project, target: Path, keeper: staging.Keeper | None = None) -> str:
    """Bring build/history.db up to date with the commits of data/; return a one-line Chinese summary.

    Commits already recorded are not processed again. The update is one SQLite transaction in
    history.db itself when nothing else holds the file, else on a copy that is checked and
    renamed into place. Either way an interrupted build leaves the last good history. With a
    `keeper`, the transaction in place is left open for it, and the copy is renamed into place
    only once the keeper has kept the last history aside.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging.remove_stale(target)  # the copy a killed build was working on
    for legacy in target.parent.glob(".history-*.db"):  # the same, as earlier versions named it
        legacy.unlink(missing_ok=True)
    try:
        staging.roll_back_interrupted(target)  # else a copy would take a killed update's pages
        if target.exists() and not staging.held_elsewhere(target):
            try:
                return _update_in_place(project, target, keeper)
            except sqlite3.DatabaseError as exc:
                if getattr(exc, "sqlite_errorname", "") not in DAMAGE:
                    raise
                # damaged: the copy below is checked, and recorded again from git if need be
        return _update_copy(project, target, keeper)
    except (OSError, sqlite3.Error) as exc:
        raise BuildError(f"无法写入修改历史 {target}：{exc}") from exc


def _update_in_place(project: Project, target: Path, keeper: staging.Keeper | None) -> str:
    """One transaction with a rollback journal: SQLite either writes all of it or, when the build
    is killed, rolls it back the next time the file is opened. No whole-file check is repeated
    here: every page written is SQLite's own, in that one transaction, and the copy path and the
    first build check the whole file. With a keeper the transaction stays open, for the keeper to
    commit (the site stage reads the changes through it: check_same_thread off)."""
    conn: sqlite3.Connection | None = sqlite3.connect(
        target, isolation_level=None, check_same_thread=keeper is None
    )
    try:
        conn.execute("pragma journal_mode = delete")
        conn.execute("pragma synchronous = full")
        conn.execute("pragma cache_size = -100000")  # the changed pages stay in memory until COMMIT
        with _one_transaction(conn, commit=keeper is None):
            summary = _update(project, sqlite_utils.Database(conn))
        if keeper is not None:
            keeper.hold(target, conn)
            conn = None
        return summary
    finally:
        if conn is not None:
            conn.close()


def _update_copy(project: Project, target: Path, keeper: staging.Keeper | None = None) -> str:
    """The update on a copy, checked, synced and renamed into place."""
    tmp = staging.temporary(target)
    tmp.unlink(missing_ok=True)
    try:
        # One check, after the update: a copy that was already damaged fails it (or the update),
        # and the history is then rebuilt from the whole git history. A history built from nothing
        # is not checked again, as an update in place is not: every page of it is SQLite's own,
        # written in one transaction (for a county, quick_check would read 2 GB for 4 seconds).
        copied = target.exists()
        if copied:
            shutil.copyfile(target, tmp)
        try:
            summary = _update_file(project, tmp)
            damaged = copied and not _intact(tmp)
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
        if keeper is not None:
            keeper.replacing(target)
        os.replace(tmp, target)
        return summary
    finally:
        tmp.unlink(missing_ok=True)


def _update_file(project: Project, path: Path) -> str:
    """The update on the private copy: no journal on disk and no fsync per statement, safe because
    the copy is checked and synced before it replaces history.db, and thrown away on failure."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("pragma synchronous = off")
        conn.execute("pragma journal_mode = memory")
        # 100 MB of page cache: a county's first build writes millions of index entries.
        conn.execute("pragma cache_size = -100000")
        with _one_transaction(conn):
            return _update(project, sqlite_utils.Database(conn))
    finally:
        conn.close()


@contextmanager
def _one_transaction(conn: sqlite3.Connection, *, commit: bool = True) -> Iterator[None]:
    """BEGIN, then COMMIT only at the end (ROLLBACK on any error; without `commit`, left open). A
    statement in between that would end the transaction early (a COMMIT by a helper library, for
    one) is refused by SQLite."""
    conn.execute("BEGIN IMMEDIATE")
    conn.set_authorizer(staging.no_transaction_control)
    try:
        yield
    except BaseException:
        conn.set_authorizer(None)
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.set_authorizer(None)
    if commit:
        conn.execute("COMMIT")


def _intact(path: Path) -> bool:
    """quick_check: every page and record well formed; it skips matching each index entry to its row,
    which integrity_check does at many seconds a million rows, for damage SQLite itself never makes."""
    try:
        with closing(sqlite3.connect(path)) as conn:
            return conn.execute("pragma quick_check").fetchone()[0] == "ok"
    except sqlite3.DatabaseError:
        return False


def _update(project: Project, db: sqlite_utils.Database) -> str:
    start = project.settings.history_start
    try:
        repo = GitRepo.find(project.root)
        if not repo.has_commits():
            raise _Empty("仓库还没有任何提交，没有可以记录的修改历史。")
        paths = [t.path for t in project.tables.values()]
        if not repo.commits(*paths, start=start):
            raise _Empty("还没有任何提交修改过 data/ 下的表格，没有可以记录的修改历史。")
    except UnknownStart as exc:
        raise BuildError(str(exc)) from exc
    except (NotARepository, _Empty) as exc:
        reason = f"{exc}没有可以记录的修改历史。" if isinstance(exc, NotARepository) else str(exc)
        _write_info(db, coverage=reason, shallow=False, first=None, head=None, start=start)
        Changes(project, db, {}).append()
        return f"修改历史：{reason}"

    all_commits = repo.commits(start=start)
    _forget_rewritten_history(db, {c.hash for c in all_commits})
    _forget_unmasked(db, start)
    before = _recorded_commits(db)
    known = _commit_info(db)
    _record_commit_info(db, repo.commits(*paths, start=start), repo.publication_positions())
    _record_reasons(db, repo)
    commits = _commit_info(db)
    # Existing rows of `changes` stay as they are unless a merge renumbered the commits they name.
    again = _renumbered(known, commits) or (bool(before) and not db["changes"].exists())
    point = _start_point(repo, start, all_commits)
    baseline = (lambda table: Reader(repo, table, _masker(table)).rows_at(point)) if point else None
    changes = Changes(project, db, commits, point=point, baseline=baseline)
    for table in project.tables.values():
        if (repo.cwd / table.path).exists() and repo.commits(table.path, start=start):
            Writer(db.conn, repo, table, _masker(table), start=start, point=point).run(
                changes.add, changes.add_first
            )
    if again or changes.moved:
        changes.rederive()
    changes.append()
    processed = len(_recorded_commits(db) - before)

    shallow = repo.is_shallow()
    first = all_commits[0]
    coverage = _coverage_text(shallow, first, start)
    _write_info(db, coverage=coverage, shallow=shallow, first=first, head=all_commits[-1], start=start)
    counts = changes_table.counts(db)
    summary = (
        f"修改历史 history.db：本次处理 {processed} 个新提交，共记录 {counts['versions']} 个行版本、"
        f"{counts[REMOVED]} 次删除；已公开记录被修改 {counts['flagged_modified']} 处、被删除 {counts['flagged_removed']} 行"
    )
    return f"{summary}。{coverage}" if shallow else summary


def _masker(table: Table) -> Callable[[dict[str, str]], dict[str, Any]]:
    """Every cell of every column masked, keys and column names included: an old version never
    passed validation, and an ID number may stand in any column (pushed there by an unquoted comma)."""
    return RowMasker(Columns.of(table.fields))


def _commit_info(db: sqlite_utils.Database) -> dict[str, dict[str, Any]]:
    return {r["hash"]: r for r in db["commit_info"].rows} if db["commit_info"].exists() else {}


def _renumbered(known: dict[str, dict[str, Any]], commits: dict[str, dict[str, Any]]) -> bool:
    """Whether a recorded commit moved (a merge published it) or its correction reason changed."""
    fields = ("seq", "published_seq", "reason")
    return any(
        [info.get(f) for f in fields] != [commits[h].get(f) for f in fields]
        for h, info in known.items()
        if h in commits
    )


def _start_point(repo: GitRepo, start: str, public: list[Commit]) -> str | None:
    """The commit whose tables are the public history's starting point: the history.start commit
    itself (listed as no change), or for a date the commit before the first one on that day."""
    if not start or not public:
        return None
    if not names_date(start):
        return repo.resolve(start)
    return repo.first_parent(public[0].hash)


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
    """The commits read: those that recorded versions, and those scanned (a file deleted, or a version
    csv could not read) without."""
    if not db["commits"].exists():
        return set()
    sql = "select hash from commits"
    if db["scanned_commits"].exists():
        sql += " union select hash from scanned_commits"
    return {r[0] for r in db.execute(sql).fetchall()}


def _forget_rewritten_history(db: sqlite_utils.Database, reachable: set[str]) -> None:
    """Start over when recorded commits are no longer in HEAD's history (rewritten, or another repository)."""
    if _recorded_commits(db) <= reachable:
        return
    for view in db.view_names():
        db[view].drop()
    for table in db.table_names():
        db[table].drop(ignore=True)


def _forget_unmasked(db: sqlite_utils.Database, start: str) -> None:
    """Start over when the history was recorded by a version that masked less than this one does, by
    an earlier rule of reading commits (RECORDING), or from another history.start
    (commits before the old start would land after the ones recorded)."""
    if not db["history_info"].exists():
        return
    recorded = dict(
        db.execute(
            "select key, value from history_info where key in ('masking', 'start', 'recording')"
        ).fetchall()
    )
    if (
        recorded.get("masking") != MASKING
        or recorded.get("start", "") != start
        or recorded.get("recording") != RECORDING
    ):
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
                "reason": "",  # set by _record_reasons
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
            # Published as typed, but no personal number leaves the program (a message never passed validation).
            messages[hash_] = mask("；".join(correction_reasons(body)), runs=True)
    line = repo.text("rev-list", "--first-parent", "--reverse", "HEAD").split()
    positions = repo.publication_positions()
    updates = []
    for hash_, reason in db.execute("select hash, reason from commit_info").fetchall():
        own = messages.get(hash_, "")
        at = positions.get(hash_)
        merged = messages.get(line[at], "") if at is not None and at < len(line) else ""
        if (own or merged) != reason:
            updates.append((own or merged, hash_))
    db.conn.executemany("update commit_info set reason = ? where hash = ?", updates)


def _write_info(
    db: sqlite_utils.Database,
    *,
    coverage: str,
    shallow: bool,
    first: Commit | None,
    head: Commit | None,
    start: str,
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
            {"key": "recording", "value": RECORDING},
            {"key": "start", "value": start},
        ],
        pk="key",
        replace=True,
    )
