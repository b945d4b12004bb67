"""`sunshine template`: one Excel workbook per table, from its Table Schema (see sunshine.fix.xlsx)."""

from __future__ import annotations

from pathlib import Path

import click

from sunshine import typed
from sunshine.fix.xlsx import write_template
from sunshine.package import Project


def template_command(project: Project, out: Path, names: list[str], *, with_data: bool = False) -> int:
    unknown = [n for n in names if n not in project.tables]
    if unknown:
        click.echo(
            f"用法错误：没有这张表：{'、'.join(unknown)}。可用的表：{'、'.join(project.tables)}", err=True
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    for table in project.tables.values():
        if names and table.name not in names:
            continue
        path = out / f"{table.name}.xlsx"
        source = project.root / table.path
        rows = typed.read(table, source.read_bytes()).rows if with_data and source.is_file() else None
        write_template(table, path, [r.cells for r in rows] if rows is not None else None)
        filled = f"，含现有 {len(rows)} 行" if rows is not None else ""
        click.echo(f"✓ {path}：{table.title}（{len(table.fields)} 列{filled}）")
    click.echo(
        "在 Excel 或 WPS 中填写后，把工作簿以表名（例如 petitions.xlsx）上传到 data/ 目录；"
        "PR 检查会把它转换为 CSV 并校验。"
    )
    return 0
