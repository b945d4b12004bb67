"""`sunshine publish`: the bundle, run for real: nginx on loopback with the generated configuration,
in front of two Datasette instances started by the bundle's own run.sh.

nginx comes from Debian's package (`make test` installs it when missing). Every site page and every
link into /data/ must answer 200 with the project's headers and compression; killing one Datasette
during a bounded load run must lose no request.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from sunshine import headers
from sunshine.publish import loopback, nginx

from .conftest import FIXTURE, ROOT, copy_package

NGINX = loopback.nginx_binary()
pytestmark = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (make test installs it)")

LOAD_SECONDS = 4.0
LOAD_CLIENTS = 4
HREF = re.compile(r'href="([^"#]+)')


@dataclass
class Deployment:
    root: Path  # the project copy
    bundle: Path
    url: str  # http://127.0.0.1:PORT/ (nginx)
    running: loopback.Running

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)


def publish_copy(base: Path, site_url: str) -> Path:
    """A copy of the project (fixture data) published with its public address set to site_url."""
    root = copy_package(ROOT, base / "township", data_from=FIXTURE / "data")
    for name in ("content", "mkdocs.yml", "metadata.json", "sunshine.toml", "DEPLOY.md"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name)
        elif source.exists():
            shutil.copy(source, root / name)
    env = {**os.environ, "SUNSHINE_SITE_URL": site_url, "SUNSHINE_SITE_DATASETTE_URL": site_url + "data"}
    done = subprocess.run(
        [sys.executable, "-m", "sunshine.cli", "publish"], cwd=root, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return root


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    base = Path(tempfile.mkdtemp(prefix="sunshine-publish-"))
    base.chmod(0o755)  # readable by nginx's user
    # nginx listens on a port chosen before publishing: the site's links into /data/ carry it.
    port = loopback.free_port()
    url = f"http://127.0.0.1:{port}/"
    root = publish_copy(base, url)
    bundle = root / "build" / "publish"
    try:
        # The crawl below comes from one address: the general /data/ rate is raised for it, the SQL limit is not.
        with loopback.running_bundle(bundle, port=port, data_rate=1000) as running:
            yield Deployment(root, bundle, url, running)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_bundle_holds_site_service_configs_and_research_downloads(deployment):
    b = deployment.bundle
    expected = [
        "site/index.html",
        "site/index.html.gz",
        "site/downloads/research/SHA256SUMS",
        "site/downloads/research/sunshine.db",
        "site/downloads/research/petitions.parquet",
        "datasette/run.sh",
        "datasette/sunshine.db",
        "datasette/metadata.json",
        "datasette/inspect.json",
        "datasette/requirements.lock",
        "datasette/Dockerfile",
        "nginx/sunshine.conf",
        "nginx/locations.conf",
        "nginx/nginx.conf",
        "nginx/kubernetes.conf",
        "nginx/site.Dockerfile",
        "systemd/sunshine-datasette@.service",
        "kubernetes/sunshine.yaml",
        "DEPLOY.md",
    ]
    assert [p for p in expected if not (b / p).is_file()] == []
    assert len(list((b / "datasette" / "wheels").glob("sunshine-*.whl"))) == 1
    assert gzip.decompress((b / "site/index.html.gz").read_bytes()) == (b / "site/index.html").read_bytes()


def test_the_checksum_manifest_matches_every_research_download(deployment):
    research = deployment.bundle / "site/downloads/research"
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=research, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    listed = sorted(line.split("  ", 1)[1] for line in (research / "SHA256SUMS").read_text().splitlines())
    assert listed == sorted(p.name for p in research.iterdir() if p.name != "SHA256SUMS")


def test_parquet_files_hold_every_row_of_their_table(deployment):
    import sqlite3

    import pyarrow.parquet as pq

    research = deployment.bundle / "site/downloads/research"
    with sqlite3.connect(research / "sunshine.db") as conn:
        for table in ("villages", "grids", "grid_staff", "disclosures", "petitions"):
            parquet = pq.read_table(research / f"{table}.parquet")
            (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert parquet.num_rows == count
            assert parquet.column_names == [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def test_nginx_accepts_the_generated_configuration(deployment):
    conf = deployment.running.nginx_conf
    done = subprocess.run(
        loopback.as_unprivileged([NGINX, "-t", "-c", str(conf), "-p", str(conf.parent)]),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


def site_pages(bundle: Path) -> list[str]:
    site = bundle / "site"
    paths = []
    for page in sorted(site.rglob("index.html")):
        rel = page.parent.relative_to(site).as_posix()
        paths.append("/" if rel == "." else f"/{rel}/")
    return paths


def test_every_site_page_answers_200_compressed_with_the_security_headers(deployment):
    pages = site_pages(deployment.bundle)
    assert len(pages) > 10
    with deployment.client() as client:
        for path in pages:
            r = client.get(path, headers={"Accept-Encoding": "gzip"})
            assert r.status_code == 200, path
            assert r.headers["content-encoding"] == "gzip", path
            assert r.headers["cache-control"] == "public, max-age=300", path
            for name, value in headers.SECURITY_HEADERS.items():
                assert r.headers[name] == value, (path, name)
            policy = r.headers["content-security-policy"]
            assert policy.startswith(headers.csp().split("; script-src")[0] + "; script-src 'self' 'sha256-")
            assert "frame-ancestors 'none'" in policy


def test_hashed_assets_are_immutable_and_the_policy_allows_each_pages_inline_scripts(deployment):
    with deployment.client() as client:
        home = client.get("/").text
        asset = re.search(r'src="(assets/javascripts/bundle\.[0-9a-f]+\.min\.js)"', home).group(1)
        r = client.get("/" + asset, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert r.headers["content-encoding"] == "gzip"
        meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', home).group(1)
        page_scripts = meta.split("script-src")[1].split(";")[0].split()
        header_scripts = (
            client.get("/").headers["content-security-policy"].split("script-src")[1].split(";")[0]
        )
        assert set(page_scripts) <= set(header_scripts.split())


def data_links(deployment: Deployment) -> list[str]:
    """Every distinct link from the site's pages into the portal (/data/…), as a path."""
    found: set[str] = set()
    prefix = deployment.url + "data"
    for page in (deployment.bundle / "site").rglob("*.html"):
        for href in HREF.findall(page.read_text(encoding="utf-8")):
            href = href.replace("&amp;", "&")
            if href.startswith(prefix):
                parts = urlsplit(href)
                found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return sorted(found)


