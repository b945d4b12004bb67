"""calendar.md, 公开日历: the township's deadlines, villages ranked by missing and late items."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sunshine.deadlines.status import LAPSES, LATE, MISSING, ON_TIME, ranking
from sunshine.site.pages import Context, Page
from sunshine.site.pages import calendar as deadline_calendar
from sunshine.site.pages import md as m
from sunshine.site.pages.paths import village_path

PATH = "calendar.md"


def pages(ctx: Context) -> Iterator[Page]:
    rules, statuses = deadline_calendar.deadlines(ctx)
    if not rules.rules:
        return
    phones = dict(zip(ctx.data.villages["village_code"], ctx.data.villages["supervision_phone"], strict=True))
    names = ctx.data.village_name()
    inputs = {
        "title": rules.title,
        "basis": rules.basis,
        "rules": [deadline_calendar.rule_row(r) for r in rules.rules],
        "exemptions": [
            {
                "village": names.get(e.village_code, e.village_code),
                "rule": rules.rule(e.rule).name,
                "from": e.start.isoformat(),
                "until": e.until.isoformat() if e.until else "",
                "reason": e.reason,
                "basis": e.basis,
            }
            for e in rules.exemptions
        ],
        "ranking": ranking(statuses),
        "lapses": [s.row() for s in statuses if s.status in LAPSES],
        "phones": phones,
        "as_of": statuses[0].as_of if statuses else "",
        "ds": ctx.ds.base,
    }
    yield Page(PATH, inputs, render, title="公开日历")


def lapse_order(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As the canned query overdue_and_missing lists them: missing first, the latest deadline first."""
    rows = sorted(rows, key=lambda r: r["village_code"])
    rows = sorted(rows, key=lambda r: r["due_on"], reverse=True)
    return sorted(rows, key=lambda r: r["status"] != MISSING)


def render(inputs: dict[str, Any]) -> str:
    ds = m.Datasette(inputs["ds"])
    ranking_rows = [
        [
            f'<a href="{m.page_url(PATH, village_path(r["village_code"]))}#{deadline_calendar.ANCHOR}">'
            f"{m.html(r['village_name'])}</a>",
            m.number(r[MISSING]),
            m.number(r[LATE]),
            m.number(r[ON_TIME]),
            m.percent(r["on_time_rate"]),
        ]
        for r in inputs["ranking"]
    ]
    lapses = lapse_order(inputs["lapses"])
    lapse_rows = [
        [
            m.html(r["village_name"]),
            f"{m.html(r['period_label'])}<br>{m.html(r['rule_name'])}",
            f"<strong>{m.html(r['status'])}</strong>"
            + (
                f" {m.number(r['days_late'])} 天<br>{m.html(r['published_on'])} 公开"
                if r["status"] == LATE
                else ""
            ),
            m.html(r["due_on"]),
            m.tel(inputs["phones"].get(r["village_code"], "")),
        ]
        for r in lapses
    ]
    rule_items = "".join(
        f"<li><strong>{m.html(r['name'])}</strong>：{m.html(r['subject'])}，{m.html(r['every'])}，"
        f"最迟{m.html(r['due'])}；{m.html(r['from'])}"
        + (f" 至 {m.html(r['until'])}" if r["until"] else " 起")
        + (f"，适用于 {len(r['villages'])} 个村（社区）" if r["villages"] else "")
        + f"。<br>依据：{m.html(r['basis'])}</li>"
        for r in inputs["rules"]
    )
    exemption_rows = [
        [
            m.html(e["village"]),
            m.html(e["rule"]),
            m.html(e["from"]) + (f" 至 {m.html(e['until'])}" if e["until"] else " 起"),
            m.html(e["reason"]),
            m.html(e["basis"]),
        ]
        for e in inputs["exemptions"]
    ]
    parts = [
        m.front_matter(
            "公开日历",
            description=f"各村（社区）三务公开是否按时：按时、逾期和未公开的事项{m.sample_mark(inputs)}",
        ),
        "# 公开日历\n",
        f"<p>按{m.html(inputs['title'] or '本乡镇的公开时限')}，截至 {m.html(inputs['as_of'])}（数据中最新的公开日期），"
        "各村（社区）每一期应当公开的事项是否按时公开。</p>\n",
        "## 各村（社区）排名 { #ranking }\n",
        "<p>未公开的多者在前，其次是逾期的。</p>\n",
        m.table_html(
            ["村（社区）", "未公开", "逾期", "按时", "按时率"],
            ranking_rows,
            caption="按未公开和逾期的期数排名",
        ),
        "## 逾期和未公开的事项 { #lapses }\n",
        (
            m.table_html(
                ["村（社区）", "期间和事项", "状态", "最迟公开", "村务监督电话"],
                lapse_rows,
                caption="逾期和未公开的事项",
            )
            if lapse_rows
            else "<p>目前没有逾期或未公开的事项。</p>"
        ),
        "<p>应当公开而未按时公开的，依照《村民委员会组织法》第三十一条，村民有权向镇人民政府反映："
        f"可拨打该村（社区）的村务监督电话，或见{m.link('监督与反馈', m.page_url(PATH, 'feedback.md'))}。</p>\n",
        f"<p>{m.data_link(ds.query('overdue_and_missing', village_code=''), '在数据库中查看逾期和未公开的事项')} · "
        f"{m.data_link(ds.table('disclosure_deadlines'), '全部公开状态')}</p>\n",
        "## 公开时限 { #rules }\n",
        f'<ul class="deadline-rules">{rule_items}</ul>\n',
        f"<p>{m.html(inputs['basis'])}</p>\n" if inputs["basis"] else "",
        "## 豁免 { #exemptions }\n",
        (
            m.table_html(
                ["村（社区）", "免于执行", "期限", "理由", "批准"], exemption_rows, caption="经批准的豁免"
            )
            if exemption_rows
            else "<p>没有豁免。</p>"
        ),
    ]
    return "\n".join(parts) + "\n"
