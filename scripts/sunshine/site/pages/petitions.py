"""诉求办理: figures by category, channel, department and month, and the latest resolved cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import polars as pl

from sunshine.figures import BY_RECEIVED, BY_RESOLVED, METHOD, in_year, petition_figures
from sunshine.site import charts
from sunshine.site.pages import Context, Page
from sunshine.site.pages import md as m
from sunshine.site.pages.data import RECENT_PETITIONS as RECENT

PATH = "petitions.md"


def headline(petitions: pl.DataFrame) -> dict[str, Any]:
    """The latest year with resolved petitions, and its figures (按办结日期统计)."""
    if petitions.height == 0:
        return {"year": None, "figures": None}
    year = petitions["resolved_year"].drop_nulls().max()
    figures = petition_figures(in_year(petitions, year, "resolved"))
    return {"year": year, "figures": figures[0] if figures else None}


def pages(ctx: Context) -> Iterator[Page]:
    p = ctx.data.petitions
    names = ctx.data.village_name()
    recent = (
        ctx.data.recent_petitions.head(RECENT)
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


def rows_url(ds: m.Datasette, column: str, value: str, **more: str) -> str:
    """The petitions behind one group's figures."""
    if column == "month":
        return ds.table("petitions", received_on__startswith=value, _sort_desc="resolved_on", **more)
    return ds.table("petitions", **{column: value}, **more, _sort_desc="resolved_on")


def figure_cells(r: dict[str, Any], group: str, rows: str, query: str) -> list[str]:
    """Count (linked to its rows) and the figures (linked to the query computing them, checked)."""
    return [
        m.count_link(r["count"], rows),
        m.figure_link(m.number(r["median_days"], 1), query, m.figure_row(r, group)),
        m.figure_link(m.number(r["p90_days"]), query),
        m.figure_link(m.rate(r["followup_rate"]), query),
        m.figure_link(m.rate(r["satisfaction_rate"]), query),
    ]


FIGURE_HEADERS = ["件数", "办理天数中位数", "90% 在几天内办结", "回访率", "满意率"]


def _figures_table(rows: list[dict[str, Any]], key: str, label: str, ds: m.Datasette, rule: str) -> str:
    query = ds.figures(by=key)
    body = [[m.html(r[key]), *figure_cells(r, r[key], rows_url(ds, key, r[key]), query)] for r in rows]
    return m.table_html([label, *FIGURE_HEADERS], body, caption=f"按{label}统计（{rule}，全部年份）")


def statement(f: dict[str, Any], rows: str, query: str) -> str:
    """One sentence of figures, every number a link."""
    return (
        f"共办结 **{m.count_link(f['count'], rows)}** 件，办理天数中位数 "
        f"**{m.figure_link(m.number(f['median_days'], 1), query, m.figure_row(f))}** 天，"
        f"90% 的诉求在 **{m.figure_link(m.number(f['p90_days']), query)}** 天内办结，"
        f"回访率 **{m.figure_link(m.rate(f['followup_rate']), query)}**，"
        f"满意率 **{m.figure_link(m.rate(f['satisfaction_rate']), query)}**。"
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
        "下表按分类、渠道、承办单位和受理月份统计已办结的诉求。每个数字都可以点开：件数打开这些诉求，"
        "其他数字打开计算它的数据库查询。年度数字按办结日期统计，按月份的表按受理日期统计。\n",
        f'<details class="method"><summary>统计口径</summary><p>{m.html(METHOD)}</p></details>\n',
    ]
    if not total:
        out.append("暂无已办结的诉求。\n")
        return "\n".join(out)
    year = head["year"] or ""
    out.append(
        f"全部年份：{statement(total, ds.table('petitions', _sort_desc='resolved_on'), ds.figures())}\n"
    )
    if head["figures"]:
        rows = ds.table("petitions", resolved_on__startswith=year, _sort_desc="resolved_on")
        out.append(
            f"{m.text(year)} 年（{BY_RESOLVED}）：{statement(head['figures'], rows, ds.figures(year=year))}\n"
        )
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
        _figures_table(inputs["category"], "category", "分类", ds, BY_RESOLVED),
        "## 按渠道 { #by-channel data-search-exclude }\n",
        _figures_table(inputs["channel"], "channel", "渠道", ds, BY_RESOLVED),
        "",
        "## 按承办单位 { #by-department data-search-exclude }\n",
        _figures_table(inputs["department"], "department", "承办单位", ds, BY_RESOLVED),
        f"<p>{m.data_link(ds.query('satisfaction_by_department', year=''), '各承办单位满意度明细')}</p>\n",
        "## 按受理月份 { #by-month data-search-exclude }\n",
        charts.line_chart(
            [{"月份": r["month"], "件数": r["count"]} for r in inputs["month"]],
            x="月份",
            y="件数",
            caption="每月受理并已办结的诉求件数",
            y_title="件数",
        ),
        "",
        _figures_table(inputs["month"], "month", "受理月份", ds, BY_RECEIVED),
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
