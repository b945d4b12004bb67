"""Render a validation report: Chinese text for staff, JSON for tools, annotations for GitHub Actions.

Every format renders `shown(report)`: each text of each problem (message, hint, value, file, column)
with personal numbers masked, so a hint that repeats a cell ("应写作 …") never shows it in full.
"""

from __future__ import annotations

import dataclasses
import json
from itertools import groupby

from sunshine.privacy import mask
from sunshine.problems import Problem, Report

FORMATS = ("text", "json", "github")


def render(report: Report, fmt: str) -> str:
    if fmt == "text":
        return render_text(report)
    if fmt == "json":
        return render_json(report)
    if fmt == "github":
        return render_github(report)
    raise ValueError(f"unknown format {fmt!r}")


def _masked(p: Problem) -> Problem:
    # Values are cells: any long run of digits keeps its ends only. Messages and hints are our own
    # sentences around a cell: personal numbers masked, codes such as 000000101001 kept.
    # A code of its column's format (value_is_code) is public and kept whole; a column that
    # publishes phone numbers keeps them in its texts too.
    changes = {
        name: mask(value, phones_allowed=p.phones_public, runs=name == "value" and not p.value_is_code)
        for name in ("file", "message", "hint", "column", "column_title", "value")
        if isinstance(value := getattr(p, name), str)
    }
    return dataclasses.replace(p, **changes)


def shown(report: Report) -> Report:
    """The report as it may be shown anywhere: personal numbers masked in every text of every problem."""
    return Report(problems=[_masked(p) for p in report.problems], stats=report.stats)


def _where(p: Problem) -> str:
    parts = []
    if p.row is not None:
        parts.append(f"第 {p.row} 行")
    if p.column:
        parts.append(f"“{p.column_title}”（{p.column}）" if p.column_title else f"“{p.column}”")
    return "，".join(parts)


def _line(p: Problem) -> str:
    where = _where(p)
    text = f"{where}：{p.message}" if where else p.message
    if p.value not in (None, ""):
        text += f"。内容：{p.value}"
    return text


def summary(report: Report) -> str:
    errors = len(report.errors)
    warnings = len(report.problems) - errors
    files = report.stats.get("files", 0)
    rows = sum((report.stats.get("rows") or {}).values())
    tail = f"，{warnings} 个提醒" if warnings else ""
    if report.valid:
        return f"校验通过：{files} 张表，共 {rows} 行数据，没有发现错误{tail}。"
    bad_files = len({p.file for p in report.errors})
    return f"校验未通过：{bad_files} 个文件中共有 {errors} 个错误{tail}。请按提示改正后重新运行 sunshine validate。"


GROUP = 3  # identical problems in one column from this many rows on are said once
ROWS_SHOWN = 8


def _resaved(p: Problem) -> bool:
    """A cell Excel or WPS rewrote on saving (read as meant; `sunshine fix` writes it canonically)."""
    return p.severity == "notice" and p.code in ("type-error", "date-format") and p.fixable


def _group_key(p: Problem) -> tuple:
    if _resaved(p):
        return ("resave", p.column)
    return (p.severity, p.code, p.column, p.message, p.hint)


def _rows(rows: list[int]) -> str:
    shown = "、".join(str(r) for r in rows[:ROWS_SHOWN])
    return f"第 {shown} 行" + ("等" if len(rows) > ROWS_SHOWN else "")


def grouped(problems: list[Problem]) -> list[list[Problem]]:
    """Problems of one file, identical ones (same column, same problem) together, in first-seen order."""
    groups: dict[tuple, list[Problem]] = {}
    singles: list[list[Problem]] = []
    for p in problems:
        if p.row is None or p.column is None:
            singles.append([p])
            continue
        key = _group_key(p)
        if key not in groups:
            groups[key] = []
            singles.append(groups[key])
        groups[key].append(p)
    out: list[list[Problem]] = []
    for g in singles:
        out += [g] if len(g) >= GROUP else [[p] for p in g]
    return out


def _group_lines(g: list[Problem]) -> list[str]:
    p = g[0]
    mark = "✗" if p.severity == "error" else "!"
    rows = sorted({q.row for q in g if q.row is not None})
    title = p.column_title or p.column
    if _resaved(p):
        return [
            f"  {mark} 整列“{title}”被 Excel 改写（{len(rows)} 行：{_rows(rows)}），一次自动规范即可改正",
            f"    → PR 检查会自动改正；也可运行 sunshine fix {p.file}。",
        ]
    out = [f"  {mark} {_rows(rows)}（共 {len(rows)} 行），“{title}”（{p.column}）：{p.message}"]
    if p.hint:
        out.append(f"    → {p.hint}")
    return out


def render_text(report: Report) -> str:
    report = shown(report)
    out: list[str] = []
    for file, group in groupby(report.problems, key=lambda p: p.file):
        items = list(group)
        n_err = sum(1 for p in items if p.severity == "error")
        n_warn = len(items) - n_err
        counts = "，".join(
            x for x in (f"{n_err} 个错误" if n_err else "", f"{n_warn} 个提醒" if n_warn else "") if x
        )
        out.append(f"{file}（{counts}）")
        rank = {"error": 0, "warning": 1}
        for g in sorted(grouped(items), key=lambda g: rank.get(g[0].severity, 2)):
            if len(g) > 1:
                out += _group_lines(g)
                continue
            p = g[0]
            mark = "✗" if p.severity == "error" else "!"
            out.append(f"  {mark} {_line(p)}")
            if p.hint:
                out.append(f"    → {p.hint}")
        out.append("")
    out.append(summary(report))
    return "\n".join(out) + "\n"


def render_json(report: Report) -> str:
    report = shown(report)
    doc = {
        "valid": report.valid,
        "summary": summary(report),
        "stats": report.stats,
        "errors": [p.to_dict() for p in report.errors],
        "warnings": [p.to_dict() for p in report.problems if p.severity != "error"],
    }
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


ANNOTATIONS = 10  # GitHub shows at most ten annotations of one kind per step


def render_github(report: Report) -> str:
    """Workflow commands (`::error file=…,line=…::…`) for the first ten problems, errors first, then
    a line naming how many more there are (the full list goes to the job summary), then the summary.

    `line` is the spreadsheet row, as in every other format. It equals the line of the file unless
    a quoted cell above it spans several lines; the annotation then sits that many lines too high.
    """
    report = shown(report)
    out = []
    first = sorted(report.problems, key=lambda p: p.severity != "error")
    for p in first[:ANNOTATIONS]:
        level = {"error": "error", "warning": "warning"}.get(p.severity, "notice")
        props = [f"file={_escape_property(p.file)}"]
        if p.row is not None:
            props.append(f"line={p.row}")
        title = f"{p.code}" + (f" {p.column}" if p.column else "")
        props.append(f"title={_escape_property(title)}")
        message = _line(p) + (f"。{p.hint}" if p.hint else "")
        out.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    if len(first) > ANNOTATIONS:
        rest = len(first) - ANNOTATIONS
        out.append(
            f"::notice title=另有 {rest} 个问题::{_escape_data(f'另有 {rest} 个问题没有在文件中标出，全部列在检查摘要（Summary）中。')}"
        )
    out.append(summary(report))
    return "\n".join(out) + "\n"
