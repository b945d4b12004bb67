"""Where the public history begins: `history.start` in sunshine.toml, a commit or a date (YYYY-MM-DD).

A township that starts from this repository inherits the sample's development history; its public
history begins where its own does. A commit is the baseline: the rows as they stand there are the
starting point and only the commits after it are listed. A date lists the commits made on or after
that day.
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
        described = f" {setting} 起"
    else:
        start = repo.resolve(setting)
        if start is None:
            raise BuildError(
                f"sunshine.toml 的 history.start 是“{setting}”，但仓库里没有这个提交。"
                "请填写一个提交（例如 git log 中的前 7 位）或日期（YYYY-MM-DD），或留空。"
            )
        # The start commit is the baseline: the commits after it are the public history.
        included = frozenset(repo.text("rev-list", "HEAD", f"^{start}").split())
        described = f"提交 {start[:7]} 之后"
    first = next((c for c in data_commits if c.hash in included), None)
    text = f"公开的修改历史从{described}开始（sunshine.toml 的 history.start），此前已有的记录作为起点，更早的修改不列出"
    if first is None:
        return Start(included, None, text + "；此后还没有修改。")
    return Start(included, first, text + f"；第一次修改是 {first.date} 的提交 {first.short}。")
