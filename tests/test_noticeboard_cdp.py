"""The sheets are printed by Chromium driven over its DevTools pipe (noticeboard/cdp.py): a page prints
as an A4 PDF, and a browser that stops, hangs or cannot open the page gives a Chinese error, leaving
no process or profile behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pikepdf
import pytest
from pypdf import PdfReader

from sunshine.noticeboard import cdp, pdf
from sunshine.noticeboard.build import Printer

from .browser import CHROMIUM, require_chromium


def _profiles(pid: int) -> list[str]:
    """The browser profiles a process made that are still there."""
    return [p.name for p in Path(tempfile.gettempdir()).glob(f"{cdp.PROFILE_PREFIX}{pid}-*")]


def _script(tmp_path: Path, body: str) -> str:
    path = tmp_path / "browser"
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return str(path)


def test_a_page_is_printed_on_a4_with_its_text(tmp_path: Path):
    require_chromium()
    html = tmp_path / "公开栏.html"
    html.write_text(
        "<!doctype html><meta charset=utf-8><style>@page { size: A4; margin: 10mm }</style>"
        "<h1>清溪村三务公开栏</h1><p style='page-break-before: always'>第二页</p>",
        encoding="utf-8",
    )
    with cdp.tab(CHROMIUM, pdf.ARGS) as tab:
        tab.print_pdf(html, tmp_path / "one.pdf")
        tab.print_pdf(html, tmp_path / "two.pdf")  # the same tab prints again
    with pikepdf.open(tmp_path / "one.pdf") as doc:
        assert [[round(float(x)) for x in page.mediabox] for page in doc.pages] == [[0, 0, 595, 842]] * 2
    assert (tmp_path / "two.pdf").read_bytes()[:5] == b"%PDF-"
    assert _profiles(os.getpid()) == []


def test_tabs_side_by_side_print_each_page_into_its_own_file(tmp_path: Path):
    require_chromium()
    jobs = []
    for n in range(5):
        html = tmp_path / f"{n}.html"
        # Pages of different lengths: the quick ones come back before the slow ones.
        html.write_text(
            f"<!doctype html><meta charset=utf-8><p>第{n}村公开栏</p>" + "<p>内容</p>" * (400 * (n % 2)),
            encoding="utf-8",
        )
        jobs.append((html, tmp_path / f"{n}.pdf"))
    with cdp.tabs(CHROMIUM, pdf.ARGS, 2) as tabs:
        assert list(tabs.print_pdfs(jobs)) == [target for _, target in jobs]
        assert len(tabs.tabs) == 2
    for n, (_, target) in enumerate(jobs):
        assert f"第{n}村公开栏" in PdfReader(target).pages[0].extract_text().replace(" ", "")


def test_tabs_print_right_after_a_group_that_failed(tmp_path: Path):
    require_chromium()
    pages = {}
    for name, length in (("j0", 1), ("j1", 71), ("j2", 2), ("j3", 1), ("j4", 15)):
        pages[name] = tmp_path / f"{name}.html"
        body = f"<p>{name}页</p>" + "".join(
            "<p style='page-break-before: always'>续</p>" for _ in range(length - 1)
        )
        pages[name].write_text(f"<!doctype html><meta charset=utf-8>{body}", encoding="utf-8")
    with cdp.tabs(CHROMIUM, pdf.ARGS, 2) as tabs:
        failed = [(pages["j0"], tmp_path / "j0.pdf"), (tmp_path / "没有.html", tmp_path / "x.pdf")]
        with pytest.raises(cdp.BrowserError, match="没有.html"):
            list(tabs.print_pdfs([*failed, (pages["j2"], tmp_path / "j2.pdf")]))
        time.sleep(1)  # the late events of the failed group have come
        jobs = [(pages[name], tmp_path / f"{name}.pdf") for name in ("j1", "j3", "j4")]
        list(tabs.print_pdfs(jobs))
    for name, length in (("j1", 71), ("j3", 1), ("j4", 15)):
        reader = PdfReader(tmp_path / f"{name}.pdf")
        text = reader.pages[0].extract_text().replace(" ", "")
        assert (len(reader.pages), text.startswith(name)) == (length, True)  # unfixed text layer: 页 is ⻚


def test_two_jobs_of_one_key_are_printed_once_and_both_linked(tmp_path: Path, monkeypatch):
    require_chromium()
    monkeypatch.setenv("SUNSHINE_CHROMIUM", CHROMIUM)
    html = tmp_path / "sheet.html"
    html.write_text("<!doctype html><meta charset=utf-8><p>公开栏</p>", encoding="utf-8")
    jobs = [(html, tmp_path / "a" / "sheet.pdf", "same"), (html, tmp_path / "b" / "sheet.pdf", "same")]
    assert pdf.print_pdfs(jobs, tmp_path / "cache") == 1
    assert (tmp_path / "a" / "sheet.pdf").read_bytes() == (tmp_path / "b" / "sheet.pdf").read_bytes()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [f"same-{pdf.VERSION}.pdf"]


def test_a_long_document_comes_back_whole(tmp_path: Path):
    require_chromium()
    html = tmp_path / "长.html"
    pages = "".join(
        f"<p style='page-break-after: always'>第 {i} 页" + "公开内容" * 400 + "</p>" for i in range(60)
    )
    html.write_text(f"<!doctype html><meta charset=utf-8>{pages}", encoding="utf-8")
    with cdp.tab(CHROMIUM, pdf.ARGS) as tab:
        tab.print_pdf(html, tmp_path / "long.pdf")
    assert (tmp_path / "long.pdf").stat().st_size > 64 << 10  # past one read of the pipe (64 KB)
    with pikepdf.open(tmp_path / "long.pdf") as doc:
        assert len(doc.pages) >= 60


def test_a_page_that_cannot_be_opened_is_named_in_the_error(tmp_path: Path):
    require_chromium()
    with cdp.tab(CHROMIUM, pdf.ARGS) as tab, pytest.raises(cdp.BrowserError, match="无法打开 .*不存在.html"):
        tab.print_pdf(tmp_path / "不存在.html", tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()


def test_a_command_the_browser_refuses_is_named_in_a_chinese_error():
    require_chromium()
    with cdp.tab(CHROMIUM, pdf.ARGS) as tab, pytest.raises(cdp.BrowserError) as raised:
        tab.browser.send("Page.noSuchCommand", session=tab.session)
    assert str(raised.value).startswith("Chromium 没能完成 Page.noSuchCommand（")


def test_a_browser_that_exits_at_once_is_an_error(tmp_path: Path):
    with pytest.raises(cdp.BrowserError, match="Chromium 意外退出"), cdp.tab(_script(tmp_path, "exit 1"), []):
        pass
    assert _profiles(os.getpid()) == []


def test_a_browser_that_never_answers_is_stopped_after_the_timeout(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(cdp, "TIMEOUT", 1.0)
    started = time.monotonic()
    with pytest.raises(cdp.BrowserError, match="没有回应"), cdp.tab(_script(tmp_path, "exec sleep 600"), []):
        pass
    assert time.monotonic() - started < 5


def test_the_site_build_names_a_browser_that_failed_in_chinese(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_CHROMIUM", _script(tmp_path, "exit 1"))
    html = tmp_path / "sheet.html"
    html.write_text("<!doctype html><meta charset=utf-8><p>公开栏</p>", encoding="utf-8")
    printer = Printer(tmp_path / "cache")
    with pytest.raises(RuntimeError) as raised:
        printer.print([(html, tmp_path / "sheet.pdf", "sheet")])
    assert str(raised.value) == "打印公开栏 PDF 失败（Chromium 意外退出）"
    assert not (tmp_path / "sheet.pdf").exists()


def test_a_browser_that_answers_nonsense_is_an_error(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(cdp, "TIMEOUT", 1.0)
    browser = _script(tmp_path, "printf 'oops\\0' >&4\nexec sleep 600")
    with pytest.raises(cdp.BrowserError, match="Chromium 的回应无法读取"), cdp.tab(browser, []):
        pass


def test_what_a_wrapper_script_started_is_stopped_with_it(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(cdp, "TIMEOUT", 1.0)
    with pytest.raises(cdp.BrowserError), cdp.tab(_script(tmp_path, "sleep 613\nexit 0"), []):
        pass
    time.sleep(0.2)
    assert "sleep 613" not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout


def test_the_profile_of_a_browser_whose_printer_was_killed_is_removed_by_the_next(tmp_path: Path):
    stale = Path(tempfile.gettempdir()) / f"{cdp.PROFILE_PREFIX}{2**22 + 17}-left1234"
    (stale / "Default").mkdir(parents=True, exist_ok=True)
    (stale / "Local State").write_text("{}", encoding="utf-8")
    empty = Path(tempfile.gettempdir()) / f"{cdp.PROFILE_PREFIX}{2**22 + 17}-empty123"  # killed at once
    empty.mkdir(exist_ok=True)
    other = Path(tempfile.gettempdir()) / f"{cdp.PROFILE_PREFIX}{2**22 + 17}-notes"  # not a browser's
    (other / "笔记").mkdir(parents=True, exist_ok=True)
    with pytest.raises(cdp.BrowserError), cdp.tab(_script(tmp_path, "exit 1"), []):
        pass
    assert (stale.exists(), empty.exists(), other.is_dir()) == (False, False, True)
    shutil.rmtree(other)


def test_a_printer_stopped_with_nothing_to_print_leaves_no_profile(tmp_path: Path, monkeypatch):
    require_chromium()
    monkeypatch.setenv("SUNSHINE_CHROMIUM", CHROMIUM)
    printer = Printer(tmp_path / "cache")
    time.sleep(1)  # Chromium has started
    printer.stop()
    assert printer.proc.returncode == 0
    assert _profiles(printer.proc.pid) == []


def test_a_printer_stopped_while_it_prints_is_killed_at_once(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("SUNSHINE_CHROMIUM", _script(tmp_path, "exec sleep 600"))  # never answers
    html = tmp_path / "sheet.html"
    html.write_text("<!doctype html><meta charset=utf-8><p>公开栏</p>", encoding="utf-8")
    printer = Printer(tmp_path / "cache")
    failed: list[BaseException] = []

    def printing() -> None:
        try:
            printer.print([(html, tmp_path / "sheet.pdf", "sheet")])
        except RuntimeError as exc:
            failed.append(exc)

    worker = threading.Thread(target=printing)
    worker.start()
    time.sleep(1)  # the build is interrupted while the printer waits on Chromium
    started = time.monotonic()
    printer.stop()
    worker.join(10)
    assert (time.monotonic() - started < 5, printer.proc.returncode) == (True, -9)
    assert [str(e).startswith("打印公开栏 PDF 失败") for e in failed] == [True]


def test_a_printer_stopped_while_it_prints_leaves_its_pipes_to_the_print_reading_them(
    tmp_path: Path, monkeypatch
):
    # The race the test above can lose: stop() closing the pipes under print() gave OSError, not the Chinese error.
    monkeypatch.setenv("SUNSHINE_CHROMIUM", _script(tmp_path, "exec sleep 600"))
    printer = Printer(tmp_path / "cache")
    printer.asked = printer.printing = True  # print() is inside communicate()
    printer.stop()
    assert (printer.proc.returncode, printer.proc.stdout.closed, printer.proc.stderr.closed) == (
        -9,
        False,
        False,
    )
    printer.printing = False
    printer.proc.communicate()  # what print() does next: read to the end, then close
    assert (printer.proc.stdout.closed, printer.proc.stderr.closed) == (True, True)
