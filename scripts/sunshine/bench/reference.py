"""The unit of the ratios `make bench` prints: `sqlite3 :memory: .import --csv` of the petitions file."""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path

# One import of a county's petitions took from 2.4 s to 3.6 s on the same shared machine within the
# hour (slowest while the kernel wrote back what a build had written): the median of a few is the unit.
RUNS = 3


def import_seconds(csv_path: Path, runs: int = RUNS) -> float:
    """The median wall time of `runs` imports of the CSV into an in-memory database by SQLite's shell."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            ["sqlite3", ":memory:", f".import --csv {csv_path} petitions"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
