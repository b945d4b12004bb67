"""Every row exactly once when paging 20,000 petitions, in the default order and every order the site links to."""

from __future__ import annotations

import pytest

from sunshine.database.build import build_database
from sunshine.package import Project
from sunshine.sample.generate import Sizes, generate

from .conftest import ROOT, copy_package
from .portal_support import running_datasette

PETITIONS = 20_000
# (table, filters and order): the default listing, each header's sort, and the site's links.
ORDERS = [
    ("petitions", {}),
    ("petitions", {"_sort": "received_on"}),
    ("petitions", {"_sort_desc": "resolved_on"}),
    ("petitions", {"_sort": "category"}),
    ("petitions", {"department": "村委会", "_sort_desc": "resolved_on"}),
    ("petitions", {"category": "环境卫生", "_sort_desc": "resolved_on"}),
    ("petitions", {"_sort_desc": "followup_on"}),
    ("disclosures", {}),
    ("disclosures", {"category": "财务公开", "_sort_desc": "published_on"}),
]


@pytest.fixture(scope="module")
def http(tmp_path_factory):
    root = tmp_path_factory.mktemp("paging")
    generate(root / "generated", Sizes(villages=4, disclosures=2_000, petitions=PETITIONS), seed=3)
    project = Project.load(copy_package(ROOT, root / "package", data_from=root / "generated"))
    database = build_database_at(project)
    with running_datasette([database], time_limit_ms=5000) as server, server.client() as client:
        yield client


def build_database_at(project: Project):
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    return target


def all_pages(http, table: str, args: dict) -> list[str]:
    """The primary keys of every row, following next_url to the end, 1,000 rows a page."""
    keys: list[str] = []
    response = http.get(
        f"/sunshine/{table}.json", params={**args, "_size": "max", "_shape": "objects"}
    ).json()
    pk = response["primary_keys"][0]
    while True:
        keys += [row[pk] for row in response["rows"]]
        if not response["next_url"]:
            return keys
        response = http.get(response["next_url"]).json()


@pytest.mark.parametrize(("table", "args"), ORDERS)
def test_paging_returns_every_row_exactly_once(http, table, args):
    filters = {k: v for k, v in args.items() if not k.startswith("_")}
    expected = http.get(f"/sunshine/{table}.json", params={**filters, "_size": 0}).json()[
        "filtered_table_rows_count"
    ]
    keys = all_pages(http, table, args)
    assert (len(keys), len(set(keys))) == (expected, expected)
