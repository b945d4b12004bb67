"""The rows of a village or archive page stand in its inputs by a digest of their values."""

import polars as pl
import pytest

from sunshine.site.pages import partition_rows

FRAME = pl.DataFrame(
    {
        "village_code": ["A", "A", "B", "B"],
        "title": ["修路", "打井", "换灯", None],
        "amount_yuan": [100.0, 0.0, 5.5, None],
    }
)


def digests(frame: pl.DataFrame) -> dict:
    return {key: rows.digest for key, rows in partition_rows(frame, ["village_code"]).items()}


def test_each_group_keeps_its_rows_in_order():
    rows = partition_rows(FRAME, ["village_code"])
    assert list(rows) == [("A",), ("B",)]
    assert rows[("A",)].dicts() == [
        {"village_code": "A", "title": "修路", "amount_yuan": 100.0},
        {"village_code": "A", "title": "打井", "amount_yuan": 0.0},
    ]


def test_the_same_rows_give_the_same_digest_however_they_are_held():
    rechunked = pl.concat([FRAME[:1], FRAME[1:3], FRAME[3:]], rechunk=False)
    assert digests(rechunked) == digests(FRAME)


def test_a_changed_cell_changes_the_digest_of_its_group_only():
    changed = FRAME.with_columns(
        pl.when(pl.col("title") == "换灯").then(pl.lit("换路灯")).otherwise("title").alias("title")
    )
    before, after = digests(FRAME), digests(changed)
    assert after[("A",)] == before[("A",)]
    assert after[("B",)] != before[("B",)]


def test_what_a_page_would_show_differently_gives_another_digest():
    negative_zero = FRAME.with_columns(pl.col("amount_yuan").replace(0.0, -0.0))
    empty_title = FRAME.with_columns(pl.col("title").fill_null(""))
    swapped = FRAME[[1, 0, 2, 3]]
    assert digests(negative_zero)[("A",)] != digests(FRAME)[("A",)]
    assert digests(empty_title)[("B",)] != digests(FRAME)[("B",)]
    assert digests(swapped)[("A",)] != digests(FRAME)[("A",)]


def test_a_page_key_holds_the_digest_of_its_rows_not_their_printed_table(monkeypatch):
    from sunshine.site.build import _key

    rows = partition_rows(FRAME, ["village_code"])[("A",)]
    monkeypatch.setattr(pl.DataFrame, "__str__", lambda self: pytest.fail("the frame was printed"))
    assert _key("v1", {"disclosures": rows}) == _key("v1", {"disclosures": f"rows:{rows.digest}"})


def test_a_page_key_refuses_other_dataclasses_whose_repr_may_leave_fields_out():
    from dataclasses import dataclass

    from sunshine.site.build import _key

    @dataclass
    class Held:
        frame: pl.DataFrame

    with pytest.raises(TypeError, match="Held"):
        _key("v1", {"held": Held(FRAME)})
