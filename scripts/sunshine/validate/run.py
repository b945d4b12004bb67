"""`sunshine validate`: every table of the package, checked together, as problems a clerk can act on.

Frictionless and the Table Schemas are the standard: each error Frictionless knows is reported with
Frictionless's type, row and field (tests/test_validate_frictionless.py compares the two on the
broken-file corpus). On top of it: the real encoding, staff habits from Excel, personal data,
dangerous text, cross-field rules and the files themselves. Large tables are read in batches with
vectorised checks, so a county's million rows validate in seconds.
"""

from __future__ import annotations

import csv
import time

import polars as pl
import pyarrow as pa

from sunshine.package import Project, Table
from sunshine.problems import Problem, Report
from sunshine.validate import encoding as enc
from sunshine.validate import shape
from sunshine.validate.collect import Collector
from sunshine.validate.files import DEFAULT_MAX_BYTES, check_file, content_problems, stray_files
from sunshine.validate.keys import check_foreign_keys, check_keys, same_parent
from sunshine.validate.scan import TableScan
from sunshine.validate.structure import header_problems, read_header, schema_problems

DEFAULT = DEFAULT_MAX_BYTES


def table_order(tables: dict[str, Table]) -> list[Table]:
    """Referenced tables before the tables that refer to them."""
    done: list[str] = []

    def visit(name: str, stack: tuple[str, ...] = ()) -> None:
        if name in done or name in stack or name not in tables:
            return
        for fk in tables[name].foreign_keys:
            visit(fk["resource"], (*stack, name))
        for rule in tables[name].rules:
            if "resource" in rule:
                visit(rule["resource"], (*stack, name))
        done.append(name)

    for name in tables:
        visit(name)
    return [tables[n] for n in done]


def key_fields(table: Table, tables: dict[str, Table]) -> list[str]:
    """Columns of this table that keys, foreign keys and rules of any table need."""
    want: list[str] = list(table.primary_key)
    want += [f["name"] for f in table.fields if f.get("constraints", {}).get("unique")]
    for fk in table.foreign_keys:
        want += fk["fields"]
    for rule in table.rules:
        if rule.get("rule") == "same-parent":
            want += [rule["field"], rule["parent"]]
    for other in tables.values():
        for fk in other.foreign_keys:
            if fk["resource"] == table.name:
                want += fk["reference_fields"]
        for rule in other.rules:
            if rule.get("rule") == "same-parent" and rule["resource"] == table.name:
                want += [*table.primary_key, rule["parent"]]
    names = table.field_names
    return [n for n in dict.fromkeys(want) if n in names]


def _encoding_problem(rel: str, path, found: enc.Encoding) -> Problem:
    if found.name:
        return Problem(
            code="encoding-error",
            file=rel,
            message=f"文件编码是 {found.label}，不是 UTF-8",
            hint=f"运行 sunshine fix {rel} 转为 UTF-8；或在 Excel/WPS 中“另存为 → CSV UTF-8（逗号分隔）”。",
            fixable=True,
        )
    line = enc.line_of(path, found.bad_offset or 0)
    return Problem(
        code="encoding-error",
        file=rel,
        row=line,
        message=f"文件不是有效的 UTF-8，第 {line} 行有无法识别的字符（可能混入了其他编码的内容）",
        hint="请在 Excel/WPS 中检查这一行，重新输入其中的中文，然后“另存为 → CSV UTF-8（逗号分隔）”。",
    )


def _validate_table(
    project: Project, table: Table, collector: Collector, loaded: dict[str, pl.DataFrame], max_bytes: int
) -> int:
    rel = table.path
    path = project.root / rel
    problem = check_file(project, rel, max_bytes=max_bytes)
    if problem:
        collector.add(problem)
        return 0
    found = enc.detect(path)
    if not found.ok:
        collector.add(_encoding_problem(rel, path, found))
        return 0
    too_wide = shape.first_problem(path, rel, header_only=True)
    if too_wide:
        collector.add(too_wide)
        return 0
    header = read_header(path, "utf-8-sig")
    if header is None:
        collector.add(Problem(code="empty-file", file=rel, message="文件是空的", hint="至少要有表头一行。"))
        return 0
    labels, header_row = header
    for p in header_problems(labels, table.fields, rel, row=header_row):
        collector.add(p)
    fields = key_fields(table, project.tables)
    scanned = TableScan(table, path, rel, len(labels), fields, header_row=header_row).run(collector)
    if scanned.complete:  # otherwise other tables' foreign keys would point at rows never read
        loaded[table.name] = scanned.keys
    check_keys(table, rel, scanned.keys, collector)
    check_foreign_keys(table, rel, scanned.keys, loaded, project.tables, collector)
    for p in same_parent(table, rel, scanned.keys, loaded, project.tables):
        collector.add(p)
    return scanned.rows


def validate_project(project: Project, *, max_bytes: int = DEFAULT) -> Report:
    started = time.perf_counter()
    collector = Collector()
    loaded: dict[str, pl.DataFrame] = {}
    rows: dict[str, int] = {}
    try:
        broken = schema_problems(project)
        if broken:
            return Report(problems=broken, stats={"files": 0, "rows": {}})
        order = table_order(project.tables)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = Problem(
            code="descriptor-error",
            file="datapackage.json",
            message=f"无法读取数据包描述或表结构（{type(exc).__name__}）",
            hint="检查 datapackage.json 和 schemas/ 下的文件是否存在、是否为有效的 JSON。",
        )
        return Report(problems=[problem], stats={"files": 0, "rows": {}})
    for table in order:
        try:
            rows[table.path] = _validate_table(project, table, collector, loaded, max_bytes)
        except (OSError, UnicodeError, csv.Error, pa.ArrowException, pl.exceptions.PolarsError) as exc:
            loaded.pop(table.name, None)
            collector.add(
                Problem(
                    code="source-error",
                    file=table.path,
                    message=f"读取文件时出错：{type(exc).__name__}",
                    hint="确认文件没有被其他程序占用，并已“另存为 CSV UTF-8（逗号分隔）”。",
                )
            )
    for p in stray_files(project) + content_problems(project):
        collector.add(p)
    position = {t.path: i for i, t in enumerate(order)}
    problems = sorted(
        collector.problems + collector.warnings(),
        key=lambda p: (position.get(p.file, len(position)), p.file, p.code == "error-limit", p.row or 0),
    )
    stats = {
        "files": len(order),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "errors": sum(1 for p in problems if p.severity == "error"),
        "warnings": sum(1 for p in problems if p.severity != "error"),
    }
    return Report(problems=problems, stats=stats)
