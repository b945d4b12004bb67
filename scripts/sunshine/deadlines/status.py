"""Every village, every period, every rule: 按时, 逾期 (and by how many days) or 未公开.

This module is the one definition of a disclosure's timeliness. The database stage loads its rows
as the table `disclosure_deadlines`; the site's calendars, the township overview, the feed and the
generator of the sample township all read the same rows.

- A period is judged against a rule when the rule applies to the village and the period starts on
  or after the rule's `from` date (a rule that starts mid-year judges the periods after it).
- A disclosure counts for a period when its category (and topic, if the rule names one) match and
  its own period lies inside the rule's period: the August accounts count for the third quarter.
- The earliest such disclosure decides: published on or before the deadline is 按时, after it 逾期
  with the days late. A correction or supplement published later does not change the status.
- Nothing published: 未公开 once the deadline has passed on the `as_of` day (by default the latest
  publication date in the data, so the statuses depend on the data and the rules alone), else 未到期.
- An exemption turns the period into 免于公开, with its public reason.
- Rules for matters that happen at any time (`every = "event"`) judge each disclosure of the
  topic: due `within_days` after the end of the period the matter happened in. A matter nobody
  disclosed cannot be seen in the data, so these are never 未公开.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from sunshine import privacy, records, typed
from sunshine.deadlines import periods
from sunshine.deadlines import rules as rules_module
from sunshine.deadlines.periods import Period, due_date
from sunshine.deadlines.rules import EVENT, FILENAME, Rules, check_villages, load_project_rules
from sunshine.package import Project
from sunshine.privacy import Columns, mask_cell

ON_TIME, LATE, MISSING, NOT_DUE, EXEMPT = "按时", "逾期", "未公开", "未到期", "免于公开"
STATUSES = (ON_TIME, LATE, MISSING, NOT_DUE, EXEMPT)
LAPSES = (MISSING, LATE)
TABLE = "disclosure_deadlines"

# The table's columns with their Chinese descriptions (the database and Datasette's metadata).
COLUMNS: dict[str, str] = {
    "village_code": "村（社区）代码。",
    "village_name": "村（社区）名称。",
    "rule_id": "公开时限规则的编号（见 deadlines.toml）。",
    "rule_name": "公开时限规则的名称。",
    "category": "应公开的类别。",
    "topic": "应公开的事项；为空表示该类别的任何事项。",
    "every": "公开频次：每月、每季度、每年或随时。",
    "period": "所属期间：年（2026）、季度（2026-Q3）或月份（2026-08）。",
    "period_label": "所属期间（中文）。",
    "due_on": "最迟公开日期（YYYY-MM-DD）。",
    "status": "公开状态：按时、逾期、未公开、未到期或免于公开。",
    "days_late": "逾期天数：首次公开日期减最迟公开日期，单位：天；按时或未公开时为空。",
    "published_on": "该期间首次公开的日期；未公开时为空。",
    "disclosure_id": "该期间首次公开的公开事项编号；未公开时为空。",
    "later_count": "此后又公开（更正或补充）的同期事项数。",
    "note": "豁免的理由，或其他说明。",
    "basis": "规则的依据。",
    "as_of": "判断状态所依据的日期：数据中最新的公开日期。",
}


@dataclass(frozen=True)
class Status:
    village_code: str
    village_name: str
    rule_id: str
    rule_name: str
    category: str
    topic: str
    every: str
    period: str
    period_label: str
    due_on: str
    status: str
    days_late: int | None
    published_on: str | None
    disclosure_id: str | None
    later_count: int
    note: str
    basis: str
    as_of: str

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)  # every field is a plain value: asdict's deep copies cost 0.1 ms a row

    @property
    def lapse(self) -> bool:
        return self.status in LAPSES

    @property
    def text(self) -> str:
        """The status in words: 逾期 12 天."""
        return f"{LATE} {self.days_late} 天" if self.status == LATE else self.status


@dataclass(frozen=True)
class _Item:
    period: Period
    category: str
    topic: str
    published: date
    disclosure_id: str


def _items(disclosures: Iterable[Mapping[str, Any]]) -> dict[str, list[_Item]]:
    out: dict[str, list[_Item]] = defaultdict(list)
    periods: dict[str, Period | None] = {}  # a county repeats a few hundred periods and days
    days: dict[str, date | None] = {}
    for d in disclosures:
        text = str(d.get("period") or "")
        if (period := periods.get(text, _UNSEEN)) is _UNSEEN:
            period = periods[text] = Period.parse(text)
        text = str(d.get("published_on") or "")
        if (published := days.get(text, _UNSEEN)) is _UNSEEN:
            published = days[text] = _day(text)
        if period is None or published is None:
            continue
        out[str(d["village_code"])].append(
            _Item(period, str(d["category"]), str(d.get("topic") or ""), published, str(d["disclosure_id"]))
        )
    for items in out.values():
        items.sort(key=lambda i: (i.published, i.disclosure_id))
    return out


_UNSEEN: Any = object()


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def latest_publication(disclosures: Iterable[Mapping[str, Any]]) -> date | None:
    days = [str(d.get("published_on") or "") for d in disclosures]
    days = [d for d in days if d]
    return date.fromisoformat(max(days)) if days else None


def compute(
    rules: Rules,
    villages: Mapping[str, str],
    disclosures: Iterable[Mapping[str, Any]],
    as_of: date | None = None,
) -> list[Status]:
    """The status of every (village, rule, period), villages given as code -> name."""
    disclosures = list(disclosures)
    as_of = as_of or latest_publication(disclosures)
    if as_of is None or not rules.rules:
        return []
    by_village = _items(disclosures)
    out: list[Status] = []
    for code, name in sorted(villages.items()):
        items = [i for i in by_village.get(code, []) if i.published <= as_of]
        for rule in rules.rules:
            covered = [i for i in items if rule.covers(i.category, i.topic)]
            base = {
                "village_code": code,
                "village_name": name,
                "rule_id": rule.id,
                "rule_name": rule.name,
                "category": rule.category,
                "topic": rule.topic,
                "every": rule.every,
                "basis": rule.basis,
                "as_of": as_of.isoformat(),
            }
            if rule.every == EVENT:
                for item in covered:
                    if rule.applies(code, item.period):
                        due = item.period.end + timedelta(days=rule.within_days)
                        out.append(_judge(rules, rule.id, code, item.period, due, [item], as_of, base))
                continue
            for period in _periods(rule.every, rule.start, rule.until, as_of):
                if not rule.applies(code, period):
                    continue
                due = due_date(period, rule.due_months, rule.due_day)
                found = [i for i in covered if period.contains(i.period)]
                out.append(_judge(rules, rule.id, code, period, due, found, as_of, base))
    return out


def _periods(kind: str, start: date, until: date | None, as_of: date) -> Iterable[Period]:
    period = Period.of(kind, start)
    if period.start < start:
        period = period.next()
    while period.start <= as_of and (until is None or period.start <= until):
        yield period
        period = period.next()


def _judge(
    rules: Rules,
    rule_id: str,
    code: str,
    period: Period,
    due: date,
    found: list[_Item],
    as_of: date,
    base: dict[str, Any],
) -> Status:
    exemption = rules.exemption(rule_id, code, period)
    first = found[0] if found else None
    if exemption is not None:
        status, note = EXEMPT, f"{exemption.reason}（{exemption.basis}）"
    elif first is not None:
        status, note = (ON_TIME if first.published <= due else LATE), ""
    else:
        status, note = (MISSING if due < as_of else NOT_DUE), ""
    return Status(
        **base,
        period=period.text,
        period_label=period.label,
        due_on=due.isoformat(),
        status=status,
        days_late=(first.published - due).days if status == LATE and first else None,
        published_on=first.published.isoformat() if first else None,
        disclosure_id=first.disclosure_id if first else None,
        later_count=max(0, len(found) - 1),
        note=note,
    )


def _read(project: Project, table: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a table as pages may show them: personal numbers masked (sunshine.privacy).

    Read by polars (sunshine.typed); each distinct value of a column is masked once: a county's
    disclosures repeat a few hundred categories, periods and days in sixty thousand rows. A column
    the file lacks reads as empty; a blank line is no row."""
    path = project.root / project.tables[table].path
    masking = Columns.of(project.tables[table].fields)
    with path.open(encoding="utf-8-sig", newline="") as f:
        present = set(next(csv.reader(f), []))
    found = [c for c in columns if c in present]
    frame = typed.text_frame(path, found).filter(~pl.all_horizontal(pl.all().is_null())) if found else None
    out: list[dict[str, str]] = [{} for _ in range(frame.height if frame is not None else 0)]
    for c in columns:
        masked: dict[str | None, str] = {}
        for record, value in zip(out, frame[c].to_list() if c in present else [""] * len(out), strict=True):
            if (shown := masked.get(value)) is None:
                shown = masked[value] = mask_cell(masking, c, (value or "").strip(), runs=False)
            record[c] = shown
    return out


