"""Run every benchmark on one generated county-scale data set and print the figures.

python -m sunshine.bench [--only validation,database,site,build,limits,shapes] [--petitions N]
"""

from __future__ import annotations

import argparse
import importlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

from sunshine.deadlines import rules as deadline_rules
from sunshine.package import Project

ROOT = Path(__file__).resolve().parents[3]
PARTS = ("validation", "database", "site", "build", "limits", "shapes")
SCALE = {"villages": 300, "grids_per_village": 10, "staff_per_grid": 5, "disclosures": 60000}


def prepare(target: Path, petitions: int) -> Project:
    """Generate (once per scale) a consistent county-scale package under target."""
    stamp = target / f".generated-{petitions}"
    if not stamp.exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sunshine.cli",
                "generate",
                "--out",
                str(target / "data"),
                "--villages",
                str(SCALE["villages"]),
                "--grids-per-village",
                str(SCALE["grids_per_village"]),
                "--staff-per-grid",
                str(SCALE["staff_per_grid"]),
                "--disclosures",
                str(SCALE["disclosures"]),
                "--petitions",
                str(petitions),
            ],
            check=True,
        )
        print(f"generated county-scale data in {time.perf_counter() - t0:.1f} s")
        stamp.touch()
    shutil.copy(ROOT / "datapackage.json", target / "datapackage.json")
    shutil.rmtree(target / "schemas", ignore_errors=True)
    shutil.copytree(ROOT / "schemas", target / "schemas")
    shutil.rmtree(target / "content", ignore_errors=True)
    shutil.copytree(ROOT / "content", target / "content")
    for name in ("mkdocs.yml", "sunshine.toml", deadline_rules.FILENAME):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, target / name)
    return Project.load(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sunshine.bench")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    parser.add_argument("--petitions", type=int, default=1_000_000)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data")
    args = parser.parse_args(argv)
    project = prepare(args.data, args.petitions)
    with open(project.root / "data" / "petitions.csv", "rb") as f:
        rows = sum(1 for _ in f) - 1
    print(f"data: {project.root} ({rows:,} petitions)")
    for part in args.only.split(","):
        print(f"\n== {part} ==", flush=True)
        importlib.import_module(f"sunshine.bench.{part}").run(project)
    return 0


if __name__ == "__main__":
    sys.exit(main())
