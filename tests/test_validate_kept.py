"""A file whose last version was found clean is validated by the records that changed since, and the
problems are exactly those a full validation finds: same files, rows, columns, messages, order."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.package import Project
from sunshine.problems import Report
from sunshine.validate import kept
from sunshine.validate.run import validate_project

from .conftest import ROOT, copy_package, sample_data

ID = "110105198001011238"


@pytest.fixture
def township(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """The generated township, validated once whole: every file is kept as clean."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    project = Project.load(copy_package(ROOT, tmp_path / "pkg", data_from=sample_data()))
    first = validate_project(project)
    assert first.problems == [] and first.stats["by_changes"] == {}
    return project


def rows_of(project: Project, table: str) -> list[list[str]]:
    with (project.root / "data" / f"{table}.csv").open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def write(project: Project, table: str, rows: list[list[str]]) -> None:
    with (project.root / "data" / f"{table}.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def both(project: Project) -> tuple[Report, Report]:
    """Validated by the changes (first) and whole (second): the problems must be the same."""
    changed = validate_project(project)
    whole = validate_project(project, by_changes=False)
    assert changed.problems == whole.problems
    return changed, whole


def flat(report: Report) -> list[tuple]:
    return [(p.file, p.row, p.column, p.code, p.message) for p in report.problems]


def test_an_unchanged_township_is_not_read_again(township):
    changed, _ = both(township)
    assert changed.problems == []
    assert set(changed.stats["by_changes"].values()) == {0}
    assert changed.stats["rows"] == validate_project(township, by_changes=False).stats["rows"]


def test_ten_rows_edited_added_and_deleted_are_all_that_is_checked(township):
    rows = rows_of(township, "petitions")
    rows[5][6] += "（更正）"
    rows[7][6] = '多行的"摘要"\n第二行，有逗号'
    rows.append([*rows[-1][:1], *rows[-1][1:]])
    rows[-1][0] = "2024-9999999"
    del rows[3]
    write(township, "petitions", rows)
    changed, whole = both(township)
    assert changed.problems == []
    assert changed.stats["by_changes"]["data/petitions.csv"] == 3
    assert changed.stats["rows"] == whole.stats["rows"]


def test_a_broken_cell_in_a_changed_row_is_found_at_its_row_after_rows_deleted_above(township):
    rows = rows_of(township, "petitions")
    del rows[2:6]  # rows 3 to 6 of the file
    rows[40][7] = "03/05/2024"  # now row 41 of the file
    rows[50][6] = f"身份证号 {ID}"
    write(township, "petitions", rows)
    changed, _ = both(township)
    assert changed.stats["by_changes"]["data/petitions.csv"] == 2
    assert [(p.row, p.column, p.code) for p in changed.errors] == [
        (41, "received_on", "type-error"),
        (51, "summary", "personal-id"),
    ]


def test_rows_added_first_and_last_and_deleted_first_and_last_keep_their_numbers(township):
    rows = rows_of(township, "petitions")
    first, last = rows[1], rows[-1]
    rows[1:2] = [[*first[:1], *first[1:]], [*first]]
    rows[1][0] = "2024-8888888"
    rows[1][8] = "不是日期"
    rows.pop()
    rows.append([*last[:7], "2024-02-30", *last[8:]])
    rows[-1][0] = "2024-7777777"
    del rows[2]  # the first row as it was
    write(township, "petitions", rows)
    changed, whole = both(township)
    assert changed.stats["by_changes"]["data/petitions.csv"] == 2
    assert [(p.row, p.column) for p in changed.errors] == [(2, "resolved_on"), (len(rows), "received_on")]
    assert changed.stats["rows"] == whole.stats["rows"]


def test_a_key_repeated_from_an_unchanged_row_is_found_at_either_side(township):
    rows = rows_of(township, "petitions")
    rows[10][0] = rows[300][0]  # the later row repeats the earlier one, and the other way round
    rows[500][0] = rows[20][0]
    write(township, "petitions", rows)
    changed, _ = both(township)
    assert changed.stats["by_changes"]["data/petitions.csv"] == 2
    assert [(p.row, p.code, p.message) for p in changed.errors] == [
        (301, "unique-error", "“诉求编号”与第 11 行重复"),
        (301, "primary-key", "主键“case_id”与第 11 行重复"),
        (501, "unique-error", "“诉求编号”与第 21 行重复"),
        (501, "primary-key", "主键“case_id”与第 21 行重复"),
    ]


def test_a_village_deleted_under_its_rows_breaks_their_foreign_keys(township):
    villages = rows_of(township, "villages")
    gone = villages.pop(2)[0]
    write(township, "villages", villages)
    changed, whole = both(township)
    assert changed.stats["by_changes"]["data/villages.csv"] == 0  # only deleted
    codes = {(p.file, p.code) for p in changed.errors}
    assert ("data/petitions.csv", "foreign-key") in codes
    assert ("data/grids.csv", "foreign-key") in codes
    petitions = rows_of(township, "petitions")
    assert len(
        [p for p in changed.errors if p.file == "data/petitions.csv" and p.code == "foreign-key"]
    ) == min(sum(1 for r in petitions[1:] if r[1] == gone), 100)
    assert flat(changed) == flat(whole)


def test_rows_with_too_few_or_too_many_cells_are_numbered_as_in_the_file(township):
    rows = rows_of(township, "petitions")
    rows[3][3] = "来\n信"  # one row over two lines: the rows below keep their numbers
    rows[8] = rows[8][:5]
    rows[9].append("多余")
    write(township, "petitions", rows)
    changed, _ = both(township)
    assert changed.stats["by_changes"]["data/petitions.csv"] == 3
    found = [(p.row, p.code) for p in changed.errors]
    assert found[:2] == [(4, "constraint-error"), (9, "missing-cell")]
    assert (10, "extra-cell") in found


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.replace("\n", "\n\n", 1), id="a blank line"),
        pytest.param(lambda t: t.replace("case_id", "编号", 1), id="a renamed column"),
        pytest.param(lambda t: t.replace(",来信,", ',"来信,', 1), id="a quote never closed"),
        pytest.param(lambda t: t.replace("2024-0000001", "2024-0000002", 1), id="a record twice"),
        pytest.param(
            lambda t: "\n".join([t.split("\n")[0], *reversed(t.rstrip("\n").split("\n")[1:])]) + "\n",
            id="rows sorted another way",
        ),
    ],
)
def test_what_is_not_a_change_of_whole_records_is_validated_whole(township, change):
    path = township.root / "data" / "petitions.csv"
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    if "2024-0000002" in text and text.count("2024-0000002,") == 2:  # make the two rows the same
        rows = rows_of(township, "petitions")
        rows[1] = rows[2]
        write(township, "petitions", rows)
    changed, whole = both(township)
    assert "data/petitions.csv" not in changed.stats["by_changes"]


