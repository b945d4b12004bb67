"""One builder of Datasette links, used by the site, the change lists and `sunshine diff`."""

from __future__ import annotations

from sunshine.links import Datasette
from sunshine.package import KEY_SEPARATOR, Project

from .conftest import ROOT

DS = Datasette("https://cun.example.gov.cn/data/")


def test_a_row_link_tilde_encodes_each_part_of_the_key():
    assert (
        DS.row("grids", "990101101201-01") == "https://cun.example.gov.cn/data/sunshine/grids/990101101201-01"
    )
    assert (
        DS.row("t", "a/b" + KEY_SEPARATOR + "c,d") == "https://cun.example.gov.cn/data/sunshine/t/a~2Fb,c~2Cd"
    )


def test_table_query_and_history_links_carry_their_parameters_only_when_given():
    assert DS.table("petitions") == "https://cun.example.gov.cn/data/sunshine/petitions"
    assert DS.table("petitions", category="道路") == (
        "https://cun.example.gov.cn/data/sunshine/petitions?category=%E9%81%93%E8%B7%AF"
    )
    assert DS.history("history_coverage") == "https://cun.example.gov.cn/data/history/history_coverage"
    assert DS.query("q", year="2025") == "https://cun.example.gov.cn/data/sunshine/q?year=2025"


def test_the_record_key_is_the_primary_key_values_joined_once():
    table = Project.load(ROOT).tables["grids"]
    assert table.record_key({"grid_id": "990101101201-01", "name": "一组"}) == "990101101201-01"
