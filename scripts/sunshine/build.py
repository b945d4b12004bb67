"""`sunshine build`: validate, then build each output. Invalid data publishes nothing.

One build at a time: a build holds an exclusive lock on build/.lock (released by the system
however the process ends); a second build says that one is running and waits for it.

All or nothing: each stage puts its own output in place whole, and the outputs of the stages before
a failed one are put back (`LastGood`), so that Datasette never serves another build than the site's.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import gc
import os
import re
import shutil
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import click

from sunshine import staging
from sunshine.chinese import words
from sunshine.database import incremental
from sunshine.database.build import build_database
from sunshine.history.build import build_history
from sunshine.package import Project
from sunshine.privacy import mask
from sunshine.problems import BuildError
from sunshine.site.build import build_site
from sunshine.validate.report import render
from sunshine.validate.run import validate_project

STAGES = ("database", "history", "site")
LOCK = ".lock"


@contextmanager
def build_lock(build_dir: Path) -> Iterator[None]:
    """Hold the build directory's lock; if another build holds it, say so and wait."""
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / LOCK, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "?"
            click.echo(f"另一个构建（进程 {holder}）正在进行，等它完成后再开始本次构建……", err=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def build_command(project: Project, *, datasette_url: str, only: Iterable[str] = ()) -> int:
    with build_lock(project.build_dir):
        return build_locked(project, datasette_url=datasette_url, only=only)


def build_locked(project: Project, *, datasette_url: str, only: Iterable[str] = ()) -> int:
    """`build_command` for a caller that holds `build_lock` (and goes on with the outputs)."""
    return _build(project, datasette_url=datasette_url, only=only)


def _build(project: Project, *, datasette_url: str, only: Iterable[str]) -> int:
    stages = [s for s in STAGES if not only or s in only]
    started = time.perf_counter()
    last_good = LastGood(project.build_dir)
    last_good.recover()  # a killed build's outputs: the last good ones come back first
    try:
        return _validated_build(project, stages, last_good, started, datasette_url=datasette_url)
    finally:
        last_good._roll_back()  # what an unexpected error left open


def _validated_build(
    project: Project, stages: list[str], last_good: LastGood, started: float, *, datasette_url: str
) -> int:
    report = validate_project(project)
    if not report.valid:
        click.echo(render(report, "text"), err=True, nl=False)
        click.echo("数据未通过校验，本次没有发布任何内容，上一次的构建保持不变。", err=True)
        return 1
    unpublishable = sorted({p.file for p in report.problems if p.severity == "notice" and p.fixable})
    if unpublishable:
        click.echo(
            f"{'、'.join(unpublishable)} 是 Excel 改写过的写法（编码、换行符、日期、数字或中文表头），内容有效，"
            f"但发布前要统一为标准格式：请运行 sunshine fix {' '.join(unpublishable)}，"
            "或合并 PR 检查的“自动规范格式”提交。本次没有发布任何内容。",
            err=True,
        )
        return 1
    done: list[str] = []
    try:
        for stage in stages:
            if stage in KEPT and stage != stages[-1]:  # the last stage's own swap is all or nothing
                last_good.keep(stage)
            t0 = time.perf_counter()
            summary = run_stage(project, stage, datasette_url=datasette_url, keeper=last_good)
            click.echo(f"✓ {summary}（{time.perf_counter() - t0:.1f} 秒）")
            done.append(stage)
            words.forget_tokenizers()  # the database stage's: the site would hold them on top of its own
            _give_back_memory()
        last_good.commit()
    except BaseException as exc:
        put_back = last_good.restore()  # the stages before the failed one: their outputs go back too
        new = [s for s in done if s not in put_back]
        if isinstance(exc, KeyboardInterrupt):
            click.echo(f"构建被中断。{_kept(stages, new)}", err=True)
            return 130
        file = _file_error(exc, project.build_dir)
        if file is not None:
            # A file moved, deleted or locked while the build read it: said in Chinese, with its name.
            what, reason = file
            click.echo(
                mask(
                    f"构建失败：{what}（{reason}）。文件可能在构建过程中被移动、删除或占用；"
                    f"请确认 data/ 下的文件都已保存，再重新运行 sunshine build。\n{_kept(stages, new)}",
                    runs=True,
                ),
                err=True,
            )
            return 1
        if isinstance(exc, BuildError):
            # A stage's error may quote a cell (a number that would not convert): masked like every output.
            click.echo(mask(f"构建失败：{exc}\n{_kept(stages, new)}", runs=True), err=True)
            return 1
        raise
    last_good.forget()
    click.echo(f"构建完成，共 {time.perf_counter() - started:.1f} 秒。", file=sys.stdout)
    return 0


def _give_back_memory() -> None:
    """Return what a stage freed to the system before the next stage runs: the C allocator keeps
    freed memory for reuse, and the site's frames would come on top of the database stage's."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # glibc; elsewhere the memory is reused
        ctypes.CDLL(None).malloc_trim(0)


# A file that could not be opened: what a file moved or deleted during the build gives.
UNREADABLE = (errno.ENOENT, errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR)
# The same error as a child process's last line repeats it (the site's download writer).
_RELAYED = re.compile(r"\[Errno (\d+)\] ([^:'\]]+): '([^']+)'")


def _file_error(exc: BaseException, build_dir: Path) -> tuple[str, str] | None:
    """(what failed, why) in words when the build stopped on a file: an OSError, or one a stage
    wrapped (the site reports every error as its own, with Python's name for it) when a file outside
    build/ could not be opened; a stage's own message says better what it was writing in build/."""
    if isinstance(exc, OSError):
        name = Path(str(exc.filename)).name if exc.filename else ""
        return (f"无法读取 {name}" if name else "读写文件失败"), str(exc.strerror or exc)
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.filename:
            path = Path(str(cause.filename))
            if cause.errno in UNREADABLE and not _inside(path, build_dir):
                return f"无法读取 {path.name}", str(cause.strerror)
        elif isinstance(cause, BuildError | RuntimeError):
            for found in _RELAYED.finditer(str(cause)):
                number, reason, where = found.groups()
                if int(number) in UNREADABLE and not _inside(Path(where), build_dir):
                    return f"无法读取 {Path(where).name}", reason
        cause = cause.__cause__ or cause.__context__
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


OUTPUTS = {"database": "build/sunshine.db", "history": "build/history.db", "site": "build/site/"}


def _kept(stages: list[str], done: list[str]) -> str:
    """What a stopped build left: each stage replaces its output whole, or not at all."""
    kept = "、".join(OUTPUTS.get(s, s) for s in stages if s not in done)
    if not done:
        return "上一次的构建保持不变。"
    updated = "、".join(OUTPUTS.get(s, s) for s in done)
    return f"{updated} 已是这次的数据；{kept} 仍是上一次构建的版本。"


def run_stage(project: Project, stage: str, *, datasette_url: str, keeper: LastGood | None = None) -> str:
    """Run one stage; return a one-line Chinese summary of what it wrote. `keeper`: the build's
    LastGood (see there), which the database and the history leave their updates with, and the
    site reads the history's from."""
    out = project.build_dir
    out.mkdir(parents=True, exist_ok=True)
    if stage == "database":
        return build_database(project, out / "sunshine.db", keeper)
    if stage == "history":
        return build_history(project, out / "history.db", keeper)
    if stage == "site":
        return build_site(project, out / "site", datasette_url=datasette_url, keeper=keeper)
    raise ValueError(stage)


# -- the last good outputs -------------------------------------------------------------------------

KEPT = {"database": "sunshine.db", "history": "history.db"}  # outputs a later stage's failure puts back
LAST_GOOD = ".last-good"
ABSENT = ".absent"  # beside a kept name: there was no such output before this build
# An update waiting for the build to succeed: SQLite's default page cache, besides the pages it changed.
HELD_CACHE_KB = 2000
HELD_DIRTY_KB = 100_000
HELD_BUSY_MS = 60_000


class LastGood:
    """The last good sunshine.db and history.db, kept from just before their stage changes them until
    the whole build has succeeded, and put back when a later stage fails: Datasette then serves the
    build the site shows. It is those stages' `staging.Keeper`:

    - An update in place (nothing else holds the file) leaves its transaction open here, committed
      once the build has succeeded and rolled back when a later stage fails; the site stage reads the
      history's changes through it. A build killed meanwhile leaves a journal, and the next build
      rolls the update back before anything else. Nothing is copied: a county's two databases are
      2.7 GB, and copying them was a third of the build of a 10-row change.
    - A new file renamed over the output (a full rebuild; an update on a copy, when a bundle links
      the file or a Datasette has it open) has the last one linked into build/.last-good/ first,
      which costs nothing: the rename leaves that file as it was.

    The database's kept input copies (the user's cache) are kept as links too: its stage drops the
    last build's once it has succeeded, and the database put back is then updated from them again.
    """

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self.folder = build_dir / LAST_GOOD
        self.open: dict[str, sqlite3.Connection] = {}  # by file name, in the order of their stages

    def keep(self, stage: str) -> None:
        """Before `stage` changes its output: an output there is none of is noted as absent. When
        that cannot be noted, the build goes on, and a failure later says that output is new."""
        name = KEPT[stage]
        target = self.build_dir / name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            staging.roll_back_interrupted(target)  # kept as its last commit left it
            if not target.exists():
                (self.folder / (name + ABSENT)).touch()
        except OSError:
            (self.folder / (name + ABSENT)).unlink(missing_ok=True)
            return
        if stage == "database":
            _link_files(incremental.inputs_dir(target), _kept_inputs(target))

    def hold(self, target: Path, conn: sqlite3.Connection) -> None:
        conn.set_authorizer(None)
        # While the site is built: the pages it changed stay in memory, not in the file (a reader
        # that opens it meanwhile reads the last commit; past HELD_DIRTY_KB they go to the file,
        # their originals in the journal), and the cache of the pages it only read goes.
        conn.execute(f"PRAGMA busy_timeout = {HELD_BUSY_MS}")  # a reader in the way when it commits
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_spill = {HELD_DIRTY_KB * 1024 // page_size}")
        conn.execute(f"PRAGMA cache_size = -{HELD_CACHE_KB}")
        conn.execute("PRAGMA shrink_memory")
        self.open[target.name] = conn

    def replacing(self, target: Path) -> None:
        kept = self.folder / target.name
        if target.exists() and not kept.exists() and not (self.folder / (target.name + ABSENT)).exists():
            self.folder.mkdir(parents=True, exist_ok=True)
            _keep_file(target, kept)

    def connection(self, target: Path) -> sqlite3.Connection | None:
        return self.open.get(target.name) if target.parent == self.build_dir else None

    def commit(self) -> None:
        """Every stage has succeeded (the site calls it just before its swap, so that the site and
        the databases go public together): the updates left open are committed, in the order of
        their stages. A build killed between two commits leaves the first committed and the second
        rolled back by the next build, which then records that commit again."""
        while self.open:
            name = next(iter(self.open))
            conn = self.open[name]
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise BuildError(
                    f"无法提交 build/{name} 的更新（{exc}）：可能有别的程序正在读写它，或磁盘已满。"
                ) from exc
            del self.open[name]
            conn.close()

    def _roll_back(self) -> set[str]:
        """The updates left open are rolled back; the names of the files rolled back."""
        names = set()
        for name, conn in self.open.items():
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                    names.add(name)
            except sqlite3.Error:
                pass  # its journal is rolled back when the file is next opened
            finally:
                conn.close()
        self.open.clear()
        return names

    def restore(self, *, check: bool = False) -> set[str]:
        """Put every kept output back (`check`: only a file that passes quick_check, after a killed
        build); the stages whose output is the last good one again."""
        rolled_back = self._roll_back()
        put_back = set()
        for stage, name in KEPT.items():
            target = self.build_dir / name
            kept, absent = self.folder / name, self.folder / (name + ABSENT)
            try:
                # An update a killed build left open: rolled back (a journal SQLite never needed,
                # the file unchanged, stays until the next update overwrites it).
                left_open = _journal(target).exists()
                staging.roll_back_interrupted(target)
                if kept.is_file() and (not check or _intact(kept)):
                    _journal(target).unlink(missing_ok=True)  # its update's journal: never the kept file's
                    os.replace(kept, target)
                    put_back.add(stage)
                elif absent.exists():
                    _journal(target).unlink(missing_ok=True)
                    target.unlink(missing_ok=True)
                    put_back.add(stage)
                elif name in rolled_back or left_open:
                    put_back.add(stage)
            except OSError:
                continue
            if stage == "database" and stage in put_back:
                _link_files(_kept_inputs(target), incremental.inputs_dir(target))
        self._remove()
        return put_back

    def recover(self) -> None:
        """What a killed build kept goes back in place; a build killed once it had succeeded left
        only a folder to remove."""
        staging.remove_tree(self.folder.with_name(self.folder.name + ".done"))
        if self.folder.is_dir():
            self.restore(check=True)
        else:
            self._remove()

    def forget(self) -> None:
        """The build succeeded and its updates are committed: what was kept goes (renamed first, so
        that a build killed while it is removed does not have it put back)."""
        done = self.folder.with_name(self.folder.name + ".done")
        if self.folder.exists():
            staging.remove_tree(done)
            self.folder.rename(done)
        self._remove()
        staging.remove_tree(done)

    def _remove(self) -> None:
        staging.remove_tree(self.folder)
        staging.remove_tree(_kept_inputs(self.build_dir / KEPT["database"]))


def _keep_file(target: Path, kept: Path) -> None:
    """kept: a link to target (a copy where the file system has no links), under its name only once
    complete."""
    part = kept.with_name(kept.name + ".part")
    part.unlink(missing_ok=True)
    try:
        os.link(target, part)
    except OSError:
        shutil.copyfile(target, part)
    os.replace(part, kept)


def _kept_inputs(target: Path) -> Path:
    folder = incremental.inputs_dir(target)
    return folder.with_name(folder.name + LAST_GOOD)


def _link_files(source: Path, target: Path) -> None:
    """Link the files of source into target, those target does not have; a link that cannot be
    made only costs the next database build its update from the changed rows."""
    if not source.is_dir():
        return
    try:
        target.mkdir(parents=True, exist_ok=True)
        for path in source.iterdir():
            if path.is_file() and not path.name.endswith(".tmp") and not (target / path.name).exists():
                os.link(path, target / path.name)
    except OSError:
        pass


def _journal(db: Path) -> Path:
    return db.with_name(db.name + "-journal")


def _intact(db: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("pragma quick_check").fetchone()[0] == "ok"
    except sqlite3.Error:
        return False
