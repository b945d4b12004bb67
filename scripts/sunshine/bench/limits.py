"""Benchmark the portal under hostile use (python -m sunshine.bench --only limits).

Measured in one run on this machine, against Datasette served as `sunshine serve` serves it and,
for reference, the same Datasette with the same settings and database but without the portal plugin:
- the largest memory one query can take: the growth of the server's peak resident memory
  (VmHWM, reset before each query) for queries that build huge values or huge results;
- the table page's p50/p95 while three slow queries run (each until the time limit), and idle.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from sunshine.bench.database import _free_port, _percentile
from sunshine.database import build as database
from sunshine.package import Project
from sunshine.portal import limits
from sunshine.portal.metadata import build_metadata, render
from sunshine.serve.run import datasette_command, launcher, wait_for_port, write_inspect_file

HOSTILE = {
    "printf %.*c 900 MB": "SELECT printf('%.*c', 900000000, 'x')",
    "3 × randomblob 900 MB": "SELECT randomblob(900000000), randomblob(900000000), randomblob(900000000)",
    "1,000 rows × 900 KB": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
        "SELECT zeroblob(900000) FROM c"
    ),
    "1,000 rows × 30 KB (allowed)": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
        "SELECT hex(randomblob(15000)) FROM c"
    ),
    "sort 3 M random rows": (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) "
        "SELECT x FROM c ORDER BY random() LIMIT 1"
    ),
    "group_concat of summaries": "SELECT length(group_concat(summary)) FROM petitions",
}
# For the plain Datasette the values are ten times smaller: at full size one query takes ~5 GB.
REFERENCE_SCALE = {"900000000": "90000000", "900000)": "90000)"}
SLOW = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
SLOW_QUERIES = 3
PAGE = "/sunshine/petitions"
IDLE_REQUESTS = 50
SLOW_SECONDS = 12


class _Memory:
    """Peak resident memory of a process, reset on demand (Linux /proc)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def _field(self, name: str) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def reset(self) -> int:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        return self._field("VmRSS")

    def peak(self) -> int:
        return self._field("VmHWM")


@contextmanager
def _serving(cmd: list[str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    """The server's base URL and process id."""
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        try:
            if not wait_for_port("127.0.0.1", port, timeout=120, proc=proc):
                raise RuntimeError(log.read_text(encoding="utf-8", errors="replace")[-2000:])
            yield f"http://127.0.0.1:{port}", proc.pid
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _hostile(base: str, pid: int, *, reference: bool) -> list[tuple[str, int, float, int]]:
    memory = _Memory(pid)
    out = []
    with httpx.Client(base_url=base, timeout=300) as client:
        for name, sql in HOSTILE.items():
            if reference:
                for big, small in REFERENCE_SCALE.items():
                    sql = sql.replace(big, small)
            before = memory.reset()
            t0 = time.perf_counter()
            status = client.get("/sunshine.json", params={"sql": sql}).status_code
            seconds = time.perf_counter() - t0
            out.append((name, status, seconds, max(0, memory.peak() - before)))
    return out


def _under_slow_queries(base: str) -> tuple[list[float], list[float]]:
    with httpx.Client(base_url=base, timeout=60) as client:
        idle = []
        for _ in range(IDLE_REQUESTS):
            t0 = time.perf_counter()
            client.get(PAGE)
            idle.append((time.perf_counter() - t0) * 1000)
        stop = time.perf_counter() + SLOW_SECONDS

        def slow() -> None:
            with httpx.Client(base_url=base, timeout=60) as own:
                while time.perf_counter() < stop:
                    own.get("/sunshine.json", params={"sql": SLOW})

        threads = [threading.Thread(target=slow) for _ in range(SLOW_QUERIES)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        busy = []
        while time.perf_counter() < stop - 0.5:
            t0 = time.perf_counter()
            client.get(PAGE)
            busy.append((time.perf_counter() - t0) * 1000)
        for thread in threads:
            thread.join()
    return idle, busy


def run(project: Project) -> None:
    work = project.root / "build" / "bench-limits"
    work.mkdir(parents=True, exist_ok=True)
    target = work / "sunshine.db"
    print(database.build_database(project, target))
    metadata = work / "metadata.json"
    metadata.write_text(render(build_metadata(project)), encoding="utf-8")
    inspect_file = write_inspect_file([target], work / "inspect.json")
    port, ref_port = _free_port(), _free_port()
    ours_cmd = datasette_command(
        [target], metadata=metadata, inspect_file=inspect_file, host="127.0.0.1", port=port
    )
    # The reference is the same Datasette with the same settings and files, without the portal plugin.
    ref_cmd = datasette_command(
        [target], metadata=metadata, inspect_file=inspect_file, host="127.0.0.1", port=ref_port
    )
    ref_cmd = [str(Path(sys.executable).with_name("datasette")), *ref_cmd[len(launcher()) :]]
    with _serving(ours_cmd, port, work / "ours.log") as (base, pid):
        ours = _hostile(base, pid, reference=False)
        ours_idle, ours_busy = _under_slow_queries(base)
    with _serving(ref_cmd, ref_port, work / "reference.log") as (base, pid):
        reference = _hostile(base, pid, reference=True)
        ref_idle, ref_busy = _under_slow_queries(base)

    print(
        f"\nMemory one query takes (growth of peak RSS), ours with the portal's limits "
        f"(value ≤ {limits.MAX_VALUE_BYTES // 2**20} MB, result ≤ {limits.MAX_RESULT_BYTES // 2**20} MB, "
        f"SQLite heap ≤ {limits.HARD_HEAP_BYTES // 2**20} MB); reference: without the plugin, sizes ÷ 10"
    )
    print(f"{'query':<28}{'status':>7}{'s':>7}{'MB':>7}{'ref status':>12}{'ref s':>7}{'ref MB':>8}")
    for (name, status, seconds, grown), (_, r_status, r_seconds, r_grown) in zip(
        ours, reference, strict=True
    ):
        print(
            f"{name:<28}{status:>7}{seconds:7.2f}{grown / 2**20:7.0f}"
            f"{r_status:>12}{r_seconds:7.2f}{r_grown / 2**20:8.0f}"
        )
    worst = max(grown for *_, grown in ours)
    print(f"largest memory one query took: {worst / 2**20:.0f} MB (ours)")

    print(
        f"\nTable page {PAGE}, ms: idle ({IDLE_REQUESTS} requests) and while {SLOW_QUERIES} slow queries run"
    )
    print(f"{'':<12}{'idle p50':>10}{'idle p95':>10}{'busy n':>8}{'busy p50':>10}{'busy p95':>10}")
    for label, idle, busy in (("ours", ours_idle, ours_busy), ("reference", ref_idle, ref_busy)):
        print(
            f"{label:<12}{_percentile(idle, 50):10.0f}{_percentile(idle, 95):10.0f}{len(busy):8d}"
            f"{_percentile(busy, 50):10.0f}{_percentile(busy, 95):10.0f}"
        )
    ratio = _percentile(ref_busy, 95) / _percentile(ours_busy, 95)
    print(f"busy p95: reference / ours = {ratio:.1f}×")
    if os.environ.get("SUNSHINE_BENCH_KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
