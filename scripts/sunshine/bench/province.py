"""`make bench-province`: a province simulated with a few small counties, projected to 30 counties.

python -m sunshine.bench.province [--counties 4] [--villages 6] [--petitions 15000] [--workers 2]

Measures, on this machine (loopback only, bounded in time):
1. per-county build (validate, database, site) time and peak memory, counties built in parallel;
   a second run with nothing changed (every county skipped) and a third after one county changed;
2. the province-wide Parquet layer (hive-partitioned by county) and DuckDB queries run directly on it;
3. a county's bundle under load: Datasette directly, one instance behind nginx, two behind nginx
   (p50/p95 latency and requests a second), from which the replicas for a given load follow.
Then projects to a province of 30 counties of 300 villages and 1M petitions each, linearly in
petitions from the measured per-county figures (`make bench` measures one real county-scale build).
"""

from __future__ import annotations

import argparse
import http.client
import math
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import duckdb

from sunshine import settings
from sunshine.package import Project
from sunshine.publish import loopback, province

ROOT = Path(__file__).resolve().parents[3]
PROVINCE = {"counties": 30, "villages": 300, "petitions": 1_000_000}
LOAD_SECONDS = 3.0
LOAD_ROUNDS = 3  # alternated between the set-ups, the median round kept: the machine is shared
LOAD_CLIENTS = 4
HEADROOM = 0.6  # run replicas at no more than 60% of the throughput measured here
PATHS = tuple(
    quote(path, safe="/?=&_.")
    for path in (
        "/sunshine/petitions.json?_size=20",
        "/sunshine/villages",
        "/sunshine/disclosures?_sort_desc=published_on&_size=20",
        "/sunshine/petitions?category=环境卫生&_size=20",
    )
)


def make_county(base: Path, index: int, petitions: int, villages: int) -> Path:
    """A county project: the repository's schemas and pages, generated data, its own settings."""
    root = base / f"county-{index:02d}"
    stamp = root / f".generated-{villages}-{petitions}"
    if not stamp.exists():
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        sizes = [
            "--villages",
            str(villages),
            "--disclosures",
            str(villages * 50),
            "--petitions",
            str(petitions),
        ]
        subprocess.run(
            [sys.executable, "-m", "sunshine.cli", "generate", "--out", str(root / "data"), *sizes]
            + ["--seed", str(1000 + index)],
            check=True,
            capture_output=True,
        )
        stamp.touch()
    for name in ("datapackage.json", "mkdocs.yml"):
        shutil.copy(ROOT / name, root / name)
    for name in ("schemas", "content"):
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(ROOT / name, root / name)
    values = {
        "township.name": "",
        "township.county": f"第{index:02d}县",
        "site.title": f"第{index:02d}县阳光村务",
        "site.url": f"https://county-{index:02d}.example.gov.cn/",
        "site.datasette_url": f"https://county-{index:02d}.example.gov.cn/data",
        "site.sample": True,
    }
    text = settings.render(values)
    if (
        not (root / settings.FILENAME).exists()
        or (root / settings.FILENAME).read_text(encoding="utf-8") != text
    ):
        (root / settings.FILENAME).write_text(text, encoding="utf-8")
    return root


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


