"""The sample township keeps its 公开时限 (sample/deadlines.toml), except for two planted lapses.

After the random notices are drawn, every period the rules judge 未公开 or 逾期 gets a notice of its
own, published a few days before the deadline, so the demo shows mostly 按时. Two are planted: the
latest quarterly period of one village stays missing, and one month's accounts of another village
are posted late. The statuses come from sunshine.deadlines.status, the same definition the site
and the database use.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sunshine.deadlines.periods import Period
from sunshine.deadlines.rules import Rules, parse
from sunshine.deadlines.status import LAPSES, MISSING, Status, compute, latest_publication
from sunshine.sample.disclosures import (
    BUILDERS,
    Notice,
    Place,
    dibao,
    monthly_expense,
    party_dues,
    small_income,
    village_plan,
)

RULES_FILE = Path(__file__).with_name("deadlines.toml")
DAYS_LATE = 9  # the planted late notice comes this many days after its deadline

# Which notice a village posts to keep each rule of the sample (by rule id).
KEEPS: dict[str, Callable[[random.Random, Place, int, int], Notice]] = {
    "party-quarterly": party_dues,
    "affairs-quarterly": dibao,
    "finance-day": small_income,
    "finance-monthly": monthly_expense,
    "annual-plan": village_plan,
}


@dataclass(frozen=True)
class Planted:
    missing: Status | None
    late: Status | None


def sample_rules() -> Rules:
    categories = list(BUILDERS)
    topics = sorted({"年度工作计划", "工程项目", "集体资金收支"})
    return parse(RULES_FILE.read_text(encoding="utf-8"), categories=categories, topics=topics)


def rules_start() -> date:
    """The day the earliest sample rule starts: no rule judges what is published before it."""
    return min(r.start for r in sample_rules().rules)


def plant(statuses: Sequence[Status], as_of: date) -> Planted:
    """The lapses left in the demo: the latest missing quarter, a late month in another village."""
    newest = sorted((s for s in statuses if s.status in LAPSES), key=lambda s: (s.due_on, s.village_code))
    newest.reverse()
    missing = next((s for s in newest if s.every == "quarter" and s.status == MISSING), None)
    late = next(
        (
            s
            for s in newest
            if s.every == "month"
            and s.status == MISSING
            and (missing is None or s.village_code != missing.village_code)
            and date.fromisoformat(s.due_on) + timedelta(days=DAYS_LATE) <= as_of
        ),
        None,
    )
    return Planted(missing, late)


def scheduled_notices(
    places: Mapping[str, Place], rows: Sequence[Mapping[str, Any]], seed: int
) -> list[tuple[str, str, Notice]]:
    """(village code, category, notice) for every lapse of the random notices but the planted two."""
    rules = sample_rules()
    rng = random.Random(seed)
    as_of = latest_publication(rows)
    if as_of is None:
        return []
    names = {code: place.short for code, place in places.items()}
    statuses = compute(rules, names, rows, as_of)
    planted = plant(statuses, as_of)
    out = []
    for s in statuses:
        if s.status not in LAPSES or s.rule_id not in KEEPS or s == planted.missing:
            continue
        period = Period.parse(s.period)
        assert period is not None
        after = period.end + timedelta(days=1)
        if period.kind == "year":  # the year's plan is posted early in the year it plans
            after = period.start + timedelta(days=3)
        note = KEEPS[s.rule_id](rng, places[s.village_code], after.year, after.month)
        notice_period = Period.parse(note.period)
        if notice_period is None or not period.contains(notice_period):
            note.period = s.period
        due = date.fromisoformat(s.due_on)
        if s == planted.late:
            day = due + timedelta(days=DAYS_LATE)
        else:
            day = max(after, due - timedelta(days=rng.randint(1, 12)))
        note.published = (day.year, day.month, day.day)
        out.append((s.village_code, s.category, note))
    return out
