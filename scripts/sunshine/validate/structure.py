"""The header row: columns matched to the Table Schema's fields by name (fieldsMatch "equal"), as Frictionless
does; and the Table Schemas themselves, so that a malformed field is named instead of failing deep inside
validation."""

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


def _near(label: str, fields: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The unmatched field a mistyped label most likely means, by name or by Chinese title."""
    clean = halfwidth(strip_spaces(label))
    by_name = {f["name"]: f for f in fields}
    by_title = {f.get("title", ""): f for f in fields}
    for pool in (by_name, by_title):
        near = difflib.get_close_matches(clean, list(pool), n=1, cutoff=0.6)
        if near:
            return pool[near[0]]
    return None


def match_header(
    labels: list[str], fields: list[dict[str, Any]], file: str, *, row: int = 1
) -> tuple[list[str | None], list[Problem]]:
    """Columns matched to fields by name, as Table Schema's `fieldsMatch: "equal"` does, in any order.

    A field's Chinese title is accepted for its name (a notice: `sunshine fix` writes the name).
    Returns the field name of each column (None for a column no field matches) and the problems:
    extra-label, missing-label, blank-label, duplicate-label, incorrect-label (spaces or full-width
    letters around a name), header-title (a notice).
    """
    out: list[Problem] = []
    shown = [mask_text(label) for label in labels]
    names = [f["name"] for f in fields]
    titles = {f.get("title"): f["name"] for f in fields if f.get("title")}
    by_name = {f["name"]: f for f in fields}
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
    columns: list[str | None] = []
    for number, (label, text) in enumerate(zip(labels, shown, strict=True), start=1):
        clean = halfwidth(strip_spaces(label))
        name = label if label in by_name else clean if clean in by_name else titles.get(strip_spaces(label))
        if name is not None and name in columns:
            f = by_name[name]
            out.append(
                Problem(
                    code="duplicate-label",
                    file=file,
                    row=row,
                    column=name,
                    column_title=f.get("title"),
                    message=f"第 {number} 列的表头“{text}”与前面的列重复",
                    hint=f"每一列只能出现一次。删除重复的第 {number} 列，或把它改为缺少的列名。",
                    value=text,
                )
            )
            columns.append(None)
            continue
        columns.append(name)
        if name is None or label == name:
            continue
        f = by_name[name]
        where = {"file": file, "row": row, "column": name, "column_title": f.get("title")}
        if clean == name:
            out.append(
                Problem(
                    code="incorrect-label",
                    message=f"第 {number} 列的表头是“{text}”，应为“{name}”",
                    hint=f"应写作“{name}”（去掉空格、全角字母改为半角）。可运行 sunshine fix {file} 自动改正。",
                    value=text,
                    fixable=True,
                    **where,
                )
            )
        else:
            out.append(
                Problem(
                    code="header-title",
                    message=f"第 {number} 列的表头是中文名称“{text}”，已按“{name}”读取",
                    hint=f"表头宜用英文列名“{name}”。可运行 sunshine fix {file} 自动改正；PR 检查也会自动改正。",
                    value=text,
                    severity="notice",
                    fixable=True,
                    **where,
                )
            )
    missing = [f for f in fields if f["name"] not in columns]
    for number, (label, text, name) in enumerate(zip(labels, shown, columns, strict=True), start=1):
        if name is not None or any(p.code == "duplicate-label" and p.value == text for p in out):
            continue
        if not strip_spaces(label):
            only = (
                f"如果这一列是“{missing[0]['name']}”（{missing[0].get('title', '')}），填上这个列名；"
                if len(missing) == 1
                else ""
            )
            out.append(
                Problem(
                    code="extra-label",
                    file=file,
                    row=row,
                    message=f"第 {number} 列的表头是空的",
                    hint=f"{only}这一列没有内容就删除它。",
                )
            )
            continue
        near = _near(label, missing)
        guess = (
            f"是不是“{near['name']}”（{near.get('title', '')}）？把表头改为 {near['name']} 即可。"
            if near
            else ""
        )
        out.append(
            Problem(
                code="extra-label",
                file=file,
                row=row,
                message=f"第 {number} 列“{text}”不是表结构中的列",
                hint=guess or f"删除这一列，或改为表结构中的列名。可用的列：{'、'.join(names)}。",
                value=text,
            )
        )
    for f in missing:
        typo = next(
            (
                f"表头第 {n} 列“{text}”应改为 {f['name']}。"
                for n, (label, text, name) in enumerate(zip(labels, shown, columns, strict=True), start=1)
                if name is None and strip_spaces(label) and _near(label, [f]) is not None
            ),
            "",
        )
        out.append(
            Problem(
                code="missing-label",
                file=file,
                row=row,
                column=f["name"],
                column_title=f.get("title"),
                message=f"缺少“{f['name']}”（{f.get('title', '')}）这一列",
                hint=typo or f"在表头中加上 {f['name']} 这一列并填写内容；列的顺序不限。",
            )
        )
    return columns, out


def header_problems(
    labels: list[str], fields: list[dict[str, Any]], file: str, *, row: int = 1
) -> list[Problem]:
    """The problems of a header (see match_header)."""
    return match_header(labels, fields, file, row=row)[1]


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
