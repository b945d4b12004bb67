"""Write the 公开栏 sheets into a freshly built site: HTML always, PDFs when Chromium is present."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import segno

from sunshine import staging
from sunshine.deadlines import periods
from sunshine.deadlines.periods import Period
from sunshine.noticeboard import pdf
from sunshine.noticeboard import sheet as sheet_module
from sunshine.noticeboard.sheet import (
    FOLDER,
    PDF_NAME,
    Sheet,
    qr_svg,
    render,
    render_index,
    sheets,
)
from sunshine.package import Project
from sunshine.site.pages import md
from sunshine.site.pages.data import SiteData


def project_sheets(project: Project, data: SiteData) -> list[Sheet]:
    return list(_each_sheet(project, data))


def _each_sheet(project: Project, data: SiteData) -> Iterator[Sheet]:
    """The sheets one at a time, village by village (a county's sheets hold every disclosure)."""
    for planned in _plan(project, data, {}):
        yield planned.make()


# What a sheet is made from besides its village, its rows and the settings: a change to the code
# that makes it derives every sheet again.
DERIVED_BY = hashlib.sha256(
    Path(sheet_module.__file__).read_bytes() + Path(periods.__file__).read_bytes() + pl.__version__.encode()
).hexdigest()


@dataclass
class Planned:
    """A sheet to write: where, its key (what it shows), and how to make it when it must be written."""

    code: str
    period: str
    key: str
    digest: str  # of everything it is made from
    make: Callable[[], Sheet]


def _plan(project: Project, data: SiteData, kept: dict[str, str]) -> Iterator[Planned]:
    """Every sheet in order (sheet.sheets, a village and a quarter at a time). A sheet whose village,
    rows (digests of polars, two seeds) and settings are those of a sheet of an earlier build takes
    that sheet's key from `kept` and is not made unless its page must be written."""
    categories = project.tables["disclosures"].field("category")["constraints"]["enum"]
    settings = {"township": project.settings.township, "site_url": project.settings.site_url}
    frame = data.disclosures
    hashes = list(zip(frame.hash_rows(seed=0).to_list(), frame.hash_rows(seed=1).to_list(), strict=True))
    quarters = {day: _quarter(str(day)) for day in frame["published_on"].unique().to_list()}
    groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, (code, day) in enumerate(frame.select("village_code", "published_on").iter_rows()):
        quarter = quarters[day]
        if quarter is not None:
            groups[code][quarter].append(i)
    shared = json.dumps([DERIVED_BY, settings, categories], ensure_ascii=False)
    for v in sorted(data.villages.to_dicts(), key=lambda v: v["village_code"]):
        village = json.dumps(v, sort_keys=True, ensure_ascii=False, default=str)
        mine = groups.get(v["village_code"], {})
        for quarter in sorted(mine):
            rows = mine[quarter]
            digest = hashlib.sha256(
                f"{shared}\0{village}\0{quarter}\0{[hashes[i] for i in rows]}".encode()
            ).hexdigest()

            def make(v: dict[str, Any] = v, rows: list[int] = rows) -> Sheet:
                (sheet,) = sheets([v], frame[rows].to_dicts(), categories, **settings)
                return sheet

            key = kept.get(digest)
            if key is None:
                sheet = make()
                key, make = sheet.key, lambda sheet=sheet: sheet
            yield Planned(v["village_code"], quarter, key, digest, make)


def _quarters(data: SiteData) -> set[str]:
    """The quarters that have a sheet: those in which a village published something."""
    codes = set(data.villages["village_code"])
    found = data.disclosures.filter(pl.col("village_code").is_in(codes))["published_on"].unique()
    return {q for day in found.to_list() if (q := _quarter(str(day))) is not None}


def _quarter(published_on: str) -> str | None:
    """The quarter a sheet of this 发布日期 is in (as sheet.sheets reads it)."""
    try:
        return Period.of("quarter", dt.date.fromisoformat(published_on)).text
    except ValueError:
        return None


# A change of how a code is drawn (sheet.py, segno) draws every code again.
QR_VERSION = hashlib.sha256(
    Path(sheet_module.__file__).read_bytes() + segno.__version__.encode()
).hexdigest()[:12]


class QrCodes:
    """QR codes drawn once per address and kept between builds (a county's sheets hold thousands,
    and drawing one takes segno several milliseconds); those no sheet uses any more are removed."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.used = folder, set()
        folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, url: str) -> str:
        name = hashlib.sha256(f"{url}\0{QR_VERSION}".encode()).hexdigest()[:32] + ".svg"
        self.used.add(name)
        path = self.folder / name
        try:
            return path.read_text(encoding="utf-8")
        except OSError:
            svg = qr_svg(url)
            tmp = path.with_name(f"{name}.{os.getpid()}.tmp")
            tmp.write_text(svg, encoding="utf-8")
            tmp.replace(path)
            return svg

    def forget_unused(self) -> None:
        for path in self.folder.iterdir():
            if path.name not in self.used:
                path.unlink(missing_ok=True)


PDF_QUARTERS = (
    4  # PDFs for the township's latest quarters (the sheets on the wall); older ones print from HTML
)


# A change of how a sheet is written (sheet.py, the page helpers) writes every sheet again.
HTML_VERSION = hashlib.sha256(
    Path(sheet_module.__file__).read_bytes() + Path(md.__file__).read_bytes()
).hexdigest()[:12]


class SheetPages:
    """Each sheet's finished page (security tag included), kept between builds by what it shows and
    linked into each new site: a county has thousands of sheets and a change touches a few."""

    def __init__(self, folder: Path, finish: Callable[[str], str]) -> None:
        self.folder, self.finish, self.used, self.written = folder, finish, set(), 0
        folder.mkdir(parents=True, exist_ok=True)

    def link(self, key: str, target: Path, make: Callable[[], str]) -> None:
        name = hashlib.sha256(f"{key}\0{HTML_VERSION}".encode()).hexdigest()[:32] + ".html"
        self.used.add(name)
        path = self.folder / name
        if not path.exists():
            tmp = path.with_name(f"{name}.{os.getpid()}.tmp")
            tmp.write_text(self.finish(make()), encoding="utf-8")
            tmp.replace(path)
            self.written += 1
        staging.place_link(path, target)

    def forget_unused(self) -> None:
        for path in self.folder.iterdir():
            if path.name not in self.used:
                path.unlink(missing_ok=True)


SHEET_KEYS = "sheet-keys.json"


class KeptKeys:
    """Each sheet's key under the digest of what it is made from, kept for the next build."""

    def __init__(self, path: Path) -> None:
        self.path, self.used = path, {}
        try:
            self.kept: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.kept = {}

    def use(self, digest: str, key: str) -> None:
        self.used[digest] = key

    def save(self) -> None:
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.used), encoding="utf-8")
        tmp.replace(self.path)


