"""Built databases and a running Datasette for the portal tests, made once per test session."""

from __future__ import annotations

import csv
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import httpx

from sunshine.database.build import build_database
from sunshine.package import Project
from sunshine.serve.run import datasette_command, wait_for_port, write_inspect_file

from .conftest import ROOT, copy_package

FORMULA = '=HYPERLINK("http://example.invalid","点击")'


@cache
def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="sunshine-portal-"))


@cache
def sample_project() -> Project:
    """A copy of the repository's sample data package."""
    return Project.load(copy_package(ROOT, workdir() / "sample"))


@cache
def sample_database() -> Path:
    project = sample_project()
    target = project.build_dir / "sunshine.db"
    build_database(project, target)
    return target


@cache
def formula_database() -> Path:
    """The sample data with a spreadsheet formula in a petition summary, validation bypassed."""
    root = copy_package(ROOT, workdir() / "formula")
    path = root / "data" / "petitions.csv"
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows[1][rows[0].index("summary")] = FORMULA
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(rows)
    target = root / "build" / "formula.db"
    build_database(Project.load(root), target)
    return target


def read_csv(project: Project, table: str) -> list[dict[str, str]]:
    with (project.root / project.tables[table].path).open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    stderr: Path
    time_limit_ms: int

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


@contextmanager
def running_datasette(databases: list[Path], *, time_limit_ms: int) -> Iterator[Server]:
    """Datasette started exactly as `sunshine serve` starts it, on a free port."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="datasette-", dir=workdir()))
    inspect_file = write_inspect_file(databases, folder / "inspect.json")
    cmd = datasette_command(
        databases, metadata=ROOT / "metadata.json", inspect_file=inspect_file, host="127.0.0.1", port=port
    )
    cmd[cmd.index("sql_time_limit_ms") + 1] = str(time_limit_ms)
    stderr = folder / "stderr.txt"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        try:
            if not wait_for_port("127.0.0.1", port, timeout=60, proc=proc):
                raise RuntimeError(stderr.read_text(encoding="utf-8"))
            yield Server(url=f"http://127.0.0.1:{port}", stderr=stderr, time_limit_ms=time_limit_ms)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
