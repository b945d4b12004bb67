"""What a validation keeps of each file version it found without a problem of its own, for the next.

A version is kept when its encoding, header, rows and cells raised nothing at all (a notice
included): its keys (the columns that keys, foreign keys and rules of any table need, with the row
of each record) and how many suspicious cells of each column were looked at one by one. Cross-row
checks (unique and primary keys, foreign keys, same-parent rules) are run again on the whole table
every time, so a version is kept whatever they find.

Kept in the user's cache (`$XDG_CACHE_HOME/sunshine/validated/`), under a fingerprint of the code,
the library versions and the data package's descriptor and Table Schemas, and the file's git object
id. Nothing kept (a fresh CI machine, another version of the code) means a full validation.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import polars as pl
import pyarrow as pa  # its version is part of the fingerprint

from sunshine import records
from sunshine.package import Project

PACKAGE = Path(__file__).resolve().parents[1]
KEEP_PER_TABLE = 2
KEEP_FINGERPRINTS = 3  # several checkouts of the code may share one cache


@dataclass
class Clean:
    """A file version found without problems of its own."""

    blob: str
    examined: dict[str, int]  # suspicious cells of each column looked at one by one
    columns: int  # cells in the header
    parents: dict[str, str]  # git object ids of the tables its keys were checked against
    keys_clean: bool  # the checks across rows and tables found nothing either
    rows: int
    frame: pl.DataFrame | None = None  # its keys, read from `source` when first asked for
    source: Path | None = None

    @property
    def keys(self) -> pl.DataFrame:
        """ROW and key columns; the i-th row is the file's i-th record."""
        if self.frame is None:
            assert self.source is not None
            self.frame = pl.read_ipc(self.source)
        return self.frame


def fingerprint(project: Project) -> str:
    """Of everything a validation's outcome depends on besides the file itself."""
    h = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    versions = (sys.version, pl.__version__, pa.__version__, metadata.version("frictionless"))
    h.update(json.dumps(versions).encode())
    h.update(json.dumps(project.descriptor, sort_keys=True, default=str).encode())
    for table in project.tables.values():
        h.update(json.dumps([table.name, table.path, table.schema], sort_keys=True, default=str).encode())
    return h.hexdigest()[:24]


def schemas_fine(fp: str | None) -> bool:
    """Whether the descriptor and Table Schemas of this fingerprint were checked and found fine."""
    return fp is not None and (_folder(fp) / "schemas-fine").is_file()


def note_schemas_fine(fp: str | None) -> None:
    if fp is None:
        return
    try:
        _folder(fp).mkdir(parents=True, exist_ok=True)
        (_folder(fp) / "schemas-fine").touch()
    except OSError:
        pass  # the next validation checks them again


def _folder(fp: str) -> Path:
    return records.cache_root() / "validated" / fp


def load(fp: str, table: str, blob: str) -> Clean | None:
    """The kept version `blob` of a table, if it was found clean (its keys are read when needed:
    reading them can raise OSError or polars' errors)."""
    path = _folder(fp) / f"{table}.{blob}.arrow"
    try:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if not path.is_file():
            return None
        examined = {str(k): int(v) for k, v in meta["examined"].items()}
        parents = {str(k): str(v) for k, v in meta["parents"].items()}
        flag, columns, rows = bool(meta["keys_clean"]), int(meta["columns"]), int(meta["rows"])
        return Clean(blob, examined, columns, parents, flag, rows, source=path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def latest(fp: str, table: str) -> Clean | None:
    """The clean version of a table kept last."""
    try:
        paths = sorted(_folder(fp).glob(f"{table}.*.arrow"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return None
    for path in paths:
        found = load(fp, table, path.name.split(".")[-2])
        if found is not None:
            return found
    return None


def save(fp: str, table: str, clean: Clean) -> None:
    """Keep a clean version (the last KEEP_PER_TABLE of each table)."""
    folder = _folder(fp)
    path = folder / f"{table}.{clean.blob}.arrow"
    meta = {
        "examined": clean.examined,
        "columns": clean.columns,
        "parents": clean.parents,
        "keys_clean": clean.keys_clean,
        "rows": clean.rows,
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        path.with_suffix(".json").write_text(json.dumps(meta), encoding="utf-8")
        clean.keys.write_ipc(tmp, compat_level=pl.CompatLevel.oldest())
        os.replace(tmp, path)  # last: the keys stand only beside what describes them
        mine = sorted(folder.glob(f"{table}.*.arrow"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in mine[KEEP_PER_TABLE:]:
            stale.unlink(missing_ok=True)
            stale.with_suffix(".json").unlink(missing_ok=True)
        others = sorted(folder.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in others[KEEP_FINGERPRINTS:]:
            for f in stale.iterdir():  # another version of the code
                f.unlink(missing_ok=True)
            stale.rmdir()
    except (OSError, pl.exceptions.PolarsError):
        pass  # keeping it only saves the next validation a full read
