"""The records two versions of a CSV do not share: what the database, the history and `sunshine diff`
read of a change, instead of the whole file.

A record is a row as written: its bytes without the line end after it. A record whose quoted cell
spans lines is its lines together, the line ends inside the cell as written (its inner lines, blank
or without quotes, are no rows). Blank lines are no records. The header is not a record.

Both versions are streamed eight megabytes at a time and only a hash of each record is kept
(Python's `hash`, keyed at random for each process, so a CSV cannot be made to collide): a county's
340 MB file is compared in about a second and 100 MB, where `git diff` held both versions in 900 MB.
Splitting, hashing and set operations run a block at a time in C; a line is looked at in Python only
in a block with a quoted cell that spans lines.

An index of a version (`index_of`: where each record stands and a hash of it keyed by a secret kept
in the cache, so stable from one process to the next) is kept by git object id. Two indexed
versions are compared without reading either file: only the records that differ are read back.
Validation indexes what it reads, so the database finds both versions indexed after a commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

CHUNK = 1 << 23
KEEP_BYTES = 16 << 20  # a comparison is kept for the next stage when its records are this small
KEEP_FILES = 64
KEEP_INDEXES = 16  # indexes of file versions kept (a county's petitions: 24 MB each)
BOM = b"\xef\xbb\xbf"
FROM_INDEX = 16 << 20  # files this large have their git object id read from git's index
FLAGS = ("blank", "cr", "multiline", "unique")  # of an index, kept with it
INDEX_FORMAT = 2  # 2: `cr` counts a lone CR in the first line too
CONVERTING = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")  # attributes

Opener = Callable[[], AbstractContextManager[BinaryIO]]


def header(stream: BinaryIO) -> bytes:
    """The first line, without a UTF-8 byte-order mark or its line end."""
    return stream.readline().removeprefix(b"\xef\xbb\xbf").rstrip(b"\r\n")


def batches(stream: BinaryIO, chunk: int = CHUNK) -> Iterator[list[bytes]]:
    """The records after the header, a block at a time (the header must not have been read)."""
    stream.readline()
    splitter = _Splitter()
    rest = b""
    while block := stream.read(chunk):
        block = rest + block
        end = block.rfind(b"\n") + 1
        rest = block[end:]
        if end:
            yield splitter.records(block[: end - 1])
    last = splitter.records(rest) if rest else []
    if splitter.pending:
        last.append(b"\n".join(splitter.pending).rstrip(b"\r\n"))
    if last:
        yield last


class _Splitter:
    """Lines into records, carrying a quoted cell that spans lines from one block into the next."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []  # the lines so far of the record being read
        self.inside = False  # within a quoted cell

    def records(self, block: bytes) -> list[bytes]:
        lines = block.split(b"\n")
        if not self.pending and (b'"' not in block or not any(_odd(x) for x in lines if b'"' in x)):
            if b"\r" in block:
                lines = [x.rstrip(b"\r") for x in lines]
            return [x for x in lines if x] if b"" in lines else lines
        out: list[bytes] = []
        for line in lines:
            self.pending.append(line)
            if _odd(line):
                self.inside = not self.inside
            if self.inside:
                continue  # the quoted cell is still open
            record = b"\n".join(self.pending).rstrip(b"\r\n")
            self.pending = []
            if record:
                out.append(record)
        return out


def _odd(line: bytes) -> bool:
    return line.count(b'"') % 2 == 1


def cache_root() -> Path:
    """The user's cache directory for what one build keeps for the next (`$XDG_CACHE_HOME/sunshine`)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sunshine"


def blob_id(path: Path) -> str:
    """git's object id of a file's bytes (what `git hash-object` prints): for a large file that its
    repository's index holds as it is on disk, read from the index; else hashed."""
    if path.stat().st_size >= FROM_INDEX and (found := _indexed_id(path)):
        return found
    return hashed_id(path)


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Every change of the file's stat data counts, and no file system monitor is trusted.
    settings = ["-c", "core.fsmonitor=false", "-c", "core.checkStat=default", "-c", "core.trustctime=true"]
    return subprocess.run(
        ["git", *settings, "-C", str(path.parent), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "GIT_OPTIONAL_LOCKS": "0"},
    )


