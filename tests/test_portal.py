"""The portal in Chinese: every page type over HTTP from a real Datasette started as `sunshine serve` does."""

from __future__ import annotations

import hashlib
import io
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import datasette
import pytest
from openpyxl import load_workbook

from sunshine.database.build import build_database
from sunshine.history.build import build_history
from sunshine.package import Project
from sunshine.portal import paging, usage

from .conftest import ROOT
from .git_fixture import make_repo
from .portal_pages import page_paths
from .portal_support import (
    FORMULA,
    formula_database,
    read_csv,
    running_datasette,
    sample_database,
    sample_project,
)

PORTAL = Path(__file__).resolve().parent.parent / "scripts" / "sunshine" / "portal"
# Words that are the same in a Chinese interface: names of formats, languages and products.
ALLOWED_WORDS = {
    "SQL",
    "JSON",
    "CSV",
    "Excel",
    "xlsx",
    "WPS",
    "Datasette",
    "API",
    "SELECT",
    "LIMIT",
    "BOM",
    "UTF",
    "CC",
    "BY",
    "SQLite",
    "like",
    "glob",
    "not",
    "null",
    "db",
    "KB",
    "MB",
}


@pytest.fixture(scope="module")
def server():
    with running_datasette([sample_database(), formula_database()], time_limit_ms=1000) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server):
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def data_villages():
    return {r["village_code"]: r["name"] for r in read_csv(sample_project(), "villages")}


@pytest.fixture(scope="module")
def pages(http):
    return page_paths(http)


class VisibleText(HTMLParser):
    """The words a person reads: text and the labels of controls, without data cells, code or scripts."""

    SKIPPED = {"script", "style", "code", "pre", "textarea", "td", "option"}

    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skip += 1
        attrs = dict(attrs)
        for name in ("title", "aria-label", "placeholder", "alt"):
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def contract_names() -> set[str]:
    """Names of databases, tables, columns, queries and parameters: data, not interface text."""
    meta = json.loads((ROOT / "metadata.json").read_text(encoding="utf-8"))
    names = set(meta["databases"])
    config = meta["plugins"]["sunshine-portal"]["columns"]
    names |= set(config["results"])
    for table, columns in config["tables"].items():
        names |= {table, *columns}
    for db in meta["databases"].values():
        names |= set(db.get("tables", {}))
        for query_name, query in db.get("queries", {}).items():
            names |= {query_name, *query.get("params", [])}
            names |= set(re.findall(r"[A-Za-z_]+", query.get("description", "")))
        for table in db.get("tables", {}).values():
            for text in [table.get("description", ""), *table.get("columns", {}).values()]:
                names |= set(re.findall(r"[A-Za-z_]+", text))
    names |= set(re.findall(r"[A-Za-z_]+", meta["databases"]["sunshine"]["description"]))
    return {part for name in names for part in re.split(r"[_.]", name) if part}


def english_words(html: str, databases: set[str]) -> list[str]:
    """English words of the interface: not data, contract names, or a value the person typed (in “”)."""
    parser = VisibleText()
    parser.feed(html)
    text = re.sub(r"“[^”]*”", "", " ".join(parser.parts))
    words = re.findall(r"(?<![A-Za-z0-9_])[A-Za-z]{2,}(?![A-Za-z0-9_])", text)
    allowed = ALLOWED_WORDS | contract_names() | databases
    return [w for w in words if w not in allowed]


def test_the_copied_datasette_files_are_those_of_the_installed_datasette():
    recorded = json.loads((PORTAL / "upstream.json").read_text(encoding="utf-8"))
    root = Path(datasette.__file__).parent
    changed = [
        name
        for name, digest in recorded["files"].items()
        if hashlib.sha256((root / name).read_bytes()).hexdigest() != digest
    ]
    assert (datasette.__version__, changed) == (recorded["datasette"], []), (
        "Datasette changed: compare these files with the Chinese copies in sunshine/portal and update upstream.json"
    )
    copies = {
        f"templates/{p.name}"
        for p in (PORTAL / "templates").glob("*.html")
        if (root / "templates" / p.name).exists()
    }
    assert copies <= set(recorded["files"])


