"""/-/help: 数据使用说明, the portal's API explained in Chinese with examples that work on this portal.

Every example is a path on this Datasette; the page lists them from EXAMPLES (a test requests each
one and expects an answer), so the documentation cannot drift from what the portal serves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from datasette import Response

DATABASE = "sunshine"

# (what it shows, path, query arguments)
EXAMPLES: list[tuple[str, str, dict[str, str]]] = [
    ("一张表的前 5 行，JSON 数组", "/sunshine/petitions.json", {"_shape": "array", "_size": "5"}),
    ("带分页信息的默认格式", "/sunshine/villages.json", {}),
    ("以主键为键的对象", "/sunshine/villages.json", {"_shape": "object"}),
    ("每行一个 JSON 对象（适合大文件逐行处理）", "/sunshine/villages.json", {"_shape": "array", "_nl": "on"}),
    (
        "筛选：土地类诉求，按受理日期从新到旧",
        "/sunshine/petitions.json",
        {"category": "土地", "_sort_desc": "received_on", "_shape": "array"},
    ),
    ("代码旁附名称（村名、网格名）", "/sunshine/petitions.json", {"_labels": "on", "_size": "3"}),
    ("搜索“路灯”", "/sunshine/disclosures.json", {"_search": "路灯", "_shape": "array"}),
    ("整张表的 CSV（Excel 可直接打开）", "/sunshine/villages.csv", {"_stream": "on"}),
    ("Excel 文件（.xlsx），代码列是文本", "/sunshine/villages.xlsx", {"_size": "max"}),
    (
        "常用查询：哪个单位办理土地类诉求最慢",
        "/sunshine/slowest_departments.json",
        {
            "category": "土地",
            "village_code": "",
            "channel": "",
            "year": "",
            "min_petitions": "1",
            "_shape": "array",
        },
    ),
    (
        "常用查询：各受理渠道的满意率",
        "/sunshine/satisfaction_by_channel.json",
        {
            "category": "",
            "department": "",
            "village_code": "",
            "year": "",
            "min_petitions": "",
            "_shape": "array",
        },
    ),
    (
        "自己写 SQL",
        "/sunshine.json",
        {
            "sql": "select category, count(*) as petitions from petitions group by category order by petitions desc",
            "_shape": "array",
        },
    ),
]


def example_urls(datasette: Any) -> list[tuple[str, str]]:
    return [
        (text, datasette.urls.path(path) + (f"?{urlencode(args)}" if args else ""))
        for text, path, args in EXAMPLES
        if path.strip("/").split("/")[0].split(".")[0] in datasette.databases
    ]


async def usage_page(datasette: Any, request: Any) -> Response:
    context = {
        "examples": example_urls(datasette),
        "metadata": datasette.metadata() or {},
        "database": DATABASE if DATABASE in datasette.databases else None,
        "max_rows": datasette.setting("max_returned_rows"),
        "page_size": datasette.setting("default_page_size"),
        "time_limit": datasette.setting("sql_time_limit_ms"),
    }
    html = await datasette.render_template(["usage.html"], context, request=request, view_name="usage")
    return Response.html(html)
