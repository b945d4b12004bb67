"""`sunshine diff`: what a change does to data/, row by row, matched by each table's primary key.

The base version is read from git (`git show REF:path`), the new one from the working tree.
Changes to records the public has already seen are listed first, with their link in Datasette.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import click

from sunshine import typed
from sunshine.corrections import correction_reasons
from sunshine.diff import words
from sunshine.diff.keys import reused_keys
from sunshine.history.gitrepo import GitRepo, NotARepository
from sunshine.links import Datasette
from sunshine.markup import md
from sunshine.package import Project, Table
from sunshine.privacy import Columns, mask, mask_cell
from sunshine.problems import Problem
from sunshine.shown import record_label

ADDED, REMOVED, MODIFIED = "新增", "删除", "修改"
SHOWN_LIMIT = 200  # characters of a cell shown
MARKDOWN_ROWS = 300  # rows listed per table in Markdown (a job summary holds at most 1 MiB)


@dataclass
class RowChange:
    key: str
    kind: str
    label: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (field title, old, new)
    published: bool = False  # a record the public has already seen was modified or removed


@dataclass
class TableDiff:
    table: Table
    changes: list[RowChange] = field(default_factory=list)
    note: str = ""
    error: str = ""

    def count(self, kind: str) -> int:
        return sum(c.kind == kind for c in self.changes)


@dataclass
class Comparison:
    base: str  # as the user named it
    commit: str  # short hash
    tables: list[TableDiff]
    notice: str = ""
    reasons: list[str] = field(default_factory=list)  # 更正原因 given for changing published records

    @property
    def published(self) -> list[tuple[TableDiff, RowChange]]:
        return [(t, c) for t in self.tables for c in t.changes if c.published]


class BaseNotFound(Exception):
    """The base ref names no commit; the message is Chinese and says what to do."""


# ---------------------------------------------------------------- comparing


def resolve_base(repo: GitRepo, base: str) -> tuple[str, str, str]:
    """(commit, name, notice): `base`, or for origin/X without a fetched remote the local X."""
    commit = repo.resolve(base)
    if commit:
        return commit, base, ""
    if base.startswith("origin/"):
        local = base.removeprefix("origin/")
        commit = repo.resolve(local)
        if commit:
            return commit, local, f"找不到 {base}（远程分支还没有取回），改为与本地分支 {local} 比较。"
    raise BaseNotFound(
        f"找不到要比较的版本 {base}。请先运行 git fetch origin，或用 --base 指定一个存在的分支、标签或提交，"
        "例如 --base HEAD（只看还没有提交的修改）。"
    )


def compare(
    project: Project, repo: GitRepo, base_commit: str, base_name: str, notice: str = ""
) -> Comparison:
    tables = [_compare_table(repo, table, base_commit) for table in project.tables.values()]
    return Comparison(base=base_name, commit=base_commit[:7], tables=tables, notice=notice)


def _compare_table(repo: GitRepo, table: Table, base_commit: str) -> TableDiff:
    out = TableDiff(table)
    path = repo.cwd / table.path
    try:
        changed = _changed_rows(repo, table, base_commit) if path.exists() else None
        if changed is not None:
            before, after = changed
            before_bytes: bytes | None = b""
        else:
            before_bytes = repo.show(base_commit, table.path)
            before = _keyed(table, before_bytes) if before_bytes is not None else {}
            after = _keyed(table, path.read_bytes()) if path.exists() else {}
    except typed.Unreadable as exc:
        out.error = mask(f"{table.path}：{exc}请在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”。", runs=True)
        return out
    if before_bytes is None and path.exists():
        out.note = "比较的版本中还没有这个文件，全部行都是新增。"
    elif before_bytes is not None and not path.exists():
        out.note = "这个文件被删除了，全部行都是删除。"
    titles = {f["name"]: f.get("title", f["name"]) for f in table.fields}
    numbers = {f["name"] for f in table.fields if f.get("type") in ("number", "integer")}
    free = {  # text a person types freely: worth showing word by word
        f["name"]
        for f in table.fields
        if f.get("type", "string") == "string" and not {"pattern", "enum"} & set(f.get("constraints", {}))
    }
    for key, row in after.items():
        if key not in before:
            facts = [
                (titles.get(name, name), "", _shown(table, name, row.get(name, "")))
                for name in table.schema.get("x-summary", [])
                if row.get(name)
            ]
            out.changes.append(RowChange(key, ADDED, _shown(table, "", record_label(table, row)), facts))
            continue
        old = before[key]
        fields = [
            (
                titles.get(name, name),
                *_changed(table, name, old.get(name, ""), row.get(name, ""), name in free),
            )
            for name in _columns(table, old, row)
            if not _same(old.get(name, ""), row.get(name, ""), number=name in numbers)
        ]
        if fields:
            out.changes.append(
                RowChange(
                    key,
                    MODIFIED,
                    _shown(table, "", record_label(table, row)),
                    fields,
                    table.flags_modified,
                )
            )
    for key, row in before.items():
        if key not in after:
            out.changes.append(
                RowChange(key, REMOVED, _shown(table, "", record_label(table, row)), [], table.flags_removed)
            )
    for change in out.changes:
        change.key = _shown_key(table, change.key)
    return out


def _changed_rows(
    repo: GitRepo, table: Table, base_commit: str
) -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]]] | None:
    """Only the rows on the lines git says changed, when that is enough to compare by key: a
    change of a few rows in a million-row file reads those rows, not the file twice. None (read
    both versions whole) when the file is new, its header changed or it is not UTF-8 text."""
    if not repo.exists(base_commit, table.path):
        return None
    lines = repo.changed_records(base_commit, None, table.path)
    if lines is None:
        return None
    with (repo.cwd / table.path).open("rb") as f:
        header = f.readline().rstrip(b"\r\n")
    try:
        header.decode("utf-8")
    except UnicodeDecodeError:
        return None
    removed, added = ("\n".join(side).encode("utf-8") for side in lines)
    return _keyed(table, header + b"\n" + removed), _keyed(table, header + b"\n" + added)


def _shown_key(table: Table, key: str) -> str:
    """A record's key as the diff shows it: a key that holds a personal number is masked too."""
    pk = table.primary_key
    if len(pk) == 1:
        return mask_cell(Columns.of(table.fields), pk[0], key)
    return mask(key, runs=True)


