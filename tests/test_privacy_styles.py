"""Personal numbers written in digits of other scripts and styles, or with marks on each digit."""

from __future__ import annotations

import polars as pl
import pytest

from sunshine.privacy import ID_PRETEST, MOBILE_PRETEST, Columns, mask, mask_cell

ID = "110105198003071234"  # a valid MOD 11-2 check digit
MOBILE = "13912345601"


def styled(digits: str, zero: int) -> str:
    return "".join(chr(zero + int(d)) for d in digits)


CIRCLED = {"0": "⓪", **{str(d): chr(0x2460 + d - 1) for d in range(1, 10)}}
SUPER = dict(zip("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹", strict=True))

WRITINGS = [
    (styled(ID, 0x660), "110105********1234"),  # Arabic-Indic digits
    (styled(ID, 0x6F0), "110105********1234"),  # Persian digits
    (styled(ID, 0x1D7CE), "110105********1234"),  # mathematical bold digits
    (styled(ID, 0x1D7EC), "110105********1234"),  # mathematical sans-serif bold digits
    ("".join(CIRCLED[d] for d in ID), "110105********1234"),
    ("".join(SUPER[d] for d in MOBILE), "139****5601"),
    ("".join(d + "\u0301" for d in ID), "110105********1234\u0301"),  # an accent on every digit
    ("".join(d + "\ufe0f\u20e3" for d in MOBILE), "139****5601\ufe0f\u20e3"),  # keycap emoji 1️⃣3️⃣9️⃣
    ("联系人" + "".join(d + "\ufe0f" for d in ID) + "。", "联系人110105********1234\ufe0f。"),
]


@pytest.mark.parametrize(("text", "masked"), WRITINGS)
def test_digits_of_any_script_or_style_are_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize(("text", "masked"), WRITINGS)
def test_the_vectorised_pretest_lets_every_styled_number_through_to_the_check(text, masked):
    frame = pl.DataFrame({"cell": [text]})
    hit = frame.select(pl.col("cell").str.contains(f"{ID_PRETEST}|{MOBILE_PRETEST}")).item()
    assert hit is True


@pytest.mark.parametrize("text", ["第①②③组", "面积 ²³ 平方米", "١٢٣ 户", "合计 33,466.00 元"])
def test_short_styled_numbers_stay_as_they_are(text):
    assert mask(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("1一0一0五1九8〇0三0七1二3四", "110105********1234"),
        ("13九12三45六01", "139****5601"),
        ("电话一 13912345601", "电话一 139****5601"),
    ],
)
def test_chinese_numerals_mixed_one_by_one_with_digits_are_read_as_digits(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", ["第一13组", "一户 1380 元，二户 2400 元", "共三十五户 12345 元"])
def test_a_numeral_word_beside_ordinary_numbers_is_left_alone(text):
    assert mask(text) == text


def test_a_code_format_fitting_id_numbers_of_one_region_does_not_keep_them_from_masking():
    field = {"name": "code", "type": "string", "constraints": {"pattern": "3201[0-9]{13}[0-9X]|[一-龥]*"}}
    columns = Columns.of([field])
    assert columns.is_code("code", "320102197501115602")
    assert mask_cell(columns, "code", "320102197501115602") == "320102********5602"
    assert mask_cell(columns, "code", "清溪村") == "清溪村"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("卡 320102/19750212/5618）", "卡 320102********5618）"),
        ("320102／19750212／5618", "320102********5618"),
        ("320102\\19750212\\5618", "320102********5618"),
        ("139/1234/5601", "139****5601"),
    ],
)
def test_numbers_split_by_slashes_are_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", ["2024/5/3", "2024/05/03—2024/06/30", "第1/3/5组", "13/20 户"])
def test_dates_and_fractions_with_slashes_are_not_personal(text):
    assert mask(text) == text
