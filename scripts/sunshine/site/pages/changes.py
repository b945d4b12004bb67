"""The 变更记录 pages of the site, read from build/history.db: what changed, when, and why."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sunshine.history.schema import ADDED, HISTORY_QUERIES, MODIFIED, REMOVED
from sunshine.links import Datasette
from sunshine.markup import md
from sunshine.package import Project
from sunshine.privacy import masked_key
from sunshine.shown import shown_value

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


def _load_changes(history_db: Path) -> list[dict[str, Any]]:
    if not history_db.exists():
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
    sample = "（示例数据）" if "示例数据" in project.title else ""
    note = md(coverage(history_db))
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
    return pages


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
