"""A real Datasette, started as `sunshine serve` starts it, checked over HTTP with the sample data."""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import statistics
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

import pytest

from sunshine.package import Project
from sunshine.portal.metadata import build_metadata

from .browser import launch
from .conftest import ROOT
from .portal_support import (
    FORMULA,
    formula_database,
    read_csv,
    running_datasette,
    sample_database,
    sample_project,
)

TABLES = ("villages", "grids", "grid_staff", "disclosures", "petitions", "committee_members", "commitments")
VIEWS = ("petitions_detail", "disclosures_detail", "grid_staff_detail")


@pytest.fixture(scope="module")
def server():
    with running_datasette([sample_database(), formula_database()], time_limit_ms=1000) as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server):
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def data():
    project = sample_project()
    return {name: read_csv(project, name) for name in TABLES}


def query(http, name, **params):
    response = http.get(f"/sunshine/{name}.json", params={**params, "_shape": "array"})
    assert response.status_code == 200, response.text
    return response.json()


def days(row):
    return (date.fromisoformat(row["resolved_on"]) - date.fromisoformat(row["received_on"])).days


def day_figures(values):
    """Count, mean, median (mean of the middle two when even) and nearest-rank 90th percentile."""
    ordered = sorted(values)
    return (
        len(ordered),
        statistics.mean(ordered),
        statistics.median(ordered),
        ordered[math.ceil(0.9 * len(ordered)) - 1],
    )


def assert_day_figures(rows, key, groups):
    got = {r[key]: r for r in rows}
    assert set(got) == set(groups)
    for name, values in groups.items():
        n, mean, median, p90 = day_figures(values)
        row = got[name]
        assert (row["petitions"], row["median_days"], row["p90_days"]) == (n, median, p90), name
        assert row["mean_days"] == pytest.approx(mean, abs=0.05 + 1e-9)


@pytest.mark.parametrize("table", TABLES + VIEWS)
def test_every_table_and_view_page_loads(http, table):
    response = http.get(f"/sunshine/{table}")
    assert response.status_code == 200
    # The sample township says it is sample data; a township's own data never does.
    assert ("示例数据" in response.text) == Project.load(ROOT).settings.sample


@pytest.mark.parametrize("table", TABLES)
def test_json_rows_carry_the_contract_column_names(http, table):
    rows = http.get(f"/sunshine/{table}.json", params={"_shape": "array", "_size": 3}).json()
    assert [list(r) for r in rows] == [sample_project().tables[table].field_names] * 3


def test_foreign_keys_show_village_and_grid_names(http, data):
    villages = {r["village_code"]: r["name"] for r in data["villages"]}
    grids = {r["grid_id"]: r["name"] for r in data["grids"]}
    rows = http.get(
        "/sunshine/petitions.json",
        params={"_shape": "array", "_labels": "on", "_size": "max", "grid_id__not": ""},
    ).json()
    assert rows
    for row in rows:
        assert row["village_code"] == {
            "value": row["village_code"]["value"],
            "label": villages[row["village_code"]["value"]],
        }
        assert row["grid_id"]["label"] == grids[row["grid_id"]["value"]]
    page = http.get("/sunshine/petitions", params={"village_code": data["villages"][0]["village_code"]}).text
    assert data["villages"][0]["name"] in page


@pytest.mark.parametrize("year", ["", "first"])
def test_petitions_by_category_and_department_report_count_median_and_90th_percentile(http, data, year):
    if year == "first":
        year = data["petitions"][0]["received_on"][:4]
    chosen = [r for r in data["petitions"] if not year or r["received_on"][:4] == year]
    for name, key in (("petitions_by_category", "category"), ("petitions_by_department", "department")):
        groups = defaultdict(list)
        for r in chosen:
            groups[r[key]].append(days(r))
        assert_day_figures(query(http, name, year=year), key, groups)


@pytest.mark.parametrize("category", ["", "环境卫生"])
def test_petitions_by_month_follow_the_category(http, data, category):
    groups = defaultdict(list)
    for r in data["petitions"]:
        if not category or r["category"] == category:
            groups[r["received_on"][:7]].append(days(r))
    rows = query(http, "petitions_by_month", category=category)
    assert [r["month"] for r in rows] == sorted(groups)
    assert_day_figures(rows, "month", groups)


