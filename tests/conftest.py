"""Shared fixtures: the repository, and throwaway copies of a data package to break or change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from sunshine.package import Project

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixture"

# Site builds in the tests print no 公开栏 PDFs (slow); tests/test_noticeboard.py prints its own.
os.environ.setdefault("SUNSHINE_CHROMIUM", "")


def copy_package(source: Path, target: Path, *, data_from: Path | None = None) -> Path:
    """Copy the descriptor and schemas of the repository, and the CSVs of `data_from`, into target."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "datapackage.json", target / "datapackage.json")
    shutil.copytree(ROOT / "schemas", target / "schemas")
    shutil.copytree(data_from or source / "data", target / "data")
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
    """A writable copy of the repository's sample data package."""
    return Project.load(copy_package(ROOT, tmp_path / "pkg"))