class Printer:
    """The printer process (sunshine.noticeboard.printer), started before its jobs are known: Chromium
    starts while the site is built. Stopped when no PDF is to be printed."""

    def __init__(self, cache: Path) -> None:
        self.cache = cache
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sunshine.noticeboard.printer", str(os.getpid()), str(cache)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def print(self, todo: list[tuple[Path, Path, str]]) -> int:
        """Print these PDFs into the cache (pdf.print_pdfs keeps them as KEY-VERSION.pdf); how many."""
        scratch = self.cache / f".printed.{os.getpid()}"  # where the printer links what it printed
        self.asked = self.printing = True
        try:
            out, err = self.proc.communicate(
                json.dumps(
                    [[str(html), str(scratch / f"{n}.pdf"), key] for n, (html, _, key) in enumerate(todo)]
                )
            )
        finally:
            self.printing = False
            staging.remove_tree(scratch)
        if self.proc.returncode != 0:
            last = (err or "").strip().splitlines()[-1:] or ["没有输出"]
            raise RuntimeError(f"打印公开栏 PDF 失败（{last[0]}）")
        return int(out.split()[-1])

    asked = False  # the printer was given its jobs (print, or done)
    printing = False  # `print` is reading the printer's output

    def done(self) -> None:
        """No PDF to print: the printer closes Chromium and removes its profile while the build goes on."""
        if self.asked or self.proc.stdin is None:
            return
        self.asked = True
        with contextlib.suppress(OSError):
            self.proc.stdin.write("[]")
            self.proc.stdin.close()

    def stop(self) -> None:
        """Wait for a printer told it is done (STOP_SECONDS at most); one interrupted while printing, or
        that does not stop, is killed."""
        if self.proc.returncode is not None:
            return
        if not self.asked:
            self.done()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=STOP_SECONDS)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.printing:  # `print` reads the output to its end and closes it; closed here, it would fail
            return
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


