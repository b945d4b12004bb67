"""Periods of disclosure (2026, 2026-Q3, 2026-08) as date ranges, and the arithmetic of deadlines."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

KINDS = ("month", "quarter", "year")
_PERIOD = re.compile(r"^(\d{4})(?:-Q([1-4])|-(0[1-9]|1[0-2]))?$")


@dataclass(frozen=True, order=True)
class Period:
    """A month, a quarter or a year, as the `period` column writes it."""

    start: date
    end: date  # last day, inclusive
    kind: str

    @classmethod
    def parse(cls, text: str) -> Period | None:
        """2026 / 2026-Q3 / 2026-08, or None for anything else."""
        match = _PERIOD.match(text or "")
        if not match:
            return None
        year = int(match.group(1))
        if match.group(2):
            q = int(match.group(2))
            return cls(date(year, 3 * q - 2, 1), month_end(year, 3 * q), "quarter")
        if match.group(3):
            month = int(match.group(3))
            return cls(date(year, month, 1), month_end(year, month), "month")
        return cls(date(year, 1, 1), date(year, 12, 31), "year")

    @classmethod
    def of(cls, kind: str, day: date) -> Period:
        """The period of this kind that holds the day."""
        if kind == "month":
            return cls(date(day.year, day.month, 1), month_end(day.year, day.month), kind)
        if kind == "quarter":
            first = 3 * ((day.month - 1) // 3) + 1
            return cls(date(day.year, first, 1), month_end(day.year, first + 2), kind)
        if kind == "year":
            return cls(date(day.year, 1, 1), date(day.year, 12, 31), kind)
        raise ValueError(kind)

    def next(self) -> Period:
        return Period.of(self.kind, self.end + timedelta(days=1))

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def text(self) -> str:
        """As the `period` column writes it."""
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return str(self.start.year)

    @property
    def label(self) -> str:
        """For people: 2026 年 8 月, 2026 年第 3 季度, 2026 年."""
        if self.kind == "month":
            return f"{self.start.year} 年 {self.start.month} 月"
        if self.kind == "quarter":
            return f"{self.start.year} 年第 {(self.start.month - 1) // 3 + 1} 季度"
        return f"{self.start.year} 年"

    @property
    def short(self) -> str:
        """Within a year's calendar: 8月, 三季度, 全年."""
        if self.kind == "month":
            return f"{self.start.month}月"
        if self.kind == "quarter":
            return "一二三四"[(self.start.month - 1) // 3] + "季度"
        return "全年"


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + n
    return index // 12, index % 12 + 1


def due_date(period: Period, months: int, day: int) -> date:
    """Day `day` of the month `months` after the period's first month; a day past the month's end
    is its last day (31 in February is the 28th, or the 29th in a leap year)."""
    year, month = add_months(period.start.year, period.start.month, months)
    return min(date(year, month, 1) + timedelta(days=day - 1), month_end(year, month))


def day_text(day: date) -> str:
    return f"{day.year} 年 {day.month} 月 {day.day} 日"
