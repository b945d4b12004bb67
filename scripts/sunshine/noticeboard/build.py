"""Write the 公开栏 sheets into a freshly built site: HTML always, PDFs when Chromium is present."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from sunshine.noticeboard import pdf
from sunshine.noticeboard.sheet import FOLDER, PDF_NAME, Sheet, render, render_index, sheets
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


PDF_QUARTERS = (
    4  # PDFs for the township's latest quarters (the sheets on the wall); older ones print from HTML
)


def write_sheets(project: Project, data: SiteData, site: Path, cache: Path, *, datasette_url: str) -> str:
    """Write every sheet and each village's list of sheets into `site`; return a Chinese note."""
    made = project_sheets(project, data)
    recent = set(sorted({s.period for s in made})[-PDF_QUARTERS:]) if pdf.available() else set()
    printed = dt.date.today()
    by_village: dict[str, list[Sheet]] = defaultdict(list)
    jobs = []
    for s in made:
        folder = site / s.path
        folder.mkdir(parents=True, exist_ok=True)
        html = folder / "index.html"
        with_pdf = s.period in recent
        html.write_text(render(s, printed=printed, pdf=with_pdf, ds_base=datasette_url), encoding="utf-8")
        by_village[s.code].append(s)
        if with_pdf:
            jobs.append((html, folder / PDF_NAME, s.key))
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
