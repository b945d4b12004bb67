"""The 变更记录 pages of the site, read from build/history.db: what changed, when, and why."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from contextlib import closing
from pathlib import Path
from typing import Any

from sunshine.history.schema import ADDED, HISTORY_QUERIES, MODIFIED, REMOVED
from sunshine.links import Datasette
from sunshine.markup import md
from sunshine.package import Project
from sunshine.privacy import VERSION as MASKING
from sunshine.privacy import masked_key
from sunshine.settings import SAMPLE_MARK
from sunshine.shown import shown_value
from sunshine.site.pages.data import read_table

RECENT_LIMIT = 200
# Said where a record's key held a personal number and is shown masked (it then links to no record).
MASKED_KEY = "编号中含有个人信息，已部分隐去"


def coverage(history_db: Path) -> str:
    """The Chinese sentence saying from which commit the history starts (and what could not be seen)."""
    if not history_db.exists():
        return "还没有生成修改历史。"
    with closing(sqlite3.connect(history_db)) as conn:
        try:
            row = conn.execute("select value from history_info where key = 'coverage'").fetchone()
        except sqlite3.DatabaseError:
            row = None
    return row[0] if row else "还没有生成修改历史。"


STALE = "修改历史是旧版本的程序生成的，没有按现在的规则隐去个人信息，所以这里暂不列出。请重新运行 sunshine build 生成修改历史。"


def _masked_by_this_version(history_db: Path) -> bool:
    """Whether history.db was masked the way this program masks (an older one is not shown)."""
    with closing(sqlite3.connect(history_db)) as conn:
        try:
            row = conn.execute("select value from history_info where key = 'masking'").fetchone()
        except sqlite3.DatabaseError:
            return False
    return bool(row) and row[0] == MASKING


def _load_changes(history_db: Path) -> list[dict[str, Any]]:
    if not history_db.exists() or not _masked_by_this_version(history_db):
        return []
    with closing(sqlite3.connect(history_db)) as conn:
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute("select * from changes order by seq desc, id desc")]
        except sqlite3.DatabaseError:
            return []


def changes_pages(project: Project, history_db: Path, datasette_url: str) -> dict[str, str]:
    """The 变更记录 section: "changes/index.md" and "changes/<table>.md", Markdown in Chinese."""
    events = _load_changes(history_db)
    sample = SAMPLE_MARK if project.settings.sample else ""
    stale = history_db.exists() and not _masked_by_this_version(history_db)
    note = md(STALE if stale else coverage(history_db))
    removed_now = _currently_removed(events)
    pages: dict[str, str] = {}

    flagged = [e for e in events if e["after_publication"]]
    lines = [
        "# 变更记录",
        "",
        f"公开数据的每一次修改都有记录：改了哪条记录、哪个字段从什么改成什么、哪一天、为什么改（提交说明）。{sample}",
        "已经公开的记录在公开后被修改或删除时，用 ⚠ 标出。",
        "",
        f"> {note}",
        "",
        "## ⚠ 已公开记录的修改和删除",
        "",
    ]
    if flagged:
        lines += _event_table(flagged[:RECENT_LIMIT], datasette_url, removed_now, with_table=True)
        if len(flagged) > RECENT_LIMIT:
            lines += ["", f"只列出最近 {RECENT_LIMIT} 处，共 {len(flagged)} 处，全部见下面的查询。"]
    else:
        lines.append("没有已公开的记录在公开后被修改或删除。")
    lines += [
        "",
        "## 各表的变更",
        "",
        "| 表 | 新增 | 修改 | 删除 | 最近一次变更 |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for table in project.tables.values():
        mine = [e for e in events if e["table_name"] == table.name]
        n = {k: sum(e["kind"] == k for e in mine) for k in (ADDED, MODIFIED, REMOVED)}
        last = mine[0]["commit_date"] if mine else "—"
        lines.append(
            f"| [{md(table.title)}]({table.name}.md) | {n[ADDED]} | {n[MODIFIED]} | {n[REMOVED]} | {last} |"
        )
    lines += [
        "",
        "## 在数据库中查询",
        "",
        *(
            f"- [{q['title']}]({Datasette(datasette_url).history(name)})"
            for name, q in HISTORY_QUERIES.items()
            if not q.get("params")
        ),
        f"- [{HISTORY_QUERIES['village_corrections']['title']}]({Datasette(datasette_url).history('village_corrections')})"
        "：填写村（社区）代码；村（社区）页面上的“更正记录”链接直接打开本村的记录。",
        "",
    ]
    pages["changes/index.md"] = "\n".join(lines)

    for table in project.tables.values():
        mine = [e for e in events if e["table_name"] == table.name]
        body = [
            f"# 变更记录：{md(table.title)}",
            "",
            f"{md(table.path)} 最近的变更，最新的在前。{sample}",
            "",
            f"> {note}",
            "",
        ]
        if not mine:
            body.append("这张表还没有变更记录。")
        for e in mine[:RECENT_LIMIT]:
            body += _event_block(e, datasette_url, removed_now)
        if len(mine) > RECENT_LIMIT:
            body += [
                f"只列出最近 {RECENT_LIMIT} 条，共 {len(mine)} 条。每条记录的全部版本可在数据库中查询（见“一条记录的全部版本”）。",
                "",
            ]
        pages[f"changes/{table.name}.md"] = "\n".join(body).rstrip("\n") + "\n"
    pages.update(_sentence_pages(project, events, datasette_url, removed_now, note))
    pages["changes/index.md"] = _with_sentence_links(
        pages["changes/index.md"], events, _village_names(project)
    )
    return pages


# -- by month and by village: sentences first, the technical detail folded ----------------------


def month_path(month: str) -> str:
    return f"changes/month/{month}.md"


def village_changes_path(code: str) -> str:
    return f"changes/village/{code}.md"


def _village_names(project: Project) -> dict[str, str]:
    """Village names as every page shows them (personal numbers masked, so left out)."""
    table = project.tables.get("villages")
    if table is None or not (project.root / table.path).exists():
        return {}
    frame = read_table(project, "villages")
    return {
        code: name for code, name in zip(frame["village_code"], frame["name"], strict=True) if code and name
    }


def sentence(e: dict[str, Any], villages: dict[str, str]) -> str:
    """One change as a sentence a villager reads: who changed what, from what to what."""
    who = md(villages.get(e["village_code"], "")) or "本乡镇"
    what = f"{md(e['table_title'])}“{md(e['label'] or e['record_id'])}”"
    day = e["commit_date"]
    if e["kind"] == ADDED:
        text = f"{day}，{who}新增{what}。"
    elif e["kind"] == REMOVED:
        text = f"{day}，{who}删除了{what}。"
    else:
        fields = json.loads(e["fields"] or "[]")
        parts = "；".join(
            f"{md(f['title'])}由“{md(shown_value(f['old']))}”改为“{md(shown_value(f['new']))}”"
            for f in fields
        )
        text = f"{day}，{who}修改了{what}：{parts}。"
    if e["after_publication"]:
        text = "⚠ " + text + "这条记录修改前已经公开。"
    if e["commit_message"]:
        text += f"说明：{md(e['commit_message'])}"
    return text


def _sentence_item(
    e: dict[str, Any], villages: dict[str, str], datasette_url: str, removed_now: set[tuple[str, str]]
) -> str:
    links = []
    if masked_key(e["record_id"]):
        links.append(MASKED_KEY)
    elif (e["table_name"], e["record_id"]) not in removed_now:
        links.append(
            f'<a href="{Datasette(datasette_url).row(e["table_name"], e["record_id"])}">查看这条记录</a>'
        )
    history = Datasette(datasette_url).history(
        "record_history", table_name=e["table_name"], record_id=e["record_id"]
    )
    links.append(f'<a href="{history}">全部版本</a>')
    return (
        f"<li><p>{sentence(e, villages)}</p>"
        f'<details class="technical"><summary>技术信息</summary><p>提交 {e["commit_short"]} · '
        f"表 {md(e['table_name'])} · 编号 {md(e['record_id'])} · {' · '.join(links)}</p></details></li>"
    )


def _sentence_pages(
    project: Project,
    events: list[dict[str, Any]],
    datasette_url: str,
    removed_now: set[tuple[str, str]],
    note: str,
) -> dict[str, str]:
    villages = _village_names(project)
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {
        "month": defaultdict(list),
        "village": defaultdict(list),
    }
    for e in events:
        groups["month"][e["commit_date"][:7]].append(e)
        if e["village_code"]:
            groups["village"][e["village_code"]].append(e)
    pages = {}
    for kind, by in groups.items():
        for key, mine in by.items():
            if kind == "month":
                path, title = month_path(key), f"变更记录：{key[:4]} 年 {int(key[5:7])} 月"
            else:
                path, title = village_changes_path(key), f"变更记录：{md(villages.get(key, key))}"
            items = "".join(
                _sentence_item(e, villages, datasette_url, removed_now) for e in mine[:RECENT_LIMIT]
            )
            more = (
                f"<p>只列出最近 {RECENT_LIMIT} 处，共 {len(mine)} 处；全部可在数据库中查询。</p>"
                if len(mine) > RECENT_LIMIT
                else ""
            )
            pages[path] = (
                f"# {title}\n\n> {note}\n\n共 {len(mine)} 处变更，最新的在前。\n\n"
                f'<ul class="change-sentences">{items}</ul>\n{more}\n'
            )
    return pages


def _with_sentence_links(index: str, events: list[dict[str, Any]], villages: dict[str, str]) -> str:
    """The index, with the months and the villages first: where most readers start."""
    months: dict[str, int] = defaultdict(int)
    places: dict[str, int] = defaultdict(int)
    for e in events:
        months[e["commit_date"][:7]] += 1
        if e["village_code"]:
            places[e["village_code"]] += 1
    if not months:
        return index
    lines = ["## 按月份查看", ""]
    lines += [
        f"- [{m[:4]} 年 {int(m[5:7])} 月]({month_path(m).removeprefix('changes/')})（{n} 处）"
        for m, n in sorted(months.items(), reverse=True)
    ]
    lines += ["", "## 按村（社区）查看", ""]
    lines += [
        f"- [{md(villages.get(code, code))}]({village_changes_path(code).removeprefix('changes/')})（{n} 处）"
        for code, n in sorted(places.items())
    ]
    lines.append("")
    marker = "## ⚠ 已公开记录的修改和删除"
    return index.replace(marker, "\n".join(lines) + "\n" + marker, 1)


def _currently_removed(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Records whose latest event is a removal (newest-first events)."""
    latest: dict[tuple[str, str], str] = {}
    for e in events:
        latest.setdefault((e["table_name"], e["record_id"]), e["kind"])
    return {k for k, kind in latest.items() if kind == REMOVED}