def test_no_english_is_left_on_any_page_type(http, pages):
    databases = {d["name"] for d in http.get("/-/databases.json").json()}
    left = {}
    for name, path in pages.items():
        response = http.get(path)
        assert response.headers["content-type"].startswith("text/html"), name
        words = english_words(response.text, databases)
        if words:
            left[name] = words
    count = sum(len(w) for w in left.values())
    print(f"English UI words left: {count}")
    assert left == {}


def test_every_page_is_chinese_links_back_to_the_site_and_to_the_usage_notes(http, pages):
    for name, path in pages.items():
        html = http.get(path).text
        assert '<html lang="zh-CN">' in html, name
        assert '<a class="portal-home" href="http://127.0.0.1:8000/">← 返回阳光村务</a>' in html, name
        assert '<a href="/-/help">数据使用说明</a>' in html, name


def test_column_headers_carry_the_chinese_title_and_the_contract_name(http):
    html = http.get("/sunshine/petitions").text
    assert '<span class="portal-title">受理日期</span>&nbsp;▲ <code>received_on</code>' in html
    assert "<title>群众诉求办结：600 行 · 数据门户</title>" in html


def test_column_descriptions_are_folded_below_the_rows(http):
    html = http.get("/sunshine/petitions").text
    assert html.index('<table class="rows-and-columns">') < html.index('<details class="portal-columns">')
    assert "网格编号：网格编号" not in http.get("/sunshine/grids").text


def test_a_canned_query_hides_its_sql_and_has_a_chinese_title(http):
    html = http.get("/sunshine/petitions_by_category", params={"year": ""}).text
    assert "<title>各类诉求的数量和办理天数 · 数据门户</title>" in html
    assert "WITH days" not in html
    assert '<span class="portal-title">办理天数中位数</span> <code>median_days</code>' in html
    assert (
        "WITH days" in http.get("/sunshine/petitions_by_category", params={"year": "", "_show_sql": 1}).text
    )


def test_a_filtered_table_is_described_in_chinese(http):
    html = http.get("/sunshine/petitions", params={"category": "土地", "_sort_desc": "received_on"}).text
    assert "其中 诉求分类等于“土地”，按受理日期从大到小排列。" in html


def test_slowest_departments_for_one_category_with_a_minimum_group_size(http):
    rows = http.get(
        "/sunshine/slowest_departments.json",
        params={
            "category": "土地",
            "village_code": "",
            "channel": "",
            "year": "",
            "min_petitions": "3",
            "_shape": "array",
        },
    ).json()
    direct = http.get(
        "/sunshine.json",
        params={
            "sql": "select department, count(*) as n from petitions where category = '土地' group by department",
            "_shape": "array",
        },
    ).json()
    assert {r["department"] for r in rows} == {r["department"] for r in direct if r["n"] >= 3}
    medians = [r["median_days"] for r in rows]
    assert medians == sorted(medians, reverse=True)


def test_satisfaction_by_channel_covers_every_channel(http):
    rows = http.get(
        "/sunshine/satisfaction_by_channel.json",
        params={
            "category": "",
            "department": "",
            "village_code": "",
            "year": "",
            "min_petitions": "",
            "_shape": "array",
        },
    ).json()
    assert sum(r["petitions"] for r in rows) == 600
    for r in rows:
        assert r["followed_up"] == r["satisfied"] + r["basically_satisfied"] + r["dissatisfied"]


def test_biggest_expenditures_are_largest_first(http):
    rows = http.get(
        "/sunshine/biggest_expenditures.json",
        params={"year": "", "village_code": "", "topic": "", "_shape": "array"},
    ).json()
    assert rows
    assert [r["amount_yuan"] for r in rows] == sorted((r["amount_yuan"] for r in rows), reverse=True)


def test_every_example_of_the_usage_notes_answers(http):
    html = http.get("/-/help").text
    for text, path, args in usage.EXAMPLES:
        assert text in html
        response = http.get(path, params=args)
        assert response.status_code == 200, (path, response.text[:300])


def test_a_bad_sort_column_is_a_400_in_chinese(http):
    response = http.get("/sunshine/petitions", params={"_sort": "nope"})
    assert response.status_code == 400
    assert "不能按“nope”排序" in response.text
    assert http.get("/sunshine/petitions.json", params={"_sort": "nope"}).status_code == 400


