"""The header row: column names checked by position against the Table Schema, as Frictionless does."""

from __future__ import annotations

import csv
import difflib
from pathlib import Path
from typing import Any

from sunshine.normalize import halfwidth, strip_spaces
from sunshine.privacy import mask_text
from sunshine.problems import Problem


def read_header(path: Path, encoding: str) -> tuple[list[str], int] | None:
    """The header and its row: the first record that is not an empty line, as Frictionless finds it.

    None when the file holds no such record.
    """
    with open(path, encoding=encoding, newline="") as f:
        for row, record in enumerate(csv.reader(f), start=1):
            if record:
                return record, row
    return None


def _suggest(label: str, field: dict[str, Any], fields: list[dict[str, Any]], file: str) -> str:
    names = [f["name"] for f in fields]
    titles = {f.get("title", ""): f["name"] for f in fields}
    clean = halfwidth(strip_spaces(label))
    if clean == field["name"]:
        if strip_spaces(label) == field["name"]:
            return f"应写作“{field['name']}”（去掉空格）。可运行 sunshine fix {file} 自动改正。"
        return f"应写作“{field['name']}”（全角字母改为半角）。"
    if clean in titles:
        name = titles[clean]
        return f"表头要用英文列名：“{clean}”应写作“{name}”。中文名称只用于显示。可运行 sunshine fix {file} 自动改正。"
    if clean in names:
        return f"“{clean}”这一列放错了位置。第 {names.index(clean) + 1} 列应为“{field['name']}”，请按数据字典的列顺序排列。"
    near = difflib.get_close_matches(clean, names, n=1, cutoff=0.6)
    if near:
        return f"是不是“{near[0]}”？这一列应为“{field['name']}”（{field.get('title', '')}）。"
    return f"这一列应为“{field['name']}”（{field.get('title', '')}）。"


def header_problems(
    labels: list[str], fields: list[dict[str, Any]], file: str, *, row: int = 1
) -> list[Problem]:
    """incorrect-label, blank-label, duplicate-label, extra-label, missing-label: Frictionless's rules."""
    out: list[Problem] = []
    labels = [mask_text(label) for label in labels]
    order = "、".join(f["name"] for f in fields)
    if len(labels) == 1 and "，" in labels[0] and len(fields) > 1:
        out.append(
            Problem(
                code="fullwidth-separator",
                file=file,
                row=row,
                message="表头用中文逗号“，”分隔，整行被当成了一列",
                hint="列与列之间要用英文逗号“,”。请在 Excel 或 WPS 中用“另存为 → CSV UTF-8（逗号分隔）”保存，不要手工输入逗号。",
            )
        )
    for number, label in enumerate(labels[len(fields) :], start=len(fields) + 1):
        out.append(
            Problem(
                code="extra-label",
                file=file,
                row=row,
                message=f"多出第 {number} 列“{label}”，表结构中没有这一列",
                hint=f"删除这一列。表头应依次为：{order}。",
                value=label,
            )
        )
    for number, field in enumerate(fields[len(labels) :], start=len(labels) + 1):
        out.append(
            Problem(
                code="missing-label",
                file=file,
                row=row,
                column=field["name"],
                column_title=field.get("title"),
                message=f"缺少第 {number} 列“{field['name']}”（{field.get('title', '')}）",
                hint=f"补上这一列。表头应依次为：{order}。",
            )
        )
    for number, (field, label) in enumerate(zip(fields, labels, strict=False), start=1):
        where = {"file": file, "row": row, "column": field["name"], "column_title": field.get("title")}
        if not label:
            out.append(
                Problem(
                    code="blank-label",
                    message=f"第 {number} 列的表头是空的",
                    hint=f"这一列应为“{field['name']}”（{field.get('title', '')}）。",
                    **where,
                )
            )
            continue
        if label in labels[: number - 1]:
            out.append(
                Problem(
                    code="duplicate-label",
                    message=f"第 {number} 列的表头“{label}”与前面的列重复",
                    hint=f"这一列应为“{field['name']}”（{field.get('title', '')}）。",
                    value=label,
                    **where,
                )
            )
            continue
        if label != field["name"]:
            out.append(
                Problem(
                    code="incorrect-label",
                    message=f"第 {number} 列的表头是“{label}”，应为“{field['name']}”",
                    hint=_suggest(label, field, fields, file),
                    value=label,
                    fixable="sunshine fix" in _suggest(label, field, fields, file),
                    **where,
                )
            )
    return out
