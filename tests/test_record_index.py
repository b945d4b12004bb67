"""Indexes of CSV versions (where each record stands, a keyed hash of it) and git object ids read
from git's index: the comparison they make is the one reading both files makes."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from sunshine import records

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]


def test_an_index_reads_records_as_the_comparison_does(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old = b'a,b\n1,x\n2,"two\n\nlines"\r\n\n3,y\n4,"q""uote"'
    new = b'a,b\n2,"two\n\nlines"\n3,y\n5,z\n4,"q""uote"\n1,x2\n'
    (tmp_path / "old.csv").write_bytes(old)
    (tmp_path / "new.csv").write_bytes(new)
    for size in (3, 5, 1 << 20):
        monkeypatch.setattr(records, "CHUNK", size)
        index = records.build_index(io.BytesIO(old), 1)
        want = [r for batch in records.batches(io.BytesIO(old), size) for r in batch]
        assert [old[s : s + n] for s, n in index.frame.select("start", "length").iter_rows()] == want
        assert (index.blank, index.cr, index.multiline) == (True, True, True)
    paths = (tmp_path / "old.csv", tmp_path / "new.csv")
    by_index = records._compare_indexed(paths, ("old", "new"))
    by_reading = records.compare(lambda: paths[0].open("rb"), lambda: paths[1].open("rb"))
    assert by_index == by_reading == ([b"1,x"], [b"5,z", b"1,x2"])
    assert records.kept_index("new") is not None  # kept for the next reader


def test_an_index_that_no_longer_matches_its_file_is_not_trusted(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_bytes(b"a\n1\n2\n")
    new.write_bytes(b"a\n1\n3\n")
    assert records._compare_indexed((old, new), ("o", "n")) == ([b"2"], [b"3"])
    new.write_bytes(b"a\n1\n4\n")  # the same id, other bytes: the records read back do not match
    assert records._compare_indexed((old, new), ("o", "n")) is None


@pytest.fixture
def committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A CSV committed in a fresh repository, large enough to have its id read from git's index."""
    monkeypatch.setattr(records, "FROM_INDEX", 0)
    subprocess.run([*GIT, "init", "-q", str(tmp_path)], check=True)
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,x\n")
    subprocess.run([*GIT, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*GIT, "commit", "-qm", "data"], cwd=tmp_path, check=True)
    return path


def test_the_id_of_a_file_git_holds_unchanged_comes_from_its_index(committed):
    assert records._indexed_id(committed) == records.hashed_id(committed)
    assert records.blob_id(committed) == records.hashed_id(committed)


def test_a_file_changed_since_it_was_committed_is_hashed(committed):
    committed.write_bytes(b"a,b\n1,y\n")  # same size, at once: git compares the content
    assert records._indexed_id(committed) is None
    assert records.blob_id(committed) == records.hashed_id(committed)


def test_a_file_git_is_told_to_overlook_is_hashed(committed):
    subprocess.run([*GIT, "update-index", "--assume-unchanged", "data.csv"], cwd=committed.parent, check=True)
    committed.write_bytes(b"a,b\n1,z\n")
    assert records._indexed_id(committed) is None
    assert records.blob_id(committed) == records.hashed_id(committed)


def test_a_file_whose_line_ends_git_converts_is_hashed(committed):
    (committed.parent / ".gitattributes").write_text("*.csv text eol=crlf\n", encoding="utf-8")
    assert records._indexed_id(committed) is None


def test_a_file_outside_a_repository_is_hashed(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "FROM_INDEX", 0)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    path = tmp_path / "alone" / "data.csv"
    path.parent.mkdir()
    path.write_bytes(b"a\n1\n")
    assert records._indexed_id(path) is None
    assert records.blob_id(path) == records.hashed_id(path)
