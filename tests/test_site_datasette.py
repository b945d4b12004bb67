"""Every Datasette link in the built site, followed against a real Datasette serving the same data."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from sunshine.database.build import build_database
from sunshine.serve.run import datasette_command, wait_for_port, write_inspect_file

from .conftest import ROOT
from .test_site import DATASETTE, build_sample_site


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def datasette(tmp_path_factory):
    """The sample site, and Datasette started the way `sunshine serve` starts it, on a free port."""
    project, site, _ = build_sample_site(tmp_path_factory.getbasetemp())
    database = project.build_dir / "sunshine.db"
    build_database(project, database)
    databases = [database]
    inspect_file = write_inspect_file(databases, project.build_dir / "datasette-inspect.json")
    port = _free_port()
    command = datasette_command(
        databases, metadata=ROOT / "metadata.json", inspect_file=inspect_file, host="127.0.0.1", port=port
    )
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert wait_for_port("127.0.0.1", port, proc=proc), proc.stderr.read().decode() if proc.stderr else ""
        yield site, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def site_links(site) -> set[str]:
    links: set[str] = set()
    for page in site.rglob("*.html"):
        for href in re.findall(r'href="([^"]+)"', page.read_text(encoding="utf-8")):
            href = href.replace("&amp;", "&")
            if href.startswith(DATASETTE + "/"):
                links.add(href)
    return links


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "a":
            self.found.append({k: v or "" for k, v in attrs})


def checked_links(site) -> list[tuple[str, str, dict]]:
    """(page, href, attributes) of every Datasette link that states the count or figures behind it."""
    out = []
    for page in site.rglob("*.html"):
        parser = _Anchors()
        parser.feed(page.read_text(encoding="utf-8"))
        for attrs in parser.found:
            href = attrs.get("href", "")
            if href.startswith(DATASETTE + "/") and ("data-count" in attrs or "data-expect" in attrs):
                out.append((str(page.relative_to(site)), href, attrs))
    return out


def as_json(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=parts.path + ".json"))


def test_every_datasette_link_answers_with_rows(datasette):
    site, base = datasette
    links = site_links(site)
    kinds = {urlsplit(link).path.split("/")[2] for link in links}
    assert {"villages", "grids", "disclosures", "petitions", "latest_disclosures"} <= kinds
    failures = []
    with httpx.Client(timeout=30) as client:
        for link in sorted(links):
            url = link.replace(DATASETTE, base, 1)
            page = client.get(url)
            data = client.get(as_json(url))
            rows = data.json().get("rows") if data.status_code == 200 else None
            if page.status_code != 200 or not rows:
                failures.append((link, page.status_code, data.status_code, len(rows or [])))
    assert failures == []


def test_every_number_links_to_rows_or_a_query_giving_exactly_that_number(datasette):
    site, base = datasette
    links = checked_links(site)
    assert sum("data-count" in a for _, _, a in links) > 50
    assert sum("data-expect" in a for _, _, a in links) > 20
    assert {page.split("/")[0] for page, _, _ in links} >= {"index.html", "petitions", "villages"}
    failures = []
    cache: dict[str, dict] = {}
    with httpx.Client(timeout=30) as client:
        for page, href, attrs in links:
            url = href.replace(DATASETTE, base, 1)
            if url not in cache:
                parts = urlsplit(as_json(url))
                query = parts.query + ("&" if parts.query else "") + "_shape=objects&_size=max"
                cache[url] = client.get(urlunsplit(parts._replace(query=query))).json()
            answer = cache[url]
            if "data-count" in attrs:
                got = answer.get("filtered_table_rows_count", len(answer.get("rows", [])))
                if got != int(attrs["data-count"]):
                    failures.append((page, href, attrs["data-count"], got))
            if "data-expect" in attrs:
                expect = json.loads(attrs["data-expect"])
                rows = [r for r in answer["rows"] if r["group_value"] == expect["group_value"]]
                got = {k: rows[0].get(k) for k in expect} if rows else None
                if got != expect:
                    failures.append((page, href, expect, got))
    assert failures == []