def project_statuses(project: Project) -> tuple[Rules, list[Status]]:
    """The project's rules and the statuses they give its data (RulesError when the rules are wrong).

    Kept in the user's cache under a digest of everything they follow from (the rules, the two
    tables' files and fields, this code): the database and the site of one build compute them once."""
    rules = load_project_rules(project)
    if not rules.rules:
        return rules, []
    key = _inputs_key(project)
    kept = _cache_dir() / f"{key}.json"
    try:
        return rules, [Status(**row) for row in json.loads(kept.read_text(encoding="utf-8"))]
    except (OSError, ValueError, TypeError):
        pass
    villages = {r["village_code"]: r["name"] for r in _read(project, "villages", ("village_code", "name"))}
    check_villages(rules, set(villages))
    columns = ("disclosure_id", "village_code", "category", "topic", "period", "published_on")
    statuses = compute(rules, villages, _read(project, "disclosures", columns))
    _keep(kept, statuses)
    return rules, statuses


def _cache_dir() -> Path:
    return records.cache_root() / "deadline-statuses"


KEPT = 4  # sets of statuses kept: the last builds of a branch or two

# What the statuses are computed by: a change to any of it computes them again.
_CODE = hashlib.sha256(
    b"".join(
        Path(m.__file__).read_bytes() for m in (sys.modules[__name__], periods, rules_module, privacy, typed)
    )  # type: ignore[arg-type]
).hexdigest()