def _keyed(table: Table, data: bytes) -> dict[str, dict[str, str]]:
    """Rows by primary key, each cell as its canonical text: a re-save by Excel changes nothing."""
    rows = typed.canonical_rows(table, data)
    pk = table.primary_key
    return {table.record_key(row): row for row in rows if any(row.get(k) for k in pk)}


def changed_rows(project: Project, repo: GitRepo, base_commit: str) -> dict[str, set[int]]:
    """Spreadsheet rows of each table that are new or changed since the base: what a pull request did."""
    out: dict[str, set[int]] = {}
    for table in project.tables.values():
        path = project.root / table.path
        if not path.is_file():
            continue
        try:
            before_bytes = repo.show(base_commit, table.path)
            before = _keyed(table, before_bytes) if before_bytes is not None else {}
            now = typed.read(table, path.read_bytes())
        except typed.Unreadable:
            continue
        rows = now.canonical_rows()
        out[table.path] = {
            r.number
            for r, row in zip(now.rows, rows, strict=True)
            if before.get(table.record_key(row)) != row
        }
    return out


def against_base(project: Project, base: str) -> tuple[dict[str, set[int]], list[Problem]]:
    """What validation needs from git for a pull request: the rows it added or changed (changed_rows)
    and its rows that reuse a deleted record's key; nothing when there is no history to compare with."""
    try:
        repo = GitRepo.find(project.root)
        commit, _, _ = resolve_base(repo, base)
    except (NotARepository, BaseNotFound):
        return {}, []
    return changed_rows(project, repo, commit), reused_keys(project, repo, commit)


def _columns(table: Table, old: dict[str, str], new: dict[str, str]) -> list[str]:
    names = table.field_names
    return names + sorted((old.keys() | new.keys()) - set(names))


def _same(old: str, new: str, *, number: bool) -> bool:
    if old == new:
        return True
    if number:
        try:
            return Decimal(old.strip()) == Decimal(new.strip())
        except InvalidOperation:
            return False
    return False


