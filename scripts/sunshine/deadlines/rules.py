"""公开时限: the township's disclosure deadlines, read from `deadlines.toml` beside sunshine.toml.

The file is data, not code. Each `[[rule]]` says which category (and optionally which topic) is due
how often, by which day, from which date, for which villages, and on what legal basis; each
`[[exemption]]` frees one village from one rule for a time, with its public reason. Mistakes are
reported in Chinese as `Problem`s naming the rule and the key, so a clerk can fix the file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sunshine import privacy
from sunshine.deadlines.periods import KINDS, Period
from sunshine.package import Project
from sunshine.problems import Problem
from sunshine.settings import as_written
from sunshine.validate.cells import PERSONAL  # the one wording of personal-data problems

FILENAME = "deadlines.toml"
EVENT = "event"
EVERY = {"month": "每月", "quarter": "每季度", "year": "每年", EVENT: "随时（事项发生后）"}
RULE_KEYS = {"id", "name", "category", "topic", "every", "due_months", "due_day", "within_days"}
RULE_KEYS |= {"from", "until", "villages", "basis"}
EXEMPTION_KEYS = {"rule", "village_code", "from", "until", "reason", "basis"}
ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,39}$")
EARLIEST, LATEST = (
    date(1990, 1, 1),
    date(2099, 12, 31),
)  # bounds a typo like 0026-01-01 (centuries of periods)
MAX_TEXT = 2000  # characters in a name, a basis or a reason
# The texts that are published as they are written: on the site, in the database, in search.
PUBLISHED_TEXTS = {"title", "basis", "name", "reason", "id"}


@dataclass(frozen=True)
class Rule:
    """One deadline: `category`/`topic` due `every` month, quarter, year or event."""

    id: str
    name: str
    category: str
    topic: str  # "" = any topic of the category
    every: str  # month | quarter | year | event
    due_months: int  # the deadline falls in the month this many months after the period's first month
    due_day: int  # on this day of that month (past the month's end: its last day)
    within_days: int  # for events: days after the end of the month the matter happened in
    start: date
    until: date | None
    villages: tuple[str, ...]  # empty = every village
    basis: str

    def applies(self, village_code: str, period: Period) -> bool:
        if self.villages and village_code not in self.villages:
            return False
        return period.start >= self.start and (self.until is None or period.start <= self.until)

    def covers(self, category: str, topic: str) -> bool:
        return category == self.category and (not self.topic or topic == self.topic)

    @property
    def subject(self) -> str:
        """What is due: 财务公开（集体资金收支）."""
        return f"{self.category}（{self.topic}）" if self.topic else self.category


@dataclass(frozen=True)
class Exemption:
    """One village freed from one rule for a time; the reason is public."""

    rule: str
    village_code: str
    start: date
    until: date | None
    reason: str
    basis: str

    def covers(self, rule: str, village_code: str, period: Period) -> bool:
        return (
            rule == self.rule
            and village_code == self.village_code
            and period.start >= self.start
            and (self.until is None or period.start <= self.until)
        )


@dataclass(frozen=True)
class Rules:
    rules: tuple[Rule, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    title: str = ""
    basis: str = ""

    def rule(self, rule_id: str) -> Rule:
        return next(r for r in self.rules if r.id == rule_id)

    def exemption(self, rule_id: str, village_code: str, period: Period) -> Exemption | None:
        return next((e for e in self.exemptions if e.covers(rule_id, village_code, period)), None)


class RulesError(Exception):
    """deadlines.toml cannot be used; `problems` says where and why, in Chinese."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(render(p) for p in problems))


def render(problem: Problem) -> str:
    line = f"第 {problem.row} 行，" if problem.row is not None else ""
    return f"{problem.file}：{line}{problem.message}{'。' + problem.hint if problem.hint else ''}"


def load_project_rules(project: Project) -> Rules:
    """The project's rules; no deadlines.toml means no deadlines (and no statuses)."""
    path = project.root / FILENAME
    if not path.is_file():
        return Rules()
    table = project.tables["disclosures"]
    categories = table.field("category")["constraints"]["enum"]
    topics = table.field("topic")["constraints"]["enum"]
    return parse(read_text(path), categories=categories, topics=topics)