def _indexed_id(path: Path) -> str | None:
    """The id git's index holds for the file, when git says the file on disk has not changed since
    (its own check: a file written within the index's timestamp is compared by content), no flag
    tells git to overlook changes, and nothing converts the file's bytes on their way into git."""
    name = path.name
    try:
        listed = _git(path, "ls-files", "-s", "-v", "-z", "--", name)
        tag, _, rest = listed.stdout.partition(" ")
        mode, blob, stage = rest.partition("\t")[0].split(" ")
        if listed.returncode != 0 or tag != "H" or stage != "0" or not mode.startswith("100"):
            return None
        if _git(path, "diff-files", "--quiet", "--", name).returncode != 0:
            return None
        attrs = _git(path, "check-attr", "-z", *CONVERTING, "--", name)
        values = attrs.stdout.split("\0")[2::3]
        if attrs.returncode != 0 or len(values) != len(CONVERTING) or set(values) != {"unspecified"}:
            return None
        autocrlf = _git(path, "config", "--get", "core.autocrlf")
        if autocrlf.returncode == 0 and autocrlf.stdout.strip().lower() not in ("false", "0", "no", "off"):
            return None
    except (OSError, ValueError):
        return None
    return blob if len(blob) == 40 else None


def hashed_id(path: Path) -> str:
    """git's object id of a file's bytes, hashed."""
    digest = hashlib.sha1(b"blob %d\0" % path.stat().st_size, usedforsecurity=False)
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class HeaderChanged(Exception):
    """The first lines differ: rows cannot be compared as records."""


class Repeated(Exception):
    """A record stands more than once in one version, and the caller compares sets."""


def compare(old: Opener, new: Opener, *, repeats: bool = True) -> tuple[list[bytes], list[bytes]]:
    """(removed, added): the records of `old` that `new` lacks and the other way round, each as
    often as it stands more times on its side. Raises HeaderChanged when the headers differ, and
    Repeated when a record stands twice in one version unless `repeats`.

    `old` and `new` open a fresh binary stream each time they are called; each is read twice."""

    def on_repeats() -> None:
        if not repeats:
            raise Repeated

    return _compare(old, new, on_repeats)


def _compare(old: Opener, new: Opener, on_repeats: Callable[[], None]) -> tuple[list[bytes], list[bytes]]:
    with old() as a, new() as b:
        if header(a) != header(b):
            raise HeaderChanged
    seen: set[int] = set()
    count = 0
    with new() as b:
        for batch in batches(b):
            seen.update(map(hash, batch))
            count += len(batch)
    if len(seen) != count:
        on_repeats()
        return _compare_repeated(old, new)
    removed: list[bytes] = []
    kept: set[int] = set()
    count = 0
    with old() as a:
        for batch in batches(a):
            hashes = list(map(hash, batch))
            kept.update(hashes)
            count += len(batch)
            if not seen.issuperset(hashes):
                removed.extend(r for r, h in zip(batch, hashes, strict=True) if h not in seen)
    if len(kept) != count:
        on_repeats()
        return _compare_repeated(old, new)
    del seen
    added: list[bytes] = []
    with new() as b:
        for batch in batches(b):
            hashes = list(map(hash, batch))
            if not kept.issuperset(hashes):
                added.extend(r for r, h in zip(batch, hashes, strict=True) if h not in kept)
    return removed, added


