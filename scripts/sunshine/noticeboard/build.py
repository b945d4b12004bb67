"""Write the 公开栏 sheets into a freshly built site: HTML always, PDFs when Chromium is present."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections import defaultdict
from pathlib import Path

import segno

from sunshine.noticeboard import pdf
from sunshine.noticeboard import sheet as sheet_module
from sunshine.noticeboard.sheet import FOLDER, PDF_NAME, Sheet, qr_svg, render, render_index, sheets
from sunshine.package import Project
from sunshine.site.pages.data import SiteData


def project_sheets(project: Project, data: SiteData) -> list[Sheet]:
    categories = project.tables["disclosures"].field("category")["constraints"]["enum"]
    return sheets(
        data.villages.to_dicts(),
        data.disclosures.to_dicts(),
        categories,
        township=project.settings.township,
        site_url=project.settings.site_url,
    )


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


def write_sheets(project: Project, data: SiteData, site: Path, cache: Path, *, datasette_url: str) -> str:
    """Write every sheet and each village's list of sheets into `site`; return a Chinese note."""
    made = project_sheets(project, data)
    recent = set(sorted({s.period for s in made})[-PDF_QUARTERS:]) if pdf.available() else set()
    printed = dt.date.today()
    qr = QrCodes(cache.with_name("qr"))
    by_village: dict[str, list[Sheet]] = defaultdict(list)
    jobs = []
    for s in made:
        folder = site / s.path
        folder.mkdir(parents=True, exist_ok=True)
        html = folder / "index.html"
        with_pdf = s.period in recent
        html.write_text(
            render(s, printed=printed, pdf=with_pdf, ds_base=datasette_url, qr=qr), encoding="utf-8"
        )
        by_village[s.code].append(s)
        if with_pdf:
            jobs.append((html, folder / PDF_NAME, s.key))
    qr.forget_unused()
    names = dict(zip(data.villages["village_code"], data.villages["name"], strict=True))
    for code, name in names.items():
        folder = site / FOLDER / code
        folder.mkdir(parents=True, exist_ok=True)
        index = render_index(name, code, by_village.get(code, []), with_pdf=recent)
        (folder / "index.html").write_text(index, encoding="utf-8")
    if not pdf.available():
        return f"公开栏打印页 {len(made)} 张；本机没有 Chromium（{pdf.chromium() or '已设为不使用'}），未生成 PDF"
    printed_now = pdf.print_pdfs(jobs, cache)
    return f"公开栏打印页 {len(made)} 张，最近 {len(recent)} 个季度的 PDF {len(jobs)} 份（本次打印 {printed_now} 份）"