def load(port: int, prefix: str) -> tuple[float, float, float, int]:
    """LOAD_CLIENTS keep-alive clients for LOAD_SECONDS: (p50 ms, p95 ms, requests/s, errors)."""
    times: list[float] = []
    errors = [0]
    stop_at = time.monotonic() + LOAD_SECONDS

    def client(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = offset
        while time.monotonic() < stop_at:
            path = prefix + PATHS[n % len(PATHS)]
            t0 = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[0] += 1
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            times.append((time.perf_counter() - t0) * 1000)
            n += 1
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(LOAD_CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return percentile(times, 50), percentile(times, 95), len(times) / elapsed, errors[0]


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sunshine.bench.province")
    parser.add_argument("--counties", type=int, default=4)
    parser.add_argument("--villages", type=int, default=6)
    parser.add_argument("--petitions", type=int, default=40_000, help="petitions of the largest county")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path, default=ROOT / "bench-data" / "province")
    args = parser.parse_args(argv)
    base = args.data
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o755)
    # Counties of different sizes, so the build time can be split into a fixed part and a part per petition.
    sizes = [args.petitions * (i + 1) // args.counties for i in range(args.counties)]
    counties = [make_county(base, i + 1, n, args.villages) for i, n in enumerate(sizes)]
    listed = ", ".join(f"{n:,}" for n in sizes)
    print(f"province: {args.counties} counties of {args.villages} villages and {listed} petitions, in {base}")

    print("\n== county builds (validate, database, site), in parallel ==", flush=True)
    t0 = time.perf_counter()
    first = province.build_counties(counties, workers=args.workers, force=True)
    wall_all = time.perf_counter() - t0
    for b in first:
        if not b.ok:
            print(b.output)
            return 1
    for b, n in zip(first, sizes, strict=True):
        print(f"{b.root.name} ({n:>7,} petitions): {b.seconds:6.1f} s, peak memory {b.max_rss_mb:5.0f} MB")
    fit = statistics.linear_regression(sizes, [b.seconds for b in first])
    fixed, per_petition = max(fit.intercept, 0.0), max(fit.slope, 0.0)
    print(f"fit: {fixed:.1f} s per county + {per_petition * 1000:.2f} s per 1,000 petitions")
    peak_mb = max(b.max_rss_mb for b in first)
    print(f"all {len(first)} with {args.workers} workers: {wall_all:.1f} s wall")
    t0 = time.perf_counter()
    again = province.build_counties(counties, workers=args.workers)
    print(f"nothing changed: {sum(b.built for b in again)} rebuilt, {time.perf_counter() - t0:.1f} s")
    changed = counties[0] / "data" / "villages.csv"
    lines = changed.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].rstrip("\r\n") + "号\n"  # the first village's address changes
    changed.write_text("".join(lines), encoding="utf-8")
    t0 = time.perf_counter()
    one = province.build_counties(counties, workers=args.workers)
    one_wall = time.perf_counter() - t0
    print(f"one county changed: {sum(b.built for b in one)} rebuilt, {one_wall:.1f} s")

    print("\n== province Parquet layer, queried by DuckDB ==", flush=True)
    layer = base / "parquet"
    shutil.rmtree(layer, ignore_errors=True)
    t0 = time.perf_counter()
    rows = province.write_parquet_layer({c.name: c / "build" / "sunshine.db" for c in counties}, layer)
    write_s = time.perf_counter() - t0
    size_mb = sum(p.stat().st_size for p in layer.rglob("*.parquet")) / 1e6
    print(f"written in {write_s:.1f} s: {rows.get('petitions', 0):,} petitions, {size_mb:.1f} MB")
    glob = str(layer / "petitions" / "*" / "*.parquet")
    queries = {
        "petitions by county": f"SELECT county, count(*) FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY county",
        "by county and category, median days": (
            "SELECT county, category, count(*), median(date_diff('day', CAST(received_on AS DATE), "
            f"CAST(resolved_on AS DATE))) FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY ALL"
        ),
        "satisfaction rate by county": (
            "SELECT county, avg(CASE WHEN satisfaction IN ('满意', '基本满意') THEN 1.0 ELSE 0.0 END) "
            f"FROM read_parquet('{glob}', hive_partitioning = true) WHERE satisfaction <> '' GROUP BY county"
        ),
    }
    con = duckdb.connect()
    query_ms = {}
    for name, sql in queries.items():
        t0 = time.perf_counter()
        result = con.execute(sql).fetchall()
        query_ms[name] = (time.perf_counter() - t0) * 1000
        print(f"{name}: {query_ms[name]:.0f} ms ({len(result)} rows)")

    index = base / "index" / "index.html"
    index.parent.mkdir(parents=True, exist_ok=True)
    entries = []
    for c, n in zip(counties, sizes, strict=True):
        s = Project.load(c).settings
        with (c / "data" / "villages.csv").open(encoding="utf-8") as f:
            villages = sum(1 for _ in f) - 1
        entries.append(province.CountyEntry(c.name, s.county, s.site_url, villages, n))
    index.write_text(province.index_page("本省阳光村务", entries), encoding="utf-8")
    print(f"\nprovince index: {index}")

    print(
        "\n== one county's bundle under load (loopback, "
        f"{LOAD_CLIENTS} clients, median of {LOAD_ROUNDS} rounds of {LOAD_SECONDS:.0f} s) ==",
        flush=True,
    )
    county = counties[0]
    done = subprocess.run(
        [sys.executable, "-m", "sunshine.cli", "publish", "--skip-build"],
        cwd=county,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(done.stdout + done.stderr)
        return 1
    bundle = county / "build" / "publish"
    rounds: dict[str, list[tuple[float, float, float, int]]] = {}
    with (
        loopback.running_bundle(bundle, instances=1, data_rate=100_000) as one_instance,
        loopback.running_bundle(bundle, instances=2, data_rate=100_000) as two,
    ):
        targets = {
            "Datasette direct": (one_instance.ports[0], ""),
            "nginx → 1 Datasette": (_port(one_instance.url), "/data"),
            "nginx → 2 Datasette": (_port(two.url), "/data"),
        }
        for _ in range(LOAD_ROUNDS):
            for name, (port, prefix) in targets.items():
                rounds.setdefault(name, []).append(load(port, prefix))
    figures = {
        name: sorted(results, key=lambda r: r[2])[len(results) // 2] for name, results in rounds.items()
    }
    print(f"{'':<22}{'p50 ms':>8}{'p95 ms':>8}{'req/s':>8}{'errors':>8}")
    for name, (p50, p95, rps, errors) in figures.items():
        print(f"{name:<22}{p50:8.1f}{p95:8.1f}{rps:8.1f}{errors:8d}")
    per_instance = figures["nginx → 1 Datasette"][2]
    with loopback.running_bundle(bundle, instances=2, data_rate=100_000) as pair:
        # One instance is killed a third of the way into the run: nginx must send its requests to the other.
        victim = pair.datasettes[0]
        killer = threading.Timer(LOAD_SECONDS / 3, loopback.stop, args=(victim, signal.SIGKILL))
        killer.start()
        p50, p95, rps, errors = load(_port(pair.url), "/data")
        killer.join()
        served = round(rps * LOAD_SECONDS)
    print(
        f"failover (one of 2 instances killed during the run): {served} requests, {errors} failed, p95 {p95:.0f} ms"
    )

    print("\n== projection to a province ==")
    county_s = fixed + per_petition * PROVINCE["petitions"]
    print(
        f"per county at {PROVINCE['petitions']:,} petitions: about {county_s / 60:.1f} min build (from the fit)"
    )
    for workers in (2, 8, 30):
        waves = math.ceil(PROVINCE["counties"] / workers)
        print(
            f"  all {PROVINCE['counties']} counties on {workers} workers: about {waves * county_s / 60:.0f} min"
        )
    print(f"  one county changed: about {county_s / 60:.1f} min (the others are skipped)")
    print(
        f"Parquet layer for {PROVINCE['counties']} × {PROVINCE['petitions']:,} petitions: about "
        f"{size_mb / sum(sizes) * PROVINCE['petitions'] * PROVINCE['counties'] / 1000:.1f} GB"
    )
    print(f"replicas at {HEADROOM:.0%} of {per_instance:.0f} req/s each (this machine's loopback figure):")
    for rps in (50, 200, 1000):
        print(f"  {rps:>5} req/s to /data/: {max(2, math.ceil(rps / (per_instance * HEADROOM)))} replicas")
    print(f"memory: peak {peak_mb:.0f} MB per county build at this size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