def compare_kept(
    old_id: str,
    new_id: str,
    old: Opener,
    new: Opener,
    *,
    repeats: bool = True,
    paths: tuple[Path, Path] | None = None,
) -> tuple[list[bytes], list[bytes]]:
    """compare, by git object ids, kept for the next caller: the database, the history and
    `sunshine diff` of one pull request compare the same two versions, and only the first reads them.
    With `paths` (the two versions as files), by their indexes (`index_of`) when no record stands
    twice.

    Kept in the user's cache directory (the records hold unmasked text, and build/ is published),
    the last KEEP_FILES comparisons whose records take at most KEEP_BYTES."""
    folder = cache_root() / "changed-records"
    path = folder / f"{old_id}-{new_id}.json"
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
        if kept["repeated"] and not repeats:
            raise Repeated
        return [r.encode("latin-1") for r in kept["removed"]], [r.encode("latin-1") for r in kept["added"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, UnicodeEncodeError):
        pass
    repeated = False

    def note_repeats() -> None:
        nonlocal repeated
        repeated = True
        if not repeats:
            raise Repeated

    found = _compare_indexed(paths, (old_id, new_id)) if paths else None
    removed, added = found if found is not None else _compare(old, new, note_repeats)
    if sum(map(len, removed)) + sum(map(len, added)) <= KEEP_BYTES:
        _keep(folder, path, {"repeated": repeated, "removed": removed, "added": added})
    return removed, added


def _keep(folder: Path, path: Path, kept: dict) -> None:
    """Write one comparison (bytes as Latin-1 text, which maps each byte to one character)."""
    kept = {k: [r.decode("latin-1") for r in v] if isinstance(v, list) else v for k, v in kept.items()}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        entries = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[KEEP_FILES:]:
            stale.unlink(missing_ok=True)
    except OSError:
        pass  # keeping it only saves the next stage a read


def _compare_repeated(old: Opener, new: Opener) -> tuple[list[bytes], list[bytes]]:
    """compare, when a record stands more than once on one side: counted, not as sets."""
    counts: Counter[int] = Counter()
    with old() as a:
        for batch in batches(a):
            counts.update(map(hash, batch))
    added = _take(new, counts, matched=False)
    removed = _take(old, counts, matched=True) if any(counts.values()) else []
    return removed, added


def _take(opener: Opener, counts: Counter[int], *, matched: bool) -> list[bytes]:
    """The records of a stream that `counts` still holds (matched) or no longer holds (not
    matched), each record found using up one count."""
    out: list[bytes] = []
    with opener() as stream:
        for batch in batches(stream):
            for record in batch:
                h = hash(record)
                found = counts[h] > 0
                if found:
                    counts[h] -= 1
                if found == matched:
                    out.append(record)
    return out


# -- indexes of file versions -------------------------------------------------------------------


@dataclass
class Index:
    """Each record of one version of a file, in order: a keyed hash of its bytes (h), where it
    starts (start) and how many bytes it has (length, its line end left out)."""

    frame: pl.DataFrame
    header: bytes  # the first line as written, a byte-order mark included
    blank: bool = False  # some line outside a quoted cell has nothing on it
    cr: bool = False  # a carriage return stands somewhere after the header
    multiline: bool = False  # some record spans lines
    unique: bool = True  # no record stands twice

    @property
    def records(self) -> int:
        return self.frame.height


def _index_dir() -> Path:
    return cache_root() / "record-index" / f"v{INDEX_FORMAT}-polars-{pl.__version__}"


def _seed(folder: Path) -> int:
    """The secret the hashes are keyed with, made once per cache: a CSV cannot be made to collide."""
    path = folder / "key"
    try:
        return int(path.read_text(encoding="ascii").strip(), 16)
    except (OSError, ValueError):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"key.{os.getpid()}.tmp"
        tmp.write_text(os.urandom(8).hex(), encoding="ascii")
        try:
            os.link(tmp, path)  # the first process to make it wins; the others read it
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return int(path.read_text(encoding="ascii").strip(), 16)


def _hashes(records: list[bytes], seed: int) -> pl.Series:
    return pl.Series("h", records, dtype=pl.Binary).hash(seed=seed)


def build_index(stream: BinaryIO, seed: int) -> Index:
    """Read a stream once (from its start) and index its records, as `batches` splits them."""
    first = stream.readline()
    header = first.rstrip(b"\r\n")
    parts: list[pl.DataFrame] = []
    # A CR in the first line but its CRLF: a lone CR that ends a record (old Mac Excel), the file's
    # only "line" when every record ends so.
    state = {"blank": False, "cr": b"\r" in first.removesuffix(b"\r\n"), "multiline": False}
    pending: list[bytes] = []
    pending_start = 0
    inside = False
    base = len(first)
    rest = b""

    def add(records: list[bytes], starts: pl.Series | list[int]) -> None:
        if records:
            kept = pl.Series("h", records, dtype=pl.Binary)
            _add(kept, pl.Series("start", starts, dtype=pl.Int64))

    def _add(kept: pl.Series, starts: pl.Series) -> None:
        lengths = kept.bin.size().cast(pl.Int64).alias("length")
        if not (lengths > 0).all():
            state["blank"] = True
            kept, starts, lengths = (
                kept.filter(lengths > 0),
                starts.filter(lengths > 0),
                lengths.filter(lengths > 0),
            )
        parts.append(pl.DataFrame([kept.hash(seed=seed).alias("h"), starts.alias("start"), lengths]))

    def block(lines: list[bytes], at: int, quotes: bool) -> None:
        nonlocal pending, pending_start, inside
        if not pending and (not quotes or not any(_odd(x) for x in lines if b'"' in x)):
            whole = pl.Series("h", lines, dtype=pl.Binary)
            sizes = whole.bin.size().cast(pl.Int64) + 1
            starts = sizes.cum_sum() - sizes + at
            if state["cr"]:
                whole = pl.Series("h", [x.rstrip(b"\r") for x in lines], dtype=pl.Binary)
            _add(whole, starts)
            return
        records: list[bytes] = []
        starts_: list[int] = []
        pos = at
        for line in lines:
            if not pending:
                pending_start = pos
            pending.append(line)
            pos += len(line) + 1
            if _odd(line):
                inside = not inside
            if inside:
                continue
            if len(pending) > 1:
                state["multiline"] = True
            record = b"\n".join(pending).rstrip(b"\r\n")
            pending = []
            if record:
                records.append(record)
                starts_.append(pending_start)
            else:
                state["blank"] = True
        add(records, starts_)

    def split(chunk: bytes, start: int, end: int) -> pa.Array:
        """The lines of chunk[start:end], split by Arrow without copying the chunk."""
        offsets = pa.array([0, end - start], pa.int32()).buffers()[1]
        whole = pa.Array.from_buffers(
            pa.binary(), 1, [None, offsets, pa.py_buffer(chunk).slice(start, end - start)]
        )
        return pc.list_flatten(pc.split_pattern(whole, b"\n"))

    # Each block is split where it was read; only the line it cut is put together again.
    while chunk := stream.read(CHUNK):
        state["cr"] = state["cr"] or b"\r" in chunk
        last = chunk.rfind(b"\n")
        if last < 0:
            rest += chunk
            continue
        first = chunk.find(b"\n")
        head = rest + chunk[:first]
        body = split(chunk, first + 1, last) if last > first else None
        simple = not pending and not state["cr"] and not _odd(head)
        if simple and body is not None and b'"' in chunk:
            quotes = pc.bit_wise_and(pc.count_substring(body, '"'), 1)
            simple = not pc.any(pc.equal(quotes, 1)).as_py()
        if simple:
            _add(pl.Series("h", [head], dtype=pl.Binary), pl.Series("start", [base], dtype=pl.Int64))
            if body is not None:
                lines = pl.Series("h", pl.from_arrow(body), dtype=pl.Binary)
                sizes = lines.bin.size().cast(pl.Int64) + 1
                _add(lines, sizes.cum_sum() - sizes + base + len(head) + 1)
        else:
            block([head, *(body.to_pylist() if body is not None else [])], base, True)
        base += len(head) + 1 + (last - first)
        rest = chunk[last + 1 :]
    if rest:
        block([rest], base, b'"' in rest)
    if pending:
        state["multiline"] = state["multiline"] or len(pending) > 1
        record = b"\n".join(pending).rstrip(b"\r\n")
        add([record] if record else [], [pending_start])
    frame = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(schema={"h": pl.UInt64, "start": pl.Int64, "length": pl.Int64})
    )
    return Index(frame, header, **state)


