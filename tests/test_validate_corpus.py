"""The broken-file corpus: each CSV in tests/broken/<table>/ replaces that table of the fixture package
and must produce exactly the problems tests/broken/cases.json lists for it. Frictionless must agree on
every problem of a kind Frictionless knows."""

from __future__ import annotations

import json
import os
import random
import shutil
import warnings
from pathlib import Path

import pytest
from frictionless import validate as frictionless_validate

from sunshine.package import Project
from sunshine.validate import scan
from sunshine.validate.run import validate_project

from .conftest import FIXTURE, ROOT, copy_package

BROKEN = Path(__file__).resolve().parent / "broken"
CASES = json.loads((BROKEN / "cases.json").read_text(encoding="utf-8"))
FILES = sorted(BROKEN.glob("*/*.csv"))
FRICTIONLESS_TYPES = {
    "type-error",
    "constraint-error",
    "unique-error",
    "primary-key",
    "foreign-key",
    "missing-cell",
    "extra-cell",
    "blank-row",
    "incorrect-label",
    "missing-label",
    "extra-label",
    "blank-label",
    "duplicate-label",
    "encoding-error",
}
# Errors about a whole row: Frictionless names no field, the report names the key column.
ROW_ERRORS = {"primary-key", "foreign-key", "extra-cell"}


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def package_with(case: Path, target: Path) -> Project:
    root = copy_package(ROOT, target, data_from=FIXTURE / "data")
    shutil.copy(case, root / "data" / f"{case.parent.name}.csv")
    return Project.load(root)


def test_every_broken_file_is_listed_and_every_listed_case_exists():
    assert sorted(case_id(f) for f in FILES) == sorted(CASES)


def test_the_corpus_has_at_least_forty_broken_files_and_some_that_must_pass():
    broken = [k for k, v in CASES.items() if v["errors"]]
    accepted = [k for k, v in CASES.items() if not v["errors"]]
    assert len(broken) >= 40
    assert {"petitions/ok-bom.csv", "petitions/ok-crlf.csv", "petitions/ok-multiline-cell.csv"} <= set(
        accepted
    )


@pytest.mark.parametrize("case", FILES, ids=case_id)
def test_broken_file_produces_exactly_the_listed_problems(case: Path, tmp_path: Path):
    project = package_with(case, tmp_path / "pkg")
    report = validate_project(project)
    own = f"data/{case.parent.name}.csv"
    found = [[p.code, p.row, p.column] + ([p.file] if p.file != own else []) for p in report.problems]
    assert found == CASES[case_id(case)]["errors"]
    assert report.valid == CASES[case_id(case)].get("valid", not CASES[case_id(case)]["errors"])


def _frictionless_errors(root: Path) -> set[tuple]:
    cwd = os.getcwd()
    os.chdir(root)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = frictionless_validate("datapackage.json")
    finally:
        os.chdir(cwd)
    out = set()
    for task in report.tasks:
        for e in task.errors:
            row = getattr(e, "row_number", None) or (1 if e.type.endswith("label") else None)
            field = None if e.type in ROW_ERRORS else (getattr(e, "field_name", None) or None)
            out.add((f"data/{task.name}.csv", e.type, row, field))
    return out


COMPARABLE = [f for f in FILES if "frictionless" not in CASES[case_id(f)]]


@pytest.mark.parametrize("case", COMPARABLE, ids=case_id)
def test_frictionless_finds_the_same_errors_of_the_kinds_it_knows(case: Path, tmp_path: Path):
    project = package_with(case, tmp_path / "pkg")
    ours = {
        (p.file, p.code, p.row, None if p.code in ROW_ERRORS else p.column)
        for p in validate_project(project).problems
        if p.code in FRICTIONLESS_TYPES
    }
    assert ours == _frictionless_errors(project.root)


def test_the_fixture_package_is_valid_for_frictionless_too(fixture_package: Project):
    assert validate_project(fixture_package).problems == []
    assert _frictionless_errors(fixture_package.root) == set()


def test_cases_where_frictionless_differs_say_why():
    differs = {name: case["errors"][0][0] for name, case in CASES.items() if "frictionless" in case}
    assert differs == {
        "disclosures/amount-snan.csv": "not-a-number",
        "grids/chinese-header.csv": "header-title",
        "grids/duplicate-label.csv": "duplicate-label",
        "grids/mixed-encoding.csv": "encoding-error",
        "villages/gbk.csv": "encoding",
        "villages/utf16.csv": "encoding-error",
        "petitions/unclosed-quote.csv": "unclosed-quote",
        "petitions/unclosed-quote-in-last-row.csv": "unclosed-quote",
        "petitions/unclosed-quote-after-a-wrong-cell.csv": "unclosed-quote",
        "petitions/unclosed-quote-after-a-quoted-cell-with-commas.csv": "unclosed-quote",
        "petitions/unclosed-quote-in-the-next-to-last-column.csv": "unclosed-quote",
        "grids/unclosed-quote-in-the-last-column.csv": "unclosed-quote",
    }


def _break(rng: random.Random, line: str) -> str:
    """One of the faults the corpus holds, at random, or none."""
    faults = [
        lambda s: "",
        lambda s: ",,,,,,,,,,,,",
        lambda s: s + ",x",
        lambda s: s.rsplit(",", 1)[0],
        lambda s: s.replace(",2024-0", ",2024/0", 1),
        lambda s: s.replace("，", ",", 1),
        lambda s: s.replace(",满意", ",很满意"),
        lambda s: s.replace(",村", ',"村\n', 1).replace("。,", '。",', 1),
        lambda s: s.replace("000000101001,", "000000101009,", 1),
        lambda s: s.replace("-01,", "-07,", 1),
        lambda s: "2024-0000001" + s[12:],
        lambda s: s.replace(",2024-05-", ",2024-13-", 1),
        lambda s: "\u3000" + s,
    ]
    return rng.choice(faults)(line) if rng.random() < 0.4 else line


@pytest.mark.parametrize(("seed", "block"), [(1, None), (2, 4096)], ids=["one-batch", "many-small-batches"])
def test_frictionless_agrees_on_a_table_with_faults_at_random_rows(
    seed: int, block: int | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    if block:  # rows numbered across many reader blocks and vectorised chunks
        monkeypatch.setattr(scan, "BLOCK", block)
        monkeypatch.setattr(scan, "CHUNK_ROWS", 20)
    rng = random.Random(seed)
    header, *rows = (FIXTURE / "data" / "petitions.csv").read_text(encoding="utf-8").splitlines()
    lines = [_break(rng, f"2024-{i:07d}" + rng.choice(rows)[12:]) for i in range(10, 300)]
    root = copy_package(ROOT, tmp_path / "pkg", data_from=FIXTURE / "data")
    (root / "data" / "petitions.csv").write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    report = validate_project(Project.load(root))
    assert not [p for p in report.problems if p.code == "error-limit"]
    ours = {
        (p.file, p.code, p.row, None if p.code in ROW_ERRORS else p.column)
        for p in report.problems
        if p.code in FRICTIONLESS_TYPES
    }
    assert len(ours) > 50
    assert ours == _frictionless_errors(root)
