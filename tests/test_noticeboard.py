"""The 公开日历 and the 公开栏 sheets in a built site, printed to PDF by real Chromium."""

from __future__ import annotations

import csv
import functools
import re
import shutil
import sqlite3
import threading
import unicodedata
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pypdfium2
import pytest
import zxingcpp
from pypdf import PdfReader

from sunshine.database.build import build_database
from sunshine.deadlines.periods import Period
from sunshine.deadlines.rules import FILENAME
from sunshine.deadlines.status import project_statuses, ranking
from sunshine.noticeboard.build import project_sheets, write_sheets
from sunshine.noticeboard.sheet import running_footer
from sunshine.package import Project
from sunshine.portal.metadata import load_overlay
from sunshine.sample.generate import Sizes, generate
from sunshine.sample.schedule import RULES_FILE
from sunshine.site.build import build, with_csp
from sunshine.site.pages.data import SiteData

from .browser import launch
from .conftest import ROOT, copy_package

SITE_URL = "https://cun.example.gov.cn/"
DATASETTE = "https://data.example.gov.cn"
FROM = "2026-07-01"  # the test township keeps the notices published from this day: six sheets
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
A4 = (595.0, 842.0)  # points


def compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


@pytest.fixture(scope="module")
def township(tmp_path_factory: pytest.TempPathFactory):
    """A generated township with the sample rules, its site built with PDFs."""
    base = tmp_path_factory.mktemp("noticeboard")
    generate(base / "generated", Sizes())
    root = copy_package(ROOT, base / "pkg", data_from=base / "generated")
    path = root / "data" / "disclosures.csv"
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = [r for r in reader if r["published_on"] >= FROM]
        fields = reader.fieldnames
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    shutil.copy(RULES_FILE, root / FILENAME)
    settings = (ROOT / "sunshine.toml").read_text(encoding="utf-8")
    (root / "sunshine.toml").write_text(
        settings.replace('url = "http://127.0.0.1:8000/"', f'url = "{SITE_URL}"'), encoding="utf-8"
    )
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copy(ROOT / "mkdocs.yml", root / "mkdocs.yml")
    project = Project.load(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUNSHINE_CHROMIUM", "/usr/bin/chromium")
        stats = build(project, root / "build" / "site", datasette_url=DATASETTE)
    return project, root / "build" / "site", stats


@pytest.fixture(scope="module")
def sheets(township):
    project, _, _ = township
    return project_sheets(project, SiteData.load(project))


def test_every_village_gets_a_sheet_and_a_pdf_for_each_quarter_it_published_in(township, sheets):
    project, site, stats = township
    assert sorted({s.period for s in sheets}) == ["2026-Q3", "2026-Q4"]
    assert len(sheets) == 6
    assert stats.sheets == "公开栏打印页 6 张（本次写出 6 张），最近 2 个季度的 PDF 6 份（本次打印 6 份）"
    for s in sheets:
        assert (site / s.path / "index.html").is_file()
        assert (site / s.path / "sheet.pdf").read_bytes()[:5] == b"%PDF-"
        index = (site / "noticeboard" / s.code / "index.html").read_text(encoding="utf-8")
        assert f'href="{s.period}/sheet.pdf"' in index


def test_a_rebuild_writes_no_sheet_again_and_links_the_same_pages(township, sheets, tmp_path, monkeypatch):
    project, site, _ = township
    monkeypatch.setenv("SUNSHINE_CHROMIUM", "/usr/bin/chromium")
    work = project.build_dir / ".site-work"
    note, pages = write_sheets(
        project, SiteData.load(project), tmp_path, work / "pdf", datasette_url=DATASETTE, finish=with_csp
    )
    assert note == "公开栏打印页 6 张（本次写出 0 张），最近 2 个季度的 PDF 6 份（本次打印 0 份）"
    assert pages == 6 + 3
    for s in sheets:
        page = tmp_path / s.path / "index.html"
        assert page.read_bytes() == (site / s.path / "index.html").read_bytes()
        assert 'http-equiv="Content-Security-Policy"' in page.read_text(encoding="utf-8")


def test_each_pdf_page_is_a4_and_no_notice_is_cut_between_two_pages(township, sheets):
    _, site, _ = township
    for s in sheets:
        pdf = PdfReader(site / s.path / "sheet.pdf")
        for page in pdf.pages:
            assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == A4
        texts = [compact(page.extract_text()) for page in pdf.pages]
        for group in s.inputs["groups"]:
            for item in group["items"]:
                whole = compact(item["title"]) + compact(f"公开日期{item['published_on']}")
                on = [n for n, text in enumerate(texts) if compact(item["content"]) in text]
                assert len(on) == 1, f"{s.path} {item['id']} is split or missing"
                assert compact(item["title"]) in texts[on[0]] and whole[-10:] in texts[on[0]]


def test_the_printed_qr_code_decodes_to_the_sheets_online_address(township, sheets):
    _, site, _ = township
    for s in sheets[:2]:
        page = pypdfium2.PdfDocument(site / s.path / "sheet.pdf")[0]
        image = page.render(scale=2).to_pil()
        assert [b.text for b in zxingcpp.read_barcodes(image)] == [f"{SITE_URL}{s.path}"]


def test_the_pdf_text_is_selectable_chinese_as_printed(township, sheets):
    project, site, _ = township
    s = sheets[0]
    text = "".join(page.extract_text() for page in PdfReader(site / s.path / "sheet.pdf").pages)
    village = s.inputs["village"]
    for words in (
        f"{village}三务公开栏",
        "党务公开",
        "村务公开",
        "财务公开",
        "村务监督电话",
        s.inputs["phone"],
        "打印日期",
    ):
        assert words in text
    assert compact(f"{SITE_URL}{s.path}") in compact(text)
    assert not re.search("[\u2e80-\u2fdf]", text), "look-alike radicals instead of ideographs"
    assert "原始记录" not in text  # links for the screen are not printed


def test_amounts_are_printed_with_their_direction(township, sheets):
    _, site, _ = township
    with_amount = [
        (s, i) for s in sheets for g in s.inputs["groups"] for i in g["items"] if i["amount"] is not None
    ]
    s, item = with_amount[0]
    text = compact("".join(p.extract_text() for p in PdfReader(site / s.path / "sheet.pdf").pages))
    assert compact(f"{item['direction']} {float(item['amount']):,.2f} 元") in text


def village_page(site: Path, code: str) -> str:
    return (site / "villages" / code / "index.html").read_text(encoding="utf-8")


def test_the_village_calendar_is_in_words_links_the_remedy_and_adds_less_than_15_kb(township):
    project, site, _ = township
    _, statuses = project_statuses(project)
    late = next(s for s in statuses if s.status == "逾期")
    html = village_page(site, late.village_code)
    start = html.index('id="deadlines"')
    section = html[start : html.index("<h2", start)]
    assert len(section.encode("utf-8")) < 15 * 1024
    assert f"逾期 {late.days_late} 天" in section
    assert 'href="#deadline-remedy"' in section
    assert "第三十一条" in section and 'href="tel:' in section and 'href="../../feedback/"' in section
    assert f'href="../../noticeboard/{late.village_code}/"' in section


def test_the_township_calendar_ranks_villages_by_missing_then_late_items(township):
    project, site, _ = township
    _, statuses = project_statuses(project)
    html = (site / "calendar" / "index.html").read_text(encoding="utf-8")
    table = html[html.index("按未公开和逾期的期数排名") :]
    table = table[: table.index("</table>")]
    shown = re.findall(r"<a href=\"../villages/\d+/#deadlines\">([^<]+)</a>", table)
    assert shown == [r["village_name"] for r in ranking(statuses)]
    assert "集体财务往来较少" in html  # the exemption is public
    assert "overdue_and_missing" in html


def test_the_feed_announces_each_period_that_closed_with_something_missing(township):
    project, site, _ = township
    _, statuses = project_statuses(project)
    feed = (site / "feed.xml").read_text(encoding="utf-8")
    for s in statuses:
        if s.status == "未公开":
            assert (
                f'<guid isPermaLink="false">deadline-{s.village_code}-{s.rule_id}-{s.period}</guid>' in feed
            )
    assert "/#deadlines</link>" in feed


@pytest.fixture(scope="module")
def served(township):
    _, site, _ = township

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_the_calendar_and_the_sheet_have_no_serious_accessibility_violations(township, sheets, served):
    from playwright.sync_api import sync_playwright

    project, _, _ = township
    _, statuses = project_statuses(project)
    code = next(s.village_code for s in statuses if s.lapse)
    axe = AXE.read_text(encoding="utf-8")
    found = {}
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            for path in (f"/villages/{code}/", "/calendar/", f"/{sheets[0].path}"):
                page.goto(served + path)
                assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
                page.evaluate(axe)
                result = page.evaluate("async () => (await axe.run(document)).violations")
                serious = [
                    (v["id"], v["nodes"][0]["target"])
                    for v in result
                    if v["impact"] in ("serious", "critical")
                ]
                if serious:
                    found[path] = serious
        finally:
            browser.close()
    assert found == {}


def test_the_township_calendar_lists_the_lapses_in_the_order_of_the_canned_query(township, tmp_path):
    project, site, _ = township
    build_database(project, tmp_path / "sunshine.db")
    sql = load_overlay()["queries"]["overdue_and_missing"]["sql"]
    with sqlite3.connect(tmp_path / "sunshine.db") as conn:
        queried = [(r[0], f"{r[1]}{r[2]}", r[3]) for r in conn.execute(sql, {"village_code": ""})]
    html = (site / "calendar" / "index.html").read_text(encoding="utf-8")
    table = html[html.index("<caption>逾期和未公开的事项</caption>") :]
    table = table[: table.index("</table>")]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table)]
    shown = [tuple(compact(re.sub(r"<[^>]+>", "", cell)) for cell in cells[:3]) for cells in rows if cells]
    assert len(queried) >= 2
    assert [(v, p, s[: len(q[2])]) for (v, p, s), q in zip(shown, queried, strict=True)] == [
        (compact(v), compact(p), s) for v, p, s in queried
    ]


