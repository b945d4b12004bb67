"""The generator writes the committed sample exactly, and consistent, contract-honouring data at any size."""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import frictionless
import pytest
from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.package import Project
from sunshine.sample.generate import FIELDS, Sizes, generate, generate_command, layout

from .conftest import ROOT, copy_package, demo_only, sample_data

TABLES = ("villages", "grids", "grid_staff", "disclosures", "petitions", "committee_members", "commitments")
SMALL = Sizes(villages=4, grids_per_village=10, staff_per_grid=3, disclosures=120, petitions=3000)
SPREAD = Sizes(villages=31, grids_per_village=2, staff_per_grid=9, disclosures=40, petitions=500)
ROLES = {
    "网格长",
    "专职网格员",
    "兼职网格员",
    "网格指导员",
    "楼栋长",
    "单元长",
    "党员中心户",
    "驻村民警",
    "法律顾问",
}
PETITION_CATEGORIES = {
    "教育",
    "医疗卫生",
    "环境卫生",
    "治安",
    "道路交通",
    "水电气",
    "邻里纠纷",
    "土地",
    "社会保障",
    "其他",
}
CHANNELS = {"来访", "来电", "12345热线", "网格员走访", "网上留言", "来信"}
# What the validator flags in free text: ID numbers, mobile numbers, spreadsheet formulas, HTML.
LOOKS_PERSONAL = re.compile(r"(?<![0-9])([0-9]{17}[0-9Xx]|[0-9]{15}|1[3-9][0-9]{9})(?![0-9])")
PHONE_COLUMNS = {"work_phone", "office_phone", "supervision_phone"}


