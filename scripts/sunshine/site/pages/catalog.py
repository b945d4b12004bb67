"""数据目录: one page per table with its data dictionary (from the Table Schema) and downloads."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from typing import Any

from sunshine.package import Project
from sunshine.site.pages import Context, Page
from sunshine.site.pages import md as m

TYPES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "date": "日期",
    "boolean": "是/否",
    "datetime": "日期时间",
}


def catalog_path(table: str) -> str:
    return f"catalog/{table}.md"


def download_names(table: str) -> dict[str, str]:
    """The files the site offers for a table, under downloads/."""
    return {
        "csv": f"downloads/{table}.csv",
        "excel": f"downloads/{table}-excel.csv",
        "json": f"downloads/{table}.json",
    }


def last_updated(project: Project, path: str) -> tuple[str, str]:
    """(ISO timestamp, how it was found): the last commit touching the file, else its modification time."""
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%cI", "--", path],
            cwd=project.root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip(), "git"
    except (OSError, subprocess.SubprocessError):
        pass
    file = project.root / path
    if file.exists():
        stamp = dt.datetime.fromtimestamp(file.stat().st_mtime, tz=dt.UTC).isoformat(timespec="seconds")
        return stamp, "mtime"
    return "", "none"


def constraints_text(field: dict[str, Any]) -> str:
    c = field.get("constraints", {})
    parts = []
    if c.get("required"):
        parts.append("必填")
    if c.get("unique"):
        parts.append("唯一")
    if "enum" in c:
        parts.append("可选值：" + "、".join(m.html(v) for v in c["enum"]))
    if "pattern" in c:
        parts.append(f"格式：<code>{m.html(c['pattern'])}</code>")
    if "maxLength" in c:
        parts.append(f"最多 {c['maxLength']} 字")
    if "minimum" in c:
        parts.append(f"不小于 {c['minimum']}")
    if "maximum" in c:
        parts.append(f"不大于 {c['maximum']}")
    return "；".join(parts) or "—"


def pages(ctx: Context) -> Iterator[Page]:
    project = ctx.project
    frames = {
        "villages": ctx.data.villages,
        "grids": ctx.data.grids,
        "grid_staff": ctx.data.staff,
        "disclosures": ctx.data.disclosures,
        "petitions": ctx.data.petitions,
        "committee_members": ctx.data.committee_members,
        "commitments": ctx.data.commitments,
    }
    licence = project.license
    sources = [s.get("title", "") for s in project.descriptor.get("sources", [])]
    summaries = []
    for name, table in project.tables.items():
        updated, how = last_updated(project, table.path)
        inputs = {
            "name": name,
            "title": table.title,
            "description": table.description,
            "fields": table.fields,
            "primary_key": table.primary_key,
            "rows": frames[name].height if name in frames else None,
            "updated": updated,
            "updated_how": how,
            "licence": {
                "title": licence.get("title") or licence.get("name", ""),
                "path": licence.get("path", ""),
            },
            "sources": sources,
            "ds": ctx.ds.base,
        }
        summaries.append({k: inputs[k] for k in ("name", "title", "description", "rows", "updated")})
        yield Page(catalog_path(name), inputs, render, title=table.title)
    yield Page(
        "catalog/index.md",
        {
            "tables": summaries,
            "title": project.title,
            "licence": licence.get("title", ""),
            "sources": sources,
            "ds": ctx.ds.base,
        },
        render_index,
        title="数据目录",
    )


def render(inputs: dict[str, Any]) -> str:
    ds = m.Datasette(inputs["ds"])
    page = catalog_path(inputs["name"])
    rows = [
        [
            f"<code>{m.html(f['name'])}</code>",
            m.html(f.get("title", "")),
            TYPES.get(f.get("type", "string"), m.html(f.get("type", ""))),
            constraints_text(f),
            m.html(f.get("description", "")),
        ]
        for f in inputs["fields"]
    ]
    updated = inputs["updated"][:10] or "未知"
    how = {"git": "（最后一次提交）", "mtime": "（文件修改时间）"}.get(inputs["updated_how"], "")
    files = download_names(inputs["name"])
    licence = inputs["licence"]
    licence_html = m.html(licence["title"])
    if licence["path"].startswith("https://"):
        licence_html = f'<a href="{m.html(licence["path"])}" rel="license">{licence_html}</a>'
    return "\n".join(
        [
            m.front_matter(inputs["title"], description=inputs["description"]),
            f"# {m.text(inputs['title'])}\n",
            f"{m.text(inputs['description'])}\n",
            '<div class="table-wrap" tabindex="0"><table class="facts"><caption>数据集信息</caption><tbody>'
            f'<tr><th scope="row">表名</th><td><code>{m.html(inputs["name"])}</code></td></tr>'
            f'<tr><th scope="row">行数</th><td>{m.number(inputs["rows"])}</td></tr>'
            f'<tr><th scope="row">最后更新</th><td>{m.html(updated)}{how}</td></tr>'
            f'<tr><th scope="row">主键</th><td>{m.html("、".join(inputs["primary_key"]))}</td></tr>'
            f'<tr><th scope="row">许可协议</th><td>{licence_html}</td></tr>'
            f'<tr><th scope="row">来源</th><td>{"；".join(m.html(s) for s in inputs["sources"])}</td></tr>'
            "</tbody></table></div>\n",
            "## 下载 { #downloads data-search-exclude }\n",
            '<ul class="downloads">'
            f'<li><a href="{m.rel(page, files["csv"])}" download>CSV（UTF-8）</a>：适合程序和数据工具。</li>'
            f'<li><a href="{m.rel(page, files["excel"])}" download>CSV（Excel / WPS 版）</a>：带 BOM，双击即可用 Excel 或 WPS 打开；'
            "以 = + - @ 开头的单元格前加了 ' ，防止被当作公式执行。</li>"
            f'<li><a href="{m.rel(page, files["json"])}" download>JSON</a>：对象数组，每行一个对象。</li>'
            "</ul>\n",
            f"<p>{m.data_link(ds.table(inputs['name']), '在数据库中浏览和筛选这张表')}</p>\n",
            "## 数据字典 { #dictionary }\n",
            m.table_html(
                ["字段", "中文名", "类型", "约束", "说明"], rows, caption=f"{m.html(inputs['title'])}的字段"
            ),
        ]
    )


def render_index(inputs: dict[str, Any]) -> str:
    ds = m.Datasette(inputs["ds"])
    rows = [
        [
            f'<a href="{m.page_url("catalog/index.md", catalog_path(t["name"]))}">{m.html(t["title"])}</a>',
            m.html(t["description"]),
            m.number(t["rows"]),
            m.html(t["updated"][:10]),
            m.data_link(ds.table(t["name"]), "数据库"),
        ]
        for t in inputs["tables"]
    ]
    return "\n".join(
        [
            m.front_matter(
                "数据目录", description=f"本站全部公开数据集、数据字典和下载{m.sample_mark(inputs)}"
            ),
            "# 数据目录\n",
            m.sample_note(inputs),
            f"{m.text(inputs['title'])}。许可协议：{m.text(inputs['licence'])}。"
            f"来源：{m.text('；'.join(inputs['sources']))}。\n",
            m.table_html(["数据集", "说明", "行数", "最后更新", "浏览"], rows, caption="数据集"),
        ]
    )
