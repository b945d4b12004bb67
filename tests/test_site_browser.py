"""The built site in real headless Chromium, served from 127.0.0.1 by a plain static file server."""

from __future__ import annotations

import csv
import functools
import gzip
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

from .browser import axe_source, launch
from .test_site import SCRIPT, build_sample_site

pytestmark = pytest.mark.browser


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass

    def send_error(self, code, message=None, explain=None) -> None:
        """Answer a missing page with the site's own 404 page, as the web server is set up to."""
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.exists():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    project, site, where = build_sample_site(tmp_path_factory.getbasetemp())
    handler = functools.partial(QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site, where
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser):
    """A phone-sized page that records every host it asks for and lets nothing leave 127.0.0.1."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True
    )
    hosts: list[str] = []

    def route(route):
        host = urlparse(route.request.url).hostname or ""
        hosts.append(host)
        if host == "127.0.0.1":
            route.continue_()
        else:
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.hosts = hosts
    yield page
    context.close()
    assert set(hosts) <= {"127.0.0.1"}, "a page asked another host"


def pages_to_check(where: dict[str, str]) -> dict[str, str]:
    return {
        "首页": "/",
        "村（社区）": f"/villages/{where['village']}/",
        "网格": f"/grids/{where['grid']}/",
        "诉求办理": "/petitions/",
        "数据目录": "/catalog/petitions/",
        "公开记录": f"/archive/{where['village']}/{where['year']}/",
    }


def test_pages_render_on_a_phone_without_sideways_scrolling(served, phone):
    base, _, where = served
    for name, path in pages_to_check(where).items():
        response = phone.goto(base + path)
        assert response.status == 200, name
        assert phone.locator("article h1").count() == 1, name
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, name
    assert set(phone.hosts) == {"127.0.0.1"}


def test_the_home_page_is_light(served, phone):
    """Under 300 KB over the wire with the gzip any static web server applies (search index aside)."""
    base, _, _ = served
    sizes: dict[str, int] = {}
    phone.on(
        "response",
        lambda r: sizes.__setitem__(r.url, len(gzip.compress(r.body()))) if r.status == 200 else None,
    )
    phone.goto(base + "/")
    phone.wait_for_load_state("networkidle")
    total = sum(size for url, size in sizes.items() if "search_index.json" not in url)
    assert base + "/" in sizes
    assert 0 < total < 300 * 1024


def test_a_grid_page_shows_its_roster_with_tap_to_call_phones(served, phone):
    base, site, where = served
    phone.goto(f"{base}/grids/{where['grid']}/")
    cards = phone.locator(".staff-cards li.staff-card")
    assert cards.count() >= 1
    first = cards.first
    assert first.locator(".staff-role").inner_text()
    href = first.locator("a[href^='tel:']").get_attribute("href")
    assert href.startswith("tel:") and href[4:].replace("-", "").isdigit()
    assert phone.locator("text=村务监督电话").count() >= 1


@pytest.mark.parametrize(("query", "expected"), [("低保", "/villages/"), ("土地", "/villages/")])
def test_search_finds_two_character_words(served, phone, query, expected):
    base, _, where = served
    phone.goto(base + "/")
    phone.locator("label.md-header__button[for='__search']").click()
    box = phone.locator("input.md-search__input")
    box.click()
    box.type(query, delay=50)
    box.press("End")
    results = phone.locator(".md-search-result__item a")
    results.first.wait_for(timeout=15000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any(expected in h for h in hrefs), hrefs
    if query == "土地":
        assert any(f"/villages/{where['village']}/" in h for h in hrefs), hrefs


def search(page, base: str, query: str) -> list[str]:
    """Type a query into the search box; return the result pages, best first."""
    page.goto(base + "/")
    page.locator("label.md-header__button[for='__search']").click()
    box = page.locator("input.md-search__input")
    box.click()
    box.type(query, delay=30)
    box.press("End")
    page.locator(".md-search-result__item").first.wait_for(timeout=15000)
    page.wait_for_timeout(300)
    hrefs = page.locator(".md-search-result__item > .md-search-result__link").evaluate_all(
        "links => links.map(a => new URL(a.href).pathname)"
    )
    return list(dict.fromkeys(hrefs))


def _rows(site, name: str) -> list[dict]:
    root = site.parent.parent
    return list(csv.DictReader((root / "data" / f"{name}.csv").open(encoding="utf-8")))


def test_search_finds_what_villagers_type_first(served, phone):
    """Real queries, as typed on a phone: the page that answers comes first."""
    base, site, _ = served
    villages = {v["village_code"]: v["name"] for v in _rows(site, "villages")}
    lamps = [d for d in _rows(site, "disclosures") if "路灯" in d["title"]]
    village = lamps[0]["village_code"]
    years = {d["period"][:4] for d in lamps if d["village_code"] == village}
    staff = _rows(site, "grid_staff")
    names = [s["name"] for s in staff]
    person = next(
        s
        for s in staff
        if names.count(s["name"]) == 1 and s["name"] not in villages.values() and s["name"].isalpha()
    )

    found = search(phone, base, f"{villages[village]} 路灯")
    assert found[0] in {f"/archive/{village}/{y}/" for y in years}, found

    found = search(phone, base, "路灯")
    assert found[0].startswith("/archive/"), found
    # 路灯 is one word: no page is found by 路 alone (光明路) or 灯 alone.
    for path in found:
        assert "路灯" in (site / path.strip("/") / "index.html").read_text(encoding="utf-8"), path

    assert search(phone, base, person["name"])[0] == f"/grids/{person['grid_id']}/"
    code, name = sorted(villages.items())[-1]
    assert search(phone, base, name)[0] == f"/villages/{code}/"

    welfare = {d["village_code"] for d in _rows(site, "disclosures") if "低保" in d["title"]}
    first = search(phone, base, "低保")[0]
    assert first.split("/")[2] in welfare and first.split("/")[1] in ("archive", "villages"), first


def test_charts_are_svg_with_a_text_equivalent(served, phone):
    base, _, where = served
    for path in (f"/villages/{where['village']}/", "/petitions/"):
        phone.goto(base + path)
        charts = phone.locator("figure.chart")
        assert charts.count() >= 1, path
        for i in range(charts.count()):
            chart = charts.nth(i)
            assert chart.locator("svg[role='img']").get_attribute("aria-label")
            assert chart.locator("figcaption").inner_text()
            assert chart.locator("table tbody tr").count() >= 1
            assert "<text" in chart.locator("svg").evaluate("e => e.outerHTML")


def test_a_script_in_the_data_is_shown_as_text_and_never_runs(served, phone):
    base, _, where = served
    for path in (f"/villages/{where['village']}/", f"/grids/{where['grid']}/", "/petitions/"):
        phone.goto(base + path)
        phone.locator("details").evaluate_all("ds => ds.forEach(d => d.open = true)")
        assert SCRIPT in phone.locator("article").inner_text(), path
        assert phone.evaluate("window.__pwned") is None, path
        assert phone.locator("article a[href^='javascript:']").count() == 0


def serious_violations(page, axe: str) -> list:
    page.evaluate(axe)
    result = page.evaluate("async () => (await axe.run(document)).violations")
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


def test_the_open_search_overlay_and_the_404_page_have_no_serious_accessibility_violations(served, phone):
    base, _, _ = served
    axe = axe_source()
    search(phone, base, "低保")
    found = {"search": serious_violations(phone, axe)}
    response = phone.goto(base + "/no-such-page/")
    assert response.status == 404
    found["404"] = serious_violations(phone, axe)
    assert found == {"search": [], "404": []}


def test_no_serious_accessibility_violations(served, phone):
    base, _, where = served
    axe = axe_source()
    found = {}
    for name, path in pages_to_check(where).items():
        phone.goto(base + path)
        phone.evaluate(axe)
        result = phone.evaluate("async () => (await axe.run(document)).violations")
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            found[name] = serious
    assert found == {}
