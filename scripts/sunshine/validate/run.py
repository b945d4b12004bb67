"""`sunshine validate`: every table of the package, checked together, as problems a clerk can act on.

Frictionless and the Table Schemas are the standard: each error Frictionless knows is reported with
Frictionless's type, row and field (tests/test_validate_frictionless.py compares the two on the
broken-file corpus). On top of it: the real encoding, staff habits from Excel, personal data,
dangerous text, cross-field rules and the files themselves. Large tables are read in batches with
vectorised checks, so a county's million rows validate in seconds. A file whose last version was
found clean is checked in the records that changed since (validate/since.py, validate/kept.py),
with the same outcome.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import polars as pl
import pyarrow as pa

from sunshine import lineends, records, settings
from sunshine.deadlines import rules as deadline_rules
from sunshine.fix import xlsx
from sunshine.history.gitrepo import names_date
from sunshine.package import Project, Table
from sunshine.privacy import REFUSALS, find_personal
from sunshine.problems import Problem, Report
from sunshine.validate import encoding as enc
from sunshine.validate import kept, shape, since
from sunshine.validate.codes import CODES
from sunshine.validate.collect import Collector
from sunshine.validate.files import DEFAULT_MAX_BYTES, check_file, content_problems, stray_files
from sunshine.validate.keys import check_all
from sunshine.validate.scan import TableScan
from sunshine.validate.structure import match_header, read_header, schema_problems

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


def _workbook(project: Project, table: Table) -> Path | None:
    """data/<table>.xlsx, when a clerk put the table there as an Excel workbook."""
    for suffix in xlsx.SUFFIXES:
        path = (project.root / table.path).with_suffix(suffix)
        if path.is_file() and not path.is_symlink():
            return path
    return None


def _stray(project: Project) -> list[Problem]:
    """Files in data/ that are no table, with the right advice for a spreadsheet saved in another format."""
    workbooks = {
        w.relative_to(project.root).as_posix()
        for t in project.tables.values()
        if (w := _workbook(project, t))
    }
    names = "、".join(f"{t.name}.xlsx" for t in project.tables.values())
    out = []
    for p in stray_files(project):
        suffix = Path(p.file).suffix.lower()
        if p.file in workbooks:
            continue
        if p.code == "unknown-file" and suffix in (*xlsx.SUFFIXES, ".xls", ".et", ".ods"):
            p = replace(
                p,
                message="这是一个电子表格工作簿，但文件名不是任何一张表的名称",
                hint=(
                    f"把它保存为 Excel 工作簿（.xlsx），文件名用表名（{names}），PR 检查会自动转换为 CSV；"
                    "或在 Excel/WPS 中“另存为 → CSV UTF-8（逗号分隔）”，保存为 data/ 下同名的 .csv 文件。"
                ),
            )
        elif p.code == "unknown-file" and suffix == ".txt":
            p = replace(
                p,
                hint="如果这是 Excel“Unicode 文本”，请改为“另存为 → CSV UTF-8（逗号分隔）”，文件名用表名，例如 data/petitions.csv。",
            )
        out.append(p)
    return out


def _unicode_text_problem(rel: str, path: Path, codec: str) -> Problem:
    try:
        with open(path, encoding=codec) as f:
            first = f.readline()
    except (OSError, UnicodeError):
        first = "\t"
    what = (
        "这是 Excel 的“Unicode 文本”（UTF-16 编码、制表符分隔），不是 CSV"
        if "\t" in first
        else "文件是 UTF-16 编码的 CSV，需要转为 UTF-8"
    )
    return Problem(
        code="encoding-error",
        file=rel,
        message=what,
        hint=(
            f"运行 sunshine fix {rel} 自动转换（PR 检查也会自动转换）；"
            "或在 Excel/WPS 中“另存为 → CSV UTF-8（逗号分隔）”，不要选“Unicode 文本”。"
        ),
        fixable=True,
    )


def _gbk_notice(rel: str, found: enc.Encoding) -> Problem:
    return Problem(
        code="encoding",
        file=rel,
        message=f"文件编码是 {found.label}，已按此编码读取",
        hint=f"发布前会统一转为 UTF-8：运行 sunshine fix {rel}，或由 PR 检查自动规范。",
        severity="notice",
        fixable=True,
    )


def _line_end_notice(rel: str, row: int) -> Problem:
    return Problem(
        code="line-ends",
        file=rel,
        row=row,
        message="这一行以单独的回车符（CR）结尾，是旧版 Mac 版 Excel“CSV（Macintosh）”的写法，已按此读取",
        hint=f"发布前会统一为标准的换行符：运行 sunshine fix {rel}，或由 PR 检查自动规范；另存时请选“CSV UTF-8（逗号分隔）”。",
        severity="notice",
        fixable=True,
    )


def _in_schema_order(
    table: Table, path: Path, encoding: str, columns: list[str | None], header_row: int, target: Path
) -> tuple[Table, Path]:
    """A UTF-8 copy of the file with its columns in schema order (extra columns last), and the table
    as the copy holds it: fields missing from the header are not checked row by row (as Frictionless).
    Rows keep their numbers; a row with too few or too many cells is copied as it is."""
    order = [columns.index(n) for n in table.field_names if n in columns]
    order += [i for i, name in enumerate(columns) if name is None]
    fields = [f for f in table.fields if f["name"] in columns]
    view = Table(table.name, table.title, table.description, table.path, {**table.schema, "fields": fields})
    with (
        open(path, encoding=encoding, newline="") as src,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        writer = lineends.Writer(out)
        for number, record in enumerate(csv.reader(src), start=1):
            if number < header_row or len(record) != len(columns):
                writer.writerow(record)
            else:
                writer.writerow([record[i] for i in order])
    return view, target


def _validate_table(
    project: Project,
    table: Table,
    collector: Collector,
    loaded: dict[str, pl.DataFrame],
    max_bytes: int,
    scratch: Path,
    keeping: since.Keeping,
) -> int:
    rel = table.path
    path = project.root / rel
    workbook = _workbook(project, table)
    before = since.marks(collector, rel)
    blob = ""
    if workbook is not None:
        rel = workbook.relative_to(project.root).as_posix()
        try:
            rows = xlsx.read_workbook(table, workbook)
        except xlsx.WorkbookError as exc:
            collector.add(Problem(code="source-error", file=rel, message=str(exc)))
            return 0
        path = scratch / f"{table.name}.xlsx.csv"
        with open(path, "w", encoding="utf-8", newline="") as f:
            lineends.Writer(f).writerows(rows)
        collector.add(
            Problem(
                code="workbook",
                file=rel,
                message=f"Excel 工作簿，按其中的内容校验（代替 {table.path}）",
                hint=f"PR 检查会把它转换为 {table.path}；也可运行 sunshine fix {rel}。",
                severity="notice",
                fixable=True,
            )
        )
    else:
        problem = check_file(project, rel, max_bytes=max_bytes)
        if problem:
            collector.add(problem)
            return 0
        if keeping.fingerprint is not None:
            blob = keeping.blobs[table.name] = records.blob_id(path)
            fields = key_fields(table, project.tables)
            rows = since.from_kept(project, table, path, blob, fields, collector, loaded, scratch, keeping)
            if rows is not None:
                return rows
    found = enc.detect(path)
    if found.name and found.name.startswith("utf-16"):
        collector.add(_unicode_text_problem(rel, path, found.name))
        return 0
    if found.name == "gb18030":
        collector.add(_gbk_notice(rel, found))
    elif not found.ok:
        collector.add(_encoding_problem(rel, path, found))
        return 0
    encoding = "utf-8-sig" if found.ok else "gb18030"
    lone_cr = lineends.lone_cr_row(path, encoding)
    if lone_cr is not None:
        collector.add(_line_end_notice(rel, lone_cr))
    too_wide = shape.first_problem(path, rel, encoding=encoding, header_only=True)
    if too_wide:
        collector.add(too_wide)
        return 0
    header = read_header(path, encoding)
    if header is None:
        collector.add(Problem(code="empty-file", file=rel, message="文件是空的", hint="至少要有表头一行。"))
        return 0
    labels, header_row = header
    if header_row > 1:  # Frictionless finds the header below; every reader of the build reads line 1
        collector.add(
            Problem(
                code="blank-before-header",
                file=rel,
                row=1,
                message=f"表头前有 {header_row - 1} 个空行",
                hint=f"删除表头前的空行，让表头在第 1 行。可运行 sunshine fix {rel} 自动删除。",
                fixable=True,
            )
        )
    columns, problems = match_header(labels, table.fields, rel, row=header_row)
    for p in problems:
        collector.add(p)
    names = table.field_names
    in_order = all(c == n for c, n in zip(columns, names, strict=False)) and not any(
        c is not None for c in columns[len(names) :]
    )
    if not in_order or encoding != "utf-8-sig":
        table, path = _in_schema_order(
            table, path, encoding, columns, header_row, scratch / f"{table.name}.csv"
        )
        labels = [n for n in names if n in columns] + [
            label for label, c in zip(labels, columns, strict=True) if c is None
        ]
    fields = key_fields(table, project.tables)
    scan = TableScan(table, path, rel, len(labels), fields, header_row=header_row)
    scanned = scan.run(collector)
    as_written = workbook is None and in_order and encoding == "utf-8-sig" and header_row == 1
    clean = bool(blob) and as_written and since.marks(collector, rel) == before
    if scanned.complete:  # otherwise other tables' foreign keys would point at rows never read
        loaded[table.name] = scanned.keys
    check_all(table, rel, scanned.keys, loaded, project.tables, collector)
    if clean:
        keys_clean = since.marks(collector, rel) == before
        since.keep_whole(table, path, blob, scan, scanned, keeping, keys_clean=keys_clean)
    return scanned.rows


def _settings_problems(project: Project) -> list[Problem]:
    """sunshine.toml's texts are shown on every page and printed sheet: a personal number in one is
    refused, as in a cell."""
    out = []
    for name, value in project.settings.values.items():
        for finding in find_personal(value) if isinstance(value, str) else []:
            code, message, hint = REFUSALS[finding.kind]
            message = message.format(masked=finding.masked)
            out.append(Problem(code=code, file=settings.FILENAME, column=name, message=message, hint=hint))
    return out + _start_problems(project)


def _start_problems(project: Project) -> list[Problem]:
    """A history.start that is no date must name a commit: the build would stop on it. (Not checked
    outside a repository or in a shallow clone, which may lack the commit; the build says so.)"""
    start = project.settings.history_start
    if not start or names_date(start):
        return []

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(project.root), *args], capture_output=True, text=True, check=False
        )

    shallow = git("rev-parse", "--is-shallow-repository")
    if shallow.returncode != 0 or shallow.stdout.strip() != "false":
        return []
    if git("rev-parse", "--verify", "--quiet", f"{start}^{{commit}}").returncode == 0:
        return []
    code = CODES["unknown-start"]
    return [
        Problem(
            code="unknown-start",
            file=settings.FILENAME,
            row=settings.line_of(project.root, "history.start"),
            column="history.start",
            message=f"history.start 是“{start}”，但仓库里没有这个提交，也不是日期（YYYY-MM-DD）",
            hint=code.fix,
        )
    ]


def _deadline_problems(project: Project, loaded: dict[str, pl.DataFrame]) -> list[Problem]:
    """deadlines.toml, read as the build reads it: what would stop the build is said here too."""
    try:
        rules = deadline_rules.load_project_rules(project)
        villages = loaded.get("villages")
        if villages is not None and "village_code" in villages.columns:
            deadline_rules.check_villages(rules, set(villages["village_code"].drop_nulls().to_list()))
    except deadline_rules.RulesError as exc:
        return exc.problems
    return []


def validate_project(
    project: Project,
    *,
    max_bytes: int = DEFAULT,
    focus: dict[str, set[int]] | None = None,
    extra: list[Problem] | None = None,
    by_changes: bool = True,
) -> Report:
    """Validate every table. `focus`: rows a pull request added or changed, per file; their problems
    are never left out and come first in each file. `extra`: problems found against the git history
    (a deleted record's key reused). `by_changes`: a file whose last version was found clean is
    checked in the records that changed (the outcome is the same); else every file is read whole.
    Files found clean are kept for the next validation either way."""
    started = time.perf_counter()
    focus = focus or {}
    collector = Collector(focus=focus)
    for p in extra or []:
        collector.add(p)
    loaded: dict[str, pl.DataFrame] = {}
    rows: dict[str, int] = {}
    try:
        keeping = since.Keeping(kept.fingerprint(project), by_changes)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # a broken descriptor: said below
        keeping = since.Keeping(None, False)
    try:
        # The schemas' own checks found nothing last time they and the code were the same.
        if not kept.schemas_fine(keeping.fingerprint):
            broken = schema_problems(project)
            if broken:
                return Report(problems=broken, stats={"files": 0, "rows": {}})
            kept.note_schemas_fine(keeping.fingerprint)
        order = table_order(project.tables)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        problem = Problem(
            code="descriptor-error",
            file="datapackage.json",
            message=f"无法读取数据包描述或表结构（{type(exc).__name__}）",
            hint="检查 datapackage.json 和 schemas/ 下的文件是否存在、是否为有效的 JSON。",
        )
        return Report(problems=[problem], stats={"files": 0, "rows": {}})
    scratch = Path(tempfile.mkdtemp(prefix=".sunshine-validate-"))
    for table in order:
        try:
            rows[table.path] = _validate_table(project, table, collector, loaded, max_bytes, scratch, keeping)
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
    shutil.rmtree(scratch, ignore_errors=True)
    for p in (
        _stray(project)
        + content_problems(project)
        + _deadline_problems(project, loaded)
        + _settings_problems(project)
    ):
        collector.add(p)
    position = {t.path: i for i, t in enumerate(order)}
    problems = sorted(
        collector.problems + collector.warnings(),
        key=lambda p: (
            position.get(p.file, len(position)),
            p.file,
            p.code == "error-limit",
            p.row not in focus.get(p.file, ()),
            p.row or 0,
            p.code not in ("unclosed-quote", "stray-quote"),  # first in its row: the others follow from it
        ),
    )
    stats = {
        "files": len(order),
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 3),
        "errors": sum(1 for p in problems if p.severity == "error"),
        "warnings": sum(1 for p in problems if p.severity != "error"),
        "by_changes": keeping.by_changes,
    }
    return Report(problems=problems, stats=stats)
