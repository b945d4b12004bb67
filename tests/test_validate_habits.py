"""The pieces behind the messages: staff habits, personal numbers, encodings, dangerous text."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sunshine import normalize
from sunshine.privacy import find_personal, id_checksum_ok, mask_text
from sunshine.validate import encoding
from sunshine.validate.cells import FieldCheck

from .conftest import ROOT

ID = "110105198001011238"


def field(table: str, name: str) -> FieldCheck:
    schema = json.loads((ROOT / "schemas" / f"{table}.schema.json").read_text(encoding="utf-8"))
    [spec] = [f for f in schema["fields"] if f["name"] == name]
    return FieldCheck(spec, file=f"data/{table}.csv")


def codes(check: FieldCheck, value: str | None) -> list[str]:
    return [i.code for i in check.check(value)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-03", (date(2024, 5, 3), "")),
        ("2024/5/3", (date(2024, 5, 3), "")),
        ("2024年5月3日", (date(2024, 5, 3), "")),
        ("２０２４年５月３日", (date(2024, 5, 3), "")),
        ("45415", (date(2024, 5, 3), "Excel 日期序号")),
        ("03/05/2024", (None, "看不出是“日/月/年”还是“月/日/年”")),
        ("5月3日", (None, "缺少年份")),
        ("2023/2/29", (None, "这一天不存在")),
        ("12345", (None, "")),
    ],
)
def test_dates_as_staff_type_them(text, expected):
    assert normalize.parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥1,200.00", "1200.00"),
        ("￥ 1200元", "1200"),
        ("１２００.５", "1200.5"),
        ("1,20", None),
        ("约1200", None),
    ],
)
def test_amounts_as_staff_type_them(text, expected):
    assert normalize.parse_amount(text) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("NaN", ["constraint-error", "not-a-number"]),
        ("INF", ["constraint-error", "not-a-number"]),  # above the maximum as well
        ("sNaN", ["not-a-number"]),
        ("1.2e3", ["number-format"]),
        ("12.345", ["too-many-decimals"]),
        ("¥1,200.00", ["type-error"]),
        ("1200.5", []),
        ("", []),
    ],
)
def test_amounts_that_frictionless_would_accept_are_still_rejected(value, expected):
    assert codes(field("disclosures", "amount_yuan"), value) == expected


def test_hints_say_exactly_what_to_type():
    [issue] = field("petitions", "received_on").check("45415")
    assert issue.hint.startswith("应写作 2024-05-03")
    [issue] = field("disclosures", "amount_yuan").check("¥1,200.00")
    assert issue.hint == "应写作 1200.00。可运行 sunshine fix data/disclosures.csv 自动改正。"


def test_a_header_typo_suggests_the_nearest_column_and_a_chinese_title_is_read_as_its_name():
    from sunshine.validate.structure import header_problems

    schema = json.loads((ROOT / "schemas" / "grids.schema.json").read_text(encoding="utf-8"))
    labels = ["grid_id", "vilage_code", "网格名称", "area", "households", "population"]
    problems = header_problems(labels, schema["fields"], "data/grids.csv")
    assert [(p.code, p.column, p.severity) for p in problems] == [
        ("header-title", "name", "notice"),
        ("extra-label", None, "error"),
        ("missing-label", "village_code", "error"),
    ]
    assert problems[0].message == "第 3 列的表头是中文名称“网格名称”，已按“name”读取"
    assert problems[1].hint == "是不是“village_code”（所属村（社区）代码）？把表头改为 village_code 即可。"
    assert problems[2].hint == "表头第 2 列“vilage_code”应改为 village_code。"


def test_columns_in_any_order_are_read_by_name():
    from sunshine.validate.structure import match_header

    schema = json.loads((ROOT / "schemas" / "grids.schema.json").read_text(encoding="utf-8"))
    labels = ["village_code", "grid_id", "population", "households", "area", "name"]
    assert match_header(labels, schema["fields"], "data/grids.csv") == (labels, [])


def test_id_checksums_follow_gb_11643():
    assert id_checksum_ok(ID)
    assert id_checksum_ok("11010519491231002X")
    assert not id_checksum_ok("110105198001011239")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"身份证{ID}。", [("id", "110105********1238")]),
        ("身份证 110105 19800101 1238", [("id", "110105********1238")]),
        ("１１０１０５１９８００１０１１２３８", [("id", "110105********1238")]),
        ("110105198001011239", [("id-checksum", "110105********1239")]),
        ("旧证 110105800101123", [("id-old", "110105*****1123")]),
        ("电话 138-1234-5678", [("mobile", "138****5678")]),
        ("电话 13812345678 或 0571-88001001", [("mobile", "138****5678")]),
        ("编号 2024-0000123，受理于 2024-05-03", []),
        ("合同金额 12800000000 元", []),
    ],
)
def test_personal_numbers_are_found_and_masked(text, found):
    assert [(f.kind, f.masked) for f in find_personal(text)] == found


def test_phone_columns_may_hold_mobiles_but_never_id_numbers():
    check = field("grid_staff", "work_phone")
    assert codes(check, "13800000000") == []
    assert codes(check, ID) == ["constraint-error", "personal-id"]


def test_masked_text_never_keeps_a_long_run_of_digits():
    assert mask_text(f"a{ID}b13812345678c") == "a110105********1238b138****5678c"
    assert mask_text("卡号 6222021234567890123") == "卡号 622202*********0123"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', ["formula-injection"]),
        ("@SUM(A1)", ["formula-injection"]),
        ("\t附件", ["whitespace", "formula-injection"]),
        ("见<script>alert(1)</script>", ["html-content"]),
        ("见 JavaScript:alert(1)", ["html-content"]),
        ("名单\x00张贴", ["control-character"]),
        ("第一期：<5 万元", []),
    ],
)
def test_dangerous_text_in_string_cells(value, expected):
    assert codes(field("disclosures", "content"), value) == expected


def test_a_negative_amount_is_a_number_not_a_formula():
    assert codes(field("disclosures", "amount_yuan"), "-5") == ["constraint-error"]


@pytest.mark.parametrize(
    ("codec", "name"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gbk", "gb18030"),
        ("gb18030", "gb18030"),
        ("utf-16", "utf-16"),
        ("utf-16-le", "utf-16-le"),
    ],
)
def test_encodings_are_named_from_a_strict_decode_of_the_whole_file(tmp_path: Path, codec, name):
    path = tmp_path / "x.csv"
    path.write_bytes(
        ("village_code,name\n" + "000000101001,Qingxi\n" * 5000 + "000000101002,东桥社区\n").encode(codec)
    )
    assert encoding.detect(path).name == name


def test_a_gbk_file_is_called_gbk_whatever_its_first_characters(tmp_path: Path):
    # One GB2312 character in seven is also valid UTF-8 (石桥村 starts CA AF, Ư): every character
    # of GB2312, first in the file, still leaves it named GBK.
    path = tmp_path / "villages.csv"
    misnamed = []
    for row in range(0xB0, 0xF8):
        for cell in range(0xA1, 0xFF):
            character = bytes([row, cell])
            try:
                character.decode("gb2312")
            except UnicodeDecodeError:
                continue
            path.write_bytes(b"village_code,name\n110105001201," + character + "桥村\n".encode("gbk"))
            if encoding.detect(path).name != "gb18030":
                misnamed.append(character.decode("gb2312"))
    assert misnamed == []


def test_the_sample_villages_saved_as_gbk_are_called_gbk(tmp_path: Path):
    path = tmp_path / "villages.csv"
    path.write_bytes("village_code,name\n110105001201,石桥村\n110105001202,清溪村\n".encode("gbk"))
    assert encoding.detect(path).name == "gb18030"


def test_a_utf8_file_with_one_pasted_gbk_cell_is_not_called_gbk(tmp_path: Path):
    path = tmp_path / "x.csv"
    path.write_bytes("name\n清溪村\n".encode() + "东桥社区\n".encode("gbk"))
    found = encoding.detect(path)
    assert (found.name, encoding.line_of(path, found.bad_offset)) == (None, 3)


TRICKY = [
    "",
    " ",
    "\u3000",
    "2024-05-03",
    "2024-5-3",
    "2024-02-30",
    "２０２４-０５-０３",
    "45415",
    "12800.50",
    "12800.505",
    "１２８００",
    "-1",
    "+1",
    "1e3",
    "NaN",
    "sNaN",
    "Infinity",
    "1_000",
    "000000101001",
    "000000101001 ",
    "000000101001-01",
    "2024-0000001",
    "D00000001",
    "S000001",
    "0571-88001001",
    "13800000000",
    "是",
    "否",
    "Y",
    "来电",
    "电话",
    "村口路灯不亮。",
    f"身份证{ID}",
    "１１０１０５１９８００１０１１２３８",
    "电话 138-1234-5678",
    "=1+1",
    "@A1",
    "-减少",
    "\t附件",
    "<b>粗体</b>",
    "JavaScript:void(0)",
    "名单\x07张贴",
    "很长" * 300,
    ID,
    "13912345607",
    "+8613912345601",
    "139.1234.5603",
    "139\u00a01234\u00a05603",
    "139\u200b1234\u200b5603",
    "一三九一二三四五六〇一",
    "110105.19800101.1238",
    "110105198001\n011238",
    "6222 0212 3456 7890 128",
    "6222021234567890128",
    "zhang.san@example.com",
    "名单\u202e张贴",
    "名单\u0085张贴",
    "D0000000\u200b2",
    "000000101001\u200b",
    "<img src=x onerror=alert(1)",
    "-12800.50",
]


def test_the_vectorised_pretest_never_passes_a_cell_that_check_would_flag():
    import polars as pl

    for path in sorted((ROOT / "schemas").glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        for spec in schema["fields"]:
            check = FieldCheck(spec, file="data/x.csv")
            clean = pl.DataFrame({"v": TRICKY}).select(check.clean(pl.col("v"))).to_series().to_list()
            for value, ok in zip(TRICKY, clean, strict=True):
                if check.check(value):
                    assert not ok, (path.name, spec["name"], value)


def test_every_code_the_validator_can_report_is_documented():
    import re

    from sunshine.validate.codes import CODES

    sources = [
        ROOT / "scripts" / "sunshine" / "privacy.py",
        ROOT / "scripts" / "sunshine" / "diff" / "keys.py",
        *(ROOT / "scripts" / "sunshine" / "validate").glob("*.py"),
    ]
    found = set()
    for path in sources:
        text = path.read_text(encoding="utf-8")
        found |= set(
            re.findall(
                r'(?:code=|Issue\(\s*|_quote_problem\(\s*|[a-z]": \(\s*|_personal\(\s*| if \w+ else )"([a-z]+(?:-[a-z]+)*)"',
                text,
            )
        )
    assert len(found) > 30
    assert found == set(CODES)
    corpus = json.loads((ROOT / "tests" / "broken" / "cases.json").read_text(encoding="utf-8"))
    assert {e[0] for case in corpus.values() for e in case["errors"]} <= set(CODES)


def test_a_gbk_file_with_one_cell_pasted_in_utf8_is_not_called_gbk(tmp_path: Path):
    path = tmp_path / "grids.csv"
    path.write_bytes(
        "grid_id,name\n990101101202-01,东街网格\n".encode("gbk")
        + "990101101202-02,".encode("gbk")
        + "溪桥网格".encode()
        + "\n990101101202-03,西街网格\n".encode("gbk")
    )
    found = encoding.detect(path)
    assert (found.name, encoding.line_of(path, found.bad_offset)) == (None, 3)


def test_gbk_text_whose_bytes_also_read_as_utf8_chinese_is_still_gbk(tmp_path: Path):
    # 涓颁浮 in GBK is E4 BF B0 E4 B8 A1: 丰両 in UTF-8. Typed in GBK it stays within GB2312.
    path = tmp_path / "villages.csv"
    path.write_bytes("village_code,name\n110105001201,涓颁浮\n110105001202,石桥村\n".encode("gbk"))
    assert "涓颁浮".encode("gbk").decode("utf-8") == "丰両"
    assert encoding.detect(path).name == "gb18030"