def _changed(table: Table, name: str, old: str, new: str, free: bool) -> tuple[str, str]:
    """Old and new as shown; a long free text shortened to the changed words, marked (diff.words)."""
    shown_old, shown_new = _shown(table, name, old), _shown(table, name, new)
    if free and max(len(old), len(new)) > words.LONG:
        columns = Columns.of(table.fields)
        old_marked, new_marked = words.marked(
            " ".join(str(mask_cell(columns, name, old)).split()),
            " ".join(str(mask_cell(columns, name, new)).split()),
        )
        if words.START in old_marked + new_marked:
            return old_marked, new_marked
    return shown_old, shown_new


def _shown(table: Table, name: str, value: str) -> str:
    """A cell as the diff shows it: personal numbers masked whatever the column, one line, not too long."""
    value = mask_cell(Columns.of(table.fields), name, value)
    if len(value) > SHOWN_LIMIT:
        value = value[: SHOWN_LIMIT - 1] + "…"
    return " ".join(value.split())


def _old_new(old: str, new: str) -> str:
    if not old and new and words.START not in new:
        return new  # a key fact of a new row
    return f"{words.plain(old) or '（空）'} → {words.plain(new) or '（空）'}"


def _md(value: str) -> str:
    return words.markdown(md(value))


# ---------------------------------------------------------------- rendering


def _link(datasette_url: str, table: Table, change: RowChange) -> str:
    return Datasette(datasette_url).row(table.name, change.key)


def _counts(t: TableDiff) -> str:
    return f"新增 {t.count(ADDED)} 行，删除 {t.count(REMOVED)} 行，修改 {t.count(MODIFIED)} 行"


MISSING_REASON = "还没有写明更正原因"


def commit_reasons(repo: GitRepo, base_commit: str) -> list[str]:
    """The 更正原因 lines of the commits since the base."""
    return correction_reasons(repo.text("log", "--reverse", "--format=%B", f"{base_commit}..HEAD"))


def _reason_lines(c: Comparison) -> list[str]:
    if c.reasons:
        return [f"更正原因：{'；'.join(dict.fromkeys(c.reasons))}"]
    return [
        f"{MISSING_REASON}：请在合并请求的说明中（或提交说明中）加一行“更正原因：……”，"
        "例如“更正原因：按工程结算单更正金额”。"
    ]


def render_text(c: Comparison, datasette_url: str) -> str:
    lines = [f"数据变更：工作区中的 data/ 与 {c.base}（{c.commit}）相比。"]
    if c.notice:
        lines.append(c.notice)
    if c.published:
        lines += [
            "",
            f"⚠ 已公开记录的改动 {len(c.published)} 处，请逐条核对：",
            *(f"  {x}" for x in _reason_lines(c)),
        ]
        for t, ch in c.published:
            what = "：" + "；".join(f"{f} {_old_new(o, n)}" for f, o, n in ch.fields) if ch.fields else ""
            if ch.kind == REMOVED:
                what = f"：{ch.label}" if ch.label else ""
            lines.append(f"  · {t.table.title} {ch.key} 被{ch.kind}{what}")
            lines.append(f"    {_link(datasette_url, t.table, ch)}")
    lines.append("")
    for t in c.tables:
        head = f"{t.table.title} {t.table.path}："
        if t.error:
            lines.append(f"{head}无法比较。{t.error}")
            continue
        if not t.changes:
            lines.append(f"{head}没有变化")
            continue
        lines.append(f"{head}{_counts(t)}")
        if t.note:
            lines.append(f"  {t.note}")
        mark = {ADDED: "+", REMOVED: "-", MODIFIED: "~"}
        for ch in t.changes:
            lines.append(f"  {mark[ch.kind]} {ch.key} {ch.label}".rstrip())
            lines += [f"      {f}：{_old_new(o, n)}" for f, o, n in ch.fields]
    total = {k: sum(t.count(k) for t in c.tables) for k in (ADDED, REMOVED, MODIFIED)}
    lines += ["", f"合计：新增 {total[ADDED]} 行，删除 {total[REMOVED]} 行，修改 {total[MODIFIED]} 行。"]
    return "\n".join(lines) + "\n"


