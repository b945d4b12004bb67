"""Validation speed and memory on a county-scale package, against `sqlite3 .import` of the same file.

Every figure is measured in this run: the validation runs in a child process so that its peak memory
(ru_maxrss of the child) is its own.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sunshine.bench.reference import RUNS, import_seconds
from sunshine.package import Project

CHILD = """
import sys
from sunshine.package import Project
from sunshine.validate.run import validate_project
report = validate_project(Project.load(sys.argv[1]), max_bytes=1 << 40)
print(len(report.errors), len(report.problems))
"""


def _timed(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall time, peak RSS in MB of the child, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: report it only when this child raised it.
    return seconds, (peak if peak > before else before) // 1024, done.stdout.strip()


def _frictionless_slice(project: Project, rows: int) -> float:
    """Plain Frictionless on the first `rows` petitions with the other tables, for scale."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(project.root / "datapackage.json", root)
        shutil.copytree(project.root / "schemas", root / "schemas")
        shutil.copytree(project.root / "data", root / "data", ignore=shutil.ignore_patterns("petitions.csv"))
        with (
            open(project.root / "data" / "petitions.csv", "rb") as src,
            open(root / "data" / "petitions.csv", "wb") as dst,
        ):
            for i, line in enumerate(src):
                if i > rows:
                    break
                dst.write(line)
        code = "import frictionless, sys; r = frictionless.validate('datapackage.json'); print(r.valid)"
        seconds, _, _ = _timed([sys.executable, "-c", code], root)
    return seconds


def run(project: Project, *, frictionless_rows: int = 100_000) -> None:
    data = project.root / "data"
    for table in project.tables.values():
        path = project.root / table.path
        with open(path, "rb") as f:
            lines = sum(1 for _ in f) - 1
        print(f"{table.path:28} {path.stat().st_size / 1e6:9.1f} MB {lines:>11,} lines")

    seconds, peak_mb, out = _timed([sys.executable, "-c", CHILD, str(project.root)], project.root)
    errors, problems = out.split()
    print(
        f"sunshine validate (every check, whole package): {seconds:.1f} s, peak {peak_mb} MB, "
        f"{errors} errors, {problems} problems"
    )

    sqlite = shutil.which("sqlite3")
    if sqlite:
        base = import_seconds(project.root / "data" / "petitions.csv")
        print(f"sqlite3 :memory: .import --csv data/petitions.csv: {base:.1f} s (median of {RUNS})")
        print(f"ratio validate / sqlite import: {seconds / base:.2f}× (target ≤ 2×)")
    else:
        print("sqlite3 not found: no baseline")

    if frictionless_rows and (data / "petitions.csv").exists():
        fr = _frictionless_slice(project, frictionless_rows)
        print(f"frictionless validate, package with the first {frictionless_rows:,} petitions: {fr:.1f} s")
