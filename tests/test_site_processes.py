"""What the site build hands to processes of its own gives what drawing in the build would give,
and a whole build keeps no search dictionary after the stage that needed it."""

from __future__ import annotations

import pytest

from sunshine.chinese import words
from sunshine.package import Project
from sunshine.site import charts

SPEC = {
    "data": {"values": [{"月份": "2024-05", "件数": 3}, {"月份": "2024-06", "件数": 5}]},
    "mark": "bar",
    "encoding": {"x": {"field": "月份", "type": "nominal"}, "y": {"field": "件数", "type": "quantitative"}},
}


def test_a_chart_drawn_by_the_drawer_process_is_the_chart_drawn_here():
    drawer = charts.Drawer()
    try:
        assert drawer.svg(SPEC) == charts._draw(SPEC)
    finally:
        drawer.stop()
    assert drawer.proc.returncode is not None


def test_a_spec_vega_lite_refuses_is_an_error_from_the_drawer_too():
    drawer = charts.Drawer()
    try:
        with pytest.raises(ValueError):
            drawer.svg({"mark": "no-such-mark"})
        assert drawer.svg(SPEC).startswith("<svg")  # and it goes on drawing
    finally:
        drawer.stop()


def test_forgetting_the_tokenizers_drops_every_cached_dictionary(fixture_package: Project):
    words.tokenizer_from_lines(words.dictionary_lines(fixture_package))
    assert words._tokenizer.cache_info().currsize >= 1  # with those other tests of this process left
    words.forget_tokenizers()
    assert words._tokenizer.cache_info().currsize == 0