def test_every_link_from_the_site_into_the_portal_answers_200(deployment):
    links = data_links(deployment)
    assert len(links) > 20
    with deployment.client() as client:
        failed = [(link, r.status_code) for link in links if (r := client.get(link)).status_code != 200]
    assert failed == []


def test_the_portal_under_data_keeps_its_links_under_the_prefix_and_its_own_ttl(deployment):
    with deployment.client() as client:
        r = client.get("/data/sunshine/villages")
        assert r.status_code == 200
        assert r.headers["cache-control"] == "max-age=60"
        assert "nonce-" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        links = {urljoin(str(r.url), h.replace("&amp;", "&")) for h in HREF.findall(r.text)}
        local = sorted(u for u in links if u.startswith(deployment.url))
        assert local and all(urlsplit(u).path.startswith("/data/") for u in local), local
        failed = [(u, s) for u in local[:40] if (s := client.get(u).status_code) != 200]
        assert failed == []
        assert client.get("/data", follow_redirects=False).headers["location"].endswith("/data/")


def has_security_headers(r: httpx.Response) -> bool:
    return all(r.headers.get(name) == value for name, value in headers.SECURITY_HEADERS.items()) and (
        "frame-ancestors 'none'" in r.headers.get("content-security-policy", "")
    )


def test_arbitrary_sql_from_one_address_is_rate_limited_with_a_page_in_chinese(deployment):
    url = "/data/sunshine.json?sql=select+count(*)+from+villages"
    with deployment.client() as client:
        answers = [client.get(url) for _ in range(nginx.Limits().sql_burst + 10)]
    time.sleep(nginx.Limits().sql_burst / nginx.Limits().sql_rate)  # let the bucket drain for other tests
    assert answers[0].status_code == 200
    limited = [r for r in answers if r.status_code == 429]
    assert limited
    assert "<title>请求太频繁</title>" in limited[0].text
    assert limited[0].headers["content-type"] == "text/html; charset=utf-8"  # though the address ends .json
    assert limited[0].headers["retry-after"] == "10"
    assert has_security_headers(limited[0])