def kept_index(blob: str) -> Index | None:
    """The kept index of the file version whose git object id is `blob`, if any."""
    folder = _index_dir()
    kept = folder / f"{blob}.arrow"
    try:
        seed = _seed(folder)
        with pa.memory_map(str(kept)) as source:
            table = pa.ipc.open_file(source).read_all()
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        if meta.get("seed") != f"{seed:x}":
            return None
        frame = pl.from_arrow(table.replace_schema_metadata(None))
        assert isinstance(frame, pl.DataFrame)
        flags = {k: meta[k] == "1" for k in FLAGS}
        return Index(frame, bytes.fromhex(meta["header"]), **flags)
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None


def index_of(path: Path, blob: str) -> Index:
    """The index of a file whose git object id is `blob`: kept from an earlier reader, or read now
    and kept for the next."""
    found = kept_index(blob)
    if found is not None:
        return found
    folder = _index_dir()
    seed = _seed(folder)
    kept = folder / f"{blob}.arrow"
    with path.open("rb") as f:
        found = build_index(f, seed)
    meta = {"seed": f"{seed:x}", "header": found.header.hex()}
    found.unique = found.frame["h"].n_unique() == found.records
    meta |= {k: "1" if getattr(found, k) else "0" for k in FLAGS}
    try:
        tmp = kept.with_name(f"{kept.name}.{os.getpid()}.tmp")
        with pa.OSFile(str(tmp), "wb") as sink:
            table = found.frame.to_arrow().replace_schema_metadata(meta)
            with pa.ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        os.replace(tmp, kept)
        entries = sorted(folder.glob("*.arrow"), key=lambda p: p.stat().st_mtime, reverse=True)
        for stale in entries[KEEP_INDEXES:]:
            stale.unlink(missing_ok=True)
    except (OSError, pa.ArrowException):
        pass  # keeping it only saves the next reader a pass over the file
    return found