def test_bad_sql_keeps_the_editor_and_navigation_and_explains_in_chinese(http):
    response = http.get("/sunshine", params={"sql": "selec 1"})
    assert response.status_code == 400
    html = response.text
    assert '<textarea id="sql-editor" name="sql"' in html and ">selec 1</textarea>" in html
    assert "返回阳光村务" in html
    assert "SQL 语法错误" in html or "只能运行 SELECT 查询" in html
    missing = http.get("/sunshine", params={"sql": "select nada from petitions"}).text
    assert "没有名为“nada”的列。" in missing


def test_csv_opens_in_excel_with_a_bom_and_a_chinese_file_name(http):
    response = http.get("/sunshine/villages.csv", params={"_stream": "on"})
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''%E6%9D%91" in response.headers["content-disposition"]  # 村（社区）
    assert response.content.startswith("\ufeffvillage_code,".encode())


def test_csv_download_neutralises_formulas(http):
    text = http.get("/formula/petitions.csv", params={"_stream": "on"}).content.decode("utf-8-sig")
    assert "'" + FORMULA.replace('"', '""') in text


def test_xlsx_keeps_codes_as_text_and_neutralises_formulas(http):
    response = http.get("/sunshine/villages.xlsx", params={"_size": "max"})
    assert response.status_code == 200
    assert ".xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content))["数据"]
    header = [c.value for c in sheet[1]]
    assert header[0] == "统计用区划代码"
    code = sheet.cell(row=2, column=1)
    assert (code.data_type, len(code.value)) == ("s", 12)
    formula = load_workbook(io.BytesIO(http.get("/formula/petitions.xlsx", params={"_size": "max"}).content))[
        "数据"
    ]
    assert all(
        not str(c.value).startswith("=") for row in formula.iter_rows() for c in row if c.value is not None
    )