def load(path: Path, *, categories: list[str], topics: list[str]) -> Rules:
    return parse(read_text(path), categories=categories, topics=topics)


def read_text(path: Path) -> str:
    """The file as UTF-8, with or without the byte-order mark Windows Notepad writes."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        hint = "请用记事本或 WPS “另存为”，编码选 UTF-8"
        raise RulesError([_problem("encoding", "无法读取：文件不是 UTF-8 编码（可能是 GBK）", hint)]) from exc


def parse(text: str, *, categories: list[str], topics: list[str]) -> Rules:
    """Read the rules; raise RulesError listing every problem at once."""
    try:
        raw = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"line (\d+), column (\d+)", str(exc))
        at = f"第 {where.group(1)} 行第 {where.group(2)} 列附近" if where else str(exc)
        hint = "请检查引号、方括号和等号；文字要加引号，日期写成 2026-01-01"
        raise RulesError([_problem("toml-syntax", f"无法读取：{at}写法有误", hint)]) from exc
    problems: list[Problem] = []
    _unknown_keys(raw, {"title", "basis", "rule", "exemption"}, "文件开头", problems)
    for key in ("title", "basis"):
        if not isinstance(raw.get(key, ""), str):
            problems.append(_problem("bad-text", f"文件开头的 {key} 应为文字（加引号）", "", key))
        else:
            _no_personal_data(raw.get(key, ""), f"文件开头的 {key} ", key, problems)
    rules = [_rule(n, entry, categories, topics, problems) for n, entry in enumerate(raw.get("rule", []), 1)]
    ids = [r.id for r in rules if r]
    for rule_id in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(_problem("duplicate-rule", f"规则编号 {rule_id} 重复", "每条规则的 id 应各不相同"))
    # Exemptions may name a rule that has mistakes of its own: those are reported once, on the rule.
    named = {e["id"] for e in raw.get("rule", []) if isinstance(e, dict) and isinstance(e.get("id"), str)}
    exemptions = [
        _exemption(n, entry, named, problems) for n, entry in enumerate(raw.get("exemption", []), 1)
    ]
    if problems:
        raise RulesError([_located(p, text) for p in problems])
    return Rules(
        rules=tuple(r for r in rules if r),
        exemptions=tuple(e for e in exemptions if e),
        title=str(raw.get("title", "")),
        basis=str(raw.get("basis", "")),
    )


def check_villages(rules: Rules, village_codes: set[str]) -> None:
    """Every village named by a rule or an exemption must exist in villages.csv."""
    problems = []
    for n, rule in enumerate(rules.rules, 1):
        for code in rule.villages:
            if code not in village_codes:
                problems.append(
                    _problem(
                        "unknown-village",
                        f"第 {n} 条规则（{rule.id}）的 villages 中的 {_shown(code)} 不是本乡镇的村（社区）代码",
                        "请对照 data/villages.csv 改正",
                    )
                )
    for n, e in enumerate(rules.exemptions, 1):
        if e.village_code not in village_codes:
            problems.append(
                _problem(
                    "unknown-village",
                    f"第 {n} 条豁免的 village_code {_shown(e.village_code)} 不是本乡镇的村（社区）代码",
                    "请对照 data/villages.csv 改正",
                )
            )
    if problems:
        raise RulesError(problems)


_NTH = re.compile(r"^第 (\d+) 条(规则|豁免)")
_SECTION = {"规则": "rule", "豁免": "exemption"}


def _located(problem: Problem, text: str) -> Problem:
    """The problem with the line of the file it is about: its key's line in the n-th [[rule]] or
    [[exemption]] (or, without a key, the section's own line)."""
    found = _NTH.match(problem.message)
    if not found:
        return problem
    n, header = int(found.group(1)), f"[[{_SECTION[found.group(2)]}]]"
    lines = text.removeprefix("\ufeff").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip().replace(" ", "") == header]
    if len(starts) < n:
        return problem
    start = starts[n - 1]
    line = start
    if problem.column:
        key = re.compile(rf"^\s*{re.escape(problem.column)}\s*=")
        for i in range(start + 1, len(lines)):
            if lines[i].lstrip().startswith("["):
                break
            if key.match(lines[i]):
                line = i
                break
    return dataclasses.replace(problem, row=line + 1)


