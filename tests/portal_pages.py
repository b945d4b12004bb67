"""Every page type of the portal, as paths on a Datasette serving the sample data (and its history)."""

from __future__ import annotations

from urllib.parse import urlencode

PAGE_TYPES: dict[str, str] = {
    "index": "/",
    "database": "/sunshine",
    "table": "/sunshine/petitions",
    "table, filtered, faceted and sorted": "/sunshine/petitions?"
    + urlencode({"category": "土地", "_facet": "department", "_sort": "received_on"}),
    "table, second page": "{second_page}",
    "table with facets": "/sunshine/disclosures",
    "view": "/sunshine/petitions_detail",
    "row": "/sunshine/villages/{village}",
    "row with links from other tables": "/sunshine/grids/{grid}",
    "canned query": "/sunshine/slowest_departments?"
    + urlencode({"category": "", "village_code": "", "channel": "", "year": "", "min_petitions": ""}),
    "canned query with its SQL shown": "/sunshine/petitions_by_category?year=&_show_sql=1",
    "arbitrary SQL": "/sunshine?"
    + urlencode({"sql": "select category, count(*) as petitions from petitions group by category"}),
    "search results": "/sunshine/disclosures?" + urlencode({"_search": "路灯"}),
    "no results": "/sunshine/petitions?" + urlencode({"category": "没有这一类"}),
    "usage": "/-/help",
    "error: bad SQL": "/sunshine?sql=selec+1",
    "error: SQL on a missing column": "/sunshine?" + urlencode({"sql": "select nada from petitions"}),
    "error: bad sort column": "/sunshine/petitions?_sort=nope",
    "error: missing table": "/sunshine/nothing_here",
    "error: missing record": "/sunshine/petitions/0000-0000000",
    "error: missing database": "/nothing_here",
}


def page_paths(http) -> dict[str, str]:
    """The page types with real keys: a village, a grid with staff, the second page of disclosures."""
    village = http.get("/sunshine/villages.json", params={"_shape": "array", "_size": 1}).json()[0]
    grid = http.get("/sunshine/grid_staff.json", params={"_shape": "array", "_size": 1}).json()[0]["grid_id"]
    next_url = http.get("/sunshine/disclosures.json").json()["next_url"]
    second = "/" + next_url.split("/", 3)[3].replace(".json?", "?", 1)
    keys = {"village": village["village_code"], "grid": grid, "second_page": second}
    return {name: path.format(**keys) for name, path in PAGE_TYPES.items()}
