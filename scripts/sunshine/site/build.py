"""Build the public site (build/site/) with MkDocs + Material from content/ and the validated data.

Steps: load the tables; write the generated pages as Markdown into a working docs directory next to
the hand-written content (a page is rendered again only when its inputs changed, and a file is
written only when its text changed); run `mkdocs build --strict` into a new directory; add the
downloads and a Content-Security-Policy; then swap the new site in (sunshine.staging), so a failed
or killed build leaves the last good site in place.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from sunshine import headers, staging
from sunshine.chinese.searchdict import write_dictionaries
from sunshine.noticeboard import pdf
from sunshine.noticeboard.build import Printer, write_sheets
from sunshine.noticeboard.sheet import FOLDER
from sunshine.package import Project
from sunshine.problems import BuildError
from sunshine.site import charts
from sunshine.site.pages import (
    Context,
    Page,
    Rows,
    archive,
    catalog,
    deadlines,
    feed,
    grid,
    home,
    petitions,
    village,
)
from sunshine.site.pages.changes import changes_pages
from sunshine.site.pages.data import SiteData
from sunshine.site.pages.downloads import Writer as Downloads
from sunshine.site.pages.md import Datasette, html
from sunshine.validate.files import content_problems

WORK = ".site-work"
HTML = "html"  # MkDocs's output, kept between builds and published by hard links
HTML_STATE = "html-state.json"
SEARCH_ENTRIES = "search-entries.json"
MANIFEST = "manifest.json"
BUILT_FOR = "built-for.json"  # the Datasette URL the site in build/site links to (see built_for)
PETITIONS = "petitions"  # what the site keeps of each petition, for the next build (SiteData.load)
SPARE = "spare"  # the site the last build replaced, brought up to date as the next one
# Written into the site after MkDocs's output is linked in: kept in a spare site for those steps.
WRITTEN_AFTER = (FOLDER, "downloads")
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
    html_written: int = 0  # HTML pages MkDocs wrote this time (all of them unless dirty)
    dirty: bool = False  # MkDocs rewrote only the pages whose Markdown changed
    sheets: str = ""  # what the 公开栏 sheets stage did
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self, target: Path) -> str:
        return (
            f"网站已生成：{target}（{self.html_pages} 个页面，其中数据生成页 {self.pages} 个，"
            f"本次重新生成 {self.rendered} 个，"
            + (f"MkDocs 只重写了 {self.html_written} 个页面" if self.dirty else "MkDocs 重写了全部页面")
            + f"；搜索索引 {self.search_index_bytes / 1024:,.0f} KB）"
            + (f"；{self.sheets}" if self.sheets else "")
        )


PAGE_MODULES = (home, village, archive, grid, petitions, catalog, feed, deadlines)


def all_pages(ctx: Context) -> Iterator[Page]:
    """Every generated page, module by module in the order of the navigation."""
    sample = ctx.project.settings.sample
    for module in PAGE_MODULES:
        for page in module.pages(ctx):
            if isinstance(page.inputs, dict):
                page.inputs["sample"] = sample  # the 示例数据 marks: sunshine.toml site.sample
            yield page


def build_site(
    project: Project, target: Path, *, datasette_url: str, keeper: staging.Keeper | None = None
) -> str:
    """Build the site into target; return a one-line Chinese summary. `keeper`: where this build's
    history update waits for its commit (the 变更记录 pages read it from there)."""
    try:
        return build(project, target, datasette_url=datasette_url, keeper=keeper).summary(target)
    except BuildError:
        raise
    except Exception as exc:  # any other failure is reported in Chinese; the last site stays
        raise BuildError(f"生成网站时出错（{type(exc).__name__}：{exc}）。") from exc


def build(
    project: Project, target: Path, *, datasette_url: str, keeper: staging.Keeper | None = None
) -> SiteBuild:
    stats = SiteBuild()
    staging.recover_directory(target)  # a swap cut off by a crash: the last good site comes back first
    staging.remove_stale(target)  # and what a killed build was writing goes
    _refuse_unsafe_content(project)
    work = project.build_dir / WORK
    docs = work / "docs"
    t0 = time.perf_counter()
    downloads = Downloads(project, work / "downloads")  # written beside the pages, in a process of its own
    printer: Printer | None = None
    drawer = charts.Drawer()  # its engine starts while the data is read
    freeing = threading.Thread(target=_free_replaced_downloads, args=(work / SPARE,), name="free")
    freeing.start()
    try:
        with ThreadPoolExecutor(1, thread_name_prefix="changes") as pool:
            # history.db's queries and polars's reading both let the other thread run
            changes = pool.submit(_changes, project, datasette_url, keeper)
            data = SiteData.load(project, work / PETITIONS)
            ctx = Context(
                project=project,
                data=data,
                ds=Datasette(datasette_url),
                site_url=_site_url(project),
            )
            printer = Printer(work / "pdf") if pdf.available() else None  # Chromium starts meanwhile
            ctx.changes, ctx.history = changes.result()
        stats.timings["load"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        charts.cache = charts.ChartCache(work / "charts", drawer)
        pages = _write_docs(project, all_pages(ctx), ctx.changes, docs, work / MANIFEST, stats)
        if stats.rendered == stats.pages:  # every chart in use was drawn or reused just now
            charts.cache.forget_unused()
        stats.timings["generate"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        config = _write_config(project, work, docs, pages, ctx.changes, datasette_url)
        html_dir = work / HTML
        state = _html_state(project, config, docs)
        dirty = stats.removed == 0 and _read_state(work) == state and html_dir.is_dir()
        (work / HTML_STATE).unlink(missing_ok=True)  # until this build's output is complete
        started = time.time()
        freeing.join()
        new = staging.temporary(target, "new")
        reused = _begin_tree(new, work / SPARE)
        try:
            mkdocs = _MkDocs(config, html_dir, dirty=dirty)
            try:
                # The notice-board sheets and the downloads are not MkDocs's: they are written into
                # the new site while MkDocs works, on the other core.
                stats.sheets, sheet_pages = write_sheets(
                    project,
                    data,
                    new,
                    work / "pdf",
                    datasette_url=datasette_url,
                    finish=with_csp,
                    prune=reused,
                    printer=printer,
                )
                _link_downloads(downloads.result(), new, prune=reused)
                stats.timings["beside mkdocs"] = time.perf_counter() - t0
            except BaseException:
                mkdocs.stop()
                raise
            mkdocs.finish()
            stats.dirty = dirty
            stats.timings["mkdocs"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            stats.html_pages, stats.html_written = _add_csp(html_dir, since=started if dirty else None)
            stats.html_pages += sheet_pages
            _fix_query_segmentation(html_dir)
            index = _merge_search_index(work, html_dir / "search" / "search_index.json", docs, dirty=dirty)
            _write_state(work, state)
            _sync_tree(str(html_dir), str(new), top=True)
            stats.search_index_bytes = _write_search_index(index, new / "search" / "search_index.json")
            if keeper is not None:  # the database and the history go public with the site, not after it
                keeper.commit()
        except BaseException:
            staging.remove_tree(new)
            raise
        (work / BUILT_FOR).unlink(missing_ok=True)  # a crash between the two: no site is vouched for
        _swap(new, target, work / SPARE)
        (work / BUILT_FOR).write_text(json.dumps({"datasette_url": datasette_url}), encoding="utf-8")
        stats.timings["finish"] = time.perf_counter() - t0
        return stats
    finally:
        freeing.join()
        downloads.stop()
        drawer.stop()
        if printer is not None:
            printer.stop()


def built_for(project: Project) -> str | None:
    """The Datasette URL the site in build/site links to, or None when no build vouches for it."""
    try:
        found = json.loads((project.build_dir / WORK / BUILT_FOR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    url = found.get("datasette_url") if isinstance(found, dict) else None
    return url if isinstance(url, str) else None


def _refuse_unsafe_content(project: Project) -> None:
    unsafe = content_problems(project)
    if unsafe:
        listed = "；".join(f"{p.file}：{p.message}" for p in unsafe[:5])
        raise BuildError(f"content/ 中有不能发布的内容（{listed}）。{unsafe[0].hint}")


def _site_url(project: Project) -> str:
    return project.settings.site_url


def _changes(
    project: Project, datasette_url: str, keeper: staging.Keeper | None = None
) -> tuple[Mapping[str, str], bool]:
    """变更记录 pages from the history stage, when that stage and its database exist."""
    history_db = project.build_dir / "history.db"
    held = keeper.connection(history_db) if keeper is not None else None
    if held is None and not history_db.exists():
        return {}, False
    try:
        kept = project.build_dir / WORK / "changes"
        return changes_pages(project, history_db, datasette_url, kept, held), True
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
    """A digest of the code and a page's inputs (`Rows` by their digest). orjson writes a county's
    inputs in a tenth of the time json takes; what it cannot write (an integer past 64 bits) is
    written by json. Dataclasses go to _plain as they go to json's default: orjson would otherwise
    write each field, a frame of `Rows` as its printed (and cut short) table."""
    options = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS
    try:
        payload = orjson.dumps(inputs, default=_plain, option=options)
    except (orjson.JSONEncodeError, TypeError):
        payload = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=_plain).encode("utf-8")
    return hashlib.sha256(version.encode("utf-8") + payload).hexdigest()


def _plain(value: Any) -> str:
    if isinstance(value, Rows):
        return f"rows:{value.digest}"
    if dataclasses.is_dataclass(value):  # its repr may leave fields out or cut a frame short
        raise TypeError(f"page inputs hold a {type(value).__name__}: give the page plain values or Rows")
    return str(value)


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
    pages: Iterable[Page],
    changes: Mapping[str, str],
    docs: Path,
    manifest_path: Path,
    stats: SiteBuild,
) -> list[Page]:
    """Write each page whose inputs changed; return the pages without their inputs (the navigation
    needs only their paths, titles and sections, and a county's inputs are hundreds of megabytes)."""
    version = _code_version()
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    fresh: dict[str, str] = {}
    expected: set[str] = set()
    listed: list[Page] = []
    present = _files(docs)  # read once: a stat per page was a tenth of a county's page step
    for page in pages:
        key = _key(version, page.inputs)
        fresh[page.path] = key
        expected.add(page.path)
        listed.append(Page(page.path, None, page.render, page.title, page.section))
        stats.pages += 1
        if manifest.get(page.path) == key and page.path in present:
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
    for rel in sorted(present - expected):  # all this build wrote is expected
        (docs / rel).unlink(missing_ok=True)
        stats.removed += 1
    manifest_path.parent.mkdir(parents=True, exist_ok=True)
    manifest_path.write_text(json.dumps(fresh, ensure_ascii=False, indent=0), encoding="utf-8")
    return listed


def _files(folder: Path) -> set[str]:
    """The files under a folder, as paths relative to it ('/'-separated); none when it is missing."""
    found: set[str] = set()
    for top, _, names in os.walk(folder):
        rel = Path(top).relative_to(folder).as_posix()
        found.update(name if rel == "." else f"{rel}/{name}" for name in names)
    return found


def _mark_changes_page(path: str, text: str) -> str:
    """Mark a 变更记录 page as generated; keep these long change logs out of the search index,
    which would otherwise be mostly old and new values (they are reached from the nav)."""
    if text.startswith("---\n"):
        return text
    return f"---\ngenerated: true\nsearch:\n  exclude: true\n---\n\n{text}"


# -- MkDocs ----------------------------------------------------------------------------------------


def _nav(pages: list[Page], changes: Mapping[str, str], docs: Path) -> list[Any]:
    by_path = {p.path: p for p in pages}
    nav: list[Any] = [{"首页": "index.md"}]
    townships: dict[str, list[Any]] = {}
    for page in pages:
        if page.path.startswith("villages/") and page.path != "villages/index.md":
            townships.setdefault(html(page.section), []).append({html(page.title): page.path})
    # Every entry has its title written out: a --dirty build does not read the pages it does not
    # rewrite, and their titles appear in the nav and the previous/next links of the pages it does.
    nav.append(
        {
            "村（社区）": [
                _titled(by_path, "villages/index.md"),
                *({t: v} for t, v in sorted(townships.items())),
            ]
        }
    )
    nav.append({"诉求办理": "petitions.md"})
    if "calendar.md" in by_path:
        nav.append({"公开日历": "calendar.md"})
    nav.append(
        {
            "数据目录": [
                _titled(by_path, "catalog/index.md"),
                *(
                    {html(by_path[p].title): p}
                    for p in sorted(by_path)
                    if p.startswith("catalog/") and p != "catalog/index.md"
                ),
            ]
        }
    )
    if changes:
        paths = sorted(changes, key=lambda p: (p != "changes/index.md", p))
        if len(paths) > CHANGES_NAV_LIMIT:
            paths = [p for p in paths if p.endswith("index.md")] or paths[:1]
        nav.append({"变更记录": [{html(_heading(changes[p]) or p): p} for p in paths]})
    for path, title in (("feedback.md", "监督与反馈"), ("about.md", "关于本站")):
        if (docs / path).exists():
            nav.append({title: path})
    return nav


def _titled(by_path: dict[str, Page], path: str) -> Any:
    page = by_path.get(path)
    return {html(page.title): path} if page is not None and page.title else path


def _heading(markdown: str) -> str:
    """The text of the first level-one heading of a page, as MkDocs takes its title."""
    found = re.search(r"^#\s+(.+?)\s*#*\s*$", markdown, re.M)
    return found.group(1) if found else ""


def _write_config(
    project: Project,
    work: Path,
    docs: Path,
    pages: list[Page],
    changes: Mapping[str, str],
    datasette_url: str,
) -> Path:
    """The project's mkdocs.yml with the working docs directory, the nav and the search dictionaries."""
    source = project.root / "mkdocs.yml"
    if not source.exists():
        raise BuildError(f"找不到网站配置文件 {source}。")
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    settings = project.settings
    config["docs_dir"] = str(docs)
    config["site_name"] = settings.title
    config["site_url"] = settings.site_url
    if settings.sample:
        config["site_description"] = config.get("site_description", "") + "（示例数据）"
        config["copyright"] = "示例数据 · " + config.get("copyright", "")
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
    config["extra"]["sample"] = settings.sample
    path = work / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


class _MkDocs:
    """`mkdocs build` in a process of its own, its output in a file (no one reads a pipe while the
    sheets are written beside it)."""

    def __init__(self, config: Path, site_dir: Path, *, dirty: bool = False) -> None:
        command = [
            sys.executable,
            "-m",
            "sunshine.site.mkdocs_run",
            "build",
            "--strict",
            "-f",
            str(config),
            "-d",
            str(site_dir),
            *(["--dirty"] if dirty else []),
        ]
        env = {**os.environ, "PYTHONWARNINGS": "ignore", "NO_MKDOCS_2_WARNING": "1"}
        self.site_dir = site_dir
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by finish or stop)
        self.proc = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def stop(self) -> None:
        """The build failed meanwhile: MkDocs need not go on."""
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def finish(self) -> None:
        """Wait for MkDocs; raise BuildError with its warnings when it failed."""
        try:
            if self.proc.wait() == 0:
                return
            self.log.seek(0)
            lines = self.log.read().decode("utf-8", "replace").splitlines()
        finally:
            self.log.close()
        staging.remove_tree(self.site_dir)
        problems = [line for line in lines if line.startswith(("WARNING", "ERROR", "Aborted"))]
        detail = "\n".join((problems or lines)[-15:])
        raise BuildError(f"MkDocs 生成网站失败（--strict 模式下有警告或错误）：\n{detail}")


