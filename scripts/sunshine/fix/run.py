"""`sunshine fix FILE…`: repair what is safe to repair, keep the original, say every change.

Safe means there is exactly one thing the person can have meant: the encoding, a BOM, old Mac line
ends (a lone CR), spaces around a cell, full-width digits, `2024/5/3` or `2024年5月3日` in a date
column, an Excel date serial in a date column, `¥1,200.00` in a number column, blank rows. Anything
that needs a guess (03/05/2024, 5/3 without a year) is left alone and reported.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import click

from sunshine import lineends, normalize, typed
from sunshine.fix import xlsx
from sunshine.package import Project, Table
from sunshine.privacy import code_pattern, is_code, mask_text
from sunshine.problems import Report
from sunshine.validate import encoding as enc
from sunshine.validate.files import BACKUP_SUFFIX, DEFAULT_MAX_BYTES, check_file
from sunshine.validate.report import render
from sunshine.validate.run import validate_project


@dataclass
class Change:
    row: int | None
    column: str | None
    title: str | None
    old: str
    new: str
    phones: bool = False
    code: re.Pattern[str] | None = None  # the column's code format: a village code is shown as it is

    def describe(self, file: str) -> str:
        where = f"{file} 第 {self.row} 行" if self.row else file
        if self.column:
            where += f" “{self.title}”（{self.column}）"
        old, new = self._shown(self.old), self._shown(self.new)
        return f"{where}：{old!r} → {new!r}" if self.column else f"{where}：{old} → {new}"

    def _shown(self, value: str) -> str:
        return value if is_code(value, self.code) else mask_text(value, phones_allowed=self.phones)


@dataclass
class Outcome:
    file: str
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left for a person to decide
    error: str | None = None
    kept: str | None = None  # the backup this run wrote its original to
    first: str | None = None  # the backup holding the first original, when it is another one
    # Row of the written file → row of the file as it was: later messages use the first numbering.
    rows: dict[int, int] = field(default_factory=dict)
    workbook: str | None = None  # the .xlsx the table was converted from


def fix_cell(value: str, spec: dict[str, Any] | None) -> tuple[str, str | None]:
    """(repaired value, note when the cell looks wrong but cannot be repaired safely)."""
    new = normalize.strip_spaces(value)
    if spec is None or new == "":
        return new, None
    kind = spec["type"]
    if kind == "date" and not _is_iso(new):
        d, reason = normalize.parse_date(new)
        if d:
            return d.isoformat(), None
        return new, reason or "不是可识别的日期"
    if kind == "number" and not normalize.PLAIN_NUMBER.match(new):
        plain = normalize.parse_amount(new)
        return (plain, None) if plain is not None else (new, None)
    if kind == "integer" and not normalize.PLAIN_INTEGER.match(new):
        plain = normalize.parse_integer(new)
        return (plain, None) if plain is not None else (new, None)
    pattern = spec.get("constraints", {}).get("pattern")
    if kind == "string" and pattern and not re.match(f"^(?:{pattern})$", new):
        half = normalize.halfwidth(new).replace(" ", "")
        if re.match(f"^(?:{pattern})$", half):
            return half, None
    return new, None


def _is_iso(value: str) -> bool:
    if not normalize.ISO_DATE.match(value):
        return False
    d, _ = normalize.parse_date(value, serials=False)
    return d is not None


def _read_csv(path: Path, out: Outcome) -> tuple[list[list[str]], bytes] | None:
    found = enc.detect(path)
    if found.name is None:
        line = enc.line_of(path, found.bad_offset or 0)
        out.error = f"第 {line} 行附近有无法识别的字符，不是一种确定的编码，无法自动转换。请在 Excel/WPS 中检查后另存为 CSV UTF-8。"
        return None
    raw = path.read_bytes()
    text = raw.decode(found.name)
    if found.name not in ("utf-8",):
        out.changes.append(Change(None, None, None, f"编码 {found.label}", "UTF-8（无 BOM）"))
    text = text.removeprefix("\ufeff")
    delimiter = typed.dialect_of(text)
    if lineends.first_lone_cr_row(io.StringIO(text, newline=""), delimiter) is not None:
        out.changes.append(
            Change(None, None, None, "单独的回车符（CR）换行（旧版 Mac 版 Excel）", "标准换行符（LF）")
        )
    if delimiter == "\t":
        out.changes.append(Change(None, None, None, "制表符分隔（Excel“Unicode 文本”）", "逗号分隔（CSV）"))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[list[str]] = []
    start = 1
    try:
        for row in reader:
            rows.append(row)
            start = reader.line_num + 1
    except csv.Error:
        # Read leniently, a quote out of place drops quotes or joins rows: written back, the text
        # would change in ways no one asked for (a quote added at the end of the file).
        out.error = (
            f"第 {start} 行的英文双引号不成对或用错了位置，自动修复会改变单元格的内容，所以没有修改这个文件。"
            "请先按 sunshine validate 的提示改正这一行的引号，再运行 sunshine fix。"
        )
        return None
    return rows, raw


def fix_table(project: Project, table: Table, workbook: Path | None = None) -> Outcome:
    file = table.path
    path = project.root / file
    out = Outcome(file)
    if workbook is not None:
        rows = xlsx.read_workbook(table, workbook)
        out.workbook = workbook.relative_to(project.root).as_posix()
        out.changes.append(Change(None, None, None, f"Excel 工作簿 {out.workbook}", file))
        raw = path.read_bytes() if path.exists() else b""
    else:
        unsafe = check_file(project, file, max_bytes=DEFAULT_MAX_BYTES)
        if unsafe:
            out.error = f"{unsafe.message}。{unsafe.hint}"
            return out
        read = _read_csv(path, out)
        if read is None:
            return out
        rows, raw = read
    leading = 0
    while rows and not rows[0]:
        leading += 1
        out.changes.append(Change(leading, None, None, "表头前的空行", "已删除"))
        rows.pop(0)
    if not rows:
        return out
    fields = {f["name"]: f for f in table.fields}
    # A header written with the Chinese titles (as the data dictionary shows them) has one meaning.
    titles = {f.get("title"): f["name"] for f in table.fields}
    header = [normalize.strip_spaces(label) for label in rows[0]]
    header = [label if label in fields else titles.get(label, label) for label in header]
    for label, new in zip(rows[0], header, strict=True):
        if label != new:
            out.changes.append(Change(leading + 1, new, "表头", label, new))
    specs = [fields.get(label) for label in header]
    kept_rows = [header]
    out.rows = {1: leading + 1}
    for number, cells in enumerate(rows[1:], start=leading + 2):
        if all(not normalize.strip_spaces(c) for c in cells):
            out.changes.append(Change(number, None, None, "空行", "已删除"))
            continue
        out.rows[len(kept_rows) + 1] = number
        new_cells = []
        for pos, value in enumerate(cells):
            spec = specs[pos] if pos < len(specs) else None
            new, note = fix_cell(value, spec)
            name = header[pos] if pos < len(header) else f"第 {pos + 1} 列"
            title = spec.get("title", name) if spec else name
            phones = bool(spec and spec.get("x-phone"))
            code = code_pattern(spec) if spec else None
            if note:
                shown = mask_text(value, phones_allowed=phones)
                out.notes.append(
                    f"{file} 第 {number} 行 “{title}”（{name}）：{shown!r} {note}，没有自动修改，请按 YYYY-MM-DD 手工填写。"
                )
            if new != value:
                out.changes.append(Change(number, name, title, value, new, phones, code))
            new_cells.append(new)
        kept_rows.append(new_cells)
    if out.changes:
        if path.exists():  # a workbook for a table that has no CSV yet leaves no original to keep
            kept = _keep_original(path, raw)
            out.kept = kept.relative_to(project.root).as_posix() if kept else None
            first = backup_paths(path)[0].relative_to(project.root).as_posix()
            out.first = first if first != out.kept else None
        _replace(path, _written(kept_rows).encode("utf-8"))
    if workbook is not None:
        moved = project.build_dir / "workbooks" / workbook.name
        moved.parent.mkdir(parents=True, exist_ok=True)
        workbook.replace(moved)
        out.notes.append(
            f"{out.workbook} 已转换为 {file}，工作簿移到了 {moved.relative_to(project.root).as_posix()}。"
        )
    return out


def _written(rows: list[list[str]]) -> str:
    """A table as this command writes it: UTF-8 without BOM, LF line ends, minimal quoting."""
    buf = io.StringIO(newline="")
    lineends.Writer(buf).writerows(rows)
    return buf.getvalue()


def _written_by_fix(content: bytes) -> bool:
    """True when content is in the form this command writes (a file fixed before, perhaps edited
    since by hand), False for a file saved by Excel or WPS (a BOM, another encoding, CRLF)."""
    try:
        text = content.decode("utf-8")
        return (
            not text.startswith("\ufeff")
            and _written(list(csv.reader(io.StringIO(text, newline="")))) == text
        )
    except (UnicodeDecodeError, csv.Error):
        return False


def backup_paths(path: Path) -> list[Path]:
    """The backups of path: the first original, then any later ones (x.orig.csv, x.2.orig.csv, …)."""
    stem = path.name.removesuffix(".csv")
    first = path.with_name(stem + BACKUP_SUFFIX)
    later = sorted(
        (
            p
            for p in path.parent.glob(f"{stem}.*{BACKUP_SUFFIX}")
            if p.name[len(stem) + 1 : -len(BACKUP_SUFFIX)].isdigit()
        ),
        key=lambda p: int(p.name[len(stem) + 1 : -len(BACKUP_SUFFIX)]),
    )
    return [first, *later]


def _keep_original(path: Path, original: bytes) -> Path | None:
    """The backup holding the file as it was before this run (None when it is only the result of an
    earlier fix, perhaps edited since). The first original is never overwritten; a new export saved over a
    fixed file is kept beside it under the next number."""
    backups = backup_paths(path)
    existing = [p for p in backups if p.exists()]
    if not existing:
        _replace(backups[0], original)
        return backups[0]
    for p in existing:
        if p.stat().st_size == len(original) and p.read_bytes() == original:
            return p
    if _written_by_fix(original):
        return None
    stem = path.name.removesuffix(".csv")
    target = path.with_name(f"{stem}.{len(backups) + 1}{BACKUP_SUFFIX}")
    _replace(target, original)
    return target


def _replace(path: Path, content: bytes) -> None:
    """Write content to path atomically: a killed run leaves the old file or the new one, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _resolve(project: Project, files: list[Path]) -> list[tuple[Table, Path | None]] | str:
    """The tables named, each with the workbook to convert (data/petitions.xlsx for petitions)."""
    by_path = {(project.root / t.path).resolve(): t for t in project.tables.values()}
    out: list[tuple[Table, Path | None]] = []
    for f in files:
        resolved = Path(f).resolve()
        workbook = None
        if resolved.suffix.lower() in xlsx.SUFFIXES:
            workbook, resolved = resolved, resolved.with_suffix(".csv")
        table = by_path.get(resolved)
        if table is None:
            known = "、".join(t.path for t in project.tables.values())
            return f"{f} 不是数据包中的表。可以修复的文件：{known}（或同名的 .xlsx 工作簿）"
        if all(t is not table for t, _ in out):
            out.append((table, workbook))
    return out


