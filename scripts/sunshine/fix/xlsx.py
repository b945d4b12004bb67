"""Excel in, Excel out: a workbook per table written from its Table Schema, and workbooks read back.

The template is what a clerk fills in: a header of the contract's column names with the Chinese
titles and descriptions as notes, a drop-down list for every enum, and every column stored as text,
so that Excel keeps codes' leading zeros and never turns a date or an amount into its own format.
A workbook placed in data/ (petitions.xlsx) is read back cell by cell into the table's CSV rows.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from sunshine.package import Table

SUFFIXES = (".xlsx", ".xlsm")
TEXT = "@"  # Excel's "文本" number format
ROWS = 2000  # rows the drop-down lists and text format are prepared for
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


class WorkbookError(Exception):
    """The workbook cannot be read; the message is Chinese and says what to do."""


def _note(spec: dict[str, Any]) -> str:
    parts = [spec.get("title", spec["name"]), spec.get("description", "")]
    cons = spec.get("constraints", {})
    if cons.get("required"):
        parts.append("必填。")
    if "enum" in cons:
        parts.append("从下拉列表中选择：" + "、".join(str(v) for v in cons["enum"]) + "。")
    if spec.get("type") == "date":
        parts.append("按 YYYY-MM-DD 填写，例如 2024-05-03。")
    return "\n".join(p for p in parts if p)


def write_template(table: Table, path: Path, rows: list[dict[str, str]] | None = None) -> None:
    """One sheet named after the table: row 1 the column names, row 2 the Chinese titles (dropped
    when read back), every column formatted as text; then the table's rows, when given."""
    wb = Workbook()
    ws = wb.active
    ws.title = table.name
    for col, spec in enumerate(table.fields, start=1):
        letter = get_column_letter(col)
        name = ws.cell(row=1, column=col, value=spec["name"])
        name.font = Font(bold=True)
        name.fill = HEADER_FILL
        name.comment = Comment(_note(spec), "阳光村务", width=320, height=160)
        title = ws.cell(row=2, column=col, value=spec.get("title", spec["name"]))
        title.font = Font(bold=True, color="555555")
        title.fill = HEADER_FILL
        ws.column_dimensions[letter].width = max(12, min(40, 2 * len(spec.get("title", "")) + 4))
        ws.column_dimensions[letter].number_format = TEXT
        for r in range(3, max(ROWS, len(rows or [])) + 3):
            ws.cell(row=r, column=col).number_format = TEXT
        for r, row in enumerate(rows or [], start=3):
            ws.cell(row=r, column=col, value=row.get(spec["name"], ""))
        enum = spec.get("constraints", {}).get("enum")
        if enum:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(str(v) for v in enum) + '"',
                allow_blank=not spec.get("constraints", {}).get("required"),
                showErrorMessage=True,
                errorTitle="不是允许的取值",
                error="只能从下拉列表中选择：" + "、".join(str(v) for v in enum),
            )
            dv.add(f"{letter}3:{letter}{ROWS + 2}")
            ws.add_data_validation(dv)
        elif spec.get("type") == "boolean":
            dv = DataValidation(type="list", formula1='"是,否"', allow_blank=False)
            dv.add(f"{letter}3:{letter}{ROWS + 2}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A3"
    for cell in ws[2]:
        cell.alignment = Alignment(wrap_text=True)
    wb.save(path)


def _text(value: Any) -> str:
    """A cell as the text a person sees: dates as YYYY-MM-DD, numbers without Excel's float noise."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{Decimal(repr(value)):f}"
        return text.removesuffix(".0")
    return str(value)


def read_workbook(table: Table, path: Path) -> list[list[str]]:
    """The rows of the table's sheet (or the first sheet), header first; the template's title row is dropped."""
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise WorkbookError(
            f"{path.name} 不是可以读取的 Excel 工作簿（.xlsx）：{type(exc).__name__}。"
            "请在 Excel/WPS 中重新“另存为 → Excel 工作簿（*.xlsx）”或“CSV UTF-8（逗号分隔）”。"
        ) from exc
    try:
        ws = wb[table.name] if table.name in wb.sheetnames else wb.worksheets[0]
        rows = [[_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    while rows and not any(rows[-1]):
        rows.pop()
    width = max((max((i + 1 for i, v in enumerate(r) if v), default=0) for r in rows), default=0)
    rows = [r[:width] + [""] * (width - len(r)) for r in rows]
    titles = {f["name"]: f.get("title") for f in table.fields}
    if (
        len(rows) > 1
        and any(rows[1])
        and all(not v or titles.get(h) == v for h, v in zip(rows[0], rows[1], strict=True))
    ):
        rows.pop(1)
    return rows
