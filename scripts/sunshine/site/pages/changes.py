"""The 变更记录 pages of the site, read from build/history.db: what changed, when, and why."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from sunshine import links, markup, shown
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


@contextmanager
def _reading(history_db: Path, held: sqlite3.Connection | None) -> Iterator[sqlite3.Connection]:
    """The build's own connection to history.db (its update not yet committed, see
    sunshine.staging.Keeper), or one of its own."""
    if held is not None:
        yield held
        return
    with closing(sqlite3.connect(history_db)) as conn:
        yield conn


def coverage(history_db: Path, held: sqlite3.Connection | None = None) -> str:
    """The Chinese sentence saying from which commit the history starts (and what could not be seen)."""
    if held is None and not history_db.exists():
        return "还没有生成修改历史。"
    with _reading(history_db, held) as conn:
        try:
            row = conn.execute("select value from history_info where key = 'coverage'").fetchone()
        except sqlite3.DatabaseError:
            row = None
    return row[0] if row else "还没有生成修改历史。"


STALE = "修改历史是旧版本的程序生成的，没有按现在的规则隐去个人信息，所以这里暂不列出。请重新运行 sunshine build 生成修改历史。"


def _masked_by_this_version(history_db: Path, held: sqlite3.Connection | None = None) -> bool:
    """Whether history.db was masked the way this program masks (an older one is not shown)."""
    with _reading(history_db, held) as conn:
        try:
            row = conn.execute("select value from history_info where key = 'masking'").fetchone()
        except sqlite3.DatabaseError:
            return False
    return bool(row) and row[0] == MASKING


def _dicts(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    return [dict(zip(names, row, strict=True)) for row in rows]


class _Events:
    """Changes read from history.db as the pages need them: the newest of a group and its size.

    A county's history holds millions of changes (its first commit adds every row); a build reads
    the few hundred each page lists, never the whole table."""

    def __init__(self, conn: sqlite3.Connection | None) -> None:
        self.conn = conn

    def newest(self, where: str = "1", params: tuple = (), limit: int = RECENT_LIMIT) -> list[dict[str, Any]]:
        return _dicts(*self.newest_rows(where, params, limit))

    def newest_rows(
        self, where: str = "1", params: tuple = (), limit: int = RECENT_LIMIT
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """As newest, the columns' names and each row's values: a page kept from the last build
        needs no dicts, and a county's 300 villages and months list 60,000 changes."""
        if self.conn is None:
            return [], []
        cursor = self.conn.cursor()
        cursor.row_factory = None
        sql = f"select * from changes where {where} order by seq desc, id desc limit ?"
        rows = cursor.execute(sql, [*params, limit]).fetchall()
        return [d[0] for d in cursor.description], rows

    def count(self, where: str = "1", params: tuple = ()) -> int:
        if self.conn is None:
            return 0
        return self.conn.execute(f"select count(*) from changes where {where}", params).fetchone()[0]

    def groups(self, expression: str, where: str = "1") -> dict[str, int]:
        """How many changes share each value of `expression`."""
        if self.conn is None:
            return {}
        sql = f"select {expression}, count(*) from changes where {where} group by 1"
        return dict(self.conn.execute(sql).fetchall())

    def months(self) -> dict[str, int]:
        """How many changes each month (of its commit) has. Every change of a commit has the commit's
        seq and date, so changes are counted per seq on the (seq, id) index and one date is read per
        commit: a county's million changes are counted in a tenth of the time of grouping them by
        their dates, which reads the whole table."""
        if self.conn is None:
            return {}
        out: dict[str, int] = {}
        per_commit = self.conn.execute("select seq, count(*) from changes where seq is not null group by seq")
        for seq, n in per_commit.fetchall():
            (month,) = self.conn.execute(
                "select substr(commit_date, 1, 7) from changes where seq = ? limit 1", [seq]
            ).fetchone()
            out[month] = out.get(month, 0) + n
        for month, n in self.conn.execute(
            "select substr(commit_date, 1, 7), count(*) from changes where seq is null group by 1"
        ):
            out[month] = out.get(month, 0) + n
        return dict(
            sorted(out.items(), key=lambda kv: (kv[0] is not None, kv[0] or ""))
        )  # as GROUP BY orders

    def kinds(self) -> dict[str, dict[str, int]]:
        """How many changes of each kind each table has. Nearly all are additions (a table's first
        commit adds every row): the changes of each table are counted on an index, those of other
        kinds found by their kind, and the rest are additions."""
        out: dict[str, dict[str, int]] = {}
        if self.conn is None:
            return out
        totals = self.conn.execute("select table_name, count(*) from changes group by 1").fetchall()
        others = self.conn.execute(
            "select +table_name, kind, count(*) from changes where kind < ? or kind > ? or kind is null group by 1, 2",
            (ADDED, ADDED),
        ).fetchall()
        for table, kind, n in others:
            out.setdefault(table, {})[kind] = n
        for table, n in totals:
            added = n - sum(out.get(table, {}).values())
            if added:
                out.setdefault(table, {})[ADDED] = added
        return out

    def removed_now(self) -> set[tuple[str, str]]:
        """Records whose latest change is a removal."""
        if self.conn is None:
            return set()
        sql = (
            f"select table_name, record_id from changes c where kind = '{REMOVED}' and not exists ("
            "select 1 from changes d where d.table_name = c.table_name and d.record_id = c.record_id "
            "and (d.seq > c.seq or (d.seq = c.seq and d.id > c.id)))"
        )
        return {(t, r) for t, r in self.conn.execute(sql)}


