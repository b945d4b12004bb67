"""Site build speed at county scale: a cold build, a rebuild with nothing changed, and a rebuild
after one village's rows changed (only that village's pages and the pages that add up every
village are rendered again, and MkDocs, run with --dirty when the nav and titles are unchanged,
writes only their HTML; its time is reported apart). Also the nav and page sizes that county scale puts on every page, and the search index.
"""

from __future__ import annotations

import csv
import gzip
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sunshine.noticeboard import pdf
from sunshine.package import Project
from sunshine.site.build import SiteBuild, build

DATASETTE = "http://127.0.0.1:8001"


def _report(label: str, seconds: float, stats: SiteBuild) -> None:
    t = stats.timings
    print(f"{label}: {seconds:.1f} s in all")
    print(
        f"  pages generated from data: {stats.pages:,}, rendered this time: {stats.rendered:,}, "
        f"files written: {stats.written:,}; HTML pages: {stats.html_pages:,}, written by MkDocs this time: "
        f"{stats.html_written:,}{' (--dirty)' if stats.dirty else ''}"
    )
    print(
        f"  load CSVs {t['load']:.1f} s · generate Markdown {t['generate']:.1f} s"
        + (f" ({1000 * t['generate'] / stats.rendered:.1f} ms per rendered page)" if stats.rendered else "")
        + f" · mkdocs build {t['mkdocs']:.1f} s ({1000 * t['mkdocs'] / max(stats.html_pages, 1):.1f} ms per HTML page)"
        f" · downloads, CSP, swap {t['finish']:.1f} s"
    )
    print(f"  search index: {stats.search_index_bytes / 1024 / 1024:.2f} MB")
    if stats.sheets:
        print(f"  {stats.sheets}")


def _sizes(site: Path) -> None:
    def kb(path: Path) -> float:
        return path.stat().st_size / 1024

    villages = sorted((site / "villages").glob("*/index.html"))
    grids = sorted((site / "grids").glob("*/index.html"))
    print(f"  home page HTML: {kb(site / 'index.html'):.0f} KB")
    if villages:
        sizes = [kb(p) for p in villages]
        print(f"  village pages: median {statistics.median(sizes):.0f} KB, largest {max(sizes):.0f} KB")
    if grids:
        sizes = [kb(p) for p in grids[:500]]
        print(f"  grid pages: median {statistics.median(sizes):.0f} KB")
    print(f"  petitions page: {kb(site / 'petitions' / 'index.html'):.0f} KB")
    archive = sorted((site / "archive").glob("*/*/index.html"))
    if archive:
        sizes = [kb(p) for p in archive]
        print(
            f"  yearly archive pages: {len(archive):,}, median {statistics.median(sizes):.0f} KB, largest {max(sizes):.0f} KB"
        )
    index = site / "search" / "search_index.json"
    if index.exists():
        packed = len(gzip.compress(index.read_bytes(), 6))
        print(f"  search index gzip-compressed (as a web server sends it): {packed / 1024 / 1024:.2f} MB")


def _touch_one_village(project: Project) -> tuple[str, Path]:
    """Change the content of the latest disclosure of one village; return its code and a backup."""
    path = project.root / project.tables["disclosures"].path
    backup = path.with_name(path.name + ".bench-backup")
    shutil.copyfile(path, backup)
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    village = rows[0]["village_code"]
    # Its latest disclosure: shown on the village page (older periods are one link away).
    first = max(
        (r for r in rows if r["village_code"] == village),
        key=lambda r: (r["published_on"], r["disclosure_id"]),
    )
    first["content"] = first["content"] + "（已更正）"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(first))
        writer.writeheader()
        writer.writerows(rows)
    return first["village_code"], backup


def _print_some_sheets(site: Path, count: int = 6) -> None:
    """Chromium's PDF printing of a few 公开栏 sheets (the site builds above print none)."""
    if not pdf.available():
        print("公开栏 PDF: no Chromium here, not measured")
        return
    sheets = sorted(site.glob("noticeboard/*/*/index.html"))[-count:]
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(html, Path(tmp) / f"{n}.pdf", f"bench-{n}") for n, html in enumerate(sheets)]
        t0 = time.perf_counter()
        pdf.print_pdfs(jobs, Path(tmp) / "cache")
        seconds = time.perf_counter() - t0
    print(
        f"公开栏 PDF: {len(jobs)} sheets printed in {seconds:.1f} s ({seconds / max(len(jobs), 1):.2f} s per sheet, "
        "Chromium start included); a build prints only the latest four quarters, and only sheets that changed"
    )


def run(project: Project) -> None:
    chromium = os.environ.get("SUNSHINE_CHROMIUM")
    os.environ["SUNSHINE_CHROMIUM"] = ""  # the builds below print no PDFs; _print_some_sheets measures them
    target = project.build_dir / "site"
    shutil.rmtree(project.build_dir / ".site-work", ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)

    t0 = time.perf_counter()
    cold = build(project, target, datasette_url=DATASETTE)
    _report("cold build", time.perf_counter() - t0, cold)
    _sizes(target)

    t0 = time.perf_counter()
    same = build(project, target, datasette_url=DATASETTE)
    _report("rebuild, nothing changed", time.perf_counter() - t0, same)

    village, backup = _touch_one_village(project)
    try:
        t0 = time.perf_counter()
        changed = build(project, target, datasette_url=DATASETTE)
        _report(
            f"rebuild after changing one disclosure of village {village}", time.perf_counter() - t0, changed
        )
    finally:
        backup.replace(project.root / project.tables["disclosures"].path)
    if chromium is None:
        del os.environ["SUNSHINE_CHROMIUM"]
    else:
        os.environ["SUNSHINE_CHROMIUM"] = chromium
    _print_some_sheets(target)
