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
    changes = {
        name: mask(value, runs=name == "value")
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
        for p in items:
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


def render_github(report: Report) -> str:
    """Workflow commands (`::error file=…,line=…::…`), one per problem, then the summary.

    `line` is the spreadsheet row, as in every other format. It equals the line of the file unless
    a quoted cell above it spans several lines; the annotation then sits that many lines too high.
    """
    report = shown(report)
    out = []
    for p in report.problems:
        level = "error" if p.severity == "error" else "warning"
        props = [f"file={_escape_property(p.file)}"]
        if p.row is not None:
            props.append(f"line={p.row}")
        title = f"{p.code}" + (f" {p.column}" if p.column else "")
        props.append(f"title={_escape_property(title)}")
        message = _line(p) + (f"。{p.hint}" if p.hint else "")
        out.append(f"::{level} {','.join(props)}::{_escape_data(message)}")
    out.append(summary(report))
    return "\n".join(out) + "\n"
