"""Putting a new build in place of the last good one, so that no crash can lose both.

- A file is written beside its target under a name holding the writer's process id
  (`.history.db.1234.tmp`); a later build removes the files of processes that no longer exist
  (killed or crashed), and never those of a build still running.
- A directory (the site) is swapped in with one atomic exchange where the file system offers it
  (Linux renameat2 RENAME_EXCHANGE). Elsewhere it takes two renames, target → .target-old and
  new → target; a crash between them leaves only .target-old, which the next build (or the next
  swap) puts back before anything else.
- A database nothing else holds (`held_elsewhere`: no other link, no other open file) is updated in
  place in one SQLite transaction (`no_transaction_control` refuses an early COMMIT); a killed
  update is rolled back (`roll_back_interrupted`) before anything links, copies or serves the file.
- Within one `sunshine build`, a stage whose output a later stage's failure must put back is given
  a `Keeper`: an update in place leaves its transaction open for it (committed when the whole build
  has succeeded, rolled back when a later stage fails), and a new file renamed over the output
  first has the last good one linked aside by it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import signal
import sqlite3
import subprocess
from contextlib import closing, suppress
from pathlib import Path
from typing import Protocol

RENAME_EXCHANGE = 2
AT_FDCWD = -100
_libc = ctypes.CDLL(None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)


def temporary(target: Path, suffix: str = "tmp") -> Path:
    """Where this process writes the next version of target."""
    return target.with_name(f".{target.name}.{os.getpid()}.{suffix}")


def remove_stale(target: Path) -> None:
    """Temporary files of target left by processes that no longer exist."""
    prefix = f".{target.name}."
    if not target.parent.is_dir():
        return
    for path in target.parent.iterdir():
        if not path.name.startswith(prefix):
            continue
        pid = path.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def stop_with_parent(parent: int) -> None:
    """Be killed with the build that started this process (Linux): its files stay unfinished. For the
    processes a build starts (downloads, charts, printer), which import this module for it and little else."""
    try:
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except AttributeError:
        return
    if os.getppid() != parent:  # it was gone before the request
        os._exit(1)


PR_SET_PDEATHSIG = 1


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def previous(target: Path) -> Path:
    """Where the last good directory waits while the new one is renamed into place."""
    return target.with_name(f".{target.name}-old")


def recover_directory(target: Path) -> bool:
    """Put the last good directory back if a swap was cut off between its two renames."""
    old = previous(target)
    if not target.exists() and old.is_dir():
        old.rename(target)
        return True
    return False


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system cannot (then nothing has changed)."""
    if _renameat2 is None:
        return False
    done = _renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE)
    if done == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a))


def swap_directory(new: Path, target: Path) -> None:
    """Make new the target; the last good target stays in place until new is."""
    old = previous(target)
    recover_directory(target)
    remove_tree(old)
    if target.is_dir() and exchange(new, target):
        remove_tree(new)  # it now holds the previous version
        return
    if target.exists():
        target.rename(old)
    new.rename(target)
    remove_tree(old)


def remove_tree(path: Path) -> None:
    """Remove a directory and all in it, if it is there: with `rm -r` where there is one (a county's
    site is thousands of folders, which rm removes four times faster than Python)."""
    if not path.exists() and not path.is_symlink():
        return
    rm = shutil.which("rm")
    if rm is not None and not path.is_symlink():
        subprocess.run([rm, "-rf", "--", str(path)], check=False, stderr=subprocess.DEVNULL)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def roll_back_interrupted(db: Path) -> None:
    """Bring a SQLite database whose writer was killed mid-transaction back to its last commit.

    SQLite does so when the file is next opened, but a reader that links, copies or opens it as
    immutable (a published bundle, Datasette) takes the half-written pages without their journal."""
    if not db.with_name(db.name + "-journal").exists():
        return
    try:
        with closing(sqlite3.connect(db)) as conn:
            conn.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        pass  # a damaged file: its reader says so


def held_elsewhere(target: Path) -> bool:
    """Whether the file has another name (a published bundle links it) or another process of this
    user has it open (a Datasette serving it): then it must not change under them, and a new version
    is written beside it and renamed into place instead."""
    try:
        if os.stat(target).st_nlink > 1:
            return True
    except FileNotFoundError:
        return False
    wanted = str(target.resolve())
    me = str(os.getpid())
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit() or pid == me:
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue  # gone, or another user's
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                    return True
            except OSError:
                continue
    return not os.path.isdir("/proc")  # no way to tell: assume it is in use


class Keeper(Protocol):
    """What keeps a stage's last good output until the whole build has succeeded (sunshine.build)."""

    def hold(self, target: Path, conn: sqlite3.Connection) -> None:
        """Take the update in place of target, its transaction still open: committed or rolled back
        with the build. The connection is the keeper's from then on."""

    def replacing(self, target: Path) -> None:
        """A new file is about to be renamed over target: keep the last good one aside."""

    def connection(self, target: Path) -> sqlite3.Connection | None:
        """The open transaction of target, for a later stage to read what this build wrote."""

    def commit(self) -> None:
        """Commit the transactions held: the last stage calls it just before its own output goes
        public (BuildError when one cannot be committed)."""


def no_transaction_control(action: int, *args: object) -> int:
    """An SQLite authorizer for an update that must be one transaction: BEGIN, COMMIT and ROLLBACK
    are refused (a helper library's early COMMIT fails instead of publishing half an update);
    savepoints nest inside the transaction and stay allowed."""
    if action == sqlite3.SQLITE_TRANSACTION:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def place_link(source: Path, target: Path) -> None:
    """Make target a hard link to source (a copy where links are not possible), by a rename over
    whatever target was: a file that other trees link to (a kept page, a published site) is never
    written into."""
    try:
        if os.path.samestat(os.stat(source), os.lstat(target)):
            return
    except FileNotFoundError:
        pass
    tmp = target.with_name(f".{target.name}.{os.getpid()}.link")
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def prune(folder: Path, keep: set[Path]) -> int:
    """Remove every file under folder that is not in keep, and the folders left empty; how many files."""
    removed = 0
    if not folder.is_dir():
        return removed
    for path, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            if Path(path, name) not in keep:
                os.unlink(os.path.join(path, name))
                removed += 1
        for name in dirs:
            with suppress(OSError):
                os.rmdir(os.path.join(path, name))  # only when empty
    with suppress(OSError):
        folder.rmdir()
    return removed
