"""Download files for the 数据目录: UTF-8 CSV, Excel-friendly CSV and JSON, cached per CSV version.

The site build writes them in a process of its own (`python -m sunshine.site.pages.downloads`),
while it renders the pages: a county's petitions take seconds to mask and write three times.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import polars as pl

from sunshine import privacy
from sunshine.markup import FORMULA_PREFIXES
from sunshine.package import Project, Table
from sunshine.typed import text_frames

NUMERIC = {"integer": pl.Int64, "number": pl.Float64}


def neutralised(column: str) -> pl.Expr:
    """The column with every text cell a spreadsheet would run as a formula prefixed by an apostrophe.

    The same rule as sunshine.safety.neutralise_formula, as one vectorised expression.
    """
    col = pl.col(column)
    starts = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
    return pl.when(starts).then(pl.lit("'") + col).otherwise(col).alias(column)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def write_table_downloads(table: Table, source: Path, cache: Path) -> dict[str, Path]:
    """Write (or reuse) the three download files of one table; return {kind: path}.

    Every cell is masked as on the pages (the files are made again when masking changes)."""
    key = _digest(source) + privacy.VERSION
    made = {
        "csv": cache / f"{table.name}-{key}.csv",
        "excel": cache / f"{table.name}-{key}-excel.csv",
        "json": cache / f"{table.name}-{key}.json",
    }
    if all(p.exists() for p in made.values()):
        return made
    cache.mkdir(parents=True, exist_ok=True)
    for old in cache.glob(f"{table.name}-*"):
        old.unlink()
    part = {kind: path.with_name(f"{path.name}.{os.getpid()}.tmp") for kind, path in made.items()}
    with (
        part["csv"].open("wb") as csv,
        part["excel"].open("wb") as excel,
        part["json"].open("wb") as json,
    ):
        _write(table, source, csv, excel, json)
    for kind, path in part.items():  # whole files only: a killed writer leaves no short download
        path.replace(made[kind])
    return made


def _write(table: Table, source: Path, csv: BinaryIO, excel: BinaryIO, json: BinaryIO) -> None:
    """The three files of a table, written a block of records at a time (a county's petitions whole
    took 1.4 GB to mask and write): the same bytes as writing the table at once."""
    columns = table.field_names
    masking = privacy.Columns.of(table.fields)
    types = {f["name"]: f.get("type", "string") for f in table.fields}
    text_columns = [c for c in columns if types[c] not in NUMERIC]
    first = True
    json.write(b"[")
    for block in text_frames(source, columns):
        if block.height == 0 and not first:
            continue
        frame = privacy.mask_frame(block, masking)
        frame.write_csv(csv, include_header=first)
        frame.with_columns(neutralised(c) for c in text_columns).write_csv(
            excel, include_bom=first, include_header=first
        )
        typed = frame.with_columns(
            pl.col(c).str.strip_chars().cast(NUMERIC[types[c]], strict=False)
            for c in columns
            if types[c] in NUMERIC
        )
        rows = io.BytesIO()
        typed.write_json(rows)
        inner = rows.getvalue().strip()[1:-1]
        if inner:
            json.write((b"," if json.tell() > 1 else b"") + inner)
        first = False
    json.write(b"]")


def write_all(project: Project, cache: Path) -> dict[str, dict[str, Path]]:
    """The download files of every table whose CSV exists, by table name."""
    out = {}
    for name, table in project.tables.items():
        source = project.root / table.path
        if source.exists():
            out[name] = write_table_downloads(table, source, cache)
    return out


class Writer:
    """write_all in a process of its own, started now and waited for by `result`."""

    def __init__(self, project: Project, cache: Path) -> None:
        self.project, self.cache = project, cache
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sunshine.site.pages.downloads",
                str(project.root),
                str(cache),
                str(os.getpid()),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> dict[str, dict[str, Path]]:
        _, err = self.proc.communicate()
        if self.proc.returncode != 0:
            last = (err or "").strip().splitlines()[-1:] or ["没有输出"]
            raise RuntimeError(f"生成下载文件失败（{last[0]}）")
        return write_all(self.project, self.cache)  # every file is there now: only the names

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def stop_with_parent(parent: int) -> None:
    """Be killed with the build that started this process (Linux): its files stay unfinished."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it was gone before the request
        os._exit(1)


PR_SET_PDEATHSIG = 1


if __name__ == "__main__":
    stop_with_parent(int(sys.argv[3]))
    write_all(Project.load(Path(sys.argv[1])), Path(sys.argv[2]))