@pytest.mark.parametrize(
    "path, status",
    [("/data/%", 400), ("/data/sunshine?q=" + "x" * 9000, 414)],
    ids=["malformed", "overlong"],
)
def test_an_address_nginx_cannot_read_gets_a_page_in_chinese_with_the_headers(deployment, path, status):
    with deployment.client() as client:
        r = client.get(path)
    assert r.status_code == status
    assert "<title>无法识别的地址</title>" in r.text
    assert has_security_headers(r)


def test_the_portal_without_its_slash_is_redirected_with_the_headers(deployment):
    with deployment.client() as client:
        r = client.get("/data?_search=路灯", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"].endswith("/data/?_search=%E8%B7%AF%E7%81%AF")
    assert has_security_headers(r)


def test_killing_one_datasette_during_a_load_run_loses_only_the_responses_it_was_sending(deployment):
    """nginx hands every request that has not started its answer to the other instance.

    A response whose headers had already gone out when its process died cannot be retried by any
    proxy: those, and only those, are cut off, at most one per open connection, at the kill.
    """
    paths = ["/data/sunshine/villages.json", "/data/sunshine/petitions.json?_size=5", "/data/sunshine/grids"]
    statuses: list[int] = []
    errors: list[tuple[float, str]] = []
    stop_at = time.monotonic() + LOAD_SECONDS

    def client_loop(i: int) -> None:
        with deployment.client() as client:
            n = 0
            while time.monotonic() < stop_at:
                try:
                    statuses.append(client.get(paths[(i + n) % len(paths)]).status_code)
                except httpx.HTTPError as exc:
                    errors.append((time.monotonic(), repr(exc)))
                n += 1

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(LOAD_CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS / 3)
    killed_at = time.monotonic()
    loopback.stop(deployment.running.datasettes[0], signal.SIGKILL)
    dead_at = time.monotonic()
    served_before_kill = len(statuses)
    for t in threads:
        t.join()
    cut_off = "peer closed connection without sending complete message body"
    assert [e for _, e in errors if cut_off not in e] == []
    assert len(errors) <= LOAD_CLIENTS
    assert all(killed_at <= at <= dead_at + 1.0 for at, _ in errors)
    assert served_before_kill > 0 and len(statuses) > served_before_kill
    assert {s for s in statuses} == {200}


@pytest.mark.browser
def test_pages_behind_nginx_run_in_chromium_without_a_policy_violation(deployment):
    from playwright.sync_api import sync_playwright

    from .browser import launch

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True)
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        for path in ("/", "/petitions/", "/catalog/", "/data/", "/data/sunshine/villages"):
            page.goto(deployment.url.rstrip("/") + path)
            page.wait_for_load_state("networkidle")
        page.goto(deployment.url)
        page.locator("label.md-header__button[for='__search']").click()
        box = page.locator("input.md-search__input")
        box.click()
        box.type("诉求", delay=50)
        box.press("End")
        results = page.locator(".md-search-result__item a")
        try:
            results.first.wait_for(timeout=15000)
        finally:
            browser.close()
            assert problems == []


@pytest.mark.parametrize("path", ["no-such-page/", "grids/"])
def test_a_missing_page_or_a_folder_without_one_gets_the_sites_chinese_404(deployment, path):
    with deployment.client() as client:
        r = client.get(deployment.url + path)
    assert r.status_code == 404
    assert "<title>" in r.text and "找不到" in r.text


def test_while_no_datasette_answers_the_portal_says_so_in_chinese(deployment):
    with loopback.running_bundle(deployment.bundle, instances=0) as down, httpx.Client(timeout=30) as client:
        r = client.get(down.url + "data/sunshine/petitions")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "60"
    assert "<title>数据门户暂时无法访问</title>" in r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
