"""Generated pages of the public site: one module per page type, each yielding `Page`s.

A page is the inputs it is made from (plain JSON-able data) and a function that renders them to
Markdown, so the site stage can skip a page whose inputs have not changed since the last build.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sunshine.package import Project
from sunshine.site.pages.data import SiteData
from sunshine.site.pages.md import Datasette


@dataclass
class Page:
    path: str  # relative to the docs directory, e.g. "villages/330100100001.md"
    inputs: Any
    render: Callable[[Any], str]
    title: str = ""
    section: str = ""  # the group of the navigation the page is listed under (a village's township)


@dataclass
class Context:
    project: Project
    data: SiteData
    ds: Datasette
    site_url: str
    history: bool = False  # the history database and its canned query exist
    changes: dict[str, str] = field(default_factory=dict)  # 变更记录 pages, path -> Markdown
    as_of: str = field(default_factory=lambda: date.today().isoformat())  # for 已逾期 commitments

    @property
    def content(self) -> Path:
        return self.project.root / "content"

    def content_text(self, relative: str) -> str:
        path = self.content / relative
        return path.read_text(encoding="utf-8") if path.is_file() else ""
