"""The tests hold for any township: with a different generated township in data/, the whole suite passes.

A township replaces data/ (and sets site.sample = false); nothing but the checks marked demo-only may
read it. This test copies the repository, swaps in another township and runs every other test there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sunshine.sample.generate import Sizes, generate
from sunshine.settings import load, render

from .conftest import ROOT

INNER = "SUNSHINE_SUITE_IN_OTHER_TOWNSHIP"


def tracked_copy(target: Path) -> Path:
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    for name in ("node_modules", ".venv"):
        (target / name).symlink_to(ROOT / name)
    return target


@pytest.mark.skipif(bool(os.environ.get(INNER)), reason="already running inside the other township")
def test_the_whole_suite_passes_with_another_township_in_data(tmp_path: Path) -> None:
    root = tracked_copy(tmp_path / "township")
    shutil.rmtree(root / "data")
    generate(
        root / "data",
        Sizes(villages=4, grids_per_village=2, staff_per_grid=3, disclosures=40, petitions=90),
        seed=4242,
    )
    values = dict(load(root, environ={}).values) | {
        "township.name": "白沙镇",
        "township.county": "临水县",
        "site.sample": False,
    }
    (root / "sunshine.toml").write_text(render(values), encoding="utf-8")
    # As a township does after editing sunshine.toml: the portal's metadata names the site.
    subprocess.run(
        [str(Path(sys.executable).parent / "sunshine"), "metadata"], cwd=root, check=True, capture_output=True
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUNSHINE_", "PYTEST_"))}
    env[INNER] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-n", "2", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
