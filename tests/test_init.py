"""`sunshine init` turns a clone of the sample into a township's own project: after it, one village's
rows, validate, build and serve, and nothing of the sample (text, names, the 示例数据 banner) is left
anywhere in what is published."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sunshine.package import Project
from sunshine.serve.run import wait_for_port

from .conftest import ROOT, demo_only
from .portal_support import free_port

GIT_ENV = {
    "GIT_AUTHOR_NAME": "白沙镇党政办",
    "GIT_AUTHOR_EMAIL": "dzb@example.gov.cn",
    "GIT_COMMITTER_NAME": "白沙镇党政办",
    "GIT_COMMITTER_EMAIL": "dzb@example.gov.cn",
}
VILLAGE = "330100200001,白鹭村,村,白沙镇,临江县,320,1050,陈立新,周红梅,0571-85001001,0571-85001999,白沙镇白鹭村村委会\n"
FILES = (
    "datapackage.json",
    "schemas",
    "data",
    "content",
    "mkdocs.yml",
    "metadata.json",
    "sunshine.toml",
    "deadlines.toml",
)

# `sunshine init` turns a clone of the sample into a township's own project: a township's own repository
# has been initialised already.
pytestmark = demo_only


def sunshine(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV}
    for name in list(env):
        if name.startswith("SUNSHINE_"):
            del env[name]
    return subprocess.run(
        [sys.executable, "-m", "sunshine.cli", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,  # never a terminal: a prompt is never answered
    )


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, capture_output=True, text=True, check=True
    ).stdout


def sample_words() -> set[str]:
    """What only the sample says: its marks, its township and county, its villages' and people's names."""
    words = {"示例数据", "示例", "虚构", "fictional", "sample data"}
    settings = Project.load(ROOT).settings
    words |= {settings.township, settings.county}
    for table, column in (("villages", "name"), ("grids", "name"), ("grid_staff", "name")):
        with (ROOT / "data" / f"{table}.csv").open(encoding="utf-8-sig", newline="") as f:
            words |= {row[column] for row in csv.DictReader(f)}
    return {w for w in words if w}


@pytest.fixture(scope="module")
def township(tmp_path_factory) -> Path:
    """A clone of the sample (with a history), initialised as 临江县白沙镇 with one village."""
    root = tmp_path_factory.mktemp("init") / "baisha"
    root.mkdir()
    for name in FILES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Sample township")
    done = sunshine(
        root,
        "init",
        "--township",
        "白沙镇",
        "--county",
        "临江县",
        "--site-url",
        "https://ygcw.baisha.example.gov.cn/",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with (root / "data" / "villages.csv").open("a", encoding="utf-8") as f:
        f.write(VILLAGE)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Add 白鹭村")
    return root


def test_init_writes_the_settings_and_starts_the_history_at_its_own_commit(township):
    settings = Project.load(township).settings
    assert (settings.township, settings.county, settings.title) == ("白沙镇", "临江县", "白沙镇阳光村务")
    assert settings.site_url == "https://ygcw.baisha.example.gov.cn/"
    assert settings.datasette_url == "https://ygcw.baisha.example.gov.cn/data"
    assert settings.sample is False
    subjects = git(township, "log", "--format=%H %s").splitlines()
    start = next(line.split()[0] for line in subjects if "own data" in line and line.split()[1] == "Start")
    assert settings.history_start == start


def test_init_leaves_only_headers_and_moves_the_sample_pages_out(township):
    project = Project.load(township)
    for name, table in project.tables.items():
        lines = (township / table.path).read_text(encoding="utf-8").splitlines()
        assert lines[0].split(",") == table.field_names, name
        assert len(lines) == (2 if name == "villages" else 1), name
    assert not (township / "content" / "villages").exists()
    assert sorted(p.name for p in (township / "examples/content/villages").iterdir())
    assert not (township / "deadlines.toml").exists()
    assert (township / "examples/deadlines.toml").is_file()


def test_init_prints_a_checklist_and_refuses_to_run_twice(township):
    done = sunshine(
        township, "init", "--township", "白沙镇", "--county", "临江县", "--site-url", "https://x.example/"
    )
    assert done.returncode == 2
    assert "已经初始化过" in done.stderr


def test_after_init_nothing_of_the_sample_is_validated_built_or_served(township):
    assert sunshine(township, "validate").returncode == 0
    port, datasette_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUNSHINE_")}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sunshine.cli",
            "serve",
            "--port",
            str(port),
            "--datasette-port",
            str(datasette_port),
        ],
        cwd=township,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        assert wait_for_port("127.0.0.1", port, timeout=180, proc=server)
        assert wait_for_port("127.0.0.1", datasette_port, timeout=60, proc=server)
        site, portal = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{datasette_port}"
        pages = {
            site + "/": "白沙镇阳光村务",
            site + "/villages/330100200001/": "白鹭村",
            site + "/catalog/": "数据目录",
            site + "/about/": "关于本站",
            site + "/feed.xml": "阳光村务",
            portal + "/": "白沙镇",
            portal + "/sunshine/villages": "白鹭村",
            portal + "/history": "修改历史",
        }
        served = {}
        with httpx.Client(timeout=30) as client:
            for url, expected in pages.items():
                r = client.get(url)
                assert r.status_code == 200, url
                assert expected in r.text, url
                served[url] = r.text
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=30)
    left = {}
    words = sample_words()
    built = [
        p for p in (township / "build" / "site").rglob("*") if p.suffix in {".html", ".xml", ".json", ".csv"}
    ]
    texts = {str(p.relative_to(township)): p.read_text(encoding="utf-8", errors="replace") for p in built}
    texts.update(served)
    texts["metadata.json"] = (township / "metadata.json").read_text(encoding="utf-8")
    for where, text in texts.items():
        found = sorted(w for w in words if w in text)
        if found:
            left[where] = found
    assert left == {}


def test_init_without_a_terminal_and_without_an_option_says_so_in_chinese(tmp_path):
    root = tmp_path / "township"
    root.mkdir()
    for name in FILES:
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    done = sunshine(root, "init", "--township", "白沙镇", "--county", "临江县")  # no --site-url, no stdin
    assert done.returncode == 2
    assert done.stderr == "错误：没有得到回答：请在终端中运行，或在命令行中给出全部选项（见 --help）。\n"
    assert "Aborted" not in done.stdout + done.stderr
