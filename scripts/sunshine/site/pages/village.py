"""One page per village (社区): overview, 三务公开 by period, finances by year, grids, petitions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import polars as pl

from sunshine.figures import BY_RESOLVED, petition_figures
from sunshine.site import charts
from sunshine.site.pages import Context, Page, Rows, partition_rows, records
from sunshine.site.pages import calendar as deadline_calendar
from sunshine.site.pages import committees as committee_pages
from sunshine.site.pages import md as m
from sunshine.site.pages.paths import archive_path, grid_path, village_path
from sunshine.site.pages.petitions import FIGURE_HEADERS, figure_cells, statement
from sunshine.site.pages.records import (
    CATEGORIES,
    CATEGORY_IDS,
    DISCLOSURE_COLUMNS,
    disclosure_item,
    period_label,
)

VILLAGE_BOOST = 1.3  # a village's name finds its page before its yearly archives
PERIODS_SHOWN = 2  # most recent periods listed per category, open
PERIODS_FOLDED = 4  # the next periods, folded; the rest are in the archive by year


def _by(frame: pl.DataFrame, key: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in frame.iter_rows(named=True):
        out[row[key]].append(row)
    return out


def pages(ctx: Context) -> Iterator[Page]:
    d = ctx.data
    # Each village's rows as dicts only when its page is rendered: a county's are 60,000 with their texts.
    disclosures = partition_rows(
        d.disclosures.select(DISCLOSURE_COLUMNS).sort("published_on", "disclosure_id", descending=True),
        ["village_code"],
    )
    staff_counts = dict(d.staff.group_by("grid_id").len().iter_rows())
    grids = _by(d.grids.sort("grid_id"), "village_code")
    figures = {r["village_code"]: r for r in petition_figures(d.petitions, "village_code")}
    by_category: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in petition_figures(d.petitions, ["village_code", "category"]):
        by_category[row["village_code"]].append(row)
    committees = committee_pages.by_village(ctx.project, d.committee_members, d.commitments)
    for village in d.villages.sort("village_code").iter_rows(named=True):
        code = village["village_code"]
        inputs = {
            "village": village,
            "intro": ctx.content_text(f"villages/{code}.md"),
            "disclosures": disclosures.pop((code,), None),  # None: no disclosures
            "grids": [{**g, "staff": staff_counts.get(g["grid_id"], 0)} for g in grids.get(code, [])],
            "petitions": figures.get(code),
            "petitions_by_category": by_category.get(code, []),
            "committees": committees.get(code, []),
            "as_of": ctx.as_of,
            "ds": ctx.ds.base,
            "history": ctx.history,
            "deadlines": deadline_calendar.village_inputs(ctx, code),
        }
        yield Page(village_path(code), inputs, render, title=village["name"], section=village["township"])


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


def _disclosures(rows: list[dict[str, Any]], code: str, ds: m.Datasette) -> str:
    """The latest periods of each category; the text of each item and older periods folded."""
    page = village_path(code)
    out = []
    for category in CATEGORIES:
        items = [r for r in rows if r["category"] == category]
        out.append(f"### {category} {{ #{CATEGORY_IDS[category]} }}\n")
        if not items:
            out.append("暂无公开事项。\n")
            continue
        topics = sorted({r["topic"] for r in items})
        out.append(f"<p>公开的事项：{'、'.join(m.html(t) for t in topics)}</p>\n")
        periods = records.periods(items)
        for n, (period, these) in enumerate(periods[: PERIODS_SHOWN + PERIODS_FOLDED]):
            block = (
                # Only the latest period's titles are indexed here; the archive indexes every title.
                f"<section{'' if n == 0 else ' data-search-exclude'}><h4>{m.html(period_label(period))}</h4>\n"
                '<ul class="disclosures">'
                f"{''.join(disclosure_item(r, ds) for r in these)}</ul></section>\n"
            )
            if n == PERIODS_SHOWN:
                older = len(periods[PERIODS_SHOWN : PERIODS_SHOWN + PERIODS_FOLDED])
                out.append(f'<details class="older"><summary>更早的 {older} 期</summary>\n')
            out.append(block)
        if len(periods) > PERIODS_SHOWN:
            out.append("</details>\n")
        years = sorted({r["year"] for r in items}, reverse=True)
        links = " ".join(
            f'<a href="{m.page_url(page, archive_path(code, y))}#{CATEGORY_IDS[category]}">{m.html(y)} 年</a>'
            for y in years
        )
        count = m.count_link(
            len(items),
            ds.table("disclosures", village_code=code, category=category, _sort_desc="published_on"),
        )
        out.append(
            f'<p class="archive-links" data-search-exclude>全部 {count} 条{category}，按年份：{links}</p>\n'
        )
    return "\n".join(out)


def _finances(rows: list[dict[str, Any]], code: str, name: str, ds: m.Datasette) -> str:
    money = [r for r in rows if r["amount_yuan"] is not None and r["direction"]]
    if not money:
        return "暂无带金额的财务公开事项。\n"
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for r in money:
        totals[(r["year"], r["direction"])] += r["amount_yuan"]
    years = sorted({y for y, _ in totals})
    chart_rows = [
        {"year": y, "direction": dirn, "amount": round(totals.get((y, dirn), 0.0), 2)}
        for y in years
        for dirn in ("收入", "支出")
    ]
    out = [
        charts.income_expenditure_chart(chart_rows, caption=f"{name}各年度公开的收入与支出（元）"),
        "",
        f"<p>按所属期间的年份统计。公开了事项但没有填写金额的，标为“{records.UNDISCLOSED}”。</p>\n",
    ]
    for n, y in enumerate(reversed(years)):
        table = records.money_table(rows, y, f"{y} 年收支（按事项）")
        link = m.data_link(ds.query("income_expenditure", village_code=code, year=y), f"{y} 年收支明细")
        block = f"{table}\n<p>{link}</p>\n"
        out.append(
            block if n == 0 else f'<details class="older"><summary>{y} 年收支</summary>\n{block}</details>\n'
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
    rows = ds.table("petitions", village_code=code, _sort_desc="resolved_on")
    query = ds.figures(by="category", village_code=code)
    out = [
        f"全部年份：{statement(total, rows, ds.figures(village_code=code))}\n",
        m.table_html(
            ["分类", *FIGURE_HEADERS],
            [
                [
                    m.html(c["category"]),
                    *figure_cells(
                        c,
                        c["category"],
                        ds.table(
                            "petitions", village_code=code, category=c["category"], _sort_desc="resolved_on"
                        ),
                        query,
                    ),
                ]
                for c in cats
            ],
            caption=f"按分类统计（全部年份，{BY_RESOLVED}）",
        ),
        f"<p>{m.data_link(ds.query('petitions_per_1000_by_grid', village_code=code), '各网格每千人诉求数')}</p>\n",
    ]
    return "\n".join(out)


SECTIONS = (
    ("overview", "概况"),
    ("committees", "两委"),
    ("disclosures", "三务公开"),
    ("finances", "财务"),
    ("grids", "网格"),
    ("petitions", "诉求"),
    ("archive", "全部记录"),
    ("supervision", "监督电话"),
)


def _jump_list() -> str:
    links = "".join(f'<li><a href="#{anchor}">{label}</a></li>' for anchor, label in SECTIONS)
    return f'<nav class="jump" aria-label="本页各部分" data-search-exclude><ul>{links}</ul></nav>\n'


def _archive(rows: list[dict[str, Any]], code: str) -> str:
    page = village_path(code)
    years = sorted({r["year"] for r in rows}, reverse=True)
    if not years:
        return "<p>暂无公开记录。</p>\n"
    counts = {y: sum(r["year"] == y for r in rows) for y in years}
    links = "".join(
        f'<li><a href="{m.page_url(page, archive_path(code, y))}">{m.html(y)} 年（{counts[y]} 条）</a></li>'
        for y in years
    )
    return (
        "<p>本村（社区）公开过的全部事项，按所属年份和类别列出，含每一项的内容和金额。</p>\n"
        f'<ul class="archive-years">{links}</ul>\n'
    )


def render(inputs: dict[str, Any]) -> str:
    v = inputs["village"]
    ds = m.Datasette(inputs["ds"])
    code = v["village_code"]
    page = village_path(code)
    name = m.one_line(v["name"])
    intro = inputs["intro"].strip() or "本村（社区）暂无补充介绍。"
    rows: Rows | None = inputs["disclosures"]
    disclosures = rows.dicts() if rows is not None else []
    corrections = ds.history("village_corrections", village_code=code)
    history = (
        f"<p>{m.data_link(corrections, '本村（社区）已公开记录的更正和变更记录')}</p>\n"
        if inputs["history"]
        else "<p>变更记录将在历史数据库生成后提供。</p>\n"
    )
    return "\n".join(
        [
            m.front_matter(
                name,
                description=f"{name}的三务公开、网格服务和群众诉求办理情况{m.sample_mark(inputs)}",
                boost=VILLAGE_BOOST,
            ),
            f"# {m.text(v['name'])}\n",
            m.sample_badge(inputs, v["township"], v["kind"]),
            _jump_list(),
            "## 村情概况 { #overview }\n",
            _overview(v, ds),
            "",
            intro,
            "",
            "## 两委分工与承诺 { #committees }\n",
            committee_pages.section(inputs["committees"], code, inputs["as_of"], ds),
            "",
            "## 三务公开 { #disclosures }\n",
            _disclosures(disclosures, code, ds),
            f"<p>{m.data_link(ds.query('latest_disclosures', village_code=code), '本村（社区）最新公开事项')}</p>\n",
            deadline_calendar.village_section(inputs["deadlines"], page, v),
            "## 财务收支 { #finances data-search-exclude }\n",
            _finances(disclosures, code, name, ds),
            "## 网格 { #grids }\n",
            _grids(inputs["grids"], page),
            f"<p>{m.data_link(ds.query('grid_staff_serving', village_code=code, grid_id=''), '本村（社区）全部网格人员')}</p>\n",
            "## 诉求办理 { #petitions data-search-exclude }\n",
            _petitions(inputs, code, name, ds),
            "## 全部公开记录 { #archive data-search-exclude }\n",
            _archive(disclosures, code),
            "## 监督电话 { #supervision data-search-exclude }\n",
            f"<p>对公开内容有疑问，请拨打村务监督委员会电话：{m.tel(v['supervision_phone'])}</p>\n",
            history,
        ]
    )
