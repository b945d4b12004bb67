"""Where the public history begins: `history.start` in sunshine.toml, a commit or a date (YYYY-MM-DD).

A township that starts from this repository inherits the sample's development history; its public
history begins where its own does. Commits before the start are not listed; the rows as they stand
at the start are the baseline, so the start commit shows only what it added (as 新增), and later
commits show their corrections of that baseline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sunshine.history.gitrepo import Commit, GitRepo
from sunshine.problems import BuildError

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Start:
    """The commits of the public history (None: all of them) and the sentence that says so."""

    commits: frozenset[str] | None
    first: Commit | None
    text: str


def resolve_start(repo: GitRepo, setting: str, data_commits: list[Commit]) -> Start:
    """The public history for `history.start`; BuildError (in Chinese) when it names nothing."""
    setting = setting.strip()
    if not setting:
        return Start(None, None, "")
    if _DATE.match(setting):
        included = frozenset(c.hash for c in repo.commits() if c.date >= setting)
        described = f"日期 {setting}"
    else:
        start = repo.resolve(setting)
        if start is None:
            raise BuildError(
                f"sunshine.toml 的 history.start 是“{setting}”，但仓库里没有这个提交。"
                "请填写一个提交（例如 git log 中的前 7 位）或日期（YYYY-MM-DD），或留空。"
            )
        parents = repo.text("rev-parse", f"{start}^@").split()
        included = frozenset(repo.text("rev-list", "HEAD", *(f"^{p}" for p in parents)).split())
        described = f"提交 {start[:7]}"
    first = next((c for c in data_commits if c.hash in included), None)
    if first is None:
        return Start(
            included,
            None,
            f"公开的修改历史从{described}开始（sunshine.toml 的 history.start），此后还没有修改。",
        )
    return Start(
        included,
        first,
        f"公开的修改历史从{described}开始（sunshine.toml 的 history.start）：第一次是 {first.date} 的提交 {first.short}，"
        "更早的提交不列出，这时已有的记录作为起点。",
    )
