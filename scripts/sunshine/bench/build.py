"""The whole publishing pipeline at county scale: a township's first build and a 10-row change.

Measured in one run, against `sqlite3 :memory: .import` of the same petitions file:
- cold: validation in a process of its own (wall time, peak memory), then a whole `sunshine build`
  from nothing, with the time of each of its stages as it prints them;
- incremental: a commit that edits, adds and deletes 10 rows across petitions and disclosures, each
  stage again in a process of its own (its time and peak memory), and `sunshine diff` of the commit;
  then, after a second such commit, what a pull request's check runs: one whole `sunshine build` and
  `sunshine diff` (the target: ≤ 4× the reference).

The bench data becomes a git repository (one commit of all the data) the first time this runs.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sunshine import records
from sunshine.bench.reference import RUNS, import_seconds
from sunshine.database import incremental
from sunshine.package import Project

STAGE = """
import json, sys, time
from pathlib import Path
from sunshine.package import Project

# Each stage imports only what its own command imports: `sunshine validate` loads no site or
# database code, and its peak memory is measured without it.
if __name__ == "__main__":
    project = Project.load(sys.argv[1])
    stage = sys.argv[2]
    t0 = time.perf_counter()
    if stage == "validate":
        from sunshine.validate.run import validate_project
        summary = "valid" if validate_project(project, max_bytes=1 << 40).valid else "INVALID"
    elif stage == "diff":
        import io, contextlib
        from sunshine.diff.run import diff_command
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            diff_command(project, base="HEAD~1", fmt="markdown", datasette_url="http://127.0.0.1:8001")
        summary = f"{len(out.getvalue().splitlines())} lines of Markdown"
    else:
        from sunshine.build import run_stage
        summary = run_stage(project, stage, datasette_url="http://127.0.0.1:8001")
    seconds = time.perf_counter() - t0
    if stage == "database":
        from sunshine.database import build as database
    steps = dict(database.LAST_TIMINGS) if stage == "database" else {}
    print(json.dumps({"seconds": seconds, "summary": summary, "steps": steps}, ensure_ascii=False))
"""
STAGES = ("validate", "database", "history", "site")
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.org", "-c", "core.autocrlf=false"]


# Runs a module as `python -m` would and reports its peak memory on exit: the high-water mark of its
# own memory (VmHWM; a process's rusage would count the bench's own memory, which exec carries over)
# and of the processes it waited for (MkDocs, the search worker, Chromium).
PEAK = """
import atexit, resource, runpy, sys
def peak():
    with open("/proc/self/status") as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
    print(f"\\nPEAK_KB {max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)}", file=sys.stderr)
atexit.register(peak)
kind, target, sys.argv = sys.argv[1], sys.argv[2], sys.argv[2:]
if kind == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
else:
    runpy.run_path(target, run_name="__main__")
