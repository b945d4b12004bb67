"""Read the data repository's git history: refs, commits and the CSVs as they were at a commit."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sunshine import records

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def names_date(start: str) -> bool:
    """history.start written as a date (YYYY-MM-DD) rather than a commit."""
    return bool(_DATE.fullmatch(start))


class UnknownStart(Exception):
    """history.start in sunshine.toml names no commit of this repository."""


class NotARepository(Exception):
    """The project directory is not inside a git work tree, or git is missing."""


class UnreadableCSV(Exception):
    """A CSV could not be decoded as UTF-8; the message is Chinese and names the file."""


@dataclass(frozen=True)
class Commit:
    hash: str
    committed_at: str  # ISO 8601 with offset, as git prints it (%cI)
    subject: str

    @property
    def short(self) -> str:
        return self.hash[:7]

    @property
    def date(self) -> str:
        return self.committed_at[:10]


@dataclass(frozen=True)
class GitRepo:
    """A git work tree. Paths given to its methods are relative to `cwd` (the project root)."""

    cwd: Path
    toplevel: Path

    @classmethod
    def find(cls, directory: Path) -> GitRepo:
        if shutil.which("git") is None:
            raise NotARepository("找不到 git 命令，请先安装 git。")
        proc = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=directory,
            capture_output=True,
            text=True,
            encoding="utf-8",
        )
        if proc.returncode != 0:
            raise NotARepository(f"{directory} 不是 git 仓库。")
        return cls(cwd=Path(directory), toplevel=Path(proc.stdout.strip()))

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run(["git", "-c", "core.quotepath=off", *args], cwd=self.cwd, capture_output=True)
        if check and proc.returncode != 0:
            detail = proc.stderr.decode("utf-8", "replace").strip()
            raise NotARepository(f"git {' '.join(args)} 失败：{detail}")
        return proc

    def text(self, *args: str) -> str:
        return self.run(*args).stdout.decode("utf-8", "replace")

    def resolve(self, ref: str) -> str | None:
        """The commit hash `ref` names, or None when there is no such commit."""
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def has_commits(self) -> bool:
        return self.resolve("HEAD") is not None

    def is_shallow(self) -> bool:
        return self.text("rev-parse", "--is-shallow-repository").strip() == "true"

    def show(self, ref: str, path: str) -> bytes | None:
        """The file at `path` as of `ref`, or None when it did not exist there."""
        proc = self.run("show", f"{ref}:./{path}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def exists(self, ref: str, path: str) -> bool:
        """Whether `path` is a file at `ref`."""
        return self.run("cat-file", "-e", f"{ref}:./{path}", check=False).returncode == 0

    def changed_records(self, old: str, new: str | None, path: str) -> tuple[list[str], list[str]] | None:
        """(removed, added): the records of `path` (sunshine.records: a row as written, a quoted cell
        that spans lines with it) that are in `old` and not in `new` (None: the work tree) and the
        other way round, each counted as often as it stands. None when the file is missing on one
        side, the header changed, the text is not UTF-8 or a quoted cell is never closed: then only
        reading the whole file is sure."""
        old_blob = self._blob(old, path)
        new_blob = self._blob(new, path) if new else None
        if old_blob is None or (new is not None and new_blob is None):
            return None
        if new is None and not (self.cwd / path).is_file():
            return None
        ids = (old_blob, new_blob or records.blob_id(self.cwd / path))
        if ids[0] == ids[1]:
            return [], []
        try:
            removed, added = records.compare_kept(
                *ids, self._opener(old_blob, path), self._opener(new_blob, path)
            )
            texts = ([r.decode("utf-8") for r in removed], [r.decode("utf-8") for r in added])
        except (records.HeaderChanged, UnicodeDecodeError):
            return None
        if any(t.count('"') % 2 for side in texts for t in side):
            return None
        return texts

    def blob(self, ref: str | None, path: str) -> str | None:
        """The git object id of the file at ref (its version there), or None when it is not there."""
        return self._blob(ref, path)

    def opener(self, ref: str, path: str) -> records.Opener | None:
        """Opens the file at ref as a binary stream, each time it is called; None when it is not there."""
        blob = self._blob(ref, path)
        return self._opener(blob, path) if blob else None

    def last_change(self, ref: str, path: str) -> str | None:
        """The commit on ref's first-parent line, ref itself or before it, that gave `path` the
        version it has at ref (None: no commit there ever touched it)."""
        found = self.text("rev-list", "--first-parent", "-n", "1", ref, "--", path).strip()
        return found or None

    def _blob(self, ref: str | None, path: str) -> str | None:
        """The id of the file at ref, or None when it is not there."""
        if ref is None:
            return None
        proc = self.run("rev-parse", "--verify", "--quiet", f"{ref}:./{path}", check=False)
        return proc.stdout.decode().strip() or None if proc.returncode == 0 else None

    def _opener(self, blob: str | None, path: str) -> records.Opener:
        """Opens the blob (None: the work tree's `path`) as a binary stream, each time it is called."""
        if blob is None:
            return lambda: (self.cwd / path).open("rb")
        return lambda: self._cat(blob)

    @contextmanager
    def _cat(self, blob: str) -> Iterator[BinaryIO]:
        proc = subprocess.Popen(["git", "cat-file", "blob", blob], cwd=self.cwd, stdout=subprocess.PIPE)
        try:
            yield proc.stdout  # type: ignore[misc]
        finally:
            proc.kill()
            proc.wait()

    def commits(self, *paths: str, ref: str = "HEAD", start: str = "") -> list[Commit]:
        """Commits reachable from `ref` (touching `paths`, if given), oldest first; with `start`
        (a commit, or a date YYYY-MM-DD), only that commit and those after it."""
        fmt = "%H%x1f%cI%x1f%s%x1e"
        out = self.text("log", "--reverse", f"--format={fmt}", *self._since(start), ref, "--", *paths)
        commits = []
        for record in out.split("\x1e"):
            record = record.strip("\n")
            if record:
                hash_, at, subject = record.split("\x1f")
                commits.append(Commit(hash_, at, subject))
        return commits

    def _since(self, start: str) -> list[str]:
        if not start:
            return []
        if _DATE.fullmatch(start):
            return [f"--since={start}T00:00:00"]
        commit = self.resolve(start)
        if commit is None:
            raise UnknownStart(
                f"sunshine.toml 的 history.start 是“{start}”，但仓库里没有这个提交。"
                "请填写一个提交（例如 git log 中的前 7 位）或日期（YYYY-MM-DD），或留空。"
            )
        return [f"^{parent}" for parent in self.text("rev-list", "--parents", "-n", "1", commit).split()[1:]]

    def publication_positions(self) -> dict[str, int]:
        """For each commit reachable from HEAD, the position (0 = oldest) on HEAD's first-parent line
        of the commit that brought it in: a merge brings in the commits of its branch at once."""
        positions: dict[str, int] = {}
        lines = self.text("rev-list", "--first-parent", "--reverse", "--parents", "HEAD").splitlines()
        for position, line in enumerate(lines):
            commit, *parents = line.split()
            positions[commit] = position
            if len(parents) > 1:
                for merged in self.text("rev-list", *parents[1:], f"^{parents[0]}").split():
                    positions.setdefault(merged, position)
        return positions

    def first_parent(self, commit: str) -> str | None:
        return self.resolve(f"{commit}^")

    def relative_to_toplevel(self, path: str) -> str:
        return (self.cwd.resolve() / path).relative_to(self.toplevel.resolve()).as_posix()


def decode_csv(data: bytes, path: str) -> str:
    """UTF-8 text of a CSV (a byte order mark is dropped); a clear Chinese error otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableCSV(
            f"{path} 第 {line} 行不是 UTF-8 编码（可能是 GBK，打开后会显示乱码），无法比较。"
            f"请在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”，或运行 sunshine fix {path}。"
        ) from exc


def read_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of CSV text; cells beyond the header are dropped, missing cells are ""."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h for h in (reader.fieldnames or []) if h is not None]
    rows = [{k: (v if v is not None else "") for k, v in row.items() if k is not None} for row in reader]
    return header, rows
