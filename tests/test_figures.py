"""Each published petition figure, computed by the site and by the portal's SQL on the built database, is the same."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from sunshine import figures
from sunshine.database.build import build_database
from sunshine.package import Project
from sunshine.sample.generate import Sizes, generate
from sunshine.site.pages.data import SiteData

from .conftest import ROOT, copy_package

COLUMNS = ("petitions", "median_days", "p90_days", "followup_rate_percent", "satisfaction_rate_percent")


def site_rows(frame, by: str | None) -> dict[str, tuple]:
    return {
        (r[by] if by else figures.ALL): (
            r["count"],
            r["median_days"],
            r["p90_days"],
            r["followup_rate"],
            r["satisfaction_rate"],
        )
        for r in figures.petition_figures(frame, by)
    }


def sql_rows(conn: sqlite3.Connection, by: str, year: str, village: str) -> dict[str, tuple]:
    sql = figures.QUERIES["petition_figures"].sql
    cursor = conn.execute(sql, {"by": by, "year": year, "village_code": village})
    names = [c[0] for c in cursor.description]
    return {
        row["group_value"]: tuple(row[c] for c in COLUMNS)
        for row in (dict(zip(names, r, strict=True)) for r in cursor)
    }


@pytest.fixture(scope="module", params=["sample", "generated"])
def built(request, tmp_path_factory) -> tuple[SiteData, sqlite3.Connection]:
    base = tmp_path_factory.mktemp(request.param)
    if request.param == "sample":
        project = Project.load(copy_package(ROOT, base / "pkg"))
    else:
        generate(base / "data", Sizes(villages=5, disclosures=300, petitions=2500), seed=11)
        project = Project.load(copy_package(ROOT, base / "pkg", data_from=base / "data"))
    build_database(project, base / "sunshine.db")
    with closing(sqlite3.connect(base / "sunshine.db")) as conn:
        yield SiteData.load(project), conn


def test_nearest_rank_is_the_ceiling_of_nine_tenths():
    assert [figures.p90_rank(n) for n in (1, 2, 9, 10, 11, 19, 20, 21)] == [1, 2, 9, 9, 10, 18, 18, 19]


def test_percentages_round_half_up_from_the_counts():
    assert (figures.percent(1, 8), figures.percent(1, 3), figures.percent(0, 0)) == (12.5, 33.3, None)
    assert figures.percent(5, 16) == 31.3  # 31.25 rounds up


@pytest.mark.parametrize("by", ["", *figures.GROUPINGS])
def test_every_figure_of_the_site_equals_the_portal_query(built, by):
    data, conn = built
    petitions = data.petitions
    years = sorted(set(petitions["resolved_year"].drop_nulls()))
    villages = list(data.villages["village_code"])
    cases = [("", "")] + [(y, "") for y in years] + [("", v) for v in villages]
    for year, village in cases:
        frame = figures.in_year(petitions, year, "resolved")
        if village:
            frame = frame.filter(frame["village_code"] == village)
        assert site_rows(frame, by or None) == sql_rows(conn, by, year, village), (by, year, village)


def test_the_generated_queries_are_the_ones_datasette_serves():
    from sunshine.portal.metadata import build_metadata

    queries = build_metadata(Project.load(ROOT))["databases"]["sunshine"]["queries"]
    for name, query in figures.QUERIES.items():
        assert queries[name]["sql"] == query.sql, name