"""


def _child(cmd: list[str], cwd: Path) -> tuple[float, int, str]:
    """Wall time, peak memory (MB) and output of `python -m MODULE ARGS` or `python -c CODE ARGS`."""
    env = {**os.environ, "SUNSHINE_MAX_BYTES": str(1 << 40)}  # a county's petitions file is 340 MB
    if cmd[1] == "-c":
        (fd, script) = tempfile.mkstemp(suffix=".py")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(cmd[2])
        cmd = [cmd[0], "-c", PEAK, "path", script, *cmd[3:]]
    else:
        script = ""
        cmd = [cmd[0], "-c", PEAK, *cmd[1:]]  # python -m MODULE ARGS
    try:
        t0 = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, env=env)
        seconds = time.perf_counter() - t0
    finally:
        if script:
            os.unlink(script)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[3:])} failed:\n{done.stderr[-3000:]}\n{done.stdout[-2000:]}")
    peaks = [int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_KB ")]
    return seconds, (peaks[-1] // 1024 if peaks else 0), done.stdout


def _stage(project: Project, stage: str) -> dict:
    wall, peak, out = _child([sys.executable, "-c", STAGE, str(project.root), stage], project.root)
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall=wall, peak=peak)
    return result


def _repository(project: Project) -> None:
    root = project.root
    if not (root / ".git").exists():
        subprocess.run([*GIT, "init", "-q", "-b", "main"], cwd=root, check=True)
        (root / ".gitignore").write_text("build/\nbench-*\n.generated-*\n", encoding="utf-8")
    subprocess.run([*GIT, "add", "-A"], cwd=root, check=True)
    if subprocess.run([*GIT, "diff", "--cached", "--quiet"], cwd=root).returncode != 0:
        subprocess.run([*GIT, "commit", "-q", "-m", "Publish the county's data"], cwd=root, check=True)


def change_ten_rows(project: Project, n: int) -> None:
    """Edit three rows, add one and delete one in petitions and in disclosures, and commit."""
    for name, column in (("petitions", "summary"), ("disclosures", "content")):
        table = project.tables[name]
        path = project.root / table.path
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            rows = list(reader)
        at = header.index(column)
        for i in range(3):
            rows[1000 * (i + 1) + n][at] += f"（第{n}次更正）"
        added = list(rows[-1])
        key = header.index(table.primary_key[0])
        last = max(r[key] for r in rows)  # fixed-width keys ending in digits: the next free ones
        digits = len(last) - len(last.rstrip("0123456789"))
        added[key] = last[:-digits] + str(int(last[-digits:]) + 1).zfill(digits)
        rows.append(added)
        del rows[5000 + n]
        with path.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    subprocess.run([*GIT, "commit", "-q", "-am", f"Correct ten rows ({n})"], cwd=project.root, check=True)


def _print_stages(label: str, results: dict[str, dict], reference: float) -> float:
    total = sum(r["seconds"] for r in results.values())
    print(f"{label}:", flush=True)
    for stage, r in results.items():
        print(
            f"  {stage:<9} {r['seconds']:7.1f} s {r['seconds'] / reference:7.1f}×  peak {r['peak']:>5} MB   {r['summary']}"
        )
        for step, seconds in r.get("steps", {}).items():
            print(f"      {step:<34} {seconds:6.1f} s")
    print(f"  {'stages':<9} {total:7.1f} s {total / reference:7.1f}×", flush=True)
    return total


def _stage_lines(out: str) -> dict[str, dict]:
    """Per-stage seconds and summaries from the lines `sunshine build` prints (✓ summary（x 秒）)."""
    results = {}
    for stage, line in zip(STAGES[1:], [x for x in out.splitlines() if x.startswith("✓")], strict=False):
        summary, _, seconds = line[2:].rpartition("（")
        results[stage] = {"seconds": float(seconds.split(" ")[0]), "summary": summary, "peak": 0}
    return results


def _whole_build(project: Project) -> tuple[float, int, str]:
    cli = [sys.executable, "-m", "sunshine.cli", "build", "--datasette-url", "http://127.0.0.1:8001"]
    return _child(cli, project.root)


def _clean(project: Project) -> None:
    """Nothing of an earlier run: its build, its kept inputs, comparisons, record indexes and clean
    versions (the 10-row commits of every run are the same, and what the last run kept would be
    found: the cold validation would then check nothing)."""
    build = project.build_dir
    for target in ("sunshine.db",):
        shutil.rmtree(incremental.inputs_dir(build / target), ignore_errors=True)
    for kept in ("changed-records", "record-index", "validated"):
        shutil.rmtree(records.cache_root() / kept, ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)
    # The earlier run's gigabytes are freed on disk now, not while the cold build is timed.
    os.sync()


def _reference(project: Project) -> float:
    """`sqlite3 :memory: .import` of the petitions file: the unit of the ratios printed after it."""
    reference = import_seconds(project.root / project.tables["petitions"].path)
    print(
        f"sqlite3 :memory: .import --csv petitions.csv   {reference:6.1f} s "
        f"(median of {RUNS}: the unit of the ratios below)"
    )
    return reference


def run(project: Project) -> None:
    _repository(project)
    reference = _reference(project)

    _clean(project)
    validate = _stage(project, "validate")
    whole, peak, out = _whole_build(project)
    cold = {"validate": validate, **_stage_lines(out)}
    _print_stages(
        "cold build: validation in a process of its own, then one whole `sunshine build`", cold, reference
    )
    print(f"  whole `sunshine build` from nothing: {whole:.1f} s = {whole / reference:.1f}×, peak {peak} MB")
    print(
        f"  targets: database ≤ 5× ({cold['database']['seconds'] / reference:.1f}×), "
        f"history ≤ 10× ({cold['history']['seconds'] / reference:.1f}×)",
        flush=True,
    )

    change_ten_rows(project, 1)
    # Measured again beside the incremental build: a cold build writes gigabytes, and a shared
    # machine is not the same machine half an hour later.
    reference = _reference(project)
    results = {stage: _stage(project, stage) for stage in (*STAGES, "diff")}
    _print_stages(
        "\nincremental, each stage in a process of its own (its imports counted each time): "
        "a commit of 10 rows across petitions and disclosures",
        results,
        reference,
    )
    memory = max(results["validate"]["peak"], results["database"]["peak"], results["history"]["peak"])
    print(
        f"  peak memory, validation and the incremental database and history: {memory} MB (target ≤ 500 MB)"
    )

    # What a pull request's check and a publish run: one `sunshine build` (validation, database,
    # history and site, all or nothing), then `sunshine diff`.
    change_ten_rows(project, 2)
    whole, peak, out = _whole_build(project)
    diff = _stage(project, "diff")
    total = whole + diff["wall"]
    print(
        f"\nincremental publish after another 10-row commit: `sunshine build` {whole:.1f} s "
        f"(peak {peak} MB) + `sunshine diff` {diff['wall']:.1f} s = {total:.1f} s = {total / reference:.1f}× "
        "(target ≤ 4×)"
    )
    for line in out.splitlines():
        print(f"      {line}")
    if os.environ.get("SUNSHINE_BENCH_KEEP") != "1":
        subprocess.run([*GIT, "reset", "-q", "--hard", "HEAD~2"], cwd=project.root, check=True)