def test_satisfaction_rate_counts_satisfied_and_basically_satisfied_over_those_followed_up(http, data):
    year = data["petitions"][0]["received_on"][:4]
    by_department = defaultdict(Counter)
    for r in data["petitions"]:
        if r["received_on"][:4] == year:
            by_department[r["department"]][r["satisfaction"]] += 1
    rows = {r["department"]: r for r in query(http, "satisfaction_by_department", year=year)}
    assert set(rows) == set(by_department)
    for department, counts in by_department.items():
        followed = counts.total() - counts["未回访"]
        row = rows[department]
        assert (row["petitions"], row["followed_up"]) == (counts.total(), followed)
        if followed:
            rate = 100 * (counts["满意"] + counts["基本满意"]) / followed
            assert row["satisfaction_rate_percent"] == pytest.approx(rate, abs=0.05 + 1e-9)
        else:
            assert row["satisfaction_rate_percent"] is None


def test_petitions_per_1000_residents_by_grid(http, data):
    village = data["villages"][0]["village_code"]
    counts = Counter(r["grid_id"] for r in data["petitions"] if r["grid_id"])
    want = {
        g["grid_id"]: (counts[g["grid_id"]], 1000 * counts[g["grid_id"]] / int(g["population"]))
        for g in data["grids"]
        if g["village_code"] == village
    }
    rows = query(http, "petitions_per_1000_by_grid", village_code=village)
    assert {r["grid_id"]: r["petitions"] for r in rows} == {k: v[0] for k, v in want.items()}
    for r in rows:
        assert r["per_1000_residents"] == pytest.approx(want[r["grid_id"]][1], abs=0.005 + 1e-9)
    assert len(query(http, "petitions_per_1000_by_grid", village_code="")) == len(data["grids"])


@pytest.mark.parametrize("village", ["", "first"])
def test_income_and_expenditure_add_up_exactly_by_village_topic_and_year(http, data, village):
    if village == "first":
        village = data["villages"][0]["village_code"]
    want = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for r in data["disclosures"]:
        if r["amount_yuan"] and (not village or r["village_code"] == village):
            want[(r["village_code"], r["period"][:4], r["topic"])][r["direction"] == "支出"] += Decimal(
                r["amount_yuan"]
            )
    rows = query(http, "income_expenditure", village_code=village, year="")
    got = {
        (r["village_code"], r["year"], r["topic"]): [
            Decimal(str(r["income_yuan"])),
            Decimal(str(r["expenditure_yuan"])),
        ]
        for r in rows
    }
    assert want
    assert got == dict(want)
    for r in rows:
        assert Decimal(r["income_fen"]) / 100 == Decimal(str(r["income_yuan"]))


def test_latest_disclosures_are_newest_first(http, data):
    village = data["villages"][-1]["village_code"]
    chosen = [r for r in data["disclosures"] if r["village_code"] == village]
    want = [
        r["disclosure_id"]
        for r in sorted(chosen, key=lambda r: (r["published_on"], r["disclosure_id"]), reverse=True)
    ]
    assert [r["disclosure_id"] for r in query(http, "latest_disclosures", village_code=village)] == want[:50]


def test_grid_staff_serving_a_village_or_a_grid(http, data):
    grids = {g["grid_id"]: g["village_code"] for g in data["grids"]}
    grid = data["grid_staff"][0]["grid_id"]
    village = grids[grid]
    by_village = query(http, "grid_staff_serving", village_code=village, grid_id="")
    by_grid = query(http, "grid_staff_serving", village_code="", grid_id=grid)
    assert {r["staff_id"] for r in by_village} == {
        s["staff_id"] for s in data["grid_staff"] if grids[s["grid_id"]] == village
    }
    assert {r["staff_id"] for r in by_grid} == {
        s["staff_id"] for s in data["grid_staff"] if s["grid_id"] == grid
    }


def test_every_canned_query_in_the_metadata_answers(http):
    queries = build_metadata(sample_project())["databases"]["sunshine"]["queries"]
    for name, spec in queries.items():
        response = http.get(f"/sunshine/{name}.json", params={p: "" for p in spec["params"]})
        assert response.status_code == 200, name


@pytest.mark.parametrize(
    ("table", "key", "word"),
    [
        ("petitions", "case_id", "路灯"),
        ("petitions", "case_id", "噪声"),
        ("disclosures", "disclosure_id", "低保"),
    ],
)
def test_search_box_finds_the_rows_that_contain_the_word(http, data, table, key, word):
    columns = {"petitions": ("summary", "outcome"), "disclosures": ("title", "content")}[table]
    want = {r[key] for r in data[table] if any(word in r[c] for c in columns)}
    rows = http.get(
        f"/sunshine/{table}.json", params={"_search": word, "_shape": "array", "_size": "max"}
    ).json()
    assert want
    assert {r[key] for r in rows} == want


