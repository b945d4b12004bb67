"""全部公开记录: one page per village and year with every disclosure of that year, by category.

A page answers "how much did this village spend on what in that year" (income and expenditure by
topic, and which items were disclosed without an amount), then lists every item: its title, date,
amount and the first words of its text, with the whole text folded. Titles and those first words
are in the search index (within its budget, see SEARCH_EXCERPT); the folded text is not.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sunshine.site.pages import Context, Page, partition_rows
from sunshine.site.pages import md as m
from sunshine.site.pages.paths import archive_path, village_path
from sunshine.site.pages.records import (
    CATEGORIES,
    CATEGORY_IDS,
    DISCLOSURE_COLUMNS,
    MONEY_CATEGORY,
    UNDISCLOSED,
    money_table,
    period_label,
)

SEARCH_EXCERPT = 12  # characters of each disclosure's text that go into the search index


def pages(ctx: Context) -> Iterator[Page]:
    d = ctx.data
    # Each page's rows as dicts only when the page is made: a county's are 60,000 with their texts.
    rows = partition_rows(
        d.disclosures.select(DISCLOSURE_COLUMNS).sort("published_on", "disclosure_id", descending=True),
        ["village_code", "year"],
    )
    villages = {v["village_code"]: v for v in d.villages.iter_rows(named=True)}
    years: dict[str, list[str]] = defaultdict(list)
    for code, year in rows:
        years[code].append(year)
    for code, year in sorted(rows, key=_sortable):
        v = villages.get(code)
        these = rows.pop((code, year))
        if v is None or not year:
            continue
        inputs = {
            "village": {"code": code, "name": v["name"], "township": v["township"]},
            "year": year,
            "years": sorted(years[code], reverse=True),
            "rows": these,
            "ds": ctx.ds.base,
        }
        yield Page(archive_path(code, year), inputs, render, title=f"{v['name']} {year} 年公开记录")


def _sortable(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A (village, year) key in the order the pages were always made in, a missing value first."""
    return tuple((value is not None, value or "") for value in key)


def excerpt(text: str | None) -> str:
    text = m.one_line(text)
    if not SEARCH_EXCERPT:
        return ""
    return text if len(text) <= SEARCH_EXCERPT else text[:SEARCH_EXCERPT] + "…"


def title_parts(title: str, village: str) -> tuple[str, str]:
    """(lead, rest) of a title: the village's name and a date at its start are the lead, which the
    section heading already says, so only the rest goes into the search index."""
    title = m.one_line(title)
    match = re.match(
        rf"(?:{re.escape(village)})?(?:\d{{4}}\s*年(?:\s*\d{{1,2}}\s*月|\s*第.季度)?\s*)?", title
    )
    lead = match.group(0) if match else ""
    if not lead or lead == title:
        return "", title
    return lead, title[len(lead) :]


def _item(r: dict[str, Any], village: str, ds: m.Datasette) -> str:
    if r["amount_yuan"] is not None:
        amount = f" · {m.html(r['direction'])} {m.yuan(r['amount_yuan'])} 元"
    elif r["category"] == MONEY_CATEGORY:
        amount = f' · <span class="undisclosed">{UNDISCLOSED}</span>'
    else:
        amount = ""
    body = [f"<p>{m.html(r['content'])}</p>"]
    if r["approval_ref"]:
        body.append(f"<p>依据：{m.html(r['approval_ref'])}</p>")
    body.append(
        f"<p>公开主体：{m.html(r['responsible'])} · {m.data_link(ds.row('disclosures', r['disclosure_id']), '原始记录')}</p>"
    )
    return (
        f'<li><details><summary><span class="title">{_title(r["title"], village)}</span>'
        f'<small class="meta" data-search-exclude>{m.html(r["published_on"])} 公开 · {m.html(period_label(r["period"]))}'
        f" · {m.html(r['topic'])}{amount}</small>"
        + (f'<span class="excerpt">{m.html(excerpt(r["content"]))}</span>' if SEARCH_EXCERPT else "")
        + "</summary>"
        f'<div class="disclosure-body" data-search-exclude>{"".join(body)}</div></details></li>'
    )


def _title(title: str, village: str) -> str:
    lead, rest = title_parts(title, village)
    return (f'<small class="lead" data-search-exclude>{m.html(lead)}</small>' if lead else "") + m.html(rest)


def render(inputs: dict[str, Any]) -> str:
    v, year, rows = inputs["village"], inputs["year"], inputs["rows"].dicts()
    ds = m.Datasette(inputs["ds"])
    code = v["code"]
    page = archive_path(code, year)
    name = m.one_line(v["name"])
    title = f"{name} {year} 年公开记录"
    others = " ".join(
        f'<a href="{m.page_url(page, archive_path(code, y))}">{m.html(y)} 年</a>'
        if y != year
        else f'<strong aria-current="page">{m.html(y)} 年</strong>'
        for y in inputs["years"]
    )
    out = [
        m.front_matter(title, description=f"{name}{year}年的党务、村务、财务公开事项{m.sample_mark(inputs)}"),
        f"<h1>{m.html(name)} {m.html(year)} 年公开记录</h1>\n",
        m.sample_badge(inputs, v["township"]),
        f'<p><a href="{m.page_url(page, village_path(code))}">返回{m.html(name)}</a> · 年份：{others}</p>\n',
        f"<p>所属期间在 {m.html(year)} 年的全部公开事项 "
        f"{m.count_link(len(rows), ds.table('disclosures', village_code=code, period__startswith=year, _sort_desc='published_on'))}"
        " 条，按类别列出，最新公开的在前。点开标题可看全文。</p>\n",
        # Headings without an id: the whole page is one search result, so a query naming the village
        # and a word of a title ("桃源村 路灯") finds this page first; the empty anchors keep the links.
        f'<section data-search-exclude><h2><a id="money"></a>{m.html(year)} 年收支</h2>\n'
        + (
            money_table(rows, year, f"{m.html(name)} {m.html(year)} 年收支（按事项，元）")
            or "<p>本年没有财务事项。</p>"
        )
        + f"<p>{m.data_link(ds.query('income_expenditure', village_code=code, year=year), '在数据库中查看本年收支明细')}</p>"
        + "</section>\n",
    ]
    for category in CATEGORIES:
        items = [r for r in rows if r["category"] == category]
        out.append(
            f'<h2><a id="{CATEGORY_IDS[category]}"></a>{m.html(name)} {m.html(year)} 年{category}</h2>\n'
        )
        if not items:
            out.append("<p>本年暂无。</p>\n")
            continue
        link = ds.table(
            "disclosures",
            village_code=code,
            category=category,
            period__startswith=year,
            _sort_desc="published_on",
        )
        out.append(f"<p>共 {m.count_link(len(items), link)} 条。</p>\n")
        out.append(f'<ul class="disclosures archive">{"".join(_item(r, name, ds) for r in items)}</ul>\n')
    return "\n".join(out)
