"""Print the 公开栏 sheets to PDF with Chromium (through Playwright), each PDF made once per content."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("SUNSHINE_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]


def available() -> bool:
    return Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)


def print_pdfs(jobs: Iterable[tuple[Path, Path, str]], cache: Path) -> int:
    """For each (html file, pdf target, key): print once into the cache, then link it in place.

    Returns how many PDFs were printed now (the others came from the cache).
    """
    jobs = list(jobs)
    cache.mkdir(parents=True, exist_ok=True)
    todo = [(html, cache / f"{key}.pdf") for html, _, key in jobs if not (cache / f"{key}.pdf").exists()]
    if todo:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page()
                for html, cached in todo:
                    page.goto(html.resolve().as_uri(), wait_until="load")
                    tmp = cached.with_name(cached.name + ".tmp")
                    page.pdf(path=str(tmp), format="A4", print_background=True, prefer_css_page_size=True)
                    tmp.replace(cached)
            finally:
                browser.close()
    for _, target, key in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(cache / f"{key}.pdf", target)
        except OSError:
            shutil.copyfile(cache / f"{key}.pdf", target)
    return len(todo)
