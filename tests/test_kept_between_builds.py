"""What a build keeps or skips for the next one gives the same result as drawing or reading it all again."""

from __future__ import annotations

import io
import subprocess

import pytest

from sunshine import records
from sunshine.noticeboard.build import QrCodes
from sunshine.noticeboard.sheet import qr_svg

URL = "https://example.org/noticeboard/990101101001/2026-Q3/"


def test_a_qr_code_is_drawn_once_and_read_back_the_same(tmp_path, monkeypatch):
    codes = QrCodes(tmp_path / "qr")
    first = codes(URL)
    assert first == qr_svg(URL)
    monkeypatch.setattr("sunshine.noticeboard.build.qr_svg", lambda url: pytest.fail("drawn again"))
    assert QrCodes(tmp_path / "qr")(URL) == first


def test_qr_codes_no_sheet_uses_any_more_are_removed(tmp_path):
    QrCodes(tmp_path / "qr")(URL)
    later = QrCodes(tmp_path / "qr")
    later(URL + "x")
    later.forget_unused()
    assert len(list((tmp_path / "qr").iterdir())) == 1
    assert later(URL + "x") == qr_svg(URL + "x")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'id,text\n1,"one line"\n', [b'1,"one line"']),
        (b'id,text\r\n1,"two\r\nlines"\r\n2,b\r\n', [b'1,"two\r\nlines"', b"2,b"]),
        (
            b'id,text\n1,"a ""quoted"" word"\n\n2,"x\n\ny"\n3,z',
            [b'1,"a ""quoted"" word"', b'2,"x\n\ny"', b"3,z"],
        ),
        (b'id,text\n1,"no end\n2,b\n', [b'1,"no end\n2,b']),
        (b"id,text", []),
        (b"", []),
    ],
)
@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_records_are_read_whole_in_any_chunk_size(data, expected, chunk):
    assert [r for batch in records.batches(io.BytesIO(data), chunk=chunk) for r in batch] == expected


def test_two_versions_differ_by_the_records_one_lacks_counted_as_often_as_they_stand():
    old = b'id,text\n1,a\n2,"x\ny"\n3,c\n3,c\n'
    new = b'id,text\r\n2,"x\ny"\r\n3,c\r\n4,d\r\n1,a\r\n'

    def opener(data: bytes) -> records.Opener:
        return lambda: io.BytesIO(data)

    assert records.compare(opener(old), opener(new)) == ([b"3,c"], [b"4,d"])
    with pytest.raises(records.Repeated):
        records.compare(opener(old), opener(new), repeats=False)
    assert records.compare(opener(old[:-4]), opener(new)) == ([], [b"4,d"])
    with pytest.raises(records.HeaderChanged):
        records.compare(opener(old), opener(b"id,words\n1,a\n"))


def test_a_comparison_is_kept_for_the_next_stage_by_the_object_ids_of_both_versions(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    old.write_bytes(b"id,text\n1,a\n2,b\n")
    new.write_bytes(b"id,text\n1,a\n2,\xe4\xb9\x99\n3,c\n3,c\n")
    ids = (records.blob_id(old), records.blob_id(new))
    assert (
        ids[0] == subprocess.run(["git", "hash-object", old], capture_output=True, text=True).stdout.strip()
    )

    def opener(path):
        return lambda: path.open("rb")

    first = records.compare_kept(*ids, opener(old), opener(new))
    assert first == ([b"2,b"], [b"2,\xe4\xb9\x99", b"3,c", b"3,c"])

    def unread():
        pytest.fail("read again")

    assert records.compare_kept(*ids, unread, unread) == first
    with pytest.raises(records.Repeated):
        records.compare_kept(*ids, unread, unread, repeats=False)
