"""Benchmark validation of pathological files (python -m sunshine.bench --only shapes).

Each case replaces petitions.csv of a copy of the package with one broken file and runs
`sunshine validate` in a fresh process: wall time and peak resident memory of that process
(most of it the imports), against the same run on the unbroken package as the reference.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sunshine.package import Project


def _cases(header: str, rows: list[str]) -> dict[str, Callable[[], str]]:
    body = rows[:20_000]
    summary = header.split(",").index("summary")

    def with_summary(value: str) -> str:
        cells = rows[1].split(",")
        cells[summary] = value
        return ",".join(cells)

    return {
        "reference: 20,000 valid rows": lambda: "\n".join([header, *body]) + "\n",
        "header of 400,000 columns": lambda: ",".join(["abc"] * 400_000) + "\n" + "\n".join(body) + "\n",
        "row of 400,000 cells": lambda: (
            "\n".join([header, *body[:10], ",".join(["abc"] * 400_000), *body[10:]]) + "\n"
        ),
        "4 MB cell": lambda: "\n".join([header, *body, with_summary("很长" * 700_000), *body]) + "\n",
        "unclosed quote": lambda: "\n".join([header, *body, with_summary('"没有结尾'), *body]) + "\n",
    }


def _validate(root: Path) -> tuple[float, int, str]:
    code = (
        "import resource, sys, time\n"
        "from sunshine.package import Project\n"
        "from sunshine.validate.run import validate_project\n"
        "t = time.perf_counter()\n"
        "report = validate_project(Project.load(sys.argv[1]))\n"
        "seconds = time.perf_counter() - t\n"
        "first = next((p for p in report.problems if p.file == 'data/petitions.csv'), None)\n"
        "what = f'{first.code} row {first.row}' if first else 'valid'\n"
        "print(f'{seconds} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} {what}')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=True)
    seconds, kb, what = done.stdout.split(" ", 2)
    return float(seconds), int(kb) * 1024, what.strip()


def run(project: Project) -> None:
    work = project.root / "build" / "bench-shapes"
    shutil.rmtree(work, ignore_errors=True)
    source = (project.root / project.tables["petitions"].path).read_text(encoding="utf-8")
    header, *rows = source.rstrip("\n").split("\n")
    print(f"{'file':<30}{'MB':>6}{'validate s':>12}{'peak MB':>9}  first problem")
    for name, make in _cases(header, rows).items():
        root = work / "pkg"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(project.root / "schemas", root / "schemas")
        shutil.copy(project.root / "datapackage.json", root / "datapackage.json")
        (root / "data").mkdir()
        for table in project.tables.values():
            if table.name != "petitions":
                shutil.copy(project.root / table.path, root / table.path)
        target = root / project.tables["petitions"].path
        target.write_text(make(), encoding="utf-8")
        t0 = time.perf_counter()
        seconds, peak, what = _validate(root)
        wall = time.perf_counter() - t0
        size = target.stat().st_size / 2**20
        print(f"{name:<30}{size:6.1f}{seconds:12.2f}{peak / 2**20:9.0f}  {what}  (process {wall:.1f} s)")
    if os.environ.get("SUNSHINE_BENCH_KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