# -- after MkDocs: downloads, Content-Security-Policy, swap ----------------------------------------


def _link_downloads(made: dict[str, dict[str, Path]], site: Path, *, prune: bool = False) -> None:
    """Each table as UTF-8 CSV, Excel-friendly CSV and JSON, made once per version of its CSV; with
    `prune` (a site reused from an earlier build), the files of tables no longer published go."""
    placed: set[Path] = set()
    for name, files in made.items():
        for kind, path in files.items():
            target = site / catalog.download_names(name)[kind]
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.place_link(path, target)
            placed.add(target)
    if prune:
        staging.prune(site / "downloads", placed)


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", re.S)
_CHARSET = '<meta charset="utf-8">'


def _add_csp(site: Path, *, since: float | None = None) -> tuple[int, int]:
    """Put a Content-Security-Policy meta tag in every page (or every page written after `since`),
    allowing only its own inline scripts; (pages, pages given a tag now)."""
    count = written = 0
    for page in site.rglob("*.html"):
        count += 1
        if since is not None and page.stat().st_mtime < since:
            continue
        text = page.read_text(encoding="utf-8")
        tagged = with_csp(text)
        if tagged != text:
            _write_if_changed(page, tagged.encode("utf-8"))
            written += 1
    return count, written


def with_csp(text: str) -> str:
    """A page with its Content-Security-Policy meta tag, allowing only its own inline scripts."""
    if 'http-equiv="Content-Security-Policy"' in text or _CHARSET not in text:
        return text
    hashes = sorted(
        {
            headers.sha256_source(base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode())
            for s in _INLINE_SCRIPT.findall(text)
        }
    )
    meta = f'<meta http-equiv="Content-Security-Policy" content="{headers.csp(hashes, meta=True)}">'
    return text.replace(_CHARSET, _CHARSET + "\n" + meta, 1)