STOP_SECONDS = 20  # for a printer to close Chromium: past the 5 s cdp.Browser.close waits for it


def write_sheets(
    project: Project,
    data: SiteData,
    site: Path,
    cache: Path,
    *,
    datasette_url: str,
    finish: Callable[[str], str] = lambda page: page,
    prune: bool = False,
    printer: Printer | None = None,
) -> tuple[str, int]:
    """Write every sheet and each village's list of sheets into `site`, each page passed through
    `finish`; return a Chinese note and the number of pages. With `prune` (a site reused from an
    earlier build), what else is in the sheets' folder goes. `printer`: one started for `cache`
    (else one is started if a PDF is to be printed); it is done with on return."""
    try:
        return _write_sheets(project, data, site, cache, datasette_url, finish, prune, printer)
    finally:
        if printer is not None:
            printer.done()  # the site build waits for it at its end


def _holds(path: Path, content: bytes) -> bool:
    try:
        return path.stat().st_size == len(content) and path.read_bytes() == content
    except OSError:
        return False


def _write_sheets(
    project: Project,
    data: SiteData,
    site: Path,
    cache: Path,
    datasette_url: str,
    finish: Callable[[str], str],
    prune: bool,
    printer: Printer | None,
) -> tuple[str, int]:
    recent = set(sorted(_quarters(data))[-PDF_QUARTERS:]) if pdf.available() else set()
    printed = dt.date.today()
    qr = QrCodes(cache.with_name("qr"))
    pages = SheetPages(cache.with_name("sheets"), finish)
    by_village: dict[str, list[Sheet]] = defaultdict(list)
    jobs = []
    made = 0
    keys = KeptKeys(cache.with_name(SHEET_KEYS))
    written: set[Path] = set()  # all else under FOLDER (a site reused from an earlier build) goes
    for s in _plan(project, data, keys.kept):  # one at a time: a county's sheets hold every disclosure
        made += 1
        keys.use(s.digest, s.key)
        light = Sheet(s.code, s.period, {})  # where it goes and the index need only the quarter
        folder = site / light.path
        folder.mkdir(parents=True, exist_ok=True)
        html = folder / "index.html"
        with_pdf = s.period in recent
        pages.link(
            f"{s.key}\0{printed}\0{with_pdf}\0{datasette_url}",
            html,
            lambda s=s, with_pdf=with_pdf: render(
                s.make(), printed=printed, pdf=with_pdf, ds_base=datasette_url, qr=qr
            ),
        )
        by_village[s.code].append(light)
        written.add(html)
        if with_pdf:
            jobs.append((html, folder / PDF_NAME, s.key))
            written.add(folder / PDF_NAME)
    keys.save()
    names = dict(zip(data.villages["village_code"], data.villages["name"], strict=True))
    for code, name in names.items():
        folder = site / FOLDER / code
        folder.mkdir(parents=True, exist_ok=True)
        index = render_index(name, code, by_village.get(code, []), with_pdf=recent)
        target = folder / "index.html"
        written.add(target)
        content = finish(index).encode("utf-8")
        if _holds(target, content):  # the same village's index as last time: left as it is
            continue
        tmp = folder / f".index.html.{os.getpid()}.tmp"  # replaced, never rewritten: see place_link
        tmp.write_bytes(content)
        tmp.replace(target)
    if pages.written == made:  # else the codes of the sheets kept as pages were not asked for
        qr.forget_unused()
    pages.forget_unused()
    count = made + len(names)
    if not pdf.available():
        if prune:
            staging.prune(site / FOLDER, written)
        note = f"公开栏打印页 {made} 张（本次写出 {pages.written} 张）；本机没有 Chromium（{pdf.chromium() or '已设为不使用'}），未生成 PDF"
        return note, count
    for _, target, _ in jobs:  # print_pdfs links each into place, and would copy over one there
        target.unlink(missing_ok=True)
    todo = [job for job in jobs if not (cache / f"{job[2]}-{pdf.VERSION}.pdf").exists()]
    printed_now = (printer or Printer(cache)).print(todo) if todo else 0
    pdf.print_pdfs(jobs, cache)  # all printed now: each is linked into place
    if prune:
        staging.prune(site / FOLDER, written)
    note = f"公开栏打印页 {made} 张（本次写出 {pages.written} 张），最近 {len(recent)} 个季度的 PDF {len(jobs)} 份（本次打印 {printed_now} 份）"
    return note, count
