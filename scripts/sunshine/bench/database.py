"""Benchmark the database build and Datasette on county-scale data (python -m sunshine.bench --only database).

Measured in one run on this machine:
- build time of build/sunshine.db against `sqlite3 :memory: '.import --csv'` of the same petitions.csv;
- Datasette latency (p50/p95 over sequential requests, first requests counted) for five pages,
  served as `sunshine serve` serves them, and the same pages against a plain `datasette ref.db`
  with default settings over a table made by `sqlite3 .import` (no types, no indexes, no search);
- requests per second with 10 concurrent clients for 10 s.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import httpx

from sunshine.bench.reference import RUNS, import_seconds
from sunshine.database import build as database
from sunshine.package import Project
from sunshine.portal.metadata import build_metadata, render
from sunshine.serve.run import datasette_command, wait_for_port, write_inspect_file

REQUESTS = 200
REFERENCE_REQUESTS = 20
CONCURRENCY = 10
CONCURRENT_SECONDS = 10
TARGETS_MS = {"table": 100, "facets": 500, "filter + sort": 100, "search": 300, "aggregate": 1000}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


@contextmanager
def _server(cmd: list[str], port: int, log: Path):
    with log.open("wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        try:
            if not wait_for_port("127.0.0.1", port, timeout=120, proc=proc):
                raise RuntimeError(log.read_text(encoding="utf-8", errors="replace")[-2000:])
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _pages(db: str, *, reference: bool, aggregate_sql: str) -> dict[str, str]:
    table = f"/{db}/petitions"
    search = {"summary__contains": "路灯"} if reference else {"_search": "路灯"}
    aggregate = (
        f"/{db}?" + urlencode({"sql": aggregate_sql}) if reference else f"/{db}/petitions_by_category?year="
    )
    return {
        "table": table,
        "facets": table + "?_facet=category&_facet=satisfaction",
        "filter + sort": table + "?" + urlencode({"category": "土地", "_sort_desc": "received_on"}),
        "search": table + "?" + urlencode(search),
        "aggregate": aggregate,
    }


def _latencies(base: str, path: str, n: int) -> tuple[list[float], int]:
    times, errors = [], 0
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200 or "took too long" in response.text:
                errors += 1
    return times, errors


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]  # nearest rank


def _concurrent(base: str, paths: list[str]) -> tuple[int, int, float]:
    done, errors = [0], [0]
    lock = threading.Lock()
    stop = time.perf_counter() + CONCURRENT_SECONDS

    def client_loop(offset: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            i = offset
            while time.perf_counter() < stop:
                ok = client.get(paths[i % len(paths)]).status_code == 200
                with lock:
                    done[0] += 1
                    errors[0] += not ok
                i += 1

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(CONCURRENCY)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return done[0], errors[0], time.perf_counter() - t0


def _measure_build(project: Project, csv_path: Path, target: Path) -> None:
    reference_import = import_seconds(csv_path)
    t0 = time.perf_counter()
    summary = database.build_database(project, target)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    database.build_database(project, target)
    rebuild = time.perf_counter() - t0
    print(summary)
    print(f"sqlite3 :memory: .import --csv petitions.csv   {reference_import:6.1f} s (median of {RUNS})")
    print(
        f"sunshine build_database (typed, indexed, FTS)  {build:6.1f} s   = "
        f"{build / reference_import:.2f}× (target ≤ 5×)"
    )
    for step, seconds in database.LAST_TIMINGS.items():
        print(f"    {step:<28} {seconds:6.1f} s")
    print(f"rebuild with nothing changed                   {rebuild:6.2f} s")
    print(f"database size {target.stat().st_size / 1e6:.0f} MB")


def run(project: Project) -> None:
    work = project.root / "build" / "bench-database"
    reuse = os.environ.get("SUNSHINE_BENCH_REUSE") == "1" and (work / "sunshine.db").exists()
    if not reuse:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    csv_path = project.root / project.tables["petitions"].path
    target = work / "sunshine.db"
    if reuse:
        print("SUNSHINE_BENCH_REUSE=1: serving the database of the previous run, build not measured")
    else:
        _measure_build(project, csv_path, target)

    reference_db = work / "reference.db"
    if not reference_db.exists():
        _timed(["sqlite3", str(reference_db), f".import --csv {csv_path} petitions"])
    aggregate_sql = build_metadata(project)["databases"]["sunshine"]["queries"]["petitions_by_category"][
        "sql"
    ]
    aggregate_sql = aggregate_sql.replace(":year", "''")

    metadata = work / "metadata.json"
    metadata.write_text(render(build_metadata(project)), encoding="utf-8")
    inspect_file = write_inspect_file([target], work / "inspect.json")
    port, ref_port = _free_port(), _free_port()
    ours_cmd = datasette_command(
        [target], metadata=metadata, inspect_file=inspect_file, host="127.0.0.1", port=port
    )
    datasette_bin = str(Path(sys.executable).with_name("datasette"))
    ref_cmd = [datasette_bin, str(reference_db), "--host", "127.0.0.1", "--port", str(ref_port)]
    results = {}
    with _server(ours_cmd, port, work / "ours.log") as base:
        pages = _pages("sunshine", reference=False, aggregate_sql=aggregate_sql)
        for name, path in pages.items():
            results[name] = _latencies(base, path, REQUESTS)
        concurrent = _concurrent(base, list(pages.values()))
    reference = {}
    with _server(ref_cmd, ref_port, work / "reference.log") as base:
        for name, path in _pages("reference", reference=True, aggregate_sql=aggregate_sql).items():
            reference[name] = _latencies(base, path, REFERENCE_REQUESTS)

    print(
        f"\nDatasette latency, ms ({REQUESTS} sequential requests each, first counted; "
        f"reference: plain datasette, {REFERENCE_REQUESTS} requests each)"
    )
    print(
        f"{'page':<15}{'p50':>8}{'p95':>8}{'target':>8}{'errors':>8}{'ref p50':>10}{'ref p95':>10}{'ref err':>9}{'ratio':>8}"
    )
    for name, (times, errors) in results.items():
        ref_times, ref_errors = reference[name]
        p50, p95 = _percentile(times, 50), _percentile(times, 95)
        r50, r95 = _percentile(ref_times, 50), _percentile(ref_times, 95)
        print(
            f"{name:<15}{p50:8.0f}{p95:8.0f}{TARGETS_MS[name]:8d}{errors:8d}{r50:10.0f}{r95:10.0f}{ref_errors:9d}"
            f"{r50 / p50:7.1f}×"
        )
    print(
        "reference search = summary__contains (LIKE scan, no search index); aggregate = the same SQL via ?sql="
    )
    print("an error is a non-200 response or a 'took too long' page (facets that time out still answer 200)")
    done, errors, seconds = concurrent
    print(
        f"\n{CONCURRENCY} concurrent clients, {seconds:.1f} s, the five pages in turn: "
        f"{done} requests, {done / seconds:.1f} requests/s, {errors} errors"
    )
    if os.environ.get("SUNSHINE_BENCH_KEEP") != "1":
        shutil.rmtree(work, ignore_errors=True)
