"""Build the public site (build/site/) with MkDocs + Material from content/ and the validated data.

Steps: load the tables; write the generated pages as Markdown into a working docs directory next to
the hand-written content (a page is rendered again only when its inputs changed, and a file is
written only when its text changed); run `mkdocs build --strict` into a new directory; add the
downloads and a Content-Security-Policy; then swap the new site in by renaming, so a failed build
leaves the last good site in place.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sunshine.chinese.searchdict import write_dictionaries
from sunshine.noticeboard.build import write_sheets
from sunshine.package import Project
from sunshine.problems import BuildError
from sunshine.site import charts
from sunshine.site.pages import Context, Page, catalog, deadlines, feed, grid, home, petitions, village
from sunshine.site.pages.changes import changes_pages
from sunshine.site.pages.data import SiteData
from sunshine.site.pages.downloads import write_table_downloads
from sunshine.site.pages.md import Datasette, html

WORK = ".site-work"
MANIFEST = "manifest.json"
CONTENT_DOCS = "docs"  # content/docs/: hand-written pages and assets, copied as they are
OVERRIDES = "overrides"  # content/overrides/: theme overrides (custom_dir)
CHANGES_NAV_LIMIT = 50


@dataclass
class SiteBuild:
    """What one build did, for the summary line and the benchmark."""

    pages: int = 0
    rendered: int = 0
    written: int = 0
    removed: int = 0
    html_pages: int = 0
    search_index_bytes: int = 0
    sheets: str = ""  # what the 公开栏 sheets stage did
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self, target: Path) -> str:
        return (
            f"网站已生成：{target}（{self.html_pages} 个页面，其中数据生成页 {self.pages} 个，"
            f"本次重新生成 {self.rendered} 个；搜索索引 {self.search_index_bytes / 1024:,.0f} KB）"
            + (f"；{self.sheets}" if self.sheets else "")
        )


PAGE_MODULES = (home, village, grid, petitions, catalog, feed, deadlines)


def all_pages(ctx: Context) -> Iterator[Page]:
    """Every generated page, module by module in the order of the navigation."""
    for module in PAGE_MODULES:
        yield from module.pages(ctx)


def build_site(project: Project, target: Path, *, datasette_url: str) -> str:
    """Build the site into target; return a one-line Chinese summary."""
    try:
        return build(project, target, datasette_url=datasette_url).summary(target)
    except BuildError:
        raise
    except Exception as exc:  # any other failure is reported in Chinese; the last site stays
        raise BuildError(f"生成网站时出错（{type(exc).__name__}：{exc}）。") from exc


def build(project: Project, target: Path, *, datasette_url: str) -> SiteBuild:
    stats = SiteBuild()
    work = project.build_dir / WORK
    docs = work / "docs"
    t0 = time.perf_counter()
    data = SiteData.load(project)
    ctx = Context(
        project=project,
        data=data,
        ds=Datasette(datasette_url),
        site_url=_site_url(project),
    )
    ctx.changes, ctx.history = _changes(project, datasette_url)
    stats.timings["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    charts.cache = charts.ChartCache(work / "charts")
    pages = list(all_pages(ctx))
    _write_docs(project, pages, ctx.changes, docs, work / MANIFEST, stats)
    if stats.rendered == stats.pages:  # every chart in use was drawn or reused just now
        charts.cache.forget_unused()
    stats.timings["generate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    config = _write_config(project, work, docs, pages, ctx.changes, datasette_url)
    new = target.with_name(f".{target.name}-new")
    shutil.rmtree(new, ignore_errors=True)
    _run_mkdocs(config, new)
    stats.timings["mkdocs"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    try:
        _write_downloads(project, work / "downloads", new)
        stats.sheets = write_sheets(project, data, new, work / "pdf", datasette_url=datasette_url)
        stats.html_pages = _add_csp(new)
        stats.search_index_bytes = _compact_search_index(new / "search" / "search_index.json")
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    _swap(new, target)
    stats.timings["finish"] = time.perf_counter() - t0
    return stats


def _site_url(project: Project) -> str:
    config = project.root / "mkdocs.yml"
    if config.exists():
        url = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("site_url")
        if url:
            return url
    return project.descriptor.get("homepage", "http://127.0.0.1:8000/")


def _changes(project: Project, datasette_url: str) -> tuple[dict[str, str], bool]:
    """变更记录 pages from the history stage, when that stage and its database exist."""
    history_db = project.build_dir / "history.db"
    if not history_db.exists():
        return {}, False
    try:
        return dict(changes_pages(project, history_db, datasette_url)), True
    except Exception as exc:  # a broken history must not publish a half-made site
        raise BuildError(f"生成变更记录页面失败：{exc}。请重新构建 build/history.db。") from exc


# -- generated Markdown ----------------------------------------------------------------------------


def _code_version() -> str:
    """A digest of the code that renders pages: a change to it renders every page again."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in sorted([here / "charts.py", *(here / "pages").glob("*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _key(version: str, inputs: Any) -> str:
    payload = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256((version + payload).encode("utf-8")).hexdigest()