def _problem(code: str, message: str, hint: str = "", column: str | None = None) -> Problem:
    return Problem(code=code, file=FILENAME, message=message, hint=hint, column=column)


def _unknown_keys(entry: dict[str, Any], allowed: set[str], where: str, problems: list[Problem]) -> None:
    for key in sorted(set(entry) - allowed):
        problems.append(
            _problem(
                "unknown-key", f"{where}中有未知的项 {key}", f"可用的项：{'、'.join(sorted(allowed))}", key
            )
        )


def _date(value: Any, key: str, where: str, problems: list[Problem], *, required: bool) -> date | None:
    if value is None:
        if required:
            problems.append(
                _problem("missing-key", f"{where}缺少 {key}（起始日期）", "写成 2026-01-01 的形式", key)
            )
        return None
    day: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif not isinstance(value, datetime):
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(str(value))
    if day is None:
        problems.append(
            _problem(
                "bad-date",
                f"{where}的 {key} 不是日期：{value if isinstance(value, datetime) else _quoted(value).strip()}",
                "写成 2026-01-01 的形式（不带时间）",
                key,
            )
        )
        return None
    if not EARLIEST <= day <= LATEST:
        problems.append(
            _problem(
                "bad-date",
                f"{where}的 {key} 是 {day.isoformat()}，不在 {EARLIEST.year} 年到 {LATEST.year} 年之间",
                "请检查年份",
                key,
            )
        )
        return None
    return day


def _int(entry: dict[str, Any], key: str, lo: int, hi: int, where: str, problems: list[Problem]) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        problems.append(
            _problem(
                "bad-number",
                f"{where}的 {key} 应为 {lo} 到 {hi} 之间的整数，现在是{_quoted(value)}",
                "请改成这个范围内的整数（不加引号）",
                key,
            )
        )
        return lo
    return value


def _text(
    entry: dict[str, Any], key: str, where: str, problems: list[Problem], *, required: bool = True
) -> str:
    value = entry.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        problems.append(_problem("missing-key", f"{where}缺少 {key}，或它不是文字", "", key))
        return ""
    if len(value) > MAX_TEXT:
        problems.append(
            _problem(
                "too-long", f"{where}的 {key} 太长（{len(value)} 字）", f"请精简到 {MAX_TEXT} 字以内", key
            )
        )
        return ""
    if key in PUBLISHED_TEXTS:
        _no_personal_data(value, f"{where}的 {key} ", key, problems)
    return value.strip()


def _no_personal_data(value: str, where: str, key: str, problems: list[Problem]) -> None:
    """The rules are published word for word: a personal number in them is refused, as in a CSV cell."""
    found = privacy.find_personal(value)
    if not found:
        return
    for finding in found:
        issue = PERSONAL[finding.kind](finding.masked)
        problems.append(_problem(issue.code, where + issue.message, issue.hint, key))


def _quoted(value: Any) -> str:
    """A value the clerk wrote, in Chinese quotes, personal numbers masked: “季度”."""
    if value is None:
        return "空的"
    return f"“{_shown(value)}”"


def _shown(value: Any) -> str:
    """A value the clerk wrote, as an error message may repeat it (as the file writes it, never
    Python's form of it): personal numbers masked."""
    return privacy.mask(value if isinstance(value, str) else as_written(value))


def _until(start: date | None, until: date | None, where: str, problems: list[Problem]) -> None:
    if start and until and until < start:
        problems.append(
            _problem(
                "bad-date", f"{where}的 until（{until}）早于 from（{start}）", "until 应在 from 之后", "until"
            )
        )


