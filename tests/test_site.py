"""The public site: a real `mkdocs build --strict` of the sample data, then checks of what it wrote.

The site is built once per session from a copy of the sample package in which a few cells carry
markup, links and formulas, bypassing validation, to show they come out as text.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest

from sunshine.chinese.searchdict import segment, write_dictionaries
from sunshine.markup import neutralise_formula
from sunshine.package import Project
from sunshine.problems import BuildError
from sunshine.site.build import _write_docs, all_pages, build, build_site
from sunshine.site.pages import Context
from sunshine.site.pages.archive import title_parts
from sunshine.site.pages.data import SiteData
from sunshine.site.pages.md import Datasette
from sunshine.site.pages.records import money_table

from .conftest import ROOT, copy_package

DATASETTE = "http://127.0.0.1:8001"
SCRIPT = "<script>window.__pwned=1</script>"
JS_LINK = "[点我](javascript:alert(1))"
FORMULA = '=HYPERLINK("http://example.com","x")'


def _edit(path: Path, edit) -> None:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    edit(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def inject(project: Project) -> dict[str, str]:
    """Put markup into cells of the copy; return where it went."""
    data = project.root / "data"
    where: dict[str, str] = {}

    def disclosures(rows):
        latest = max(rows, key=lambda r: (r["published_on"], r["disclosure_id"]))
        latest["title"] = f"{SCRIPT}保护集体土地公示"
        latest["content"] = f"{JS_LINK} <img src=x onerror=alert(1)>"
        where["village"] = latest["village_code"]
        where["year"] = latest["period"][:4]

    def staff(rows):
        rows[0]["duties"] = f"{SCRIPT}入户走访"
        rows[0]["name"] = FORMULA
        where["grid"] = rows[0]["grid_id"]

    def petitions(rows):
        latest = max(rows, key=lambda r: (r["resolved_on"], r["case_id"]))
        latest["summary"] = f"{SCRIPT}{JS_LINK}"

    _edit(data / "disclosures.csv", disclosures)
    _edit(data / "grid_staff.csv", staff)
    _edit(data / "petitions.csv", petitions)
    return where


def build_sample_site(base: Path) -> tuple[Project, Path, dict[str, str]]:
    """Build the site once per test session (reused by the other site test modules)."""
    root = base / "site-package"
    marker = base / "site-package.json"
    if marker.exists():
        return Project.load(root), root / "build" / "site", json.loads(marker.read_text())
    copy_package(ROOT, root)
    for name in ("content", "mkdocs.yml"):
        source = ROOT / name
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            import shutil

            shutil.copytree(source, root / name)
        else:
            (root / name).write_bytes(source.read_bytes())
    project = Project.load(root)
    where = inject(project)
    build_site(project, root / "build" / "site", datasette_url=DATASETTE)
    marker.write_text(json.dumps(where))
    return project, root / "build" / "site", where


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory) -> tuple[Project, Path, dict[str, str]]:
    return build_sample_site(tmp_path_factory.getbasetemp())


def html_files(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def test_the_build_writes_every_kind_of_page(sample_site):
    project, site, where = sample_site
    villages = [
        r["village_code"] for r in csv.DictReader((project.root / "data/villages.csv").open(encoding="utf-8"))
    ]
    grids = [r["grid_id"] for r in csv.DictReader((project.root / "data/grids.csv").open(encoding="utf-8"))]
    expected = ["index.html", "petitions/index.html", "villages/index.html", "catalog/index.html", "feed.xml"]
    expected += [f"villages/{v}/index.html" for v in villages]
    expected += [f"grids/{g}/index.html" for g in grids]
    expected += [f"catalog/{t}/index.html" for t in project.tables]
    missing = [p for p in expected if not (site / p).is_file()]
    assert missing == []


def test_generated_pages_are_marked_as_generated(sample_site):
    project, _, _ = sample_site
    docs = project.build_dir / ".site-work" / "docs"
    generated = [p for p in docs.rglob("*.md") if "generated: true" in p.read_text(encoding="utf-8")]
    hand_written = {
        p.relative_to(project.root / "content" / "docs")
        for p in (project.root / "content/docs").rglob("*.md")
    }
    assert {p.relative_to(docs) for p in generated}.isdisjoint(hand_written)
    assert len(generated) >= 1 + 1 + 1 + 1 + len(project.tables)


def test_no_page_loads_anything_from_another_host(sample_site):
    _, site, _ = sample_site
    tags = re.compile(r"<(?:script|link|img|iframe|source|video|audio|object|embed)\b[^>]*>", re.I)
    offenders = [
        (str(p.relative_to(site)), tag)
        for p in html_files(site)
        for tag in tags.findall(p.read_text(encoding="utf-8"))
        if re.search(r'\b(?:src|href)="(?:https?:)?//', tag) and 'rel="canonical"' not in tag
    ]
    assert offenders == []
    links = set()
    for p in html_files(site):
        links.update(re.findall(r'href="(https?://[^/"]+)', p.read_text(encoding="utf-8")))
    canonical = "http://127.0.0.1:8000"  # site_url, in <link rel="canonical">
    assert links <= {DATASETTE, canonical, "https://creativecommons.org"}


def test_every_page_has_a_content_security_policy_allowing_only_its_own_scripts(sample_site):
    _, site, _ = sample_site
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)"', text)
        assert policy, page
        assert "default-src 'self'" in policy.group(1)
        assert "unsafe-inline" not in policy.group(1).split("script-src")[1].split(";")[0]


def test_markup_from_the_data_is_shown_as_text(sample_site):
    _, site, where = sample_site
    village = (site / "villages" / where["village"] / "index.html").read_text(encoding="utf-8")
    grid = (site / "grids" / where["grid"] / "index.html").read_text(encoding="utf-8")
    petitions = (site / "petitions/index.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;保护集体土地公示" in village
    assert "&lt;img src=x onerror=alert(1)&gt;" in village
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;入户走访" in grid
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;[点我](javascript:alert(1))" in petitions
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        assert "<script>window.__pwned" not in text, page
        assert 'href="javascript:' not in text, page
        assert "<img src=x" not in text, page


def test_the_feed_is_rss_2_with_the_latest_disclosures_escaped(sample_site):
    project, site, _ = sample_site
    raw = (site / "feed.xml").read_text(encoding="utf-8")
    rss = ET.fromstring(raw)
    assert rss.tag == "rss" and rss.get("version") == "2.0"
    channel = rss.find("channel")
    items = channel.findall("item")
    rows = list(csv.DictReader((project.root / "data/disclosures.csv").open(encoding="utf-8")))
    assert len(items) == min(50, len(rows))
    assert items[0].findtext("title").endswith(f"{SCRIPT}保护集体土地公示")
    assert "&lt;script&gt;" in raw and "<script>" not in raw
    for item in items:
        assert item.findtext("link").startswith("http://127.0.0.1:8000/villages/")
        assert re.match(r"\w{3}, \d\d \w{3} \d{4}", item.findtext("pubDate"))


def test_feed_descriptions_are_plain_text_that_no_reader_renders_as_html(sample_site):
    _, site, _ = sample_site
    items = ET.fromstring((site / "feed.xml").read_text(encoding="utf-8")).find("channel").findall("item")
    descriptions = [item.findtext("description") for item in items]
    assert descriptions[0] == "[点我](javascript:alert(1))"  # the <img …> tag removed, the rest as text
    assert not any("<" in d or ">" in d for d in descriptions)


def test_downloads_are_utf8_csv_excel_csv_with_formulas_neutralised_and_json(sample_site):
    project, site, _ = sample_site
    source = list(csv.DictReader((project.root / "data/grid_staff.csv").open(encoding="utf-8")))
    plain = list(csv.DictReader(io.StringIO((site / "downloads/grid_staff.csv").read_text(encoding="utf-8"))))
    assert plain == source
    excel_bytes = (site / "downloads/grid_staff-excel.csv").read_bytes()
    assert excel_bytes.startswith(b"\xef\xbb\xbf")
    excel = list(csv.DictReader(io.StringIO(excel_bytes.decode("utf-8-sig"))))
    assert excel == [{k: neutralise_formula(v) for k, v in row.items()} for row in source]
    assert excel[0]["name"] == "'" + FORMULA
    rows = json.loads((site / "downloads/petitions.json").read_text(encoding="utf-8"))
    petitions = list(csv.DictReader((project.root / "data/petitions.csv").open(encoding="utf-8")))
    assert len(rows) == len(petitions) and rows[0]["case_id"] == petitions[0]["case_id"]


def test_catalog_pages_document_every_field_of_the_table_schema(sample_site):
    project, site, _ = sample_site
    for name, table in project.tables.items():
        page = (site / "catalog" / name / "index.html").read_text(encoding="utf-8")
        for field in table.fields:
            assert f"<code>{field['name']}</code>" in page, (name, field["name"])
            assert field["title"] in page
        assert f'href="{DATASETTE}/sunshine/{name}"' in page
        assert f'href="../../downloads/{name}-excel.csv"' in page
        assert "CC BY 4.0" in page


def test_search_dictionary_splits_compounds_so_their_parts_are_found(sample_site, tmp_path):
    project, site, where = sample_site
    main, user = write_dictionaries(project, tmp_path)
    assert segment("保护集体土地", main, user) == ["保护", "集体", "土地"]
    assert "低保" in segment("低保对象名单", main, user)
    index = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))
    village = [d for d in index["docs"] if d["location"].startswith(f"villages/{where['village']}/")]
    assert any("\u200b集体\u200b土地" in d["text"] for d in village)
    grids = [d for d in index["docs"] if d["location"].startswith("grids/")]
    staff = project.root / "data" / "grid_staff.csv"
    people = list(csv.DictReader(staff.open(encoding="utf-8")))
    indexed = " ".join(d["text"].replace("\u200b", "") for d in grids)
    # A grid worker's name and role find the grid page; phones and duties stay out of the index.
    assert people[1]["name"] in indexed and people[1]["role"] in indexed
    assert people[1]["work_phone"] not in indexed and people[1]["duties"] not in indexed


def test_generated_pages_no_longer_made_are_removed_and_a_deleted_one_is_written_again(tmp_path):
    from sunshine.site.build import SiteBuild
    from sunshine.site.pages import Page

    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    docs, manifest = tmp_path / "docs", tmp_path / "manifest.json"

    def write(*paths: str) -> SiteBuild:
        stats = SiteBuild()
        pages = [Page(path, {"path": path}, lambda inputs: f"# {inputs['path']}\n") for path in paths]
        _write_docs(project, pages, {}, docs, manifest, stats)
        return stats

    write("villages/a.md", "villages/b.md", "index.md")
    (docs / "villages" / "a.md").unlink()
    (docs / "villages" / "stray.md.tmp").write_text("half written", encoding="utf-8")
    stats = write("villages/a.md", "index.md")
    assert (stats.rendered, stats.removed) == (1, 2)
    assert (docs / "villages" / "a.md").read_text(encoding="utf-8") == "# villages/a.md\n"
    assert sorted(p.name for p in (docs / "villages").iterdir()) == ["a.md"]


def test_a_rebuild_renders_again_only_pages_whose_inputs_changed(sample_site, tmp_path):
    source, _, where = sample_site
    root = copy_package(ROOT, tmp_path / "pkg", data_from=source.root / "data")
    project = Project.load(root)
    docs, manifest = tmp_path / "docs", tmp_path / "manifest.json"

    def generate():
        ctx = Context(project, SiteData.load(project), Datasette(DATASETTE), "http://127.0.0.1:8000/")
        from sunshine.site.build import SiteBuild

        stats = SiteBuild()
        rendered: list[str] = []
        pages = list(all_pages(ctx))
        for page in pages:
            render = page.render
            page.render = lambda inputs, r=render, p=page.path: rendered.append(p) or r(inputs)
        _write_docs(project, pages, {}, docs, manifest, stats)
        return rendered

    first = generate()
    assert generate() == []

    def change(rows):
        oldest = min(
            (r for r in rows if r["village_code"] == where["village"]), key=lambda r: r["published_on"]
        )
        oldest["content"] += "（已更正）"

    _edit(root / "data/disclosures.csv", change)
    again = generate()
    assert f"villages/{where['village']}.md" in again
    assert not any(
        p.startswith("villages/") and where["village"] not in p and p != "villages/index.md" for p in again
    )
    assert not any(p.startswith("grids/") for p in again)
    assert len(again) < len(first) / 2


def test_a_failed_build_keeps_the_last_good_site(sample_site, tmp_path):
    source, _, _ = sample_site
    root = copy_package(ROOT, tmp_path / "pkg", data_from=source.root / "data")
    import shutil

    shutil.copytree(ROOT / "content", root / "content")
    (root / "mkdocs.yml").write_bytes((ROOT / "mkdocs.yml").read_bytes())
    (root / "content/docs/broken.md").write_text("# 坏链接\n\n[不存在的页面](nowhere.md)\n", encoding="utf-8")
    target = root / "build" / "site"
    target.mkdir(parents=True)
    (target / "index.html").write_text("last good site", encoding="utf-8")
    with pytest.raises(BuildError, match="MkDocs"):
        build(Project.load(root), target, datasette_url=DATASETTE)
    assert (target / "index.html").read_text(encoding="utf-8") == "last good site"
    assert sorted(p.name for p in target.parent.iterdir()) == [".site-work", "site"]


@pytest.mark.parametrize(
    "cell",
    [
        "[点我](javascript:alert(1))",
        "<b>*加粗*</b> _斜体_ `代码`",
        "# 标题\n\n- 列表 | 表格 |",
        "<javascript:alert(1)> ![图](x.png) {: onclick=alert(1) }",
    ],
)
def test_markdown_text_from_a_cell_renders_as_the_same_text(cell):
    import html as html_lib

    import markdown

    from sunshine.site.pages.md import one_line, text

    rendered = markdown.markdown(text(cell), extensions=["attr_list", "tables", "md_in_html"])
    assert re.fullmatch(r"<p>(.*)</p>", rendered, re.S)
    inner = re.fullmatch(r"<p>(.*)</p>", rendered, re.S).group(1)
    assert "<" not in inner.replace("&lt;", "")
    assert html_lib.unescape(inner) == one_line(cell)


PAGE_BUDGET = 150 * 1024  # bytes of HTML per page, charts included
SEARCH_BUDGET_PER_DISCLOSURE = 200  # bytes of search index per disclosure: 12 MB for a county's 60,000


def test_every_page_is_within_the_page_budget(sample_site):
    _, site, _ = sample_site
    sizes = {str(p.relative_to(site)): p.stat().st_size for p in html_files(site)}
    assert {p: n for p, n in sizes.items() if n > PAGE_BUDGET} == {}


def test_disclosures_are_searchable_within_the_index_budget(sample_site):
    project, site, _ = sample_site
    index = json.loads((site / "search/search_index.json").read_text(encoding="utf-8"))
    archive = [d for d in index["docs"] if d["location"].startswith("archive/")]
    size = sum(len(json.dumps(d, ensure_ascii=False).encode("utf-8")) for d in archive)
    disclosures = list(csv.DictReader((project.root / "data" / "disclosures.csv").open(encoding="utf-8")))
    assert size / len(disclosures) <= SEARCH_BUDGET_PER_DISCLOSURE
    text = " ".join(d["text"].replace("\u200b", "") for d in archive)
    lamps = [r for r in disclosures if "路灯" in r["title"]]
    assert lamps and all(title_parts(r["title"], "")[1][-6:] in text for r in lamps)


def test_each_archive_page_lists_every_disclosure_of_its_village_and_year(sample_site):
    project, site, _ = sample_site
    rows = list(csv.DictReader((project.root / "data" / "disclosures.csv").open(encoding="utf-8")))
    expected: dict[tuple[str, str], int] = {}
    for r in rows:
        expected[(r["village_code"], r["period"][:4])] = (
            expected.get((r["village_code"], r["period"][:4]), 0) + 1
        )
    found = {}
    for page in (site / "archive").glob("*/*/index.html"):
        text = page.read_text(encoding="utf-8")
        found[(page.parent.parent.name, page.parent.name)] = text.count(
            '<li><details><summary><span class="title">'
        )
    assert found == expected


def test_a_year_names_the_items_disclosed_without_an_amount():
    rows = [
        {
            "year": "2025",
            "topic": "工程项目",
            "category": "财务公开",
            "amount_yuan": 1000.0,
            "direction": "支出",
        },
        {"year": "2025", "topic": "工程项目", "category": "村务公开", "amount_yuan": None, "direction": None},
        {"year": "2025", "topic": "工程项目", "category": "村务公开", "amount_yuan": None, "direction": None},
        {"year": "2025", "topic": "村规民约", "category": "村务公开", "amount_yuan": None, "direction": None},
    ]
    table = money_table(rows, "2025", "2025 年收支")
    assert "<td>工程项目</td><td>—</td><td>1,000.00</td><td>未公开金额 2 项</td>" in table
    assert "村规民约" not in table


def test_village_pages_show_the_committees_and_their_overdue_commitments(sample_site):
    project, site, _ = sample_site
    read = lambda name: list(csv.DictReader((project.root / "data" / f"{name}.csv").open(encoding="utf-8")))  # noqa: E731
    members = {m["member_id"]: m for m in read("committee_members")}
    today = date.today().isoformat()
    overdue: dict[str, int] = {}
    for c in read("commitments"):
        if c["status"] != "已完成" and c["deadline"] < today:
            village = members[c["member_id"]]["village_code"]
            overdue[village] = overdue.get(village, 0) + 1
    assert overdue, "the sample has overdue commitments"
    for village in {m["village_code"] for m in members.values()}:
        text = (site / "villages" / village / "index.html").read_text(encoding="utf-8")
        assert 'id="committees"' in text and "两委分工与承诺" in text
        assert text.count('<li class="commitment overdue">') == overdue.get(village, 0), village
        assert text.count('class="status overdue">已逾期</span>') == overdue.get(village, 0)
        for m in members.values():
            if m["village_code"] == village:
                assert f"<strong>{m['post']}</strong> {m['name']}" in text


def test_village_pages_open_with_a_jump_list_to_every_section(sample_site):
    _, site, where = sample_site
    text = (site / "villages" / where["village"] / "index.html").read_text(encoding="utf-8")
    jumps = re.findall(
        r'<li><a href="#([\w-]+)">', text.split('<nav class="jump"', 1)[1].split("</nav>", 1)[0]
    )
    assert jumps == [
        "overview",
        "committees",
        "disclosures",
        "finances",
        "grids",
        "petitions",
        "archive",
        "supervision",
    ]
    assert all(f'id="{j}"' in text for j in jumps)
    assert text.index('<nav class="jump"') < text.index('id="overview"')


def test_home_page_puts_the_villages_before_the_figures(sample_site):
    _, site, _ = sample_site
    text = (site / "index.html").read_text(encoding="utf-8")
    assert text.index('class="village-chip"') < text.index('id="petitions"')


def test_party_affairs_are_listed_newest_published_first(sample_site):
    """An annual item ("2025 年") published in January follows the items of December ("2025 年 12 月")."""
    _, site, _ = sample_site
    for page in (site / "villages").glob("*/index.html"):
        text = page.read_text(encoding="utf-8")
        section = text.split('id="party-affairs"', 1)[1].split('id="village-affairs"', 1)[0]
        blocks = section.split("<h4>")[1:]
        latest = [max(re.findall(r'<span class="meta">(\d{4}-\d{2}-\d{2})', b)) for b in blocks]
        assert len(latest) >= 2 and latest == sorted(latest, reverse=True), page


def test_chart_figures_put_the_caption_last(sample_site):
    _, site, where = sample_site
    for path in (site / "villages" / where["village"] / "index.html", site / "petitions" / "index.html"):
        for figure in re.findall(
            r'<figure class="chart">.*?</figure>', path.read_text(encoding="utf-8"), re.S
        ):
            assert figure.endswith("</figcaption></figure>")
            assert figure.count("<figcaption>") == 1
