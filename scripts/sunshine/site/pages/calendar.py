"""公开日历 on a village page: the deadline statuses as a grid of rules × quarters, in words.

The statuses come from sunshine.deadlines.status (the same rows as the database table
disclosure_deadlines), computed once per build and kept on the site data.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sunshine.deadlines.periods import Period
from sunshine.deadlines.rules import EVERY, Rule, Rules, RulesError
from sunshine.deadlines.status import EXEMPT, LATE, MISSING, NOT_DUE, ON_TIME, Status, project_statuses
from sunshine.problems import BuildError
from sunshine.site.pages import Context
from sunshine.site.pages import md as m

ANCHOR = "deadlines"
REMEDY = "deadline-remedy"
YEARS_SHOWN = 2  # the latest years on a village page; the rest are in the database
CLASSES = {ON_TIME: "ok", LATE: "late", MISSING: "missing", NOT_DUE: "due"}
MARKS = {ON_TIME: "✓", LATE: "!", MISSING: "✗"}
QUARTERS = ("一季度", "二季度", "三季度", "四季度")
STYLE = (
    "<style>.dl{display:inline-block;margin:.1em .2em .1em 0;padding:0 .35em;border-radius:.25em;"
    "background:#f1f1f1;color:#333;white-space:nowrap}.dl-ok{background:#e6f4ea;color:#1b5e20}"
    ".dl-late{background:#fff1d6;color:#6d3a00}.dl-missing{background:#fde7e9;color:#9b1020;font-weight:700}"
    ".dl-exempt{background:#eef1f8;color:#27408b}.deadline-calendar th[scope=row]{min-width:7.5em}"
    # On a phone the four quarters fit the screen (the latest is the one that matters): badges and
    # headings wrap between words only, never inside 未公开.
    "@media (max-width:30em){.md-typeset .deadline-calendar th[scope=row]{min-width:0;width:4.5em}"
    ".md-typeset table.deadline-calendar td,.md-typeset table.deadline-calendar th{padding:.5em .15em}"
    ".md-typeset .deadline-calendar .dl{padding:0 .2em;margin-right:0}"
    ".md-typeset .dl,.md-typeset .deadline-calendar th[scope=col]{white-space:normal;word-break:keep-all}}"
    "</style>"
)


def deadlines(ctx: Context) -> tuple[Rules, list[Status]]:
    """The project's rules and statuses, computed once per build."""
    if "deadlines" not in ctx.data.extra:
        try:
            ctx.data.extra["deadlines"] = project_statuses(ctx.project)
        except RulesError as exc:
            raise BuildError(f"公开时限规则有误，无法生成公开日历：\n{exc}") from exc
    return ctx.data.extra["deadlines"]


def _by_village(ctx: Context) -> dict[str, list[Status]]:
    """The statuses of each village, in their order, grouped once per build (a county has 300
    villages and hundreds of thousands of statuses)."""
    if "deadlines_by_village" not in ctx.data.extra:
        grouped: dict[str, list[Status]] = defaultdict(list)
        for status in deadlines(ctx)[1]:
            grouped[status.village_code].append(status)
        ctx.data.extra["deadlines_by_village"] = grouped
    return ctx.data.extra["deadlines_by_village"]


def due_text(rule: Rule) -> str:
    """When a period of the rule is due, in words: 次月 10 日前, 下季度首月 20 日前, 当年 3 月 31 日前."""
    if rule.every == "event":
        return f"事项所属期间结束后 {rule.within_days} 日内"
    day = "月底" if rule.due_day >= 31 else f"{rule.due_day} 日"
    if rule.every == "month" and rule.due_months <= 2:
        return f"{('当月', '次月', '第三个月')[rule.due_months]} {day}前"
    if rule.every == "quarter" and rule.due_months == 3:
        return f"下季度首月 {day}前"
    if rule.every == "year" and rule.due_months < 12:
        return f"当年 {rule.due_months + 1} 月 {day}前"
    if rule.every == "year" and rule.due_months < 24:
        return f"次年 {rule.due_months - 11} 月 {day}前"
    return f"期间第一个月之后第 {rule.due_months} 个月的 {day}前"


def rule_row(rule: Rule) -> dict[str, Any]:
    """A rule as page inputs (plain data)."""
    return {
        "id": rule.id,
        "name": rule.name,
        "subject": rule.subject,
        "every": EVERY[rule.every],
        "due": due_text(rule),
        "from": rule.start.isoformat(),
        "until": rule.until.isoformat() if rule.until else "",
        "villages": list(rule.villages),
        "basis": rule.basis,
    }