def _rule(
    n: int, entry: Any, categories: list[str], topics: list[str], problems: list[Problem]
) -> Rule | None:
    if not isinstance(entry, dict):
        problems.append(_problem("bad-rule", f"第 {n} 条规则应写成 [[rule]] 小节"))
        return None
    where = f"第 {n} 条规则（{_shown(entry.get('id', '无编号'))}）"
    before = len(problems)
    _unknown_keys(entry, RULE_KEYS, where, problems)
    rule_id = _text(entry, "id", where, problems)
    if rule_id and not ID.match(rule_id):
        problems.append(
            _problem(
                "bad-id",
                f"{where}的 id 只能用英文字母、数字和短横线（最长 40 个）",
                "例如 finance-monthly",
                "id",
            )
        )
    name = _text(entry, "name", where, problems)
    category = _text(entry, "category", where, problems)
    if category and category not in categories:
        problems.append(
            _problem(
                "bad-category",
                f"{where}的 category{_quoted(category)}不是公开类别",
                f"可选：{'、'.join(categories)}",
                "category",
            )
        )
    topic = _text(entry, "topic", where, problems, required=False)
    if topic and topic not in topics:
        problems.append(
            _problem(
                "bad-topic",
                f"{where}的 topic{_quoted(topic)}不是公开事项",
                f"可选：{'、'.join(topics)}",
                "topic",
            )
        )
    every = entry.get("every")
    if not isinstance(every, str) or every not in EVERY:
        problems.append(
            _problem(
                "bad-every",
                f"{where}的 every 应为 month、quarter、year 或 event，现在是{_quoted(every)}",
                "every 的取值是英文：每月 month、每季度 quarter、每年 year、事项发生后 event",
                "every",
            )
        )
    due_months = due_day = within_days = 0
    if isinstance(every, str) and every in KINDS:
        due_months = _int(entry, "due_months", 0, 24, where, problems)
        due_day = _int(entry, "due_day", 1, 31, where, problems)
    elif every == EVENT:
        within_days = _int(entry, "within_days", 0, 366, where, problems)
    start = _date(entry.get("from"), "from", where, problems, required=True)
    until = _date(entry.get("until"), "until", where, problems, required=False)
    _until(start, until, where, problems)
    villages = entry.get("villages", [])
    if not isinstance(villages, list) or not all(isinstance(v, str) for v in villages):
        problems.append(
            _problem("bad-villages", f"{where}的 villages 应为村（社区）代码的列表", "", "villages")
        )
        villages = []
    basis = _text(entry, "basis", where, problems)
    if len(problems) > before or start is None:
        return None
    return Rule(
        rule_id,
        name,
        category,
        topic,
        every,
        due_months,
        due_day,
        within_days,
        start,
        until,
        tuple(villages),
        basis,
    )


def _exemption(n: int, entry: Any, rule_ids: set[str], problems: list[Problem]) -> Exemption | None:
    if not isinstance(entry, dict):
        problems.append(_problem("bad-exemption", f"第 {n} 条豁免应写成 [[exemption]] 小节"))
        return None
    where = f"第 {n} 条豁免"
    before = len(problems)
    _unknown_keys(entry, EXEMPTION_KEYS, where, problems)
    rule = _text(entry, "rule", where, problems)
    if rule and rule not in rule_ids:
        problems.append(
            _problem(
                "unknown-rule",
                f"{where}的 rule{_quoted(rule)}不是任何一条规则的 id",
                "请对照上面各条规则的 id 改正",
                "rule",
            )
        )
    code = _text(entry, "village_code", where, problems)
    start = _date(entry.get("from"), "from", where, problems, required=True)
    until = _date(entry.get("until"), "until", where, problems, required=False)
    _until(start, until, where, problems)
    reason = _text(entry, "reason", where, problems)
    basis = _text(entry, "basis", where, problems)
    if len(problems) > before or start is None:
        return None
    return Exemption(rule, code, start, until, reason, basis)