def _write_if_changed(path: Path, content: bytes) -> bool:
    if path.exists() and path.stat().st_size == len(content) and path.read_bytes() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(content)
    tmp.replace(path)
    return True


def _write_docs(
    project: Project,
    pages: list[Page],
    changes: dict[str, str],
    docs: Path,
    manifest_path: Path,
    stats: SiteBuild,
) -> None:
    version = _code_version()
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    fresh: dict[str, str] = {}
    expected: set[str] = set()
    for page in pages:
        key = _key(version, page.inputs)
        fresh[page.path] = key
        expected.add(page.path)
        stats.pages += 1
        if manifest.get(page.path) == key and (docs / page.path).exists():
            continue
        stats.rendered += 1
        if _write_if_changed(docs / page.path, page.render(page.inputs).encode("utf-8")):
            stats.written += 1
    for path, text in changes.items():
        expected.add(path)
        stats.written += _write_if_changed(docs / path, _mark_changes_page(path, text).encode("utf-8"))
    content = project.root / "content" / CONTENT_DOCS
    if content.is_dir():
        for source in content.rglob("*"):
            if source.is_file():
                rel = source.relative_to(content).as_posix()
                expected.add(rel)
                stats.written += _write_if_changed(docs / rel, source.read_bytes())
    if docs.exists():
        for path in docs.rglob("*"):
            if path.is_file() and path.relative_to(docs).as_posix() not in expected:
                path.unlink()
                stats.removed += 1
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(fresh, ensure_ascii=False, indent=0), encoding="utf-8")


def _mark_changes_page(path: str, text: str) -> str:
    """Mark a 变更记录 page as generated; keep these long change logs out of the search index,
    which would otherwise be mostly old and new values (they are reached from the nav)."""
    if text.startswith("---\n"):
        return text
    return f"---\ngenerated: true\nsearch:\n  exclude: true\n---\n\n{text}"


# -- MkDocs ----------------------------------------------------------------------------------------


def _nav(pages: list[Page], changes: dict[str, str], docs: Path) -> list[Any]:
    by_path = {p.path: p for p in pages}
    nav: list[Any] = [{"首页": "index.md"}]
    townships: dict[str, list[Any]] = {}
    for page in pages:
        if page.path.startswith("villages/") and page.path != "villages/index.md":
            township = page.inputs["village"]["township"]
            townships.setdefault(html(township), []).append({html(page.title): page.path})
    nav.append({"村（社区）": ["villages/index.md", *({t: v} for t, v in sorted(townships.items()))]})
    nav.append({"诉求办理": "petitions.md"})
    if "calendar.md" in by_path:
        nav.append({"公开日历": "calendar.md"})
    nav.append(
        {
            "数据目录": [
                "catalog/index.md",
                *(
                    {html(by_path[p].title): p}
                    for p in sorted(by_path)
                    if p.startswith("catalog/") and p != "catalog/index.md"
                ),
            ]
        }
    )
    if changes:
        paths = sorted(changes)
        if len(paths) > CHANGES_NAV_LIMIT:
            paths = [p for p in paths if p.endswith("index.md")] or paths[:1]
        nav.append({"变更记录": paths})
    for path, title in (("feedback.md", "监督与反馈"), ("about.md", "关于本站")):
        if (docs / path).exists():
            nav.append({title: path})
    return nav