@pytest.mark.parametrize("query", ["路灯损坏", "路灯，损坏！", "损坏的路灯"])
def test_a_query_typed_without_spaces_is_cut_into_words_that_must_all_be_found(http, data, query):
    want = {
        r["case_id"]
        for r in data["petitions"]
        if all(w in r["summary"] + r["outcome"] for w in ("路灯", "损坏"))
    }
    rows = http.get(
        "/sunshine/petitions.json", params={"_search": query, "_shape": "array", "_size": "max"}
    ).json()
    assert want
    assert {r["case_id"] for r in rows} == want


def test_an_empty_search_finds_nothing_rather_than_failing(http):
    response = http.get("/sunshine/petitions.json", params={"_search": " ", "_shape": "array"})
    assert (response.status_code, response.json()) == (200, [])


def test_a_natural_query_without_spaces_finds_rows(http, data):
    want = {r["disclosure_id"] for r in data["disclosures"] if "村民代表会议" in r["content"] + r["title"]}
    rows = http.get(
        "/sunshine/disclosures.json", params={"_search": "村民代表会议", "_shape": "array", "_size": "max"}
    ).json()
    assert want
    assert {r["disclosure_id"] for r in rows} == want


def test_writes_are_rejected(http):
    before = hashlib.sha256(sample_database().read_bytes()).hexdigest()
    for sql in ("DELETE FROM villages", "UPDATE villages SET name = 'x'", "DROP TABLE villages"):
        response = http.get("/sunshine.json", params={"sql": sql})
        assert response.status_code == 400
        assert "Statement must be a SELECT" in response.json()["error"]
    # A write that passes Datasette's SELECT check is stopped by the read-only, immutable database.
    sql = "WITH x AS (SELECT 1) INSERT INTO villages (village_code) SELECT 1 FROM x"
    response = http.get("/sunshine.json", params={"sql": sql})
    assert (response.status_code, response.json()["error"]) == (400, "attempt to write a readonly database")
    assert hashlib.sha256(sample_database().read_bytes()).hexdigest() == before


def test_a_slow_query_is_interrupted_without_a_rich_traceback(server, http):
    sql = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    response = http.get("/sunshine.json", params={"sql": sql})
    assert response.status_code == 400
    assert "SQL query took too long" in response.json()["error"]
    log = server.stderr.read_text(encoding="utf-8")
    assert "Traceback" not in log
    assert "locals" not in log


@pytest.mark.parametrize(
    "path", ["/", "/sunshine", "/sunshine/petitions", "/sunshine/petitions.json", "/robots.txt"]
)
def test_security_headers_are_on_every_response(http, path):
    response = http.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]


def test_inline_scripts_carry_the_nonce_of_the_policy(http):
    response = http.get("/sunshine/petitions")
    nonce = re.search(r"'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    scripts = re.findall(r"<script[^>]*>", response.text)
    assert scripts
    assert all(f'nonce="{nonce}"' in s for s in scripts)
    assert (
        http.get("/sunshine/petitions").headers["content-security-policy"]
        != response.headers["content-security-policy"]
    )


def test_robots_allows_tables_but_not_queries_or_exports(http):
    robots = http.get("/robots.txt").text
    for line in (
        "Disallow: /*?",
        "Disallow: /*.json",
        "Disallow: /*.csv",
        "Disallow: /sunshine/petitions_by_category",
    ):
        assert line in robots.splitlines()
    assert "Disallow: /sunshine/petitions\n" not in robots


def test_csv_export_neutralises_a_formula(http):
    response = http.get("/formula/petitions.csv", params={"_size": "max", "_labels": "on"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert rows[0]["summary"] == "'" + FORMULA
    assert not any(v.startswith("=") for r in rows for v in r.values())


@pytest.mark.browser
def test_pages_run_their_scripts_under_the_content_security_policy_in_chromium(server):
    from playwright.sync_api import sync_playwright

    messages = []
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page()
            page.on("console", lambda m: messages.append(m.text))
            page.goto(server.url + "/sunshine?sql=select+1")
            editors = page.locator(".CodeMirror").count()  # built by an inline script
            page.goto(server.url + "/sunshine/petitions?_search=" + "路灯")
            heading = page.locator(".portal-summary").first.inner_text()
        finally:
            browser.close()
    assert editors == 1
    assert "搜索“路灯”" in heading
    assert [m for m in messages if "Content Security Policy" in m] == []
