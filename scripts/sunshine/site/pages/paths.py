"""Where each generated page lives in the site, so pages can link to each other without importing each other."""

from __future__ import annotations


def village_path(code: str) -> str:
    return f"villages/{code}.md"


def grid_path(grid_id: str) -> str:
    return f"grids/{grid_id}.md"


def archive_path(code: str, year: str) -> str:
    return f"archive/{code}/{year}.md"
