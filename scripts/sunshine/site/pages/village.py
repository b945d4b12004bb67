"""One page per village (社区): overview, 三务公开 by period, finances by year, grids, petitions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import polars as pl

from sunshine.site import charts
from sunshine.site.pages import Context, Page
from sunshine.site.pages import calendar as deadline_calendar
from sunshine.site.pages import md as m
from sunshine.site.pages.data import petition_figures
from sunshine.site.pages.paths import grid_path, village_path

CATEGORIES = ("党务公开", "村务公开", "财务公开")
CATEGORY_IDS = {"党务公开": "party-affairs", "村务公开": "village-affairs", "财务公开": "finance-disclosures"}
PERIODS_SHOWN = 6  # most recent periods listed per category; the rest are one link away


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


def _by(frame: pl.DataFrame, key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        out[row[key]].append(row)
    return out


def pages(ctx: Context) -> Iterator[Page]:
    d = ctx.data
    disclosures = _by(
        d.disclosures.select(
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
        ).sort("published_on", "disclosure_id", descending=True),
        "village_code",
    )
    staff_counts = dict(d.staff.group_by("grid_id").len().iter_rows())
    grids = _by(d.grids.sort("grid_id"), "village_code")
    figures = {r["village_code"]: r for r in petition_figures(d.petitions, "village_code")}
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in petition_figures(d.petitions, ["village_code", "category"]):
        by_category[row["village_code"]].append(row)
    for village in d.villages.sort("village_code").iter_rows(named=True):
        code = village["village_code"]
        inputs = {
            "village": village,
            "intro": ctx.content_text(f"villages/{code}.md"),
            "disclosures": disclosures.get(code, []),
            "grids": [{**g, "staff": staff_counts.get(g["grid_id"], 0)} for g in grids.get(code, [])],
            "petitions": figures.get(code),
            "petitions_by_category": by_category.get(code, []),
            "ds": ctx.ds.base,
            "history": ctx.history,
            "deadlines": deadline_calendar.village_inputs(ctx, code),
        }
        yield Page(village_path(code), inputs, render, title=village["name"])


def _overview(v: dict[str, Any], ds: m.Datasette) -> str:
    rows = [
        ["乡镇（街道）", m.html(v["township"])],
        ["县（区）", m.html(v["county"])],
        ["类型", m.html(v["kind"])],
        ["户数", m.number(v["households"]) + " 户"],
        ["人口", m.number(v["population"]) + " 人"],
        ["党组织书记", m.html(v["party_secretary"])],
        ["村（居）委会主任", m.html(v["director"])],
        ["办公电话", m.tel(v["office_phone"])],
        ["村务监督电话", m.tel(v["supervision_phone"])],
        ["办公地址", m.html(v["address"])],
    ]
    body = "".join(f'<tr><th scope="row">{k}</th><td>{val}</td></tr>' for k, val in rows)
    return (
        f'<div class="table-wrap" tabindex="0"><table class="facts"><caption>基本情况</caption><tbody>{body}</tbody></table></div>\n\n'
        f"<p>{m.data_link(ds.row('villages', v['village_code']), '在数据库中查看本村（社区）记录')}</p>"
    )


def _disclosure_item(row: dict[str, Any], ds: m.Datasette) -> str:
    amount = ""
    if row["amount_yuan"] is not None:
        amount = f" · {m.html(row['direction'])} {m.yuan(row['amount_yuan'])} 元"
    details = [f"<p>{m.html(row['content'])}</p>"]
    if row["approval_ref"]:
        details.append(f"<p>依据：{m.html(row['approval_ref'])}</p>")
    details.append(
        f"<p>公开主体：{m.html(row['responsible'])} · 事项：{m.html(row['topic'])} · "
        f"{m.data_link(ds.row('disclosures', row['disclosure_id']), '原始记录')}</p>"
    )
    # The full text stays out of the search index: titles and topics find the page.
    return (
        f"<li><details><summary>{m.html(row['title'])}"
        f'<span class="meta">{m.html(row["published_on"])}{amount}</span></summary>'
        f'<div class="disclosure-body" data-search-exclude>{"".join(details)}</div></details></li>'
    )


def _disclosures(rows: list[dict[str, Any]], code: str, ds: m.Datasette) -> str:
    out = []
    for category in CATEGORIES:
        items = [r for r in rows if r["category"] == category]
        out.append(f"### {category} {{ #{CATEGORY_IDS[category]} }}\n")
        if not items:
            out.append("暂无公开事项。\n")
            continue
        topics = sorted({r["topic"] for r in items})
        out.append(f"<p>公开的事项：{'、'.join(m.html(t) for t in topics)}</p>\n")
        periods: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in items:
            periods[r["period"]].append(r)
        ordered = sorted(periods, key=period_order, reverse=True)
        for n, period in enumerate(ordered[:PERIODS_SHOWN]):
            lis = "".join(_disclosure_item(r, ds) for r in periods[period])
            indexed = "" if n == 0 else " data-search-exclude"  # only the latest period is indexed
            out.append(
                f'<h4>{m.html(period_label(period))}</h4>\n<ul class="disclosures"{indexed}>{lis}</ul>\n'
            )
        all_link = ds.table("disclosures", village_code=code, category=category, _sort_desc="published_on")
        more = f"（另有 {len(ordered) - PERIODS_SHOWN} 个更早的期间）" if len(ordered) > PERIODS_SHOWN else ""
        out.append(f"<p>{m.data_link(all_link, f'查看全部 {len(items)} 条{category}')}{more}</p>\n")
    return "\n".join(out)


def _finances(rows: list[dict[str, Any]], code: str, name: str, ds: m.Datasette) -> str:
    money = [r for r in rows if r["amount_yuan"] is not None and r["direction"]]
    if not money:
        return "暂无带金额的财务公开事项。\n"
    totals: dict[tuple[str, str], float] = defaultdict(float)
    topics: dict[tuple[str, str, str], float] = defaultdict(float)
    for r in money:
        totals[(r["year"], r["direction"])] += r["amount_yuan"]
        topics[(r["year"], r["topic"], r["direction"])] += r["amount_yuan"]
    years = sorted({y for y, _ in totals})
    chart_rows = [
        {"year": y, "direction": dirn, "amount": round(totals.get((y, dirn), 0.0), 2)}
        for y in years
        for dirn in ("收入", "支出")
    ]
    out = [charts.income_expenditure_chart(chart_rows, caption=f"{name}各年度公开的收入与支出（元）"), ""]
    for y in reversed(years):
        table_rows = [
            [
                m.html(topic),
                m.yuan(topics.get((y, topic, "收入"))),
                m.yuan(topics.get((y, topic, "支出"))),
            ]
            for topic in sorted({t for (yy, t, _) in topics if yy == y})
        ]
        table_rows.append(
            [
                "<strong>合计</strong>",
                m.yuan(totals.get((y, "收入"), 0.0)),
                m.yuan(totals.get((y, "支出"), 0.0)),
            ]
        )
        out.append(
            m.table_html(["事项", "收入（元）", "支出（元）"], table_rows, caption=f"{y} 年收支（按事项）")
        )
        out.append(
            f"<p>{m.data_link(ds.query('income_expenditure', village_code=code, year=y), f'{y} 年收支明细')}</p>\n"
        )
    return "\n".join(out)


def _grids(rows: list[dict[str, Any]], page: str) -> str:
    if not rows:
        return "暂无网格信息。\n"

    table_rows = [
        [
            f'<a href="{m.page_url(page, grid_path(g["grid_id"]))}">{m.html(g["name"])}</a>',
            m.html(g["area"]),
            m.number(g["households"]),
            m.number(g["population"]),
            m.number(g["staff"]),
        ]
        for g in rows
    ]
    return m.table_html(
        ["网格", "范围", "户数", "人口", "网格人员"], table_rows, caption="本村（社区）的网格"
    )


def _petitions(inputs: dict[str, Any], code: str, name: str, ds: m.Datasette) -> str:
    total = inputs["petitions"]
    if not total:
        return "暂无已办结的诉求。\n"
    cats = inputs["petitions_by_category"]
    out = [
        f"已办结诉求 **{m.number(total['count'])}** 件，办理用时中位数 **{m.number(total['median_days'], 1)}** 天，"
        f"满意率 **{m.percent(total['satisfaction_rate'])}**。\n",
        m.table_html(
            ["分类", "件数", "中位天数", "回访率", "满意率"],
            [
                [
                    m.link(
                        m.html(c["category"]),
                        ds.table(
                            "petitions", village_code=code, category=c["category"], _sort_desc="resolved_on"
                        ),
                    ),
                    m.number(c["count"]),
                    m.number(c["median_days"], 1),
                    m.percent(c["followup_rate"]),
                    m.percent(c["satisfaction_rate"]),
                ]
                for c in cats
            ],
            caption="按分类统计",
        ),
        f"<p>{m.data_link(ds.table('petitions', village_code=code, _sort_desc='resolved_on'), '查看本村（社区）全部诉求')} · "
        f"{m.data_link(ds.query('petitions_per_1000_by_grid', village_code=code), '各网格每千人诉求数')}</p>\n",
    ]
    return "\n".join(out)


def render(inputs: dict[str, Any]) -> str:
    v = inputs["village"]
    ds = m.Datasette(inputs["ds"])
    code = v["village_code"]
    page = village_path(code)
    name = m.one_line(v["name"])
    intro = inputs["intro"].strip() or "本村（社区）暂无补充介绍。"
    corrections = ds.history("village_corrections", village_code=code)
    history = (
        f"<p>{m.data_link(corrections, '本村（社区）已公开记录的更正和变更记录')}</p>\n"
        if inputs["history"]
        else "<p>变更记录将在历史数据库生成后提供。</p>\n"
    )
    return "\n".join(
        [
            m.front_matter(name, description=f"{name}的三务公开、网格服务和群众诉求办理情况（示例数据）"),
            f"# {m.text(v['name'])}\n",
            f'<p class="sample-badge">示例数据 · {m.html(v["township"])} · {m.html(v["kind"])}</p>\n',
            "## 村情概况 { #overview }\n",
            _overview(v, ds),
            "",
            intro,
            "",
            "## 三务公开 { #disclosures }\n",
            _disclosures(inputs["disclosures"], code, ds),
            f"<p>{m.data_link(ds.query('latest_disclosures', village_code=code), '本村（社区）最新公开事项')}</p>\n",
            deadline_calendar.village_section(inputs["deadlines"], page, v),
            "## 财务收支 { #finances data-search-exclude }\n",
            _finances(inputs["disclosures"], code, name, ds),
            "## 网格 { #grids }\n",
            _grids(inputs["grids"], page),
            f"<p>{m.data_link(ds.query('grid_staff_serving', village_code=code, grid_id=''), '本村（社区）全部网格人员')}</p>\n",
            "## 诉求办理 { #petitions data-search-exclude }\n",
            _petitions(inputs, code, name, ds),
            "## 监督电话 { #supervision data-search-exclude }\n",
            f"<p>对公开内容有疑问，请拨打村务监督委员会电话：{m.tel(v['supervision_phone'])}</p>\n",
            history,
        ]
    )