def _kept_text(outcome: Outcome) -> str:
    if outcome.kept and outcome.first:
        return f"修改前的文件保留为 {outcome.kept}；最早的原文件仍在 {outcome.first}。"
    if outcome.kept:
        return f"原文件保留为 {outcome.kept}。"
    if outcome.first:
        return f"修改前的文件是上次修复的结果，最早的原文件仍在 {outcome.first}。"
    return "这张表原来没有 CSV 文件。"


def fix_command(project: Project, files: list[Path]) -> int:
    tables = _resolve(project, files)
    if isinstance(tables, str):
        click.echo(f"用法错误：{tables}", err=True)
        return 2
    outcomes: dict[str, Outcome] = {}
    for table, workbook in tables:
        try:
            outcome = fix_table(project, table, workbook)
        except xlsx.WorkbookError as exc:
            outcome = Outcome(table.path, error=str(exc))
        except (OSError, UnicodeError, csv.Error) as exc:
            outcome = Outcome(table.path, error=f"读取或写入时出错（{type(exc).__name__}），文件没有改动。")
        outcomes[table.path] = outcome
        if outcome.error:
            click.echo(f"✗ {table.path}：{outcome.error}")
            continue
        for change in outcome.changes:
            click.echo(f"  {change.describe(table.path)}")
        for note in outcome.notes:
            click.echo(f"  ! {note}")
        if outcome.workbook:
            click.echo(f"✓ {table.path}：由 {outcome.workbook} 生成，{_kept_text(outcome)}")
        elif outcome.changes:
            click.echo(f"✓ {table.path}：修改了 {len(outcome.changes)} 处，{_kept_text(outcome)}")
        else:
            click.echo(f"✓ {table.path}：没有需要自动修复的内容。")
    report = validate_project(project)
    paths = {t.path for t, _ in tables}
    # Rows as the file was before blank rows were removed, like every change listed above.
    left = [
        replace(p, row=outcomes[p.file].rows.get(p.row, p.row)) if p.row and outcomes[p.file].rows else p
        for p in report.errors
        if p.file in paths
    ]
    if left:
        shifted = any(o.rows and any(k != v for k, v in o.rows.items()) for o in outcomes.values())
        note = "（行号按修改前的文件）" if shifted else ""
        click.echo(f"\n仍有 {len(left)} 个问题无法自动修复，需要手工改正{note}：\n")
        click.echo(render(Report(problems=left, stats=report.stats), "text"), nl=False)
        return 1
    others = [p for p in report.errors if p.file not in paths]
    if others:
        click.echo(
            f"\n这些文件已没有错误；其他文件还有 {len(others)} 个问题，请运行 sunshine validate 查看。"
        )
    return 0
