"""The header row, checked by position against the Table Schema as Frictionless does; and the Table Schemas
themselves, so that a malformed field is named instead of failing deep inside validation."""

from __future__ import annotations

import csv
import difflib
import json
import re
from pathlib import Path
from typing import Any

from sunshine.normalize import halfwidth, strip_spaces
from sunshine.package import Project
from sunshine.privacy import mask_text
from sunshine.problems import Problem
from sunshine.validate.cells import frictionless_field


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


# ---------------------------------------------------------------- the Table Schemas themselves

TYPES = {
    "string", "number", "integer", "boolean", "date", "time", "datetime", "year", "yearmonth",
    "duration", "object", "array", "list", "geopoint", "geojson", "any",
}  # fmt: skip
_FLAGS = ("required", "unique")
_LENGTHS = ("minLength", "maxLength")
_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")


def _field_faults(spec: Any) -> list[str]:
    """What is wrong with one field of a Table Schema, in Chinese; empty when it can be used."""
    if not isinstance(spec, dict):
        return ["字段应写成 {…} 对象"]
    faults = []
    if spec.get("type") not in TYPES:
        faults.append(f"类型“{spec.get('type')}”无法识别，应为 string、integer、number、date、boolean 等")
    for key in ("title", "description"):
        if key in spec and not isinstance(spec[key], str):
            faults.append(f"{key} 应为文字")
    constraints = spec.get("constraints", {})
    if not isinstance(constraints, dict):
        return [*faults, "constraints 应写成 {…} 对象"]
    for key, value in constraints.items():
        if key in _FLAGS:
            ok = isinstance(value, bool)
        elif key in _LENGTHS:
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        elif key in _BOUNDS:
            ok = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        elif key == "pattern":
            ok = isinstance(value, str) and _compiles(value)
        elif key == "enum":
            ok = isinstance(value, list) and bool(value)
        else:
            faults.append(f"约束“{key}”无法识别")
            continue
        if not ok:
            faults.append(f"约束“{key}”的值 {json.dumps(value, ensure_ascii=False)[:40]} 写法不对")
    if "x-decimals" in spec and not (isinstance(spec["x-decimals"], int) and spec["x-decimals"] >= 0):
        faults.append("x-decimals 应为不小于 0 的整数")
    if "x-phone" in spec and not isinstance(spec["x-phone"], bool):
        faults.append("x-phone 应为 true 或 false")
    for key in ("trueValues", "falseValues"):
        if key in spec and not (isinstance(spec[key], list) and all(isinstance(v, str) for v in spec[key])):
            faults.append(f"{key} 应为文字列表")
    if not faults:
        try:
            frictionless_field(spec)
        except Exception as exc:  # Frictionless's own descriptor check, whatever it raises
            unsupported = re.search(r'constraint "(\w+)" is not supported by type "(\w+)"', str(exc))
            if unsupported:
                faults.append(f"约束“{unsupported[1]}”不能用于 {unsupported[2]} 类型")
            else:
                faults.append(f"Frictionless 无法读取这个字段（{type(exc).__name__}）")
    return faults


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def schema_problems(project: Project) -> list[Problem]:
    """A malformed Table Schema, named by file and field, instead of a failure deep inside validation.

    Raises what reading the descriptor raises (OSError, ValueError) when a file is not JSON at all."""
    out: list[Problem] = []
    for resource in project.descriptor.get("resources", []):
        source = resource.get("schema") if isinstance(resource, dict) else None
        file = source if isinstance(source, str) else "datapackage.json"
        schema = project.tables[resource["name"]].schema  # unreadable JSON: a descriptor-error upstream
        fields = schema.get("fields") if isinstance(schema, dict) else None
        if not isinstance(fields, list) or not fields:
            out.append(
                Problem(
                    code="schema-error",
                    file=file,
                    message="表结构中没有 fields 字段列表",
                    hint="每张表的表结构都要用 fields 列出各列。",
                )
            )
            continue
        names = []
        for number, spec in enumerate(fields, start=1):
            name = spec.get("name") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not name:
                out.append(
                    Problem(
                        code="schema-error",
                        file=file,
                        message=f"第 {number} 个字段没有 name（英文列名）",
                        hint="每个字段都要有 name、title、type。",
                    )
                )
                continue
            names.append(name)
            for fault in _field_faults(spec):
                out.append(
                    Problem(
                        code="schema-error",
                        file=file,
                        column=name,
                        column_title=spec.get("title") if isinstance(spec.get("title"), str) else None,
                        message=f"字段“{name}”：{fault}",
                        hint="请对照数据字典改正这个字段；表结构的修改需要数据管理员审核。",
                    )
                )
        keys = schema.get("primaryKey", [])
        for key in [keys] if isinstance(keys, str) else keys if isinstance(keys, list) else [None]:
            if key not in names:
                out.append(
                    Problem(
                        code="schema-error",
                        file=file,
                        message=f"主键 primaryKey 中的“{key}”不是表结构中的字段",
                        hint="primaryKey 只能列出 fields 中已有的列名。",
                    )
                )
    return out