def read(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate(out, SMALL, seed=7)
    return out


@demo_only
def test_the_committed_sample_is_what_sunshine_generate_writes_by_default(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["generate", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for table in TABLES:
        committed = (ROOT / "data" / f"{table}.csv").read_bytes()
        assert (tmp_path / f"{table}.csv").read_bytes() == committed, f"data/{table}.csv differs"


def test_the_generator_writes_the_schema_columns_in_schema_order(repo: Project, small: Path) -> None:
    for table in TABLES:
        assert list(FIELDS[table]) == repo.tables[table].field_names
        with (small / f"{table}.csv").open("rb") as f:
            first = f.readline()
        assert first == (",".join(repo.tables[table].field_names) + "\n").encode()


@pytest.mark.parametrize("folder", ["sample", "small", "spread"])
def test_a_generated_package_is_consistent(folder: str, small: Path, tmp_path: Path) -> None:
    if folder == "sample":
        out, sizes = sample_data(), Sizes()
    elif folder == "small":
        out, sizes = small, SMALL
    else:
        out, sizes = tmp_path, SPREAD
        generate(out, sizes, seed=11)
    villages, grids, staff = read(out, "villages"), read(out, "grids"), read(out, "grid_staff")
    disclosures, petitions = read(out, "disclosures"), read(out, "petitions")
    assert [len(villages), len(grids), len(staff), len(disclosures), len(petitions)] == [
        sizes.villages,
        sizes.villages * sizes.grids_per_village,
        sizes.villages * sizes.grids_per_village * sizes.staff_per_grid,
        sizes.disclosures,
        sizes.petitions,
    ]
    codes = {v["village_code"] for v in villages}
    grid_village = {g["grid_id"]: g["village_code"] for g in grids}
    for key, rows in (
        ("village_code", villages),
        ("grid_id", grids),
        ("staff_id", staff),
        ("disclosure_id", disclosures),
        ("case_id", petitions),
    ):
        assert len({r[key] for r in rows}) == len(rows), f"{key} repeats"
    assert len({v["name"] for v in villages}) == len(villages)
    for v in villages:
        assert sum(int(g["households"]) for g in grids if g["village_code"] == v["village_code"]) == int(
            v["households"]
        )
    assert all(g["village_code"] in codes and g["grid_id"].startswith(g["village_code"] + "-") for g in grids)
    assert all(s["grid_id"] in grid_village for s in staff)
    assert all(d["village_code"] in codes for d in disclosures)
    for d in disclosures:
        if d["amount_yuan"]:
            amount = Decimal(d["amount_yuan"])
            assert amount >= 0 and amount == amount.quantize(Decimal("0.01")), d["amount_yuan"]
            assert d["direction"] in {"收入", "支出"}
        else:
            assert d["direction"] == ""
        assert "2024-01-01" <= d["published_on"] <= "2026-10-31"
        assert d["period"][:4] <= d["published_on"][:4]
    for p in petitions:
        assert p["village_code"] in codes
        assert p["grid_id"] == "" or grid_village[p["grid_id"]] == p["village_code"]
        assert p["case_id"][:4] == p["received_on"][:4]
        assert p["received_on"] <= p["resolved_on"]
        if p["followup_on"]:
            assert p["resolved_on"] <= p["followup_on"] and p["satisfaction"] != "未回访"
        else:
            assert p["satisfaction"] == "未回访"


def test_no_text_looks_like_an_id_number_a_mobile_number_a_formula_or_html(small: Path) -> None:
    for folder in (sample_data(), small):
        for table in TABLES:
            for row in read(folder, table):
                for column, value in row.items():
                    if column in PHONE_COLUMNS:
                        continue
                    assert not LOOKS_PERSONAL.search(value), (table, column, value)
                    assert not value.startswith(("=", "+", "-", "@")), (table, column, value)
                    assert "<" not in value and ">" not in value, (table, column, value)


def test_published_phones_are_visibly_fictional(small: Path) -> None:
    for folder in (sample_data(), small):
        for table, column in (
            ("villages", "office_phone"),
            ("villages", "supervision_phone"),
            ("grid_staff", "work_phone"),
        ):
            for row in read(folder, table):
                assert re.fullmatch(r"1380000[0-9]{4}|0000-66[0-9]{5}", row[column]), row[column]


def test_the_sample_township_shows_every_kind_of_record() -> None:
    data = sample_data()
    villages, grids, staff = read(data, "villages"), read(data, "grids"), read(data, "grid_staff")
    disclosures, petitions = read(data, "disclosures"), read(data, "petitions")
    assert Counter(v["kind"] for v in villages)["社区"] >= 1
    assert Counter(v["kind"] for v in villages)["村"] >= 2
    assert len(grids) >= 8 and len(staff) >= 40
    assert {s["role"] for s in staff} == ROLES
    assert len(disclosures) >= 150
    assert {d["category"] for d in disclosures} == {"党务公开", "村务公开", "财务公开"}
    assert len({d["published_on"][:4] for d in disclosures}) >= 2
    money = [d for d in disclosures if d["category"] == "财务公开"]
    assert {d["direction"] for d in money} == {"收入", "支出"}
    assert len(petitions) == 600
    assert {p["category"] for p in petitions} == PETITION_CATEGORIES
    assert {p["channel"] for p in petitions} == CHANNELS
    assert {p["satisfaction"] for p in petitions} == {"满意", "基本满意", "不满意", "未回访"}
    assert {p["received_on"][:4] for p in petitions} == {"2024", "2025", "2026"}
    text = "".join(p["summary"] for p in petitions)
    for word in ("低保", "路灯", "噪声", "宅基地", "征地补偿款", "集体土地", "自来水", "垃圾"):
        assert word in text, word


def test_most_petitions_are_resolved_within_a_week_and_land_cases_take_longer() -> None:
    def days(p: dict[str, str]) -> int:
        return (date.fromisoformat(p["resolved_on"]) - date.fromisoformat(p["received_on"])).days

    petitions = read(sample_data(), "petitions")
    land = [days(p) for p in petitions if p["category"] == "土地"]
    rest = [days(p) for p in petitions if p["category"] != "土地"]
    assert sum(d <= 7 for d in rest) / len(rest) > 0.6
    assert sorted(land)[len(land) // 2] > sorted(rest)[len(rest) // 2]


def test_the_generated_package_honours_the_contract_according_to_frictionless(
    small: Path, tmp_path: Path
) -> None:
    package = copy_package(ROOT, tmp_path / "pkg", data_from=small)
    report = frictionless.Package(str(package / "datapackage.json")).validate()
    assert report.valid, report.flatten(["taskNumber", "rowNumber", "fieldName", "type", "note"])[:10]


def test_villages_stay_unique_and_coded_by_township_at_county_scale() -> None:
    villages = layout(Sizes(villages=300), random.Random(1))
    assert len({v.short for v in villages}) == len({v.code for v in villages}) == 300
    assert {v.code[:9] for v in villages} == {f"990101{t}" for t in range(101, 121)}
    for v in villages:
        local = int(v.code[-3:])
        assert (1 <= local <= 199) if v.kind == "社区" else (201 <= local <= 399)


def test_sizes_the_identifiers_cannot_hold_are_refused_in_chinese(tmp_path: Path, capsys) -> None:
    assert generate_command(tmp_path / "out", Sizes(villages=0)) == 2
    assert "村（社区）数量" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failed_generation_leaves_the_previous_files_untouched(tmp_path: Path, capsys) -> None:
    generate(tmp_path, Sizes(villages=1, grids_per_village=1, staff_per_grid=1, disclosures=5, petitions=5))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    # Too many petitions a year for a 7-digit case number: found only when the petitions are written.
    assert generate_command(tmp_path, Sizes(villages=2, petitions=40_000_000)) == 2
    assert "诉求编号" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
