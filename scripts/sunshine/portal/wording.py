"""Chinese words for what Datasette 0.65 says in English from Python: filter names, errors, summaries.

The templates in templates/ are Chinese copies of Datasette's own; what Datasette builds in Python
(filter operators, the description of a filtered table, error messages, SQLite's messages) is
translated here. An unknown error message is shown in Chinese words around the original.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

# Filter operators of datasette.filters.Filters, by key.
LOOKUPS = {
    "exact": "等于",
    "not": "不等于",
    "contains": "包含",
    "endswith": "结尾是",
    "startswith": "开头是",
    "gt": "大于",
    "gte": "大于或等于",
    "lt": "小于",
    "lte": "小于或等于",
    "like": "匹配（like）",
    "notlike": "不匹配（not like）",
    "glob": "匹配（glob）",
    "in": "是其中之一",
    "notin": "不是其中任何一个",
    "arraycontains": "数组包含",
    "arraynotcontains": "数组不包含",
    "date": "日期是",
    "isnull": "为空（null）",
    "notnull": "不为空（not null）",
    "isblank": "为空白",
    "notblank": "不为空白",
}

STATUS_TITLES = {
    400: "请求有误",
    403: "没有权限",
    404: "找不到这个页面",
    500: "服务器出错了",
}

RENDERERS = {"json": "JSON", "xlsx": "Excel（.xlsx）", "csv": "CSV"}
FACET_TYPES = {"array": "数组", "date": "按日期"}

# Query parameters the canned queries use, as a person would name them.
PARAMS = {
    "year": "年份",
    "village_code": "村（社区）代码",
    "grid_id": "网格编号",
    "category": "诉求分类",
    "department": "承办单位",
    "channel": "受理渠道",
    "topic": "公开事项",
    "min_petitions": "最少件数",
    "table_name": "表名",
    "record_id": "记录编号",
}

_SQL_HELP = "请检查拼写，只能使用 SELECT 查询。常用写法见“数据使用说明”。"

# (pattern of Datasette's or SQLite's English message, Chinese template using the groups)
ERRORS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^Cannot sort table by (.+)$"), "不能按“{0}”排序：这张表没有这一列，或者这一列不能排序。"),
    (re.compile(r"^Cannot use _sort and _sort_desc at the same time$"), "不能同时按从小到大和从大到小排序。"),
    (re.compile(r"^Table not found: (.+)$"), "找不到表“{0}”。"),
    (re.compile(r"^Table not found$"), "找不到这张表。"),
    (re.compile(r"^Database not found: (.+)$"), "找不到数据库“{0}”。"),
    (re.compile(r"^Database not found$"), "找不到这个数据库。"),
    (re.compile(r"^Record not found$"), "找不到这条记录。"),
    (re.compile(r"^Record not found: (.+)$"), "找不到这条记录：{0}。"),
    (re.compile(r"^Invalid SQL$"), "SQL 语句有误。" + _SQL_HELP),
    (re.compile(r"^Statement must be a SELECT$"), "只能运行 SELECT 查询，数据是只读的。"),
    (re.compile(r"^near \"(.+)\": syntax error$"), "SQL 语法错误：在“{0}”附近。" + _SQL_HELP),
    (re.compile(r"^incomplete input$"), "SQL 语句不完整，可能缺少右括号或引号。"),
    (re.compile(r"^no such table: (.+)$"), "没有名为“{0}”的表。"),
    (re.compile(r"^no such column: (.+)$"), "没有名为“{0}”的列。"),
    (re.compile(r"^no such function: (.+)$"), "没有名为“{0}”的函数。"),
    (re.compile(r"^attempt to write a readonly database$"), "数据是只读的，不能修改。"),
    (
        re.compile(r"^(?:<p>)?SQL query took too long.*", re.S),
        "查询用时太长，已被中止。请加上筛选条件或 LIMIT 后再试。",
    ),
    (re.compile(r"^_size must be a positive integer$"), "每页行数（_size）必须是正整数。"),
    (re.compile(r"^_size must be <= (\d+)$"), "每页行数（_size）不能超过 {0}。"),
    (re.compile(r"^You do not have permission to view this (\w+)$"), "没有查看权限。"),
    (re.compile(r"^Not found$|^Not Found$|^404$"), "找不到这个页面。"),
    (re.compile(r"^_next not allowed for CSV streaming$"), "导出全部行时不能指定 _next。"),
    (re.compile(r"^Incorrect number of bindings supplied.*", re.S), "查询参数的个数不对。"),
    (re.compile(r"^You did not supply a value for binding parameter :(\w+)\.$"), "缺少查询参数“{0}”。"),
]


def error_message(message: object) -> str:
    """A Chinese sentence for an English error message of Datasette or SQLite."""
    text = str(message or "").strip()
    for pattern, template in ERRORS:
        match = pattern.match(text)
        if match:
            return template.format(*match.groups())
    if not text:
        return "出错了。"
    if re.search(r"[\u4e00-\u9fff]", text):
        return text
    return f"出错了（原始提示：{text}）。"


def status_title(status: int | None) -> str:
    return STATUS_TITLES.get(status or 500, f"出错了（{status}）")


def lookup(key: str, display: str) -> str:
    return LOOKUPS.get(key, display)


def describe(
    selections: Iterable[tuple[str, str, str]],
    sort: str | None,
    sort_desc: str | None,
    search: str | None,
    title: Callable[[str], str],
) -> str:
    """A Chinese summary of a table page's filters, search and order, e.g. 其中 诉求分类 等于 土地，按受理日期从新到旧排列。"""
    clauses = []
    for column, key, value in selections:
        word = LOOKUPS.get(key, key)
        if key in ("isnull", "notnull", "isblank", "notblank"):
            clauses.append(f"{title(column)}{word}")
        else:
            clauses.append(f"{title(column)}{word}“{value}”")
    parts = []
    if search:
        parts.append(f"搜索“{search}”")
    if clauses:
        parts.append("其中 " + "，且 ".join(clauses))
    if sort:
        parts.append(f"按{title(sort)}从小到大排列")
    elif sort_desc:
        parts.append(f"按{title(sort_desc)}从大到小排列")
    return "，".join(parts) + ("。" if parts else "")


def chinese_paragraphs(text: str | None) -> str:
    """The paragraphs of a description that are written in Chinese (the English summary is for APIs)."""
    paragraphs = [p.strip() for p in str(text or "").split("\n\n")]
    return "\n\n".join(p for p in paragraphs if re.search(r"[\u4e00-\u9fff]", p))