@pytest.mark.browser
def test_on_a_phone_the_calendar_shows_all_four_quarters_without_scrolling_sideways(township, served):
    from playwright.sync_api import sync_playwright

    project, _, _ = township
    _, statuses = project_statuses(project)
    code = next(s.village_code for s in statuses if s.lapse)
    with sync_playwright() as p:
        browser = launch(p)
        try:
            page = browser.new_page(viewport={"width": 360, "height": 740})
            page.goto(f"{served}/villages/{code}/")
            widths = page.evaluate(
                "Array.from(document.querySelectorAll('.deadline-calendar'))"
                ".map(t => [t.scrollWidth, t.parentElement.clientWidth])"
            )
            split = page.evaluate(
                "Array.from(document.querySelectorAll('.dl')).filter(b => /未\\n?公\\n?开/.test(b.innerText)"
                " && !b.innerText.includes('未公开')).length"
            )
        finally:
            browser.close()
    assert widths and all(table <= wrap for table, wrap in widths), widths
    assert split == 0


def test_a_village_page_states_its_exemption_and_the_reason_in_words_not_only_in_a_tooltip(township):
    project, site, _ = township
    rules, _ = project_statuses(project)
    exemption = rules.exemptions[0]
    html = village_page(site, exemption.village_code)
    start = html.index('id="deadlines"')
    section = html[start : html.index("<h2", start)]
    rule = rules.rule(exemption.rule).name
    assert f"<p>免于公开：{rule}：{exemption.reason}（{exemption.basis}）。</p>" in section
    assert "✓&nbsp;" in section  # the mark does not wrap away from its word


def test_each_printed_page_names_its_board_and_period_and_counts_the_pages(township, sheets):
    _, site, _ = township
    for s in sheets:
        pages = PdfReader(site / s.path / "sheet.pdf").pages
        label = Period.parse(s.period).label
        for n, page in enumerate(pages, 1):
            footer = f"{s.inputs['village']}三务公开栏 · {label} · 第 {n} 页，共 {len(pages)} 页"
            assert footer in page.extract_text()


def test_the_footer_of_a_sheet_cannot_break_out_of_its_style_element() -> None:
    css = running_footer('石桥村"</style><script>x</script>')
    assert "<" not in css and css.count('"') == 8
    assert css.startswith('@page { @bottom-center { content: "石桥村\\22 \\3c \\2f style\\3e ')
