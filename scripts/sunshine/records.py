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
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 23
KEEP_BYTES = 16 << 20  # a comparison is kept for the next stage when its records are this small
KEEP_FILES = 64

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
    """git's object id of a file's bytes (what `git hash-object` prints)."""
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
    old_id: str, new_id: str, old: Opener, new: Opener, *, repeats: bool = True
) -> tuple[list[bytes], list[bytes]]:
    """compare, by git object ids, kept for the next caller: the database, the history and
    `sunshine diff` of one pull request compare the same two versions, and only the first reads them.

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

    removed, added = _compare(old, new, note_repeats)
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
