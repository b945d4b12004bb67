"""Download files for the 数据目录: UTF-8 CSV, Excel-friendly CSV and JSON, cached per CSV version.

The site build writes them in a process of its own (`python -m sunshine.site.pages.downloads`),
while it renders the pages: a county's petitions take seconds to mask and write three times.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

import polars as pl

from sunshine import markup, privacy, records, staging, typed
from sunshine.markup import FORMULA_PREFIXES
from sunshine.package import Project, Table

NUMERIC = {"integer": pl.Int64, "number": pl.Float64}


def neutralised(column: str) -> pl.Expr:
    """The column with every text cell a spreadsheet would run as a formula prefixed by an apostrophe.

    The same rule as sunshine.safety.neutralise_formula, as one vectorised expression.
    """
    col = pl.col(column)
    starts = pl.any_horizontal([col.str.starts_with(p) for p in FORMULA_PREFIXES])
    return pl.when(starts).then(pl.lit("'") + col).otherwise(col).alias(column)


KINDS = ("csv", "excel", "json")
CHUNK_RECORDS = 4096  # a chunk of records ends after one whose hash is a multiple of this
# What the bytes of a download are made by besides the rows: a change to it writes every file again.
MADE_BY = hashlib.sha256(
    b"".join(Path(m.__file__ or "").read_bytes() for m in (sys.modules[__name__], typed, markup))
    + f"{privacy.VERSION}\0{pl.__version__}".encode()
).hexdigest()


def write_table_downloads(table: Table, source: Path, cache: Path) -> dict[str, Path]:
    """Write (or reuse) the three download files of one table; return {kind: path}.

    Every cell is masked as on the pages (the files are made again when masking changes).

    The files are written chunk by chunk, a chunk being the records up to one whose hash
    (sunshine.records) is a multiple of CHUNK_RECORDS: an edit changes its own chunk only, not where
    the others begin. Where each chunk's bytes are in the files is kept beside them (TABLE-KEY.chunks),
    and the next version of the table copies the chunks it shares with this one from these files:
    only the chunks that changed are read, masked and written again."""
    blob = records.blob_id(source)
    key = hashlib.sha256(f"{blob}\0{MADE_BY}".encode()).hexdigest()[:16]
    made = {
        "csv": cache / f"{table.name}-{key}.csv",
        "excel": cache / f"{table.name}-{key}-excel.csv",
        "json": cache / f"{table.name}-{key}.json",
    }
    chunks = cache / f"{table.name}-{key}.chunks"
    if all(p.exists() for p in made.values()):
        return made
    cache.mkdir(parents=True, exist_ok=True)
    before = [p for p in cache.glob(f"{table.name}-*") if not p.name.endswith(".tmp")]
    for path in cache.glob(f"{table.name}-*.tmp"):  # what a killed writer was writing
        pid = path.name.removesuffix(".tmp").rpartition(".")[2]
        if pid.isdigit() and not staging.alive(int(pid)):
            path.unlink(missing_ok=True)
    part = {
        kind: path.with_name(f"{path.name}.{os.getpid()}.tmp")
        for kind, path in (*made.items(), ("chunks", chunks))
    }
    try:
        with (
            part["csv"].open("wb") as csv,
            part["excel"].open("wb") as excel,
            part["json"].open("wb") as json,
        ):
            outputs = {"csv": csv, "excel": excel, "json": json}
            written = _write_chunks(table, source, blob, _kept_chunks(before), outputs)
            if written is None:  # polars refuses a chunk, or records and rows differ: the whole file
                for f in outputs.values():
                    f.seek(0)
                    f.truncate()
                _write(table, source, csv, excel, json)
        if written is not None:
            written.write_ipc(part["chunks"])
        for kind, path in (*made.items(), ("chunks", chunks)):  # whole files only: no short download
            if part[kind].exists():
                part[kind].replace(path)
    finally:
        for path in part.values():
            path.unlink(missing_ok=True)
    for old in set(before) - {*made.values(), chunks}:
        old.unlink(missing_ok=True)
    return made


def _kept_chunks(files: list[Path]) -> tuple[pl.DataFrame, dict[str, Path]] | None:
    """The chunks of the files an earlier version left (by chunk key) and those files, if whole."""
    found = [p for p in files if p.name.endswith(".chunks")]
    if len(found) != 1:
        return None
    stem = found[0].name.removesuffix(".chunks")
    paths = {
        "csv": found[0].with_name(f"{stem}.csv"),
        "excel": found[0].with_name(f"{stem}-excel.csv"),
        "json": found[0].with_name(f"{stem}.json"),
    }
    try:
        frame = pl.read_ipc(found[0])
        sizes = {kind: path.stat().st_size for kind, path in paths.items()}
        inside = frame.select(  # each chunk within its file (the files may have been cut short)
            pl.all_horizontal(
                (pl.col(f"{k}_at") >= 0)
                & (pl.col(f"{k}_length") >= 0)
                & (pl.col(f"{k}_at") + pl.col(f"{k}_length") <= sizes[k])
                for k in KINDS
            ).all()
        ).item()
    except (OSError, pl.exceptions.PolarsError):
        return None
    return (frame, paths) if inside else None


def _write_chunks(
    table: Table,
    source: Path,
    blob: str,
    kept: tuple[pl.DataFrame, dict[str, Path]] | None,
    outputs: dict[str, BinaryIO],
) -> pl.DataFrame | None:
    """Write the three files chunk by chunk, copying the chunks kept from an earlier version; return
    where each chunk is (its key, and offset and length in each file). None where it cannot."""
    index = records.index_of(source, blob)
    if index.blank:
        return None
    columns = table.field_names
    head = index.header + b"\n"
    for kind, head_line in zip(("csv", "excel"), _headers(columns), strict=True):
        outputs[kind].write(head_line)
    outputs["json"].write(b"[")
    frame = index.frame.with_row_index("n")
    starts = frame["start"].to_list()
    ends = (frame["start"] + frame["length"]).to_list()
    bounds = [*(frame.filter(pl.col("h") % CHUNK_RECORDS == 0)["n"] + 1).to_list(), frame.height]
    h = frame["h"].rechunk().to_arrow()
    hashes = h.buffers()[1].to_pybytes()[h.offset * 8 : (h.offset + len(h)) * 8]
    prefix = hashlib.sha256(head + MADE_BY.encode()).digest()
    old = dict(zip(kept[0]["key"], kept[0].drop("key").iter_rows(), strict=True)) if kept else {}
    sources = {kind: path.open("rb") for kind, path in kept[1].items()} if kept else {}
    placed: list[tuple[str, int, int, int, int, int, int]] = []
    try:
        with source.open("rb") as data:
            first = 0
            for last in bounds:
                if last == first:
                    continue
                key = hashlib.sha256(prefix + hashes[first * 8 : last * 8]).hexdigest()
                at = [outputs[k].tell() for k in KINDS]
                if outputs["json"].tell() > 1:
                    outputs["json"].write(b",")
                    at[2] += 1
                if key in old:
                    was = old[key]
                    for n, kind in enumerate(KINDS):
                        if not _copy(sources[kind], outputs[kind], was[2 * n], was[2 * n + 1]):
                            return None
                else:
                    data.seek(int(starts[first]))
                    frame = typed.text_block(
                        head, data.read(int(ends[last - 1] - starts[first])) + b"\n", columns
                    )
                    if frame is None or frame.height != last - first:
                        return None
                    for kind, content in zip(KINDS, _block_bytes(table, frame), strict=True):
                        outputs[kind].write(content)
                sizes = [outputs[k].tell() - a for k, a in zip(KINDS, at, strict=True)]
                placed.append((key, at[0], sizes[0], at[1], sizes[1], at[2], sizes[2]))
                first = last
    finally:
        for f in sources.values():
            f.close()
    outputs["json"].write(b"]")
    names = ["key"] + [f"{kind}_{part}" for kind in KINDS for part in ("at", "length")]
    return pl.DataFrame(placed, schema=names, orient="row")


def _copy(source: BinaryIO, target: BinaryIO, offset: int, length: int) -> bool:
    """Bytes of one file into another at its position, by the kernel where it can; False when the
    source ends before them."""
    target.flush()
    out = target.fileno()
    while length > 0:
        try:
            done = os.copy_file_range(source.fileno(), out, length, offset)
        except OSError:
            done = 0
        if done <= 0:  # not on this file system: through this process
            source.seek(offset)
            target.seek(0, os.SEEK_END)
            return target.write(source.read(length)) == length
        offset += done
        length -= done
    target.seek(0, os.SEEK_END)
    return True


def _headers(columns: list[str]) -> tuple[bytes, bytes]:
    """The header line of the CSV, and of the Excel CSV with its byte-order mark."""
    empty = pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    return _csv_bytes(empty), _csv_bytes(empty, include_bom=True)


def _csv_bytes(frame: pl.DataFrame, **options: bool) -> bytes:
    out = io.BytesIO()
    frame.write_csv(out, **options)
    return out.getvalue()


def _block_bytes(table: Table, block: pl.DataFrame) -> tuple[bytes, bytes, bytes]:
    """The CSV, Excel CSV and JSON bytes of a block of rows (no header; JSON: the objects alone)."""
    columns = table.field_names
    types = {f["name"]: f.get("type", "string") for f in table.fields}
    frame = privacy.mask_frame(block, privacy.Columns.of(table.fields))
    csv = _csv_bytes(frame, include_header=False)
    excel = _csv_bytes(
        frame.with_columns(neutralised(c) for c in columns if types[c] not in NUMERIC), include_header=False
    )
    typed_ = frame.with_columns(
        pl.col(c).str.strip_chars().cast(NUMERIC[types[c]], strict=False)
        for c in columns
        if types[c] in NUMERIC
    )
    rows = io.BytesIO()
    typed_.write_json(rows)
    return csv, excel, rows.getvalue().strip()[1:-1]


def _write(table: Table, source: Path, csv: BinaryIO, excel: BinaryIO, json: BinaryIO) -> None:
    """The three files of a table, written a block of records at a time (a county's petitions whole
    took 1.4 GB to mask and write): the same bytes as writing the table at once."""
    columns = table.field_names
    first = True
    json.write(b"[")
    for block in typed.text_frames(source, columns):
        if block.height == 0 and not first:
            continue
        if first:
            head_csv, head_excel = _headers(columns)
            csv.write(head_csv)
            excel.write(head_excel)
        rows = _block_bytes(table, block)
        csv.write(rows[0])
        excel.write(rows[1])
        if rows[2]:
            json.write((b"," if json.tell() > 1 else b"") + rows[2])
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
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def result(self) -> dict[str, dict[str, Path]]:
        out, err = self.proc.communicate()
        if self.proc.returncode != 0:
            last = (err or "").strip().splitlines()[-1:] or ["没有输出"]
            raise RuntimeError(f"生成下载文件失败（{last[0]}）")
        written = json.loads(out.splitlines()[-1])
        return {name: {kind: Path(path) for kind, path in files.items()} for name, files in written.items()}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


if __name__ == "__main__":
    staging.stop_with_parent(int(sys.argv[3]))
    done = write_all(Project.load(Path(sys.argv[1])), Path(sys.argv[2]))
    print(
        json.dumps({name: {kind: str(path) for kind, path in files.items()} for name, files in done.items()})
    )