def _inputs_key(project: Project) -> str:
    digest = hashlib.sha256(_CODE.encode())
    path = project.root / FILENAME
    digest.update(path.read_bytes() if path.is_file() else b"")
    for name in ("villages", "disclosures"):
        table = project.tables[name]
        digest.update(json.dumps(table.fields, sort_keys=True, ensure_ascii=False).encode())
        file = project.root / table.path
        digest.update(records.blob_id(file).encode() if file.exists() else b"-")
    return digest.hexdigest()[:32]


def _keep(path: Path, statuses: list[Status]) -> None:
    """Write the statuses (masked, as every page shows them) and drop all but the newest sets."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps([s.row() for s in statuses], ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        older = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)[KEPT:]
        for old in older:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written is computed again next time


def ranking(statuses: Iterable[Status]) -> list[dict[str, Any]]:
    """Villages by missing, then late items (most first), with their on-time count."""
    counts: dict[str, dict[str, Any]] = {}
    for s in statuses:
        c = counts.setdefault(
            s.village_code,
            {"village_code": s.village_code, "village_name": s.village_name, **{k: 0 for k in STATUSES}},
        )
        c[s.status] += 1
    rows = list(counts.values())
    for r in rows:
        judged = r[ON_TIME] + r[LATE] + r[MISSING]
        r["on_time_rate"] = r[ON_TIME] / judged if judged else None
    return sorted(rows, key=lambda r: (-r[MISSING], -r[LATE], r["village_code"]))
