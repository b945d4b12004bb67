"""`sunshine metadata`: write Datasette's metadata.json from the Table Schemas and a small overlay.

The package descriptor and the Table Schemas give titles, descriptions, license, source, column
descriptions and foreign keys; overlay.yaml adds what the schemas cannot say: label
columns, default facets and sort, the views and the canned queries. metadata.json is committed
at the top of the repository and a test fails when it drifts from what this module generates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import yaml

from sunshine.chinese import search
from sunshine.history.schema import HISTORY_QUERIES, history_tables_metadata
from sunshine.package import Project

OVERLAY = Path(__file__).with_name("overlay.yaml")
METADATA = "metadata.json"
DATABASE = "sunshine"


def load_overlay() -> dict[str, Any]:
    return yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))


def column_description(field: dict[str, Any]) -> str:
    title = field.get("title", field["name"])
    description = field.get("description", "").strip()
    return f"{title}：{description}" if description else title


def table_metadata(project: Project, name: str, overlay: dict[str, Any]) -> dict[str, Any]:
    table = project.tables[name]
    meta: dict[str, Any] = {"title": table.title, "description": table.description}
    meta.update(overlay.get("tables", {}).get(name, {}))
    if name in project.searchable:
        meta["fts_table"] = search.fts_table(name)
        meta["fts_pk"] = "rowid"
    meta["columns"] = {f["name"]: column_description(f) for f in table.fields}
    return meta


def build_metadata(project: Project) -> dict[str, Any]:
    overlay = load_overlay()
    license_ = project.license
    source = (project.descriptor.get("sources") or [{}])[0]
    tables = {name: table_metadata(project, name, overlay) for name in project.load_order}
    for name, view in overlay.get("views", {}).items():
        tables[name] = dict(view)
    for name in ["_build", *(search.fts_table(t) for t in project.searchable)]:
        tables[name] = {"hidden": True}
    description = project.descriptor.get("description", "").split("\n\n")[0]
    meta: dict[str, Any] = {
        "title": project.title,
        "description": f"{description}\n\n{overlay['description_en']}",
        "license": license_name(project),
        "license_url": license_.get("path", "https://creativecommons.org/licenses/by/4.0/"),
        "source": source.get("title", ""),
        "databases": {
            DATABASE: {
                "title": project.title,
                "description": overlay["database"]["description"],
                "license": license_name(project),
                "license_url": license_.get("path", "https://creativecommons.org/licenses/by/4.0/"),
                "source": source.get("title", ""),
                "tables": tables,
                "queries": overlay["queries"],
            }
        },
    }
    if source.get("path"):
        meta["source_url"] = source["path"]
    sample = "（示例数据）" if project.settings.sample else ""
    meta["databases"]["history"] = {
        "title": f"{project.settings.title}修改历史{sample}",
        "description": f"每一次发布前后各表记录的变化，由 git 历史生成。{sample}",
        "tables": history_tables_metadata(project),
        "queries": dict(HISTORY_QUERIES),
    }
    return meta


def license_name(project: Project) -> str:
    """The licence's short name from datapackage.json: the bracketed part of its title ("CC BY 4.0")."""
    license_ = project.license
    short = re.search(r"\(([^()]+)\)\s*$", license_.get("title", ""))
    return short.group(1) if short else license_.get("name", "")


def render(meta: dict[str, Any]) -> str:
    return json.dumps(meta, ensure_ascii=False, indent=2) + "\n"


def metadata_command(project: Project, check: bool) -> int:
    path = project.root / METADATA
    text = render(build_metadata(project))
    current = path.read_text(encoding="utf-8") if path.exists() else None
    if check:
        if current == text:
            click.echo(f"{METADATA} 与表结构一致。")
            return 0
        click.echo(f"{METADATA} 与表结构不一致：请运行 sunshine metadata 重新生成并提交。", err=True)
        return 1
    if current != text:
        path.write_text(text, encoding="utf-8")
        click.echo(f"已写入 {METADATA}。")
    else:
        click.echo(f"{METADATA} 没有变化。")
    return 0