def _write_config(
    project: Project,
    work: Path,
    docs: Path,
    pages: list[Page],
    changes: dict[str, str],
    datasette_url: str,
) -> Path:
    """The project's mkdocs.yml with the working docs directory, the nav and the search dictionaries."""
    source = project.root / "mkdocs.yml"
    if not source.exists():
        raise BuildError(f"找不到网站配置文件 {source}。")
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    config["docs_dir"] = str(docs)
    config["nav"] = _nav(pages, changes, docs)
    theme = config.setdefault("theme", {})
    overrides = project.root / "content" / OVERRIDES
    if overrides.is_dir():
        theme["custom_dir"] = str(overrides)
    main, user = write_dictionaries(project, work / "jieba")
    plugins = []
    for plugin in config.get("plugins", []):
        if plugin == "search" or (isinstance(plugin, dict) and "search" in plugin):
            options = plugin["search"] if isinstance(plugin, dict) else {}
            options = {**(options or {}), "jieba_dict": str(main), "jieba_dict_user": str(user)}
            plugin = {"search": options}
        plugins.append(plugin)
    config["plugins"] = plugins
    config.setdefault("extra", {})["datasette_url"] = datasette_url
    path = work / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _run_mkdocs(config: Path, site_dir: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "mkdocs",
        "build",
        "--strict",
        "-f",
        str(config),
        "-d",
        str(site_dir),
    ]
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        shutil.rmtree(site_dir, ignore_errors=True)
        lines = (done.stderr + done.stdout).splitlines()
        problems = [line for line in lines if line.startswith(("WARNING", "ERROR", "Aborted"))]
        detail = "\n".join((problems or lines)[-15:])
        raise BuildError(f"MkDocs 生成网站失败（--strict 模式下有警告或错误）：\n{detail}")


# -- after MkDocs: downloads, Content-Security-Policy, swap ----------------------------------------


def _write_downloads(project: Project, cache: Path, site: Path) -> None:
    """Each table as UTF-8 CSV, Excel-friendly CSV and JSON, made once per version of its CSV."""
    for name, table in project.tables.items():
        source = project.root / table.path
        if not source.exists():
            continue
        made = write_table_downloads(table, source, cache)
        for kind, path in made.items():
            target = site / catalog.download_names(name)[kind]
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(path, target)
            except OSError:
                shutil.copyfile(path, target)


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", re.S)
_CHARSET = '<meta charset="utf-8">'
CSP = (
    "default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)


def _add_csp(site: Path) -> int:
    """Put a Content-Security-Policy meta tag in every page, allowing only its own inline scripts."""
    count = 0
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        hashes = sorted(
            {
                "'sha256-" + base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() + "'"
                for s in _INLINE_SCRIPT.findall(text)
            }
        )
        meta = f'<meta http-equiv="Content-Security-Policy" content="{CSP.format(hashes=" ".join(hashes))}">'
        if _CHARSET in text:
            page.write_text(text.replace(_CHARSET, _CHARSET + "\n" + meta, 1), encoding="utf-8")
        count += 1
    return count


def _compact_search_index(path: Path) -> int:
    """Write the search index with Chinese as UTF-8 instead of \\u escapes (about half the size)."""
    if not path.exists():
        return 0
    data = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path.stat().st_size


def _swap(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
