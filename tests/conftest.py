"""Shared fixtures: the repository, and throwaway copies of a data package to break or change."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cache
from pathlib import Path

import pytest

from sunshine.package import Project
from sunshine.sample.generate import DEFAULT_SEED, Sizes, generate

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixture"
# The demonstration township: `data/` holds it only while sunshine.toml says site.sample = true. A real
# township replaces data/, so tests read the sample from the generator, never from data/.
DEMO = Project.load(ROOT).settings.sample
demo_only = pytest.mark.skipif(not DEMO, reason="data/ 是本乡镇的真实数据，不是示例数据")


@cache
def sample_data() -> Path:
    """The demonstration township as `sunshine generate` writes it by default (once per test process)."""
    out = Path(tempfile.mkdtemp(prefix="sunshine-sample-")) / "data"
    generate(out, Sizes(), seed=DEFAULT_SEED)
    return out


# Site builds in the tests print no 公开栏 PDFs (slow); tests/test_noticeboard.py prints its own.
os.environ.setdefault("SUNSHINE_CHROMIUM", "")


def copy_package(source: Path, target: Path, *, data_from: Path | None = None) -> Path:
    """Copy the descriptor and schemas of the repository, and the CSVs of `data_from`, into target.

    Without `data_from`, the repository's package gets the generated sample, not whatever data/ holds.
    """
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "datapackage.json", target / "datapackage.json")
    shutil.copytree(ROOT / "schemas", target / "schemas")
    if data_from is None:
        data_from = sample_data() if Path(source).resolve() == ROOT else Path(source) / "data"
    shutil.copytree(data_from, target / "data")
    return target


@pytest.fixture
def repo() -> Project:
    """The repository itself, with its sample data."""
    return Project.load(ROOT)


@pytest.fixture
def fixture_package(tmp_path: Path) -> Project:
    """A writable copy of the small fixture package (tests/fixture/data)."""
    return Project.load(copy_package(ROOT, tmp_path / "pkg", data_from=FIXTURE / "data"))


@pytest.fixture
def sample_package(tmp_path: Path) -> Project:
    """A writable copy of the repository's package with the generated sample data."""
    return Project.load(copy_package(ROOT, tmp_path / "pkg"))
