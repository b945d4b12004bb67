"""两委分工与承诺: each committee's members with posts and 分工, and their public commitments.

A commitment past its deadline and not done is 已逾期 on the day the site is built; the section
says how many there are first, and marks each one, so nobody has to compare dates.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import polars as pl

from sunshine.package import Project
from sunshine.site.pages import md as m

DONE = "已完成"
OVERDUE = "已逾期"


def _enum(project: Project, table: str, field: str) -> list[str]:
    return list(project.tables[table].field(field).get("constraints", {}).get("enum", []))


def by_village(
    project: Project, members: pl.DataFrame, commitments: pl.DataFrame
) -> dict[str, list[dict[str, Any]]]:
    """Members per village in the order of the schema's enums, each with its commitments (by deadline)."""
    committees, posts = (
        _enum(project, "committee_members", "committee"),
        _enum(project, "committee_members", "post"),
    )
    promises: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in commitments.sort("deadline", "commitment_id").iter_rows(named=True):
        promises[row["member_id"]].append(row)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    order = sorted(
        members.iter_rows(named=True),
        key=lambda r: (
            committees.index(r["committee"]) if r["committee"] in committees else 99,
            posts.index(r["post"]) if r["post"] in posts else 99,
            r["member_id"],
        ),
    )
    for row in order:
        out[row["village_code"]].append({**row, "commitments": promises.get(row["member_id"], [])})
    return out


def is_overdue(c: dict[str, Any], as_of: str) -> bool:
    return c["status"] != DONE and bool(c["deadline"]) and c["deadline"] < as_of


def _commitment(c: dict[str, Any], as_of: str) -> str:
    overdue = is_overdue(c, as_of)
    status = f'<span class="status overdue">{OVERDUE}</span>' if overdue else ""
    klass = "status done" if c["status"] == DONE else "status"
    progress = f"<br>进展（{m.html(c['updated_on'])}）：{m.html(c['progress'])}" if c["progress"] else ""
    return (
        f'<li class="commitment{" overdue" if overdue else ""}">{m.html(c["promise"])}'
        f'<br><span class="meta">时限 {m.html(c["deadline"])} · <span class="{klass}">{m.html(c["status"])}</span>'
        f"{' · ' + status if status else ''}</span>{progress}</li>"
    )


def section(members: list[dict[str, Any]], code: str, as_of: str, ds: m.Datasette) -> str:
    """The 两委分工与承诺 section of a village page (raw HTML)."""
    if not members:
        return "<p>暂无两委成员信息。</p>\n"
    everything = [c for p in members for c in p["commitments"]]
    overdue = [c for c in everything if is_overdue(c, as_of)]
    open_ = sum(c["status"] != DONE for c in everything)
    out = [
        f"<p data-search-exclude>截至 {m.html(as_of)}，两委成员公开承诺 "
        f"{m.count_link(len(everything), ds.query('village_commitments', village_code=code, overdue_on=''))} 项，"
        f"已完成 {m.number(len(everything) - open_)} 项，"
        + (
            f'<strong class="overdue">{m.count_link(len(overdue), ds.query("village_commitments", village_code=code, overdue_on=as_of))}'
            f" 项已过时限仍未完成</strong>。"
            if overdue
            else "没有过了时限仍未完成的承诺。"
        )
        + "随时接受党员和群众监督。</p>\n"
    ]
    if overdue:
        items = "".join(
            f"<li>{m.html(c['promise'])}（{m.html(next(p['name'] for p in members if p['member_id'] == c['member_id']))}，"
            f"时限 {m.html(c['deadline'])}）</li>"
            for c in overdue
        )
        out.append(f'<ul class="overdue-list" aria-label="已逾期的承诺" data-search-exclude>{items}</ul>\n')
    committees: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in members:
        committees[p["committee"]].append(p)
    for committee, people in committees.items():
        rows = "".join(
            "<li>"
            f'<p class="member"><strong>{m.html(p["post"])}</strong> {m.html(p["name"])}'
            + (f" · {m.tel(p['work_phone'])}" if p["work_phone"] else "")
            + f'</p><p class="duties">分工：{m.html(p["duties"])}</p>'
            + (
                f'<ul class="commitments" data-search-exclude>{"".join(_commitment(c, as_of) for c in p["commitments"])}</ul>'
                if p["commitments"]
                else ""
            )
            + "</li>"
            for p in people
        )
        open_here = sum(c["status"] != DONE for p in people for c in p["commitments"])
        summary = f"{m.html(committee)}（{len(people)} 人，未完成承诺 {open_here} 项）"
        out.append(
            f'<details class="committee"><summary>{summary}</summary><ul class="members">{rows}</ul></details>\n'
        )
    return "".join(out)