def read_records(path: Path, rows: pl.DataFrame) -> list[bytes] | None:
    """The records of `rows` (from an index of `path`) read back from the file; None when the file
    no longer holds them (their hashes differ)."""
    out = []
    with path.open("rb") as f:
        for start, length in rows.select("start", "length").iter_rows():
            f.seek(start)
            out.append(f.read(length))
    if out and not _hashes(out, _seed(_index_dir())).equals(rows["h"], check_names=False):
        return None
    return out


def _compare_indexed(
    paths: tuple[Path, Path], ids: tuple[str, str]
) -> tuple[list[bytes], list[bytes]] | None:
    """compare by the two versions' indexes; None when a record stands twice on one side (the
    caller compares by counts) or a file does not hold what its index says."""
    old, new = index_of(paths[0], ids[0]), index_of(paths[1], ids[1])
    if old.header.removeprefix(BOM) != new.header.removeprefix(BOM):
        raise HeaderChanged
    if not old.unique or not new.unique:
        return None
    a, b = old.frame, new.frame
    removed = read_records(paths[0], a.filter(~pl.col("h").is_in(b["h"].implode())))
    added = read_records(paths[1], b.filter(~pl.col("h").is_in(a["h"].implode())))
    if removed is None or added is None:
        return None
    return removed, added
