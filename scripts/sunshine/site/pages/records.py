"""The disclosures as every page shows them: periods, one item, and a year's money by topic.

Shared by the village pages (the latest periods) and the archive (every year of every village).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sunshine.site.pages import md as m

CATEGORIES = ("党务公开", "村务公开", "财务公开")
CATEGORY_IDS = {"党务公开": "party-affairs", "村务公开": "village-affairs", "财务公开": "finance-disclosures"}


# The disclosure columns the village pages and the archive show.
DISCLOSURE_COLUMNS = (
    "disclosure_id",
    "village_code",
    "category",
    "topic",
    "title",
    "content",
    "period",
    "published_on",
    "amount_yuan",
    "direction",
    "approval_ref",
    "responsible",
    "year",
)


def period_label(period: str) -> str:
    year, _, rest = period.partition("-")
    if not rest:
        return f"{year} 年"
    if rest.startswith("Q"):
        return f"{year} 年第 {rest[1:]} 季度"
    return f"{year} 年 {int(rest)} 月" if rest.isdigit() else period


def period_order(period: str) -> tuple[str, float]:
    year, _, rest = period.partition("-")
    if not rest:
        return (year, 13.0)
    if rest.startswith("Q") and rest[1:].isdigit():
        return (year, int(rest[1:]) * 3 + 0.5)
    return (year, float(rest) if rest.isdigit() else 0.0)


MONEY_CATEGORY = "财务公开"
UNDISCLOSED = "未公开金额"


def disclosure_item(row: dict[str, Any], ds: m.Datasette) -> str:
    """One disclosure: its title and date, the text folded; an amount, or that none was disclosed."""
    amount = ""
    if row["amount_yuan"] is not None:
        amount = f" · {m.html(row['direction'])} {m.yuan(row['amount_yuan'])} 元"
    elif row["category"] == MONEY_CATEGORY:
        amount = f" · {UNDISCLOSED}"
    details = [f"<p>{m.html(row['content'])}</p>"]
    if row["approval_ref"]:
        details.append(f"<p>依据：{m.html(row['approval_ref'])}</p>")
    details.append(
        f"<p>公开主体：{m.html(row['responsible'])} · 事项：{m.html(row['topic'])} · "
        f"{m.data_link(ds.row('disclosures', row['disclosure_id']), '原始记录')}</p>"
    )
    return (
        f"<li><details><summary>{m.html(row['title'])}"
        f'<span class="meta">{m.html(row["published_on"])}{amount}</span></summary>'
        f'<div class="disclosure-body" data-search-exclude>{"".join(details)}</div></details></li>'
    )


def periods(items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Periods newest first by publication: an annual plan published in January follows December's items."""
    periods: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in items:
        periods[r["period"]].append(r)
    ordered = sorted(
        periods,
        key=lambda p: (max(r["published_on"] or "" for r in periods[p]), period_order(p)),
        reverse=True,
    )
    return [(p, periods[p]) for p in ordered]


def money_table(rows: list[dict[str, Any]], year: str, caption: str) -> str:
    """A year's income and expenditure by topic; topics disclosed without an amount say so."""
    mine = [r for r in rows if r["year"] == year]
    money_topics = {r["topic"] for r in rows if r["amount_yuan"] is not None}
    income: dict[str, float] = defaultdict(float)
    spent: dict[str, float] = defaultdict(float)
    missing: dict[str, int] = defaultdict(int)
    topics: set[str] = set()
    for r in mine:
        if r["amount_yuan"] is not None and r["direction"] in ("收入", "支出"):
            (income if r["direction"] == "收入" else spent)[r["topic"]] += r["amount_yuan"]
            topics.add(r["topic"])
        elif r["category"] == MONEY_CATEGORY or r["topic"] in money_topics:
            missing[r["topic"]] += 1
            topics.add(r["topic"])
    if not topics:
        return ""
    body = [
        [
            m.html(t),
            m.yuan(income.get(t)),
            m.yuan(spent.get(t)),
            f"{UNDISCLOSED} {missing[t]} 项" if missing.get(t) else "",
        ]
        for t in sorted(topics)
    ]
    body.append(["<strong>合计</strong>", m.yuan(sum(income.values())), m.yuan(sum(spent.values())), ""])
    return m.table_html(["事项", "收入（元）", "支出（元）", "没有金额的事项"], body, caption=caption)
