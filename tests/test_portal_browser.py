"""The portal in real headless Chromium: axe-core on every page type at desktop and phone widths."""

from __future__ import annotations

import pytest

from .browser import launch
from .conftest import ROOT
from .portal_pages import page_paths
from .portal_support import running_datasette, sample_database

pytestmark = pytest.mark.browser

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = (1280, 390)


@pytest.fixture(scope="module")
def server():
    with running_datasette([sample_database()], time_limit_ms=1000) as srv:
        yield srv


@pytest.fixture(scope="module")
def pages(server):
    with server.client() as client:
        return page_paths(client)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


def test_no_critical_or_serious_accessibility_violations_at_desktop_and_phone_widths(server, pages, browser):
    axe = AXE.read_text(encoding="utf-8")
    table = {}
    for width in WIDTHS:
        context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
        page = context.new_page()
        for name, path in pages.items():
            page.goto(server.url + path)
            page.evaluate(axe)
            violations = page.evaluate("async () => (await axe.run(document)).violations")
            table[(name, width)] = sorted(
                (v["impact"], v["id"], len(v["nodes"]))
                for v in violations
                if v["impact"] in ("critical", "serious")
            )
        context.close()
    assert {k: v for k, v in table.items() if v} == {}


def test_no_page_scrolls_sideways_on_a_360_px_phone(server, pages, browser):
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=True, device_scale_factor=2
    )
    page = context.new_page()
    wide = {}
    for name, path in pages.items():
        page.goto(server.url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 360:
            wide[name] = width
    context.close()
    assert wide == {}


def test_rows_come_first_on_a_phone(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(server.url + "/sunshine/petitions?category=%E5%9C%9F%E5%9C%B0")
    top = page.locator("table.rows-and-columns tbody tr").first.bounding_box()["y"]
    context.close()
    assert top < 844


def test_the_column_menu_speaks_chinese(server, browser):
    page = browser.new_page()
    page.goto(server.url + "/sunshine/petitions")
    page.locator("th.col-received_on .dropdown-menu-icon").click()
    menu = page.locator(".dropdown-menu").first.inner_text()
    page.close()
    assert menu.split("\n")[:3] == ["从小到大排序", "从大到小排序", "按此列分组计数"]
    assert "类型：文本" in menu