def render_markdown(c: Comparison, datasette_url: str) -> str:
    lines = ["## 数据变更", "", f"工作区中的 `data/` 与 {md(c.base)}（{c.commit}）相比。"]
    if c.notice:
        lines += ["", f"> {md(c.notice)}"]
    if c.published:
        lines += [
            "",
            f"### ⚠ 已公开记录的改动（{len(c.published)} 处）",
            "",
            "这些记录已经公开，请审核人员逐条核对，并在说明中写明修改原因。",
            "",
            *(f"**{md(x)}**" if x.startswith(MISSING_REASON) else md(x) for x in _reason_lines(c)),
            "",
        ]
        for t, ch in c.published[:MARKDOWN_ROWS]:
            link = f"[{md(ch.key)}]({_link(datasette_url, t.table, ch)})"
            if ch.kind == REMOVED:
                what = f"：{md(ch.label)}" if ch.label else ""
            else:
                what = "：" + "；".join(
                    f"{md(f)} {_md(o or '（空）')} → {_md(n or '（空）')}" for f, o, n in ch.fields
                )
            history = Datasette(datasette_url).history(
                "record_history", table_name=t.table.name, record_id=ch.key
            )
            lines.append(f"- {md(t.table.title)} {link} 被{ch.kind}{what}（[修改历史]({history})）")
        if len(c.published) > MARKDOWN_ROWS:
            lines += [
                "",
                f"还有 {len(c.published) - MARKDOWN_ROWS} 处没有列出，请在本地运行 `sunshine diff` 查看全部。",
            ]
    lines += ["", "| 表 | 文件 | 新增 | 删除 | 修改 |", "| --- | --- | ---: | ---: | ---: |"]
    for t in c.tables:
        counts = (
            "无法比较 | | " if t.error else f"{t.count(ADDED)} | {t.count(REMOVED)} | {t.count(MODIFIED)}"
        )
        lines.append(f"| {md(t.table.title)} | {md(t.table.path)} | {counts} |")
    for t in c.tables:
        if not t.changes and not t.error:
            continue
        lines += ["", f"### {md(t.table.title)}（{md(t.table.path)}）", ""]
        if t.error:
            lines.append(f"无法比较。{md(t.error)}")
            continue
        lines.append(f"{_counts(t)}。{md(t.note)}".rstrip())
        lines += [
            "",
            "| 变化 | 编号 | 标题或名称 | 字段 | 原值 | 新值 |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        shown = 0
        for ch in t.changes:
            for f, o, n in ch.fields or [("", "", "")]:
                if shown < MARKDOWN_ROWS:
                    lines.append(
                        f"| {ch.kind} | {md(ch.key)} | {md(ch.label)} | {md(f)} | {_md(o)} | {_md(n)} |"
                    )
                shown += 1
        if shown > MARKDOWN_ROWS:
            lines += ["", f"还有 {shown - MARKDOWN_ROWS} 行没有列出，请在本地运行 `sunshine diff` 查看全部。"]
    return "\n".join(lines) + "\n"


def diff_command(
    project: Project, *, base: str, fmt: str, datasette_url: str, reasons: tuple[str, ...] = ()
) -> int:
    """Print the comparison; exit 0, 1 when a file could not be read, 2 when there is nothing to compare with."""
    try:
        repo = GitRepo.find(project.root)
        commit, name, notice = resolve_base(repo, base)
    except (NotARepository, BaseNotFound) as exc:
        click.echo(f"无法比较：{exc}", err=True)
        return 2
    comparison = compare(project, repo, commit, name, notice)
    comparison.reasons = [
        *commit_reasons(repo, commit),
        *(r for text in reasons for r in correction_reasons(text) or [text]),
    ]
    render = render_markdown if fmt == "markdown" else render_text
    # Every value was masked as it was read; the whole text once more, whatever a renderer added.
    click.echo(mask(render(comparison, datasette_url), phones_allowed=True), nl=False)
    return 1 if any(t.error for t in comparison.tables) else 0