def _links(e: dict[str, Any], datasette_url: str, removed_now: set[tuple[str, str]]) -> str:
    links = []
    if masked_key(e["record_id"]):
        links.append(MASKED_KEY)
    elif (e["table_name"], e["record_id"]) not in removed_now:
        links.append(f"[查看这条记录]({Datasette(datasette_url).row(e['table_name'], e['record_id'])})")
    history = Datasette(datasette_url).history(
        "record_history", table_name=e["table_name"], record_id=e["record_id"]
    )
    links.append(f"[全部版本]({history})")
    return " · ".join(links)


def _event_table(
    events: list[dict[str, Any]], datasette_url: str, removed_now: set[tuple[str, str]], *, with_table: bool
) -> list[str]:
    lines = [
        "| 日期 | 表 | 编号 | 变化 | 内容 | 提交说明 | 链接 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in events:
        lines.append(
            f"| {e['commit_date']} | {md(e['table_title'])} | {md(e['record_id'])} | {e['kind']} | "
            f"{md(e['summary'])} | {md(e['commit_message'])} | {_links(e, datasette_url, removed_now)} |"
        )
    return lines


def _event_block(e: dict[str, Any], datasette_url: str, removed_now: set[tuple[str, str]]) -> list[str]:
    title = f"**{e['commit_date']} · {e['kind']} · {md(e['record_id'])}**"
    if e["label"]:
        title += f" {md(e['label'])}"
    lines = [title, ""]
    if masked_key(e["record_id"]):
        lines += [f"注意：{MASKED_KEY}。", ""]
    if e["after_publication"]:
        lines += ["⚠ 已公开的记录在公开后被" + ("删除" if e["kind"] == REMOVED else "修改") + "。", ""]
    lines += [f"提交说明：{md(e['commit_message']) or '（无）'}（提交 {e['commit_short']}）", ""]
    fields = json.loads(e["fields"] or "[]")
    if fields:
        lines += ["| 字段 | 原值 | 新值 |", "| --- | --- | --- |"]
        lines += [
            f"| {md(f['title'])} | {md(shown_value(f['old']))} | {md(shown_value(f['new']))} |"
            for f in fields
        ]
        lines.append("")
    if e["after_publication"] and e.get("reason"):
        lines += [f"⚠ 更正原因：{md(e['reason'])}", ""]
    lines += [_links(e, datasette_url, removed_now), "", "---", ""]
    return lines
