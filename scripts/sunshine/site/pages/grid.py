"""One page per grid: area, households, the roster as cards with tap-to-call phones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sunshine.site.pages import Context, Page
from sunshine.site.pages import md as m
from sunshine.site.pages.paths import grid_path, village_path

ROLE_ORDER = (
    "网格长",
    "网格指导员",
    "专职网格员",
    "兼职网格员",
    "党员中心户",
    "楼栋长",
    "单元长",
    "驻村民警",
    "法律顾问",
)


def pages(ctx: Context) -> Iterator[Page]:
    d = ctx.data
    villages = {v["village_code"]: v for v in d.villages.iter_rows(named=True)}
    staff: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in d.staff.sort("staff_id").iter_rows(named=True):
        staff[row["grid_id"]].append(row)
    counts = dict(d.petitions.drop_nulls("grid_id").group_by("grid_id").len().iter_rows())
    for grid in d.grids.iter_rows(named=True):
        village = villages.get(grid["village_code"], {})
        inputs = {
            "grid": grid,
            "village": {k: village.get(k) for k in ("village_code", "name", "township", "supervision_phone")},
            "staff": sorted(
                staff.get(grid["grid_id"], []),
                key=lambda s: (ROLE_ORDER.index(s["role"]) if s["role"] in ROLE_ORDER else 99, s["staff_id"]),
            ),
            "petitions": counts.get(grid["grid_id"], 0),
            "ds": ctx.ds.base,
        }
        yield Page(grid_path(grid["grid_id"]), inputs, render, title=grid["name"])


def _card(s: dict[str, Any]) -> str:
    party = (
        '<span class="party-mark" title="中共党员">党员</span>'
        if s["party_member"] in ("是", "true", "True", "1")
        else ""
    )
    return (
        '<li class="staff-card">'
        f'<p class="staff-name">{m.html(s["name"])}{party}</p>'
        f'<p class="staff-role">{m.html(s["role"])}</p>'
        f'<p class="staff-phone" data-search-exclude>工作电话：{m.tel(s["work_phone"])}</p>'
        f'<p class="staff-duties" data-search-exclude>职责：{m.html(s["duties"])}</p>'
        "</li>"
    )


def render(inputs: dict[str, Any]) -> str:
    g = inputs["grid"]
    v = inputs["village"]
    ds = m.Datasette(inputs["ds"])
    page = grid_path(g["grid_id"])
    village_name = m.one_line(v.get("name") or g["village_code"])
    title = f"{m.one_line(g['name'])}（{village_name}）"

    facts = [
        [
            "所属村（社区）",
            f'<a href="{m.page_url(page, village_path(g["village_code"]))}">{m.html(village_name)}</a>',
        ],
        ["网格范围", m.html(g["area"])],
        ["户数", m.number(g["households"]) + " 户"],
        ["人口", m.number(g["population"]) + " 人"],
        ["网格编号", m.html(g["grid_id"])],
    ]
    body = "".join(f'<tr><th scope="row">{k}</th><td>{val}</td></tr>' for k, val in facts)
    cards = "".join(_card(s) for s in inputs["staff"]) or "<li>暂无网格人员信息。</li>"
    serving = ds.query("grid_staff_serving", village_code=g["village_code"], grid_id=g["grid_id"])
    petitions = ds.table("petitions", grid_id=g["grid_id"], _sort_desc="resolved_on")
    return "\n".join(
        [
            m.front_matter(title, description=f"{title}的网格范围和网格人员{m.sample_mark(inputs)}"),
            f"# {m.text(g['name'])}（{m.text(village_name)}）\n",
            m.sample_badge(inputs, v.get("township") or ""),
            # Found by search: the grid's name, its village and area, and its people's names and roles.
            f'<p class="grid-area">{m.html(village_name)} · 网格范围：{m.html(g["area"])}</p>\n',
            f'<div class="table-wrap" tabindex="0" data-search-exclude><table class="facts"><caption>网格概况</caption><tbody>{body}</tbody></table></div>\n',
            f"<p data-search-exclude>{m.data_link(ds.row('grids', g['grid_id']), '在数据库中查看本网格记录')}</p>\n",
            "## 网格人员 { #staff }\n",
            f'<ul class="staff-cards">{cards}</ul>\n',
            f"<p data-search-exclude>{m.data_link(serving, '在数据库中查看本网格人员')}</p>\n",
            "## 村务监督电话 { #supervision data-search-exclude }\n",
            f"<p>对网格服务有意见，请拨打{m.html(village_name)}村务监督电话：{m.tel(v.get('supervision_phone') or '')}</p>\n",
            "## 诉求 { #petitions data-search-exclude }\n",
            f"<p>本网格已办结诉求 {m.count_link(inputs['petitions'], petitions)} 件。</p>\n",
        ]
    )
