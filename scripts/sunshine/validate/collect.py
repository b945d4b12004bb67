"""Gathering problems with a bound: at most CAP of one kind per file, and a warning that says so."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sunshine.privacy import code_pattern, is_code, mask_text
from sunshine.problems import Problem
from sunshine.validate.cells import Issue

CAP = 100  # problems of one code in one file; more tell a person nothing new


class Collector:
    def __init__(self, cap: int = CAP, focus: dict[str, set[int]] | None = None) -> None:
        self.cap = cap
        self.focus = focus or {}  # rows a pull request added or changed, per file: never left out
        self.problems: list[Problem] = []
        self.kept: Counter[tuple[str, str]] = Counter()
        self.dropped: Counter[tuple[str, str]] = Counter()

    def full(self, file: str, code: str) -> bool:
        return self.kept[(file, code)] >= self.cap

    def add(self, problem: Problem) -> None:
        key = (problem.file, problem.code)
        if problem.row in self.focus.get(problem.file, ()):
            self.problems.append(problem)
            return
        if self.kept[key] >= self.cap:
            self.dropped[key] += 1
            return
        self.kept[key] += 1
        self.problems.append(problem)

    def more(self, file: str, code: str, n: int) -> None:
        """n further problems of this code were seen but not examined one by one."""
        if n > 0:
            self.dropped[(file, code)] += n

    def warnings(self) -> list[Problem]:
        out = []
        for (file, code), n in sorted(self.dropped.items()):
            out.append(
                Problem(
                    code="error-limit",
                    file=file,
                    message=(
                        f"“{code}”类问题太多，只列出了前 {self.cap} 个，另有约 {n} 个没有列出"
                        if code.isascii()
                        else f"{code}太多，另有约 {n} 个没有逐一检查和列出"
                    ),
                    hint="先改正列出的问题（多半是同一原因），再重新校验。",
                    severity="warning",
                )
            )
        return out


def cell_problem(
    issue: Issue,
    *,
    file: str,
    row: int | None,
    field: dict[str, Any] | None,
    value: str | None,
) -> Problem:
    """Place an issue in its file, row and column; the value is masked and shortened."""
    phones = bool(field and field.get("x-phone"))
    code = value is not None and field is not None and is_code(value, code_pattern(field))
    shown = value if code or value is None else mask_text(value, phones_allowed=phones)
    return Problem(
        code=issue.code,
        file=file,
        message=issue.message,
        hint=issue.hint,
        row=row,
        column=field["name"] if field else None,
        column_title=field.get("title") if field else None,
        value=shown,
        severity=issue.severity,
        fixable=issue.fixable,
        value_is_code=code,
        phones_public=phones,
    )
