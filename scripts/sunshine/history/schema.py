"""What history.db holds, for its readers: the change kinds, the `changes` columns with their Chinese
descriptions, the Datasette metadata of every table and the canned queries.

The history build writes these tables; the portal's metadata and the site's 变更记录 pages read them
from here, so neither needs the build itself.
"""

from __future__ import annotations

from typing import Any

from sunshine.package import Project

ADDED, MODIFIED, REMOVED = "新增", "修改", "删除"


# Columns of `changes`, with the Chinese descriptions shown to readers.
CHANGES_COLUMNS = {
    "id": "变更序号",
    "seq": "提交在仓库历史中的顺序（从 0 开始）",
    "table_name": "表名（英文）",
    "table_title": "表",
    "record_id": "记录编号（主键）",
    "label": "记录标题或名称",
    "village_code": "所属村（社区）代码",
    "kind": "变化：新增、修改或删除",
    "version": "该记录的第几个版本（删除时为空）",
    "commit_hash": "提交编号",
    "commit_short": "提交编号（前 7 位）",
    "committed_at": "提交时间",
    "commit_date": "提交日期",
    "commit_message": "提交说明",
    "summary": "修改内容：字段 原值 → 新值；新增和删除时为记录标题",
    "fields": "修改的字段（JSON：field, title, old, new）",
    "after_publication": "1 表示已公开的记录在公开后被修改或删除",
    "reason": "更正原因：提交说明（或合并它的提交说明）中“更正原因：”一行",
}
CHANGES_COLUMNS_TYPES = {
    name: (int if name in ("id", "seq", "version", "after_publication") else str) for name in CHANGES_COLUMNS
}


def history_tables_metadata(project: Project) -> dict[str, dict[str, Any]]:
    """Datasette table metadata for history.db: the readable tables described, bookkeeping hidden."""
    tables: dict[str, dict[str, Any]] = {
        "changes": {
            "title": "变更记录",
            "description": "每个提交对每条记录的新增、修改和删除；修改列出字段的原值和新值。",
            "columns": CHANGES_COLUMNS,
            "sort_desc": "id",
        },
        "history_info": {
            "title": "修改历史覆盖的范围",
            "description": "修改历史从哪一个提交开始，是否完整。",
        },
        "commit_info": {"title": "提交", "description": "修改过 data/ 的每个提交：时间和提交说明。"},
        "removals": {"title": "被删除的行", "description": "每次删除前这一行的完整内容（JSON）。"},
    }
    for name in ("scanned_commits", "namespaces", "columns", "commits"):
        tables[name] = {"hidden": True}
    for table in project.tables.values():
        tables[f"{table.name}_changes"] = {"title": f"{table.title}的变更记录"}
        tables[table.name] = {"title": f"{table.title}（各记录的最新版本，git-history）"}
        tables[f"{table.name}_version_detail"] = {
            "title": f"{table.title}的各个版本（git-history）",
            "description": "每个版本只填写与上一版本相比有变化的列；_changed_columns 列出这些列。",
        }
        tables[f"{table.name}_version"] = {"hidden": True}
        tables[f"{table.name}_changed"] = {"hidden": True}
    return tables


# ---------------------------------------------------------------- Datasette canned queries

_LIST = (
    "select commit_date, table_title, record_id, label, kind, summary, commit_message, commit_short, "
    "village_code, table_name from changes"
)
HISTORY_QUERIES: dict[str, dict[str, Any]] = {
    "modified_after_publication": {
        "title": "发布后被修改的记录",
        "description": (
            "已经公开的三务公开事项在公开之后又被改动的每一处：哪张表、哪条记录、哪个字段从什么改成什么（summary），"
            "在哪一天由哪次提交改动（commit_message 为提交说明）。最新的在前。"
        ),
        "sql": f"{_LIST} where after_publication = 1 and kind = '修改' order by seq desc, id desc",
    },
    "deleted_records": {
        "title": "被删除的记录",
        "description": (
            "从数据中删除的每一行：删除前的标题或名称、删除它的提交和提交说明。"
            "删除已公开的三务公开事项或群众诉求时 after_publication 为 1。最新的在前。"
        ),
        "sql": (
            "select commit_date, table_title, record_id, label, after_publication, commit_message, commit_short, "
            "village_code, table_name from changes where kind = '删除' order by seq desc, id desc"
        ),
    },
    "village_corrections": {
        "title": "本村（社区）数据的更正记录",
        "description": "某个村（社区）在各张表中被修改或删除的记录，每一处都有原值、新值、日期和提交说明。最新的在前。",
        "sql": f"{_LIST} where village_code = :village_code and kind in ('修改', '删除') order by seq desc, id desc",
        "params": ["village_code"],
    },
    "record_history": {
        "title": "一条记录的全部版本",
        "description": "某张表（table_name，例如 disclosures）中某条记录（record_id）从新增起的每一个版本和每一次修改。",
        "sql": (
            "select commit_date, kind, version, summary, fields, commit_message, commit_hash, after_publication "
            "from changes where table_name = :table_name and record_id = :record_id order by seq, id"
        ),
        "params": ["table_name", "record_id"],
    },
    "history_coverage": {
        "title": "修改历史覆盖的范围",
        "description": "修改历史从哪一个提交开始。浅克隆时更早的修改看不到，这里会写明。",
        "sql": "select key, value from history_info order by key",
    },
}