def _open_changes(history_db: Path) -> sqlite3.Connection | None:
    if not history_db.exists() or not _masked_by_this_version(history_db):
        return None
    conn = sqlite3.connect(f"file:{history_db}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("select 1 from changes limit 1")
    except sqlite3.DatabaseError:
        conn.close()
        return None
    return conn


def changes_pages(
    project: Project,
    history_db: Path,
    datasette_url: str,
    kept: Path | None = None,
    held: sqlite3.Connection | None = None,
) -> ChangesPages:
    """The 变更记录 section: "changes/index.md" and "changes/<table>.md", Markdown in Chinese.

    With `kept`, a folder kept between builds, a page by month or by village whose changes are
    the same as last time is taken from there, not written again. `held`: the build's own
    connection to history.db, its update not yet committed (read through it, left open)."""
    if held is not None:
        held.row_factory = sqlite3.Row
        try:
            events = _Events(held if _masked_by_this_version(history_db, held) else None)
            return _pages(project, events, history_db, datasette_url, _Kept(kept), held)
        finally:
            held.row_factory = None
    conn = _open_changes(history_db)
    try:
        return _pages(project, _Events(conn), history_db, datasette_url, _Kept(kept))
    finally:
        if conn is not None:
            conn.close()


def _pages(
    project: Project,
    events: _Events,
    history_db: Path,
    datasette_url: str,
    kept: _Kept,
    held: sqlite3.Connection | None = None,
) -> ChangesPages:
    sample = SAMPLE_MARK if project.settings.sample else ""
    stale = (held is not None or history_db.exists()) and not _masked_by_this_version(history_db, held)
    note = md(STALE if stale else coverage(history_db, held))
    removed_now = events.removed_now()
    pages = ChangesPages()

    flagged = events.newest("after_publication = 1")
    flagged_count = events.count("after_publication = 1")
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
        lines += _event_table(flagged, datasette_url, removed_now, with_table=True)
        if flagged_count > RECENT_LIMIT:
            lines += ["", f"只列出最近 {RECENT_LIMIT} 处，共 {flagged_count} 处，全部见下面的查询。"]
    else:
        lines.append("没有已公开的记录在公开后被修改或删除。")
    lines += [
        "",
        "## 各表的变更",
        "",
        "| 表 | 新增 | 修改 | 删除 | 最近一次变更 |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    recent = {table: events.newest("table_name = ?", (table,)) for table in project.tables}
    counted = events.kinds()
    kinds = {table: counted.get(table, {}) for table in project.tables}
    for table in project.tables.values():
        n = kinds[table.name]
        mine = recent[table.name]
        last = mine[0]["commit_date"] if mine else "—"
        lines.append(
            f"| [{md(table.title)}]({table.name}.md) | {n.get(ADDED, 0)} | {n.get(MODIFIED, 0)} "
            f"| {n.get(REMOVED, 0)} | {last} |"
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
        mine = recent[table.name]
        total = sum(kinds[table.name].values())
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
        for e in mine:
            body += _event_block(e, datasette_url, removed_now)
        if total > RECENT_LIMIT:
            body += [
                f"只列出最近 {RECENT_LIMIT} 条，共 {total} 条。每条记录的全部版本可在数据库中查询（见“一条记录的全部版本”）。",
                "",
            ]
        pages[f"changes/{table.name}.md"] = "\n".join(body).rstrip("\n") + "\n"
    villages = _village_names(project)
    months = events.months()
    places = events.groups("village_code", "village_code != ''")
    pages.update(_sentence_pages(events, months, places, villages, datasette_url, removed_now, note, kept))
    kept.forget_unused()
    pages["changes/index.md"] = _with_sentence_links(pages["changes/index.md"], months, places, villages)
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
    events: _Events,
    months: dict[str, int],
    places: dict[str, int],
    villages: dict[str, str],
    datasette_url: str,
    removed_now: set[tuple[str, str]],
    note: str,
    kept: _Kept,
) -> dict[str, str | Path]:
    pages: dict[str, str | Path] = {}
    shared = (datasette_url, note, sorted(villages.items()))
    groups = [
        (month_path(m), f"变更记录：{m[:4]} 年 {int(m[5:7])} 月", n, "substr(commit_date, 1, 7) = ?", m)
        for m, n in months.items()
    ] + [
        (village_changes_path(code), f"变更记录：{md(villages.get(code, code))}", n, "village_code = ?", code)
        for code, n in places.items()
    ]
    for path, title, count, where, value in groups:
        names, rows = events.newest_rows(where, (value,))
        key = [names.index("table_name"), names.index("record_id")] if names else []
        removed = [tuple(r[i] for i in key) in removed_now for r in rows]
        inputs = (shared, title, count, rows, removed)

        def render(
            names: list[str] = names, rows: list[tuple] = rows, title: str = title, count: int = count
        ) -> str:
            newest = _dicts(names, rows)
            items = "".join(_sentence_item(e, villages, datasette_url, removed_now) for e in newest)
            more = (
                f"<p>只列出最近 {RECENT_LIMIT} 处，共 {count} 处；全部可在数据库中查询。</p>"
                if count > RECENT_LIMIT
                else ""
            )
            return (
                f"# {title}\n\n> {note}\n\n共 {count} 处变更，最新的在前。\n\n"
                f'<ul class="change-sentences">{items}</ul>\n{more}\n'
            )

        pages[path] = kept.page(inputs, render)
    return pages


# What a kept page was written by: a change to it writes every page again.
_CODE = hashlib.sha256(
    b"".join(Path(m.__file__).read_bytes() for m in (sys.modules[__name__], links, markup, shown))  # type: ignore[arg-type]
).hexdigest()


class ChangesPages(Mapping[str, str]):
    """The 变更记录 pages, path -> Markdown. A page kept between builds stays in its file until it is
    asked for: a county's pages are tens of megabytes of text, which the site need not hold at once."""

    def __init__(self) -> None:
        self._pages: dict[str, str | Path] = {}

    def __getitem__(self, path: str) -> str:
        page = self._pages[path]
        return page.read_text(encoding="utf-8") if isinstance(page, Path) else page

    def __setitem__(self, path: str, page: str | Path) -> None:
        self._pages[path] = page

    def update(self, pages: Mapping[str, str | Path]) -> None:
        self._pages.update(pages)

    def __iter__(self) -> Iterator[str]:
        return iter(self._pages)

    def __len__(self) -> int:
        return len(self._pages)


class _Kept:
    """Pages by month and by village kept between builds, each under a digest of all it shows."""

    def __init__(self, folder: Path | None) -> None:
        self.folder, self.used = folder, set()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def page(self, inputs: Any, render: Callable[[], str]) -> str | Path:
        """The page's Markdown, or the file that holds it (read when the page is written)."""
        if self.folder is None:
            return render()
        name = hashlib.sha256((_CODE + repr(inputs)).encode("utf-8")).hexdigest()[:32] + ".md"
        self.used.add(name)
        path = self.folder / name
        if not path.is_file():
            tmp = path.with_name(f"{name}.{os.getpid()}.tmp")
            tmp.write_text(render(), encoding="utf-8")
            tmp.replace(path)
        return path

    def forget_unused(self) -> None:
        if self.folder is not None:
            for path in self.folder.iterdir():
                if path.name not in self.used:
                    path.unlink(missing_ok=True)


def _with_sentence_links(
    index: str, months: dict[str, int], places: dict[str, int], villages: dict[str, str]
) -> str:
    """The index, with the months and the villages first: where most readers start."""
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