# -- MkDocs's output kept between builds -----------------------------------------------------------


def _html_state(project: Project, config: Path, docs: Path) -> dict[str, str]:
    """What every page takes from outside its own Markdown: the configuration (nav included), the
    theme and its overrides, and the title of every page (nav labels, previous and next links)."""
    digest = hashlib.sha256(config.read_bytes())
    overrides = project.root / "content" / OVERRIDES
    if overrides.is_dir():
        for path in sorted(overrides.rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(overrides).as_posix().encode() + b"\0" + path.read_bytes())
    for name in ("mkdocs", "mkdocs-material"):
        digest.update(importlib.metadata.version(name).encode())
    titles = hashlib.sha256()
    for path in sorted(docs.rglob("*.md")):
        titles.update(path.relative_to(docs).as_posix().encode() + b"\0" + _title(path).encode() + b"\n")
    return {"config": digest.hexdigest(), "titles": titles.hexdigest()}


def _title(path: Path) -> str:
    """The front-matter title or the first heading: what MkDocs takes a page's title from."""
    with path.open(encoding="utf-8") as f:
        head = f.read(4096)
    found = re.search(r"^title:\s*(.+)$", head, re.M) if head.startswith("---") else None
    found = found or re.search(r"^#\s+(.+)$", head, re.M)
    return found.group(1).strip() if found else ""


