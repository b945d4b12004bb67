"""A province as many county projects: each built on its own, in parallel, only when its inputs
changed; one Parquet layer over all of them (hive-partitioned by county, for DuckDB or any Parquet
reader); and a small index site that links to every county's site.

Each county is an ordinary project (its own repository, sunshine.toml, site and database); nothing
here reaches into a county's build, it only runs `sunshine build` there and reads what it wrote.
"""

from __future__ import annotations

import hashlib
import html
import os
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sunshine import headers
from sunshine.publish import files

INPUTS = ("datapackage.json", "sunshine.toml", "mkdocs.yml", "metadata.json", "data", "schemas", "content")
STAMP = ".inputs-digest"


@dataclass
class CountyBuild:
    root: Path
    built: bool  # False: inputs unchanged since the last good build, skipped
    ok: bool = True
    seconds: float = 0.0
    max_rss_mb: float = 0.0
    output: str = ""


def inputs_digest(root: Path) -> str:
    """One digest of everything a county's build reads (data, schemas, pages, settings)."""
    digest = hashlib.sha256()
    for name in INPUTS:
        path = root / name
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for p in paths:
            if p.is_file():
                digest.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return digest.hexdigest()


def build_county(root: Path, *, force: bool = False) -> CountyBuild:
    """`sunshine build` in the county's folder, unless its inputs are those of its last good build."""
    digest = inputs_digest(root)
    stamp = root / "build" / STAMP
    if not force and stamp.exists() and stamp.read_text() == digest:
        return CountyBuild(root, built=False)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sunshine.cli", "build"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = CountyBuild(
        root,
        built=True,
        ok=proc.returncode == 0,
        seconds=time.perf_counter() - started,
        max_rss_mb=usage.ru_maxrss / 1024,  # the largest of the build and the processes it waited for
        output=output,
    )
    if result.ok:
        stamp.write_text(digest)
    return result


def build_counties(roots: Iterable[Path], *, workers: int = 2, force: bool = False) -> list[CountyBuild]:
    """Build every county that changed, `workers` at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda r: build_county(r, force=force), roots))


def write_parquet_layer(databases: dict[str, Path], target: Path) -> dict[str, int]:
    """<target>/<table>/county=<code>/part.parquet from each county's sunshine.db; rows per table."""
    rows: dict[str, int] = {}
    for county, db in sorted(databases.items()):
        for table in files.public_tables(db):
            out = target / table / f"county={county}" / "part.parquet"
            out.parent.mkdir(parents=True, exist_ok=True)
            rows[table] = rows.get(table, 0) + files.write_parquet(db, table, out)
    return rows


@dataclass(frozen=True)
class CountyEntry:
    code: str
    name: str
    url: str
    villages: int
    petitions: int


def index_page(title: str, counties: list[CountyEntry]) -> str:
    """The province's index: one row per county, linking to the county's own site."""
    rows = "".join(
        f'<tr><td><a href="{html.escape(c.url)}">{html.escape(c.name)}</a></td>'
        f"<td>{c.villages:,}</td><td>{c.petitions:,}</td></tr>"
        for c in counties
    )
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{headers.csp(meta=True)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>各县（市、区）的三务公开、网格服务和群众诉求办理情况，点击县名进入该县的网站。</p>
<table>
<thead><tr><th scope="col">县（市、区）</th><th scope="col">村（社区）</th><th scope="col">已办结诉求</th></tr></thead>
<tbody>{rows}</tbody>
</table>
</body>
</html>
"""
