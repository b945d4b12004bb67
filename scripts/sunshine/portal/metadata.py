"""`sunshine metadata`: write Datasette's metadata.json from the Table Schemas and a small overlay.

The package descriptor and the Table Schemas give titles, descriptions, license, source, column
descriptions and foreign keys; overlay.yaml adds what the schemas cannot say: label
columns, default facets and sort, the views and the canned queries. metadata.json is committed
at the top of the repository and a test fails when it drifts from what this module generates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import yaml

from sunshine import figures
from sunshine.chinese import search
from sunshine.database.build import LOAD_ORDER
from sunshine.package import Project

OVERLAY = Path(__file__).with_name("overlay.yaml")
METADATA = "metadata.json"
DATABASE = "sunshine"
HIDDEN = ["_build"] + [search.fts_table(t) for t in search.SEARCHABLE]


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
    if name in search.SEARCHABLE:
        meta["fts_table"] = search.fts_table(name)
        meta["fts_pk"] = "rowid"
    meta["columns"] = {f["name"]: column_description(f) for f in table.fields}
    return meta


def history_queries() -> dict[str, Any] | None:
    """The history database's canned queries, when that module provides them."""
    try:
        from sunshine.history.build import HISTORY_QUERIES
    except ImportError:
        return None
    return dict(HISTORY_QUERIES)


def build_metadata(project: Project) -> dict[str, Any]:
    overlay = load_overlay()
    license_ = project.license
    source = (project.descriptor.get("sources") or [{}])[0]
    tables = {name: table_metadata(project, name, overlay) for name in LOAD_ORDER}
    for name, view in overlay.get("views", {}).items():
        tables[name] = dict(view)
    for name in HIDDEN:
        tables[name] = {"hidden": True}
    description = project.descriptor.get("description", "").split("\n\n")[0]
    meta: dict[str, Any] = {
        "title": project.title,
        "description": f"{description}\n\n{overlay['description_en']}",
        "license": "CC BY 4.0",
        "license_url": license_.get("path", "https://creativecommons.org/licenses/by/4.0/"),
        "source": source.get("title", ""),
        "databases": {
            DATABASE: {
                "title": project.title,
                "description": overlay["database"]["description"],
                "license": "CC BY 4.0",
                "license_url": license_.get("path", "https://creativecommons.org/licenses/by/4.0/"),
                "source": source.get("title", ""),
                "tables": tables,
                "queries": {**figures.canned_queries(), **overlay["queries"]},
            }
        },
    }
    if source.get("path"):
        meta["source_url"] = source["path"]
    history = history_queries()
    if history is not None:
        meta["databases"]["history"] = {
            "title": "阳光村务修改历史（示例数据）",
            "description": "每一次发布前后各表记录的变化，由 git 历史生成。（示例数据）",
            "queries": history,
        }
    return meta


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