def _read_state(work: Path) -> dict[str, str] | None:
    try:
        return json.loads((work / HTML_STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_state(work: Path, state: dict[str, str]) -> None:
    (work / HTML_STATE).write_text(json.dumps(state), encoding="utf-8")


def _merge_search_index(work: Path, path: Path, docs: Path, *, dirty: bool) -> dict[str, Any]:
    """The whole search index: after a dirty build MkDocs's index holds only the pages it rewrote,
    so the entries of every page are kept between builds and the rewritten pages replace theirs.
    Pages come in the order of their locations, a build from nothing included, so both agree."""
    data = json.loads(path.read_text(encoding="utf-8"))
    kept_path = work / SEARCH_ENTRIES
    pages: dict[str, list[Any]] = {}
    if dirty:
        try:
            pages = json.loads(kept_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pages = {}
    fresh: dict[str, list[Any]] = {}
    for entry in data.get("docs", []):
        fresh.setdefault(entry["location"].split("#", 1)[0], []).append(entry)
    pages.update(fresh)
    locations = {_location(p.relative_to(docs).as_posix()) for p in docs.rglob("*.md")}
    pages = {loc: pages[loc] for loc in sorted(pages) if loc in locations}
    kept_path.write_text(json.dumps(pages, ensure_ascii=False), encoding="utf-8")
    data["docs"] = [entry for loc in pages for entry in pages[loc]]
    return data


def _location(doc: str) -> str:
    """The URL of a Markdown page with directory URLs: a/b.md → a/b/, a/index.md → a/."""
    stem = doc.removesuffix(".md")
    if stem == "index":
        return ""
    if stem.endswith("/index"):
        return stem.removesuffix("index")
    return stem + "/"


def _write_search_index(data: dict[str, Any], path: Path) -> int:
    """Write the search index with Chinese as UTF-8 instead of \\u escapes (about half the size)."""
    path.unlink(missing_ok=True)  # a hard link into the kept output: replace, never rewrite
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    return path.stat().st_size


def _free_replaced_downloads(spare: Path) -> None:
    """Remove the download files of the spare site that nothing else links to any more: versions
    of tables replaced since (a county's petitions are a gigabyte). Done beside the build, and not
    when their links are replaced at its end, where freeing their space took most of a second."""
    for path in (spare / "downloads").glob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and path.lstat().st_nlink == 1:
                path.unlink()


def _begin_tree(new: Path, spare: Path) -> bool:
    """The folder the new site is put together in: the site the last build replaced, to be brought
    up to date (a county's site is 18,000 files and folders, and a few dozen change), where there is
    one, else an empty one. True when the spare was used: then the steps that write into the
    folders of WRITTEN_AFTER remove from them what they did not write."""
    if spare.is_dir():
        try:
            spare.rename(new)
            return True
        except OSError:
            staging.remove_tree(spare)
    new.mkdir()
    return False


def _sync_tree(source: str, target: str, *, top: bool = False, add_only: bool = False) -> None:
    """Make target the same tree as source, each file a link to source's (as `cp -al` would make it),
    changing only what differs. At the top, the folders of WRITTEN_AFTER hold what the steps that
    write them wrote (and kept, removing the rest): what MkDocs has there (a page of content/docs
    at downloads/) is added to them, nothing removed."""
    have = {e.name: e for e in os.scandir(target)}
    want = {e.name: e for e in os.scandir(source)}
    for name, entry in list(have.items()):
        if add_only or (top and name in WRITTEN_AFTER):
            continue
        source_entry = want.get(name)
        is_dir = entry.is_dir(follow_symlinks=False)
        if source_entry is None or source_entry.is_dir(follow_symlinks=False) != is_dir:
            if is_dir:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            del have[name]
    for name, entry in want.items():
        path = os.path.join(target, name)
        if entry.is_dir(follow_symlinks=False):
            if name not in have:
                os.mkdir(path)
                shutil.copystat(entry.path, path)
            _sync_tree(entry.path, path, add_only=add_only or (top and name in WRITTEN_AFTER))
        elif name not in have or have[name].inode() != entry.inode():
            staging.place_link(Path(entry.path), Path(path))


def _swap(new: Path, target: Path, spare: Path) -> None:
    """Put the new site in place (sunshine.staging); keep the one it replaced as the next spare."""
    staging.remove_tree(spare)
    if target.is_dir() and staging.exchange(new, target):
        try:
            new.rename(spare)
        except OSError:
            staging.remove_tree(new)
        return
    staging.swap_directory(new, target)


# Material's search worker segments a Chinese query greedily into words of the index, but its loop
# stops one character short (`j < query.length`), so the last character never ends a word: 路灯
# becomes 路, which finds 光明路. Let the loop reach the end of the query.
_SEGMENT_LOOP = re.compile(r"for\(let (\w+)=(\w+)\+1;\1<(\w+)\.length;\1\+\+\)\3\.slice\(\2,\1\)in ")


def _fix_query_segmentation(site: Path) -> bool:
    """Patch the search worker's query segmentation; False when the loop is not found (already fixed)."""
    fixed = False
    for worker in (site / "assets" / "javascripts" / "workers").glob("search.*.min.js"):
        text = worker.read_text(encoding="utf-8")
        patched = _SEGMENT_LOOP.sub(
            lambda m: m.group(0).replace(f"{m.group(1)}<", f"{m.group(1)}<=", 1), text
        )
        if patched != text:  # replaced, never rewritten: the published site links to this file
            _write_if_changed(worker, patched.encode("utf-8"))
            fixed = True
    return fixed
