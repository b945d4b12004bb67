"""No resident's number anywhere we publish: every output of a build of a poisoned repository is scanned.

A clerk commits personal numbers, disguised every way we know, in every column of every table (keys
included) with a commit message naming them, then removes them; a second slip leaves them in the text
and number columns of the working tree. Whatever validation would say, each stage is run on it:
history.db, the site with its change pages, feed and downloads, `sunshine diff`, `sunshine validate`
in every format and the pull-request summary. None of them may hold a poisoned number in any form.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner

from sunshine.cli import cli
from sunshine.package import Project
from sunshine.privacy import find_personal, normalise
from sunshine.site.build import build_site

from .git_fixture import ROOT, commit, git, make_repo

ID = "110105198001011238"
MOBILE = "13912345601"
CARD = "6222021234567890128"
EMAIL = "zhang.san@example.com"
SECRETS = (ID, MOBILE, CARD, ID[:6] + ID[8:14] + "123")  # the last: the ID in its old 15-digit form
DISGUISES = [
    ID,
    f"+86 {MOBILE[:3]} {MOBILE[3:7]} {MOBILE[7:]}",
    f"{MOBILE[:3]}.{MOBILE[3:7]}.{MOBILE[7:]}",
    f"{MOBILE[:3]}\u00a0{MOBILE[3:7]}\u00a0{MOBILE[7:]}",
    f"0086{MOBILE[:3]}\u200b{MOBILE[3:]}",
    "一三九一二三四五六〇一",
    f"{ID[:6]}.{ID[6:14]}.{ID[14:]}",
    f"{ID[:9]}\n{ID[9:]}",
    "6222 0212 3456 7890 128",
    ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}),
    f"联系人 {EMAIL}",
    f"¥{ID}",
    SECRETS[3],
]
MESSAGE = f"录入诉求（联系人身份证 {ID}，电话 {MOBILE}，卡号 6222 0212 3456 7890 128）"


def _rewrite(path: Path, poison) -> None:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    header, body = rows[0], rows[1:]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i, row in enumerate(body):
        writer.writerow(
            [poison(i, j, name, cell) for j, (name, cell) in enumerate(zip(header, row, strict=True))]
        )
    path.write_text(out.getvalue(), encoding="utf-8")


def leaks(text: str) -> list[str]:
    """Poisoned numbers in a text, however they are written; and any ID number or bank card at all."""
    digits = normalise(text).replace("\x1f", "")
    found = [s for s in SECRETS if s in digits]
    if EMAIL.split("@")[0] in text:
        found.append(EMAIL)
    found += [f.masked for f in find_personal(text, phones_allowed=True) if f.kind not in ("email", "id-old")]
    return found


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("poisoned") / "repo"
    hashes = make_repo(repo)
    git(repo, "update-ref", "refs/remotes/origin/main", hashes["first"])
    shutil.copy(ROOT / "mkdocs.yml", repo / "mkdocs.yml")
    shutil.copytree(ROOT / "content", repo / "content")
    clean = {p.name: p.read_text(encoding="utf-8") for p in (repo / "data").glob("*.csv")}
    project = Project.load(repo)
    # 1. every column of every table, keys too, committed with a message that names the numbers
    for table in project.tables.values():
        _rewrite(repo / table.path, lambda i, j, name, cell: DISGUISES[(i + j) % len(DISGUISES)])
    commit(repo, MESSAGE, "2024-06-10T09:00:00+08:00")
    for name, text in clean.items():
        (repo / "data" / name).write_text(text, encoding="utf-8")
    commit(repo, "Remove the personal data entered by mistake", "2024-06-11T09:00:00+08:00")
    # 2. text and number columns of the working tree (keys and codes left, so pages can be made)
    for table in project.tables.values():
        poison_fields = {
            f["name"]
            for f in table.fields
            if f["name"] not in table.primary_key
            and f.get("type") in ("string", "integer", "number")
            and not f.get("constraints", {}).get("pattern")
            and not f.get("constraints", {}).get("enum")
        }
        _rewrite(
            repo / table.path,
            lambda i, j, name, cell, keep=poison_fields: (
                DISGUISES[(i + j) % len(DISGUISES)] if name in keep else cell
            ),
        )
    return repo


def _database_text(path: Path) -> str:
    """Every cell of every table of an SQLite file, one a line and fenced ("|"), so cells never run together."""
    if path.read_bytes()[:16] != b"SQLite format 3\x00":
        return ""
    with closing(sqlite3.connect(path)) as conn:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
        cells: list[str] = []
        for name in names:
            for row in conn.execute(f"select * from [{name}]"):
                cells += [f"|{cell}|" for cell in row if isinstance(cell, str)]
    return "\n".join(cells)


def _stage(repo: Path, *args: str) -> str:
    cwd = os.getcwd()
    os.chdir(repo)
    try:
        result = CliRunner().invoke(cli, list(args))
    finally:
        os.chdir(cwd)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


@pytest.fixture(scope="module")
def outputs(poisoned: Path) -> dict[str, str]:
    """Every artifact and message of the build and the checks, by name."""
    out: dict[str, str] = {}
    project = Project.load(poisoned)
    out["build --only history"] = _stage(poisoned, "build", "--only", "history")
    from sunshine.build import run_stage

    out["history stage"] = run_stage(project, "history", datasette_url="http://127.0.0.1:8001")
    build_site(project, poisoned / "build" / "site", datasette_url="http://127.0.0.1:8001")
    for path in sorted((poisoned / "build").rglob("*")):
        if path.is_file() and "jieba" not in path.parts:  # jieba's own word list, not published
            out[str(path.relative_to(poisoned))] = _database_text(path) or path.read_bytes().decode(
                "utf-8", "ignore"
            )
    for fmt in ("text", "json", "github"):
        out[f"validate {fmt}"] = _stage(poisoned, "validate", "--format", fmt)
    for fmt in ("text", "markdown"):
        out[f"diff {fmt}"] = _stage(poisoned, "diff", "--base", "published", "--format", fmt)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUNSHINE_")) and k != "CI"}
    env |= {"SUNSHINE_PROJECT_DIR": str(poisoned), "SUNSHINE_PR_CHECK_TESTS": "0"}
    proc = subprocess.run(
        [str(ROOT / "scripts" / "pr-check")],
        cwd=poisoned,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out["pr-check"] = proc.stdout + proc.stderr
    return out


def test_the_poison_reached_every_stage(poisoned: Path, outputs: dict[str, str]):
    assert "build/history.db" in outputs
    assert "build/site/feed.xml" in outputs
    assert "build/site/downloads/petitions.csv" in outputs
    assert any(name.startswith("build/site/changes/") for name in outputs)
    assert "110105********1238" in outputs["build/history.db"]
    assert "110105********1238" in outputs["validate text"]
    assert "139****5601" in outputs["diff text"]
    assert "# 数据检查结果" in outputs["pr-check"]
    assert "110105********1238" in outputs["build/site/downloads/petitions.csv"]


def test_no_output_holds_a_personal_number_in_any_form(outputs: dict[str, str]):
    found = {name: leaks(text) for name, text in outputs.items()}
    assert {name: f for name, f in found.items() if f} == {}


def test_commit_messages_are_masked_in_the_history_and_on_the_change_pages(outputs: dict[str, str]):
    assert (
        "录入诉求（联系人身份证 110105********1238，电话 139****5601，卡号 622202*********0128）"
        in (outputs["build/history.db"])
    )
    page = outputs["build/site/changes/petitions/index.html"]
    assert "录入诉求（联系人身份证 110105" in page


def test_a_change_page_says_when_a_record_key_had_to_be_masked(outputs: dict[str, str]):
    page = outputs["build/site/changes/petitions/index.html"]
    assert "编号中含有个人信息，已部分隐去" in page
