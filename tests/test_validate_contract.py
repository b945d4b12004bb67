"""The contract protects itself: checks that no schema edit switches off, schemas that fail clearly,
hints that never repeat a personal number, text that cannot show other than it is."""

from __future__ import annotations

import json
import re

import pytest

from sunshine.package import Project
from sunshine.validate.run import validate_project

from .test_validate import ID, replace, run

FULLWIDTH_ID = ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


def edit_field(project: Project, table: str, name: str, **changes) -> None:
    path = project.root / "schemas" / f"{table}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    for field in schema["fields"]:
        if field["name"] == name:
            for key, value in changes.items():
                if value is None:
                    field.pop(key, None)
                else:
                    field[key] = value
    path.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    project.__dict__.pop("tables", None)


def found(project: Project) -> list[tuple]:
    return validate_project(project).flatten(("code", "row", "column"))


@pytest.mark.parametrize(
    "changes",
    [
        {"type": "any", "constraints": {"required": True}},
        {"type": "any", "constraints": None},
        {"constraints": {"pattern": ".*"}},
        {"constraints": {"pattern": "[\\s\\S]*", "maxLength": 500}},
    ],
    ids=["any", "any-unconstrained", "pattern-anything", "pattern-anything-with-length"],
)
def test_retyping_a_column_does_not_switch_off_personal_data_or_dangerous_text_checks(
    fixture_package, changes
):
    edit_field(fixture_package, "petitions", "summary", **changes)
    replace(fixture_package, "petitions", "村口路灯不亮", f"居民{ID}反映村口路灯不亮")
    replace(fixture_package, "petitions", "垃圾收集点清运不及时。", '"=HYPERLINK(""http://x"")"')
    replace(fixture_package, "petitions", "咨询城乡居民", "<script>alert(1)</script>咨询城乡居民")
    assert found(fixture_package) == [
        ("personal-id", 2, "summary"),
        ("formula-injection", 3, "summary"),
        ("html-content", 4, "summary"),
    ]


def test_id_sized_numbers_are_errors_in_number_columns_and_personal_data_too(fixture_package):
    replace(fixture_package, "disclosures", ",12800.50,", f",{ID},")
    replace(fixture_package, "grids", ",462", f",{ID}")
    replace(fixture_package, "villages", ",1386,", ",13912345601,")
    assert found(fixture_package) == [
        ("constraint-error", 2, "population"),
        ("personal-phone", 2, "population"),
        ("constraint-error", 2, "population"),
        ("personal-id", 2, "population"),
        ("constraint-error", 2, "amount_yuan"),
        ("personal-id", 2, "amount_yuan"),
    ]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"type": "strng"},
            "字段“summary”：类型“strng”无法识别，应为 string、integer、number、date、boolean 等",
        ),
        ({"constraints": {"maxLength": "五百"}}, '字段“summary”：约束“maxLength”的值 "五百" 写法不对'),
        ({"constraints": "required"}, "字段“summary”：constraints 应写成 {…} 对象"),
        ({"constraints": {"pattern": "(["}}, '字段“summary”：约束“pattern”的值 "([" 写法不对'),
        ({"constraints": {"requird": True}}, "字段“summary”：约束“requird”无法识别"),
        ({"x-phone": "yes"}, "字段“summary”：x-phone 应为 true 或 false"),
        ({"type": "any"}, "字段“summary”：约束“maxLength”不能用于 any 类型"),
    ],
)
def test_a_malformed_field_is_named_in_chinese_with_its_file(fixture_package, monkeypatch, changes, message):
    edit_field(fixture_package, "petitions", "summary", **changes)
    [problem] = validate_project(fixture_package).problems
    assert (problem.code, problem.file, problem.column, problem.message) == (
        "schema-error",
        "schemas/petitions.schema.json",
        "summary",
        message,
    )
    result = run(fixture_package, monkeypatch)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.startswith(
        f"schemas/petitions.schema.json（1 个错误）\n  ✗ “诉求摘要”（summary）：{message}\n"
    )


@pytest.mark.parametrize("fmt", ["text", "json", "github"])
def test_hints_never_repeat_a_personal_number(fixture_package, monkeypatch, fmt):
    replace(fixture_package, "petitions", "村口路灯不亮，夜间出行不便。", f" {ID} ")
    replace(fixture_package, "disclosures", ",12800.50,", f',"¥{ID}",')
    replace(fixture_package, "grids", ",462", f",{FULLWIDTH_ID}")
    replace(fixture_package, "petitions", "000000101001-02", f"{ID[:12]}-{ID[12:]}")
    result = run(fixture_package, monkeypatch, "--format", fmt)
    assert result.exit_code == 1
    assert "110105********1238" in result.output
    plain = result.output.translate({ord(c) + 0xFEE0: ord(c) for c in "0123456789"})
    assert ID not in re.sub(r"[^0-9]", "", plain.replace("110105********1238", ""))


def test_bidi_c1_and_invisible_characters_are_refused_and_keys_admit_none(fixture_package):
    replace(fixture_package, "petitions", "村口路灯不亮", "村口\u202e路灯不亮")
    replace(fixture_package, "petitions", "垃圾收集点", "垃圾\u0085收集点")
    replace(fixture_package, "petitions", "咨询城乡居民", "咨询\u200b城乡居民")
    replace(fixture_package, "petitions", "2024-0000004", "2024-0000004\u2060")
    replace(
        fixture_package, "petitions", "反映有人占用耕地建房。", "反映有人占用耕地建房👨\u200d👩\u200d👧。"
    )
    assert found(fixture_package) == [
        ("bidi-control", 2, "summary"),
        ("control-character", 3, "summary"),
        ("invisible-character", 4, "summary"),
        ("constraint-error", 5, "case_id"),
        ("invisible-character", 5, "case_id"),
    ]


def test_an_id_number_listed_in_an_enumeration_is_still_personal_data(fixture_package):
    edit_field(
        fixture_package, "petitions", "satisfaction", constraints={"required": True, "enum": ["满意", ID]}
    )
    replace(fixture_package, "petitions", ",满意\n", f",{ID}\n")
    assert ("personal-id", 2, "satisfaction") in found(fixture_package)


NANJING_ID = "320102197501115602"  # a valid MOD 11-2 check digit, of a region no probe is from


@pytest.mark.parametrize("cell", [NANJING_ID, "320102 19750111 5602"])
def test_a_code_pattern_written_to_fit_one_region_s_id_numbers_does_not_excuse_them(fixture_package, cell):
    edit_field(
        fixture_package,
        "petitions",
        "summary",
        constraints={"pattern": "3201[0-9 ]{13,15}[0-9Xx]|[一-龥，。]*"},
    )
    replace(fixture_package, "petitions", "村口路灯不亮，夜间出行不便。", cell)
    assert found(fixture_package) == [("personal-id", 2, "summary")]