def test_a_file_with_windows_line_ends_is_validated_whole(township):
    path = township.root / "data" / "petitions.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    changed, _ = both(township)
    assert "data/petitions.csv" not in changed.stats["by_changes"]
    assert changed.problems == []


def test_a_nul_byte_is_validated_whole(township):
    path = township.root / "data" / "petitions.csv"
    rows = rows_of(township, "petitions")
    rows[4][6] = "改了"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_bytes(buffer.getvalue().replace("改了", "\x00").encode("utf-8"))
    changed, _ = both(township)
    assert "data/petitions.csv" not in changed.stats["by_changes"]


def test_a_version_with_problems_is_not_kept_and_its_fix_is_checked_against_the_clean_one(township):
    rows = rows_of(township, "petitions")
    good = rows[9][7]
    rows[9][7] = "2024/13/45"
    write(township, "petitions", rows)
    broken, _ = both(township)
    assert [(p.row, p.column) for p in broken.errors] == [(10, "received_on")]
    rows[9][7] = good
    rows[12][6] += "。"
    write(township, "petitions", rows)
    fixed, _ = both(township)
    assert fixed.problems == []
    assert fixed.stats["by_changes"]["data/petitions.csv"] == 1  # against the first version


def test_keys_kept_are_renumbered_for_the_next_commit(township):
    for n in range(3):
        rows = rows_of(township, "petitions")
        del rows[1 + n]
        rows[100][0] = rows[200 + n][0]  # a repeated key, found at the same row each time
        write(township, "petitions", rows)
        changed, _ = both(township)
        assert [(p.row, p.code) for p in changed.errors] == [
            (200 + n + 1, "unique-error"),
            (200 + n + 1, "primary-key"),
        ]
        rows[100][0] = f"2024-99{n:05d}"
        write(township, "petitions", rows)
        changed, _ = both(township)
        assert changed.problems == []


def test_a_fresh_machine_keeps_nothing_and_validates_whole(township, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "elsewhere"))
    rows = rows_of(township, "petitions")
    rows[3][7] = "昨天"
    write(township, "petitions", rows)
    changed, _ = both(township)
    assert changed.stats["by_changes"] == {}
    assert [(p.row, p.column) for p in changed.errors] == [(4, "received_on")]


def test_a_change_of_the_schemas_or_code_starts_again_from_a_full_validation(township):
    before = kept.fingerprint(township)
    schema = township.root / "schemas" / "petitions.schema.json"
    schema.write_text(schema.read_text(encoding="utf-8").replace("受理日期", "收到日期"), encoding="utf-8")
    changed_schema = Project.load(township.root)
    assert kept.fingerprint(changed_schema) != before
    changed, _ = both(changed_schema)
    assert changed.stats["by_changes"] == {}


def test_a_schema_broken_after_a_clean_validation_is_reported(township):
    schema = township.root / "schemas" / "petitions.schema.json"
    schema.write_text(
        schema.read_text(encoding="utf-8").replace('"type": "date"', '"type": "day"', 1), encoding="utf-8"
    )
    changed, whole = both(Project.load(township.root))
    assert [(p.file, p.code) for p in changed.problems] == [("schemas/petitions.schema.json", "schema-error")]


def test_validate_whole_reads_every_file_again_with_the_same_outcome(township, monkeypatch):
    rows = rows_of(township, "petitions")
    rows[6][7] = "2024-13-01"
    write(township, "petitions", rows)
    monkeypatch.chdir(township.root)
    by_changes = CliRunner().invoke(cli, ["validate", "--format", "json"])
    whole = CliRunner().invoke(cli, ["validate", "--whole", "--format", "json"])
    assert by_changes.exit_code == whole.exit_code == 1, whole.output
    first, second = json.loads(by_changes.output), json.loads(whole.output)
    assert first["stats"]["by_changes"]["data/petitions.csv"] == 1
    assert second["stats"]["by_changes"] == {}
    assert (first["errors"], first["warnings"]) == (second["errors"], second["warnings"])
