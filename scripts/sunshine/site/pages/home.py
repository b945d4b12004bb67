"""The home page and the list of villages by township."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sunshine.figures import BY_RESOLVED
from sunshine.site.pages import Context, Page
from sunshine.site.pages import md as m
from sunshine.site.pages.paths import village_path
from sunshine.site.pages.petitions import headline

LATEST = 10


def pages(ctx: Context) -> Iterator[Page]:
    d = ctx.data
    names = d.village_name()
    latest = (
        d.disclosures.sort("published_on", "disclosure_id", descending=True)
        .head(LATEST)
        .select("disclosure_id", "village_code", "category", "title", "published_on")
        .to_dicts()
    )
    for r in latest:
        r["village"] = names.get(r["village_code"], r["village_code"])
    grid_counts = dict(d.grids.group_by("village_code").len().iter_rows())
    townships: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in d.villages.sort("township", "village_code").iter_rows(named=True):
        townships[v["township"]].append(
            {
                "code": v["village_code"],
                "name": v["name"],
                "kind": v["kind"],
                "households": v["households"],
                "population": v["population"],
                "grids": grid_counts.get(v["village_code"], 0),
            }
        )
    h = headline(d.petitions)
    yield Page(
        "index.md",
        {
            "intro": ctx.content_text("home.md"),
            "headline": h,
            "latest": latest,
            "townships": townships,
            "counts": {"villages": d.villages.height, "grids": d.grids.height},
            "ds": ctx.ds.base,
        },
        render_home,
        title="首页",
    )
    yield Page("villages/index.md", {"townships": townships}, render_villages, title="村（社区）")


def _big(text: str) -> str:
    return f'<span class="figure">{text}</span>'


def render_home(inputs: dict[str, Any]) -> str:
    ds = m.Datasette(inputs["ds"])
    h = inputs["headline"]
    f = h["figures"]
    out = [
        m.front_matter(
            "首页", description=f"本乡镇三务公开、网格服务和群众诉求办理情况{m.sample_mark(inputs)}"
        ),
        "# 阳光村务\n",
        m.sample_note(inputs),
    ]
    # The villages come first: most visitors want their own village, one tap away.
    c = inputs["counts"]
    out.append("## 按村（社区）查看 { #villages data-search-exclude }\n")
    out.append(f"本站收录 {m.number(c['villages'])} 个村（社区）、{m.number(c['grids'])} 个网格。\n")
    townships = inputs["townships"]
    for township, villages in townships.items():
        links = " ".join(
            f'<a class="village-chip" href="{m.page_url("index.md", village_path(v["code"]))}">{m.html(v["name"])}</a>'
            for v in villages
        )
        opened = " open" if len(townships) == 1 else ""  # several townships: one tap opens each
        out.append(
            f'<details class="township"{opened}><summary>{m.html(township)}（{len(villages)} 个）</summary>'
            f'<p class="villages">{links}</p></details>\n'
        )
    out += [inputs["intro"].strip(), ""]
    if f:
        year = h["year"]
        rows = ds.table("petitions", resolved_on__startswith=year, _sort_desc="resolved_on")
        query = ds.figures(year=year)
        out += [
            f"## {m.text(year)} 年诉求办理 {{ #petitions data-search-exclude }}\n",
            '<ul class="headline">'
            f"<li>{m.count_link(f['count'], rows, _big(m.number(f['count'])))}"
            '<span class="label">件诉求已办结</span></li>'
            f"<li>{m.figure_link(_big(m.number(f['median_days'], 1)), query, m.figure_row(f))}"
            '<span class="label">天：办理用时中位数</span></li>'
            f"<li>{m.figure_link(_big(m.rate(f['satisfaction_rate'])), query)}"
            '<span class="label">满意率（满意＋基本满意）</span></li>'
            "</ul>\n",
            f"<p>{BY_RESOLVED}：{m.html(year)} 年 1 月 1 日至 12 月 31 日之间办结的诉求。"
            f'<a href="{m.page_url("index.md", "petitions.md")}">诉求办理详情</a></p>\n',
        ]
    out.append("## 最新公开 { #latest data-search-exclude }\n")
    items = [
        f'<li><a href="{m.page_url("index.md", village_path(r["village_code"]))}">{m.html(r["village"])}</a> · '
        f"{m.html(r['category'])}：{m.html(r['title'])} "
        f'<span class="meta">{m.html(r["published_on"])}</span> '
        f"{m.data_link(ds.row('disclosures', r['disclosure_id']), '原始记录')}</li>"
        for r in inputs["latest"]
    ]
    out.append(f'<ul class="latest">{"".join(items)}</ul>\n')
    out.append(
        f"<p>{m.data_link(ds.query('latest_disclosures', village_code=''), '全部最新公开事项')} · "
        f'<a href="{m.rel("index.md", "feed.xml")}">订阅（RSS）</a></p>\n'
    )
    return "\n".join(out)


def render_villages(inputs: dict[str, Any]) -> str:
    page = "villages/index.md"
    out = [
        m.front_matter("村（社区）", description=f"按乡镇（街道）列出的村和社区{m.sample_mark(inputs)}"),
        "# 村（社区）\n",
        m.sample_note(inputs),
    ]
    for township, villages in inputs["townships"].items():
        rows = [
            [
                f'<a href="{m.page_url(page, village_path(v["code"]))}">{m.html(v["name"])}</a>',
                m.html(v["kind"]),
                m.number(v["households"]),
                m.number(v["population"]),
                m.number(v["grids"]),
            ]
            for v in villages
        ]
        out.append(f"## {m.text(township)}\n")
        out.append(
            m.table_html(
                ["名称", "类型", "户数", "人口", "网格数"], rows, caption=f"{m.html(township)}的村（社区）"
            )
        )
        out.append("")
    return "\n".join(out)