def village_inputs(ctx: Context, code: str) -> dict[str, Any]:
    """What the village page needs for its calendar: its statuses, newest years only."""
    mine = _by_village(ctx).get(code, [])
    years = sorted({s.period[:4] for s in mine})[-YEARS_SHOWN:]
    return {
        "statuses": [s.row() for s in mine if s.period[:4] in years],
        "counts": {k: sum(1 for s in mine if s.status == k) for k in (ON_TIME, LATE, MISSING)},
    }


def _badge(row: dict[str, Any], label: str) -> str:
    status = row["status"]
    words = f"{LATE} {row['days_late']} 天" if status == LATE else status
    text = m.html(" ".join(t for t in (label, words) if t))
    if status in MARKS:  # the mark stays with the word after it when the badge wraps
        text = f"{MARKS[status]}&nbsp;{text}"
    cls = CLASSES.get(status, "exempt")
    if status in (LATE, MISSING):
        return f'<a class="dl dl-{cls}" href="#{REMEDY}" title="最迟 {m.html(row["due_on"])}">{text}</a>'
    if status not in (ON_TIME, NOT_DUE):  # exempt: the reason is public
        return f'<span class="dl dl-{cls}" title="{m.html(row["note"])}">{text}</span>'
    return f'<span class="dl dl-{cls}">{text}</span>'


def _cell_label(row: dict[str, Any]) -> str:
    period = Period.parse(row["period"])
    if period is None:
        return ""
    return period.short if period.kind == "month" else ""


def village_section(inputs: dict[str, Any], page: str, village: dict[str, Any]) -> str:
    """The calendar: for each year, a table of rules (rows) × quarters (columns), statuses in words."""
    rows = inputs["statuses"]
    sheets = m.link("公开栏打印页（A4，可下载 PDF）", m.rel(page, f"noticeboard/{village['village_code']}/"))
    if not rows:
        return f"<p>{sheets}</p>\n"
    counts = inputs["counts"]
    out = [
        f"## 公开日历 {{ #{ANCHOR} data-search-exclude }}\n",
        STYLE,
        f"<p>按本乡镇的{m.link('公开时限', m.rel(page, 'calendar/'))}，截至 {m.html(rows[0]['as_of'])}："
        f"按时 {counts[ON_TIME]} 期，逾期 {counts[LATE]} 期，未公开 {counts[MISSING]} 期。</p>",
    ]
    by_year: dict[str, dict[str, dict[int, list[dict[str, Any]]]]] = defaultdict(lambda: defaultdict(dict))
    names: dict[str, str] = {}
    for row in rows:
        period = Period.parse(row["period"])
        if period is None:
            continue
        names.setdefault(row["rule_id"], row["rule_name"])
        quarter = (period.start.month - 1) // 3
        by_year[row["period"][:4]][row["rule_id"]].setdefault(quarter, []).append(row)
    head = "".join(f'<th scope="col">{q}</th>' for q in QUARTERS)
    for year in sorted(by_year, reverse=True):
        body = []
        for rule_id, name in names.items():
            quarters = by_year[year].get(rule_id)
            if not quarters:
                continue
            cells = "".join(
                "<td>" + (" ".join(_badge(r, _cell_label(r)) for r in quarters.get(q, [])) or "—") + "</td>"
                for q in range(4)
            )
            body.append(f'<tr><th scope="row">{m.html(name)}</th>{cells}</tr>')
        out.append(
            f'<div class="table-wrap" tabindex="0"><table class="data deadline-calendar">'
            f"<caption>{year} 年公开日历</caption><thead><tr>"
            f'<th scope="col">公开时限</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
        )
    exempt = {(r["rule_name"], r["note"]) for r in rows if r["status"] == EXEMPT}
    if exempt:  # the reason is public, in words (a tooltip cannot be read on a phone)
        reasons = "；".join(f"{m.html(rule)}：{m.html(note)}" for rule, note in sorted(exempt))
        out.append(f"<p>{EXEMPT}：{reasons}。</p>")
    out.append(
        f'<p id="{REMEDY}">应当公开而未按时公开的，依照《村民委员会组织法》第三十一条，村民有权向镇人民政府反映。'
        f"可拨打村务监督电话 {m.tel(village['supervision_phone'])}，或见{m.link('监督与反馈', m.page_url(page, 'feedback.md'))}。"
        f"图中 ✓ 为按时，! 为逾期，✗ 为未公开。</p>"
    )
    out.append(f"<p>{sheets}</p>")
    return "\n".join(out) + "\n"
