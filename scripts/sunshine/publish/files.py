"""Files a bundle carries beside the site: Parquet for researchers, checksums, precompressed text."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from sunshine.serve.run import COMPRESSIBLE

BATCH_ROWS = 50_000
GZIP_MIN_BYTES = 512
_ARROW_TYPES = {"INTEGER": pa.int64(), "REAL": pa.float64(), "FLOAT": pa.float64(), "TEXT": pa.string()}


def public_tables(db: Path) -> list[str]:
    """The data tables of a portal database: not SQLite's, not the search index's, not the build's own."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
            " AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name"
        ).fetchall()
        fts = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL%'")}
    return [name for (name,) in rows if not any(name.startswith(f + "_") for f in fts)]


def write_parquet(db: Path, table: str, target: Path) -> int:
    """Copy one table into a Parquet file (zstd), column types from the database; return its rows."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        columns = conn.execute(f'SELECT name, type FROM pragma_table_info("{table}")').fetchall()
        schema = pa.schema(
            [(name, _ARROW_TYPES.get((kind or "").upper(), pa.string())) for name, kind in columns]
        )
        tmp = target.with_name(target.name + ".tmp")
        rows = 0
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            while batch := cursor.fetchmany(BATCH_ROWS):
                arrays = [
                    pa.array([row[i] for row in batch], type=schema.field(i).type)
                    for i in range(len(columns))
                ]
                writer.write_batch(pa.record_batch(arrays, schema=schema))
                rows += len(batch)
    os.replace(tmp, target)
    return rows


def sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_checksums(directory: Path, name: str = "SHA256SUMS") -> Path:
    """A `sha256sum -c` manifest of every file under directory."""
    lines = [
        f"{sha256(path)}  {path.relative_to(directory).as_posix()}"
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != name
    ]
    target = directory / name
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def precompress(site: Path) -> int:
    """Write file.gz beside each text file that shrinks (nginx's gzip_static sends it); return the count."""
    count = 0
    for path in site.rglob("*"):
        if not path.is_file() or path.suffix not in COMPRESSIBLE or path.stat().st_size < GZIP_MIN_BYTES:
            continue
        data = path.read_bytes()
        packed = gzip.compress(data, compresslevel=9, mtime=0)
        if len(packed) < len(data):
            path.with_name(path.name + ".gz").write_bytes(packed)
            count += 1
    return count


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