def test_pages_are_gzipped_for_clients_that_accept_it(http):
    plain = http.get("/sunshine/petitions", headers={"accept-encoding": "identity"})
    packed = http.get("/sunshine/petitions", headers={"accept-encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 4
    assert packed.text.startswith("<!DOCTYPE html>")
    streamed = http.get(
        "/sunshine/petitions.csv", params={"_stream": "on"}, headers={"accept-encoding": "gzip"}
    )
    assert streamed.headers["content-encoding"] == "gzip"
    assert streamed.content.decode("utf-8-sig").count("\n") == 601


def test_the_first_page_of_a_sorted_table_is_ordered_by_its_primary_key_within_ties():
    keys = {"petitions": ["case_id"], "t": ["rowid"]}
    page = "select a, b from petitions where department = :p0 order by received_on desc limit 51"
    assert paging.with_tie_breaker(page, keys) == (
        "select a, b from petitions where department = :p0 order by received_on desc, case_id limit 51"
    )
    later = "select a from petitions where (x) order by received_on desc, case_id limit 51"
    assert paging.with_tie_breaker(later, keys) == later
    assert paging.with_tie_breaker("select a from [t] order by [b] limit 5", keys) == (
        "select a from [t] order by [b], rowid limit 5"
    )
    by_key = "select a from petitions order by case_id limit 51"
    assert paging.with_tie_breaker(by_key, keys) == by_key


@pytest.fixture(scope="module")
def with_history(tmp_path_factory):
    """The small git repository of git_fixture (petition 2024-0000002 removed on 2024-06-01), served."""
    repo = tmp_path_factory.mktemp("portal-history") / "repo"
    make_repo(repo)
    project = Project.load(repo)
    build_database(project, repo / "build" / "sunshine.db")
    build_history(project, repo / "build" / "history.db")
    with (
        running_datasette(
            [repo / "build" / "sunshine.db", repo / "build" / "history.db"], time_limit_ms=1000
        ) as srv,
        srv.client() as client,
    ):
        yield client


def test_a_deleted_record_says_when_it_was_deleted_and_links_to_its_history(with_history):
    response = with_history.get("/sunshine/petitions/2024-0000002")
    assert response.status_code == 404
    assert "<h1>这条记录已被删除</h1>" in response.text
    assert "这条记录已于 2024-06-01" in response.text
    assert "/history/record_history?table_name=petitions&amp;record_id=2024-0000002" in response.text
    history = with_history.get(
        "/history/record_history.json",
        params={"table_name": "petitions", "record_id": "2024-0000002", "_shape": "array"},
    )
    assert [r["kind"] for r in history.json()][-1] == "删除"


def test_table_pages_link_to_the_sites_excel_ready_file_and_catalog(http):
    html = http.get("/sunshine/petitions").text
    assert '<a href="http://127.0.0.1:8000/downloads/petitions-excel.csv">整张表的 Excel 文件</a>' in html
    assert '<a href="http://127.0.0.1:8000/catalog/petitions/">数据目录</a>' in html
    assert (
        '<a href="/sunshine/petitions.xlsx?_labels=on&amp;_size=max" download>Excel（.xlsx，最多 1,000 行）</a>'
        in html
    )


def test_xlsx_with_labels_puts_the_name_beside_the_code(http, data_villages):
    response = http.get("/sunshine/grids.xlsx", params={"_labels": "on", "_size": "max"})
    sheet = load_workbook(io.BytesIO(response.content))["数据"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("网格编号", "所属村（社区）代码", "所属村（社区）代码对应的名称", "网格名称")
    assert all(data_villages[r[1]] == r[2] for r in rows[1:])


def test_query_parameters_suggest_the_values_of_their_field(http):
    html = http.get("/sunshine/satisfaction_by_channel").text
    assert '<label for="qp1">诉求分类 <code>category</code></label>' in html
    assert '<option value="土地"></option>' in html


def test_a_record_page_shows_the_village_name_beside_its_code(http, data_villages):
    disclosure = http.get("/sunshine/disclosures.json", params={"_shape": "array", "_size": 1}).json()[0]
    code = disclosure["village_code"]
    html = http.get(f"/sunshine/disclosures/{disclosure['disclosure_id']}").text
    assert f'<a href="/sunshine/villages/{code}">{data_villages[code]}</a>&nbsp;<em>{code}</em>' in html


@pytest.mark.parametrize(
    "path",
    [
        "/history/petitions_changed/1",  # one part of a two-column key
        "/history/petitions_changed/1.json",
        "/history/petitions_changed/1,39,9",  # more parts than the key has
        "/history/petitions_changed/1,39,,",
        "/sunshine/petitions/2024-0000001,extra",
        "/sunshine/petitions/2024-0000001,extra.json",
    ],
)
def test_a_row_page_whose_key_has_the_wrong_number_of_parts_is_not_found(with_history, path):
    response = with_history.get(path)
    assert response.status_code == 404
    if path.endswith(".json"):
        assert response.json()["ok"] is False
    else:
        assert "<h1>" in response.text and "找不到这条记录" in response.text


def test_the_row_page_of_a_whole_key_is_still_found(http):
    assert http.get("/sunshine/petitions/2024-0000001").status_code == 200


@pytest.mark.parametrize("suffix", ["", ".json"])
@pytest.mark.parametrize(
    "through",
    [
        "zz",
        "{}",
        "[1]",
        '"grids"',
        '{"table": ["grids"], "column": "x", "value": 1}',
        '{"table": "grids"}',
        '{"table": "no_such_table", "column": "village_code", "value": "1"}',
        '{"table": "grids", "column": "grid_id", "value": [1, 2]}',
        '{"table": "grids", "column": "grid_id", "value": {"a": 1}}',
    ],
)
def test_a_through_filter_that_is_not_the_json_it_takes_is_a_bad_request_that_shows_the_form(
    http, suffix, through
):
    response = http.get(f"/sunshine/villages{suffix}", params={"_through": through})  # grids link to it
    assert response.status_code == 400
    text = response.json()["error"] if suffix else response.text
    assert "参数 _through 应是 JSON" in text


def test_a_through_filter_that_names_a_linked_table_still_filters(http):
    grid = http.get("/sunshine/grids.json", params={"_shape": "array", "_size": 1}).json()[0]
    through = json.dumps({"table": "grids", "column": "grid_id", "value": grid["grid_id"]})
    response = http.get("/sunshine/villages.json", params={"_through": through, "_shape": "array"})
    assert response.status_code == 200
    assert [row["village_code"] for row in response.json()] == [grid["village_code"]]
