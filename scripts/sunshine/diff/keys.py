"""Keys are never reused: a record's number, once published and deleted, stays its own.

Every committed version of a table is read (oldest first) to learn which keys were deleted, when,
and what they named. A row that brings such a key back is a problem that names the deleted record;
`next_key` proposes the next number no record has ever had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sunshine import typed
from sunshine.history.gitrepo import GitRepo
from sunshine.package import Project, Table
from sunshine.privacy import mask_text
from sunshine.problems import Problem
from sunshine.shown import record_label

_NUMBERED = re.compile(r"^(.*?)([0-9]+)$")


@dataclass(frozen=True)
class Deleted:
    label: str
    date: str  # YYYY-MM-DD of the commit that deleted it
    commit: str  # short hash


def _keys(table: Table, data: bytes | None) -> dict[str, dict[str, str]]:
    if data is None:
        return {}
    try:
        rows = typed.canonical_rows(table, data)
    except typed.Unreadable:
        return {}
    pk = table.primary_key
    return {" / ".join(r.get(k, "") for k in pk): r for r in rows if all(r.get(k) for k in pk)}


def key_history(repo: GitRepo, table: Table, ref: str) -> tuple[set[str], dict[str, Deleted]]:
    """(every key any version up to `ref` held, the keys deleted and not restored since)."""
    ever: set[str] = set()
    deleted: dict[str, Deleted] = {}
    before: dict[str, dict[str, str]] = {}
    for commit in repo.commits(table.path, ref=ref):
        now = _keys(table, repo.show(commit.hash, table.path))
        for key, row in before.items():
            if key not in now:
                deleted[key] = Deleted(record_label(table, row), commit.date, commit.short)
        for key in now:
            deleted.pop(key, None)
        ever |= now.keys()
        before = now
    return ever, deleted


def reused_keys(project: Project, repo: GitRepo, base_commit: str) -> list[Problem]:
    """Rows of the working tree whose key belonged to a record deleted before the base."""
    out: list[Problem] = []
    for table in project.tables.values():
        path = project.root / table.path
        if len(table.primary_key) != 1 or not path.is_file():
            continue
        ever, deleted = key_history(repo, table, base_commit)
        if not deleted:
            continue
        try:
            now = typed.read(table, path.read_bytes())
        except typed.Unreadable:
            continue
        name = table.primary_key[0]
        spec = table.field(name)
        current = now.canonical_rows()
        suggestion = next_key(ever | {c.get(name, "") for c in current})
        for row, cells in zip(now.rows, current, strict=True):
            key = cells.get(name, "")
            if key in deleted:
                gone = deleted[key]
                out.append(
                    Problem(
                        code="reused-key",
                        file=table.path,
                        row=row.number,
                        column=name,
                        column_title=spec.get("title"),
                        value=key,
                        message=(
                            f"编号 {key} 曾属于已删除的记录“{mask_text(gone.label, limit=40)}”"
                            f"（{gone.date} 在提交 {gone.commit} 中删除），不能再给别的记录用"
                        ),
                        hint=f"请换一个从未用过的编号，例如 {suggestion}"
                        f"（运行 sunshine next-id {table.name} 可得到下一个可用编号）。",
                    )
                )
    return out


def next_key(used: set[str]) -> str:
    """The number after the largest key used (the same prefix and width), e.g. D00000160 → D00000161."""
    numbered = [(m[1], m[2]) for k in used if (m := _NUMBERED.match(k))]
    if not numbered:
        return ""
    prefix, digits = max(numbered, key=lambda pd: (pd[0], int(pd[1])))
    return f"{prefix}{int(digits) + 1:0{len(digits)}d}"


def next_free(project: Project, repo: GitRepo, table: Table) -> str:
    """The next key of a table no record has ever had, in the history or the working tree."""
    ever, _ = key_history(repo, table, "HEAD") if repo.has_commits() else (set(), {})
    path = project.root / table.path
    if path.is_file():
        ever |= _keys(table, path.read_bytes()).keys()
    return next_key(ever)
