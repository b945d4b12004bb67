"""Personal numbers in every disguise are recognised and masked; ordinary numbers are left alone."""

from __future__ import annotations

import polars as pl
import pytest

from sunshine.markup import plain_text
from sunshine.privacy import Columns, find_personal, luhn_ok, mask, mask_frame, mask_row, normalise

ID = "110105198001011238"  # fictional, valid GB 11643 check digit
CARD = "6222021234567890128"  # fictional, valid Luhn check digit
ZWSP, NBSP, ZWJ = "\u200b", "\u00a0", "\u200d"


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        ("+8613912345601", "mobile", "139****5601"),
        ("+86 139 1234 5601", "mobile", "139****5601"),
        ("0086-13912345601", "mobile", "139****5601"),
        ("8613912345601", "mobile", "139****5601"),
        ("139.1234.5601", "mobile", "139****5601"),
        ("139·1234·5601", "mobile", "139****5601"),
        (f"139{NBSP}1234{NBSP}5601", "mobile", "139****5601"),
        (f"139{ZWSP}1234{ZWSP}5601", "mobile", "139****5601"),
        ("139\u202f1234\u20605601", "mobile", "139****5601"),
        ("139\r\n1234\n5601", "mobile", "139****5601"),
        ("１３９１２３４５６０１", "mobile", "139****5601"),
        ("一三九一二三四五六〇一", "mobile", "139****5601"),
        ("幺三九幺二三四五六零幺", "mobile", "139****5601"),
        ("壹叁玖壹贰叁肆伍陆零壹", "mobile", "139****5601"),
        ("139一二三四五六〇一", "mobile", "139****5601"),
        (f"{ID[:6]}.{ID[6:14]}.{ID[14:]}", "id", "110105********1238"),
        (f"{ID[:6]}{NBSP}{ID[6:]}", "id", "110105********1238"),
        (f"{ID[:6]}{ZWSP}{ID[6:10]}{ZWSP}{ID[10:]}", "id", "110105********1238"),
        (f"{ID[:9]}\n{ID[9:]}", "id", "110105********1238"),
        (f"{ID[:6]}-{ID[6:14]}-{ID[14:]}", "id", "110105********1238"),
        ("一一〇一〇五一九八〇〇一〇一一二三八", "id", "110105********1238"),
        ("11010519491231002x", "id", "110105********002X"),
        ("6222 0212 3456 7890 128", "bank-card", "622202*********0128"),
        (CARD, "bank-card", "622202*********0128"),
        ("zhang.san@example.com", "email", "z***@example.com"),
        ("ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "email", "z***@example.com"),
    ],
)
def test_a_personal_number_is_found_however_it_is_written(text, kind, masked):
    assert [(f.kind, f.masked) for f in find_personal(f"居民（{text}）反映")] == [(kind, masked)]
    shown = mask(f"居民（{text}）反映")
    assert shown == f"居民（{masked}）反映"


@pytest.mark.parametrize(
    "text",
    [
        "合同 DQ-2024-017 支付 138000000.00 元",  # an amount with a decimal point
        "2024-05-03 2024-05-06 两次清运",  # dates side by side
        "编号 2024-0000123，受理于 2024-05-03",
        "村（社区）代码 330106001001，网格 330106001001-001",  # codes, even with a 15-digit grid number
        "6222 0212 3456 7890 123",  # Luhn fails: not a card
        "2024 0503 2024 0506",  # no birth date where an ID number has one
        "办公电话 0571-88001001",
        "第一网格、第二网格，一户一档",
        "金额 1,380,000,000 元",
    ],
)
def test_ordinary_numbers_are_not_personal(text):
    assert find_personal(text) == []
    assert mask(text) == text


def test_checksums_tell_id_numbers_and_cards_from_other_numbers():
    assert luhn_ok(CARD)
    assert not luhn_ok(CARD[:-1] + "9")
    assert [f.kind for f in find_personal("110105198001011239")] == ["id-checksum"]


def test_normalising_keeps_positions_so_masks_replace_exactly_the_number():
    text = f"电话：１３９{ZWSP}1234 5601。"
    assert len(normalise(text)) == len(text)
    assert mask(text) == "电话：139****5601。"


def test_phone_columns_keep_their_phones_but_never_an_id_number():
    assert mask("13800000000", phones_allowed=True) == "13800000000"
    assert mask(f"13800000000 {ID}", phones_allowed=True) == "13800000000 110105********1238"


def test_rows_and_tables_are_masked_in_every_column_whatever_its_type():
    columns = Columns.of(
        [
            {"name": "code", "type": "string", "constraints": {"pattern": "^[0-9]{12}-[0-9]{3}$"}},
            {"name": "phone", "type": "string", "x-phone": True},
            {"name": "when", "type": "date"},
            {"name": "count", "type": "integer"},
        ]
    )
    row = {"code": "330106001001-001", "phone": "13800000000", "when": ID, "count": "13912345601", ID: "x"}
    assert mask_row(row, columns) == {
        "code": "330106001001-001",
        "phone": "13800000000",
        "when": "110105********1238",
        "count": "139****5601",
        "110105********1238": "x",
    }
    frame = pl.DataFrame({k: [v, "普通文字"] for k, v in row.items() if k != ID})
    assert mask_frame(frame, columns).row(0) == (
        "330106001001-001",
        "13800000000",
        "110105********1238",
        "139****5601",
    )
    assert mask_frame(frame, columns).row(1) == ("普通文字",) * 4


def test_feed_text_is_plain_whatever_the_cell_holds():
    assert plain_text("名单见<a href='javascript:alert(1)'>附件</a>。") == "名单见 附件 。"
    assert plain_text("名单见<img src=x onerror=alert(1)") == "名单见"
    assert plain_text("&lt;img src=x onerror=alert(1)&gt;") == ""
    assert plain_text("金额<5000元 & 完成") == "金额&lt;5000元 &amp; 完成"


def test_emoji_joined_by_a_zero_width_joiner_are_still_plain_text():
    assert find_personal(f"👨{ZWJ}👩{ZWJ}👧") == []


def test_old_versions_cannot_show_other_than_they_are():
    assert mask_row({"summary": "居民\u202e反映\u200b路灯"}) == {"summary": "居民�反映�路灯"}
