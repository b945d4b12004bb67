"""What a build keeps for the next one gives the same result as drawing or reading it again."""

from __future__ import annotations

import io

import pytest

from sunshine.history.gitrepo import spans_lines, spans_lines_in
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
    "data",
    [
        b'id,text\n1,"one line"\n',
        b'id,text\n1,"two\nlines"\n',
        b'id,text\n1,"a ""quoted"" word"\n2,"x\n\ny"\n',
        b'id,text\n1,"no end',
        b"",
    ],
)
@pytest.mark.parametrize("chunk", [1, 2, 5, 64])
def test_a_cell_spanning_lines_is_found_read_in_any_chunk_size(data, chunk):
    assert spans_lines_in(io.BytesIO(data), chunk=chunk) == spans_lines(data)
