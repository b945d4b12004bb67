"""`sunshine metadata`: write Datasette's metadata.json from the Table Schemas and a small overlay.

The package descriptor and the Table Schemas give titles, descriptions, license, source, column
descriptions and foreign keys; overlay.yaml adds what the schemas cannot say: label
columns, default facets and sort, the views, the canned queries and the Chinese titles of the
columns queries return. Every statistic of the canned queries (count, mean, median and 90th
percentile of handling days; satisfaction rate) is written once, in sunshine.figures, which the
site uses too, and spliced into each query that asks for it. metadata.json is committed at the top
of the repository and a test fails when it drifts from what this module generates.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import yaml

from sunshine import figures
from sunshine.chinese import search
from sunshine.deadlines import status as deadline_status
from sunshine.history.schema import HISTORY_QUERIES, history_tables_metadata
from sunshine.package import Project
from sunshine.settings import unmark_sample
from sunshine.site.pages.catalog import catalog_path, download_names

OVERLAY = Path(__file__).with_name("overlay.yaml")
METADATA = "metadata.json"
DATABASE = "sunshine"


def load_overlay() -> dict[str, Any]:
    return yaml.safe_load(OVERLAY.read_text(encoding="utf-8"))


PLUGIN = "sunshine-portal"


def day_figures_sql(spec: dict[str, str]) -> str:
    """Handling days and follow-up figures per group, as sunshine.figures defines them (the site uses the same)."""
    alias = spec["as"]
    return figures.statistics_sql(
        spec["group"],
        alias,
        spec.get("where", "1"),
        spec.get("order", f"petitions DESC, {alias}"),
        having=spec.get("having", ""),
    )


def satisfaction_sql(spec: dict[str, str]) -> str:
    """The satisfaction rate per group, as sunshine.figures defines it."""
    return figures.satisfaction_sql(
        spec["group"], spec.get("where", "1"), having=spec.get("having", ""), order=spec.get("order", "")
    )


def canned_query(spec: dict[str, Any], project: Project | None = None) -> dict[str, Any]:
    """A query of overlay.yaml as Datasette reads it: SQL spliced in, SQL hidden until asked for,
    suggested values for parameters named after an enumerated field."""
    query = {k: v for k, v in spec.items() if k not in ("figures", "satisfaction")}
    if "figures" in spec:
        query["sql"] = day_figures_sql(spec["figures"])
    if "satisfaction" in spec:
        query["sql"] = satisfaction_sql(spec["satisfaction"])
    query["hide_sql"] = True
    choices = parameter_choices(project, query) if project is not None else {}
    if choices:
        query["choices"] = choices
    return query


def column_description(field: dict[str, Any]) -> str:
    title = field.get("title", field["name"])
    description = field.get("description", "").strip()
    if description.startswith(f"{title}：") or description == title:
        return description
    return f"{title}：{description}" if description else title


def parameter_choices(project: Project, query: dict[str, Any]) -> dict[str, list[str]]:
    """Values a query parameter may take when it is named after an enumerated field of the table the
    query reads first (shown as suggestions beside the input)."""
    found = re.search(r"\bFROM\s+(\w+)", query["sql"], re.I)
    table = project.tables.get(found.group(1)) if found else None
    if table is None:
        return {}
    fields = {f["name"]: f for f in table.fields}
    choices = {}
    for param in query.get("params", []):
        values = fields.get(param, {}).get("constraints", {}).get("enum")
        if values:
            choices[param] = [str(v) for v in values]
    return choices


def catalog_links(project: Project) -> dict[str, dict[str, str]]:
    """Per table, the site's catalog page and its Excel-ready file, relative to the site's address."""
    return {
        name: {"page": catalog_path(name).removesuffix(".md") + "/", "excel": download_names(name)["excel"]}
        for name in project.tables
    }


def column_titles(project: Project, overlay: dict[str, Any]) -> dict[str, Any]:
    """Chinese titles of columns: per table from the Table Schemas, then of query results."""
    tables = {
        name: {f["name"]: f.get("title", f["name"]) for f in t.fields} for name, t in project.tables.items()
    }
    return {"tables": tables, "results": dict(overlay.get("result_columns", {}))}


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
    deadlines = overlay["tables"][deadline_status.TABLE]
    tables[deadline_status.TABLE] = {**deadlines, "columns": dict(deadline_status.COLUMNS)}
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
                "queries": {
                    **figures.canned_queries(),
                    **{name: canned_query(q, project) for name, q in overlay["queries"].items()},
                },
            }
        },
        "plugins": {
            PLUGIN: {
                "site_url": project.settings.site_url,
                "site_title": project.settings.title,
                "columns": column_titles(project, overlay),
                "catalog": catalog_links(project),
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
        "queries": {
            name: canned_query(q)
            for name, q in {**HISTORY_QUERIES, **overlay.get("history_queries", {})}.items()
        },
    }
    return meta if project.settings.sample else unmark_sample(meta)


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
