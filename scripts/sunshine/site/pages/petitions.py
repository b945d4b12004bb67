"""诉求办理: figures by category, channel, department and month, and the latest resolved cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from sunshine.site import charts
from sunshine.site.pages import Context, Page
from sunshine.site.pages import md as m
from sunshine.site.pages.data import petition_figures

PATH = "petitions.md"
RECENT = 20


def headline(petitions: pl.DataFrame) -> dict[str, Any]:
    """The latest year with resolved petitions, and its figures."""
    if petitions.height == 0:
        return {"year": None, "figures": None}
    year = petitions["resolved_year"].drop_nulls().max()
    figures = petition_figures(petitions.filter(pl.col("resolved_year") == year))
    return {"year": year, "figures": figures[0] if figures else None}


def pages(ctx: Context) -> Iterator[Page]:
    p = ctx.data.petitions
    names = ctx.data.village_name()
    recent = (
        p.sort("resolved_on", "case_id", descending=True)
        .head(RECENT)
        .select(
            "case_id",
            "village_code",
            "category",
            "channel",
            "summary",
            "outcome",
            "resolved_on",
            "department",
            "days",
        )
        .to_dicts()
    )
    for r in recent:
        r["village"] = names.get(r["village_code"], r["village_code"])
    inputs = {
        "total": petition_figures(p),
        "headline": headline(p),
        "category": _most_first(petition_figures(p, "category"), "category"),
        "channel": _most_first(petition_figures(p, "channel"), "channel"),
        "department": _most_first(petition_figures(p, "department"), "department"),
        "month": petition_figures(p, "month"),
        "recent": recent,
        "ds": ctx.ds.base,
    }
    yield Page(PATH, inputs, render, title="诉求办理")


def _most_first(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Largest groups first, as in the charts; ties in a fixed order."""
    return sorted(rows, key=lambda r: (-r["count"], r[key]))


def _figures_table(rows: list[dict[str, Any]], key: str, label: str, ds: m.Datasette, column: str) -> str:
    body = [
        [
            m.link(m.html(r[key]), ds.table("petitions", **{column: r[key], "_sort_desc": "resolved_on"}))
            if column
            else m.html(r[key]),
            m.number(r["count"]),
            m.number(r["median_days"], 1),
            m.number(r["p90_days"]),
            m.percent(r["followup_rate"]),
            m.percent(r["satisfaction_rate"]),
        ]
        for r in rows
    ]
    return m.table_html(
        [label, "件数", "办理天数中位数", "90% 在几天内办结", "回访率", "满意率"],
        body,
        caption=f"按{label}统计",
    )


def render(inputs: dict[str, Any]) -> str:
    ds = m.Datasette(inputs["ds"])
    total = inputs["total"][0] if inputs["total"] else None
    head = inputs["headline"]
    out = [
        m.front_matter("诉求办理", description=f"群众诉求的受理、办结、回访和满意度{m.sample_mark(inputs)}"),
        "# 诉求办理\n",
        m.sample_note(inputs),
        "群众通过来访、来电、12345 热线、网格员走访、网上留言和来信提出的诉求，办结后由承办单位回访。"
        "下表按分类、渠道、承办单位和月份统计已办结的诉求。满意率＝（满意＋基本满意）÷ 已回访并评价的件数。\n",
    ]
    if not total:
        out.append("暂无已办结的诉求。\n")
        return "\n".join(out)
    out.append(
        f"共办结 **{m.number(total['count'])}** 件，办理天数中位数 **{m.number(total['median_days'], 1)}** 天，"
        f"90% 的诉求在 **{m.number(total['p90_days'])}** 天内办结，回访率 **{m.percent(total['followup_rate'])}**，"
        f"满意率 **{m.percent(total['satisfaction_rate'])}**。"
        f"{m.data_link(ds.table('petitions', _sort_desc='resolved_on'), '查看全部诉求')}\n"
    )
    year = head["year"] or ""
    out += [
        "## 按分类 { #by-category data-search-exclude }\n",
        charts.bar_chart(
            [{"分类": r["category"], "件数": r["count"]} for r in inputs["category"]],
            label="分类",
            value="件数",
            caption="已办结诉求件数（按分类）",
            value_title="件数",
        ),
        "",
        _figures_table(inputs["category"], "category", "分类", ds, "category"),
        f"<p>{m.data_link(ds.query('petitions_by_category', year=''), '各分类统计（全部年份）')} · "
        f"{m.data_link(ds.query('petitions_by_category', year=year), f'{year} 年各分类统计')}</p>\n",
        "## 按渠道 { #by-channel data-search-exclude }\n",
        _figures_table(inputs["channel"], "channel", "渠道", ds, "channel"),
        "",
        "## 按承办单位 { #by-department data-search-exclude }\n",
        _figures_table(inputs["department"], "department", "承办单位", ds, "department"),
        f"<p>{m.data_link(ds.query('petitions_by_department', year=''), '各承办单位统计')} · "
        f"{m.data_link(ds.query('satisfaction_by_department', year=''), '各承办单位满意度')}</p>\n",
        "## 按月份 { #by-month data-search-exclude }\n",
        charts.line_chart(
            [{"月份": r["month"], "件数": r["count"]} for r in inputs["month"]],
            x="月份",
            y="件数",
            caption="每月受理并已办结的诉求件数",
            y_title="件数",
        ),
        "",
        _figures_table(inputs["month"], "month", "受理月份", ds, ""),
        f"<p>{m.data_link(ds.query('petitions_by_month', category=''), '各月统计')}</p>\n",
        "## 最近办结的诉求 { #recent data-search-exclude }\n",
    ]
    items = []
    for r in inputs["recent"]:
        items.append(
            '<li class="case">'
            f'<p class="case-meta">{m.html(r["resolved_on"])} 办结 · {m.html(r["village"])} · {m.html(r["category"])} · '
            f"{m.html(r['channel'])} · 用时 {m.number(r['days'])} 天 · {m.html(r['department'])}</p>"
            f"<p><strong>诉求：</strong>{m.html(r['summary'])}</p>"
            f"<p><strong>结果：</strong>{m.html(r['outcome'])}</p>"
            f"<p>{m.data_link(ds.row('petitions', r['case_id']), '诉求编号 ' + m.html(r['case_id']))}</p>"
            "</li>"
        )
    out.append(f'<ul class="cases">{"".join(items)}</ul>\n')
    return "\n".join(out)
