"""`sunshine init`: turn a fresh clone (the sample township) into a township's own project.

It writes sunshine.toml (township, county, site title, public URLs; site.sample = false), replaces
each CSV in data/ with its header row, moves the sample's own files (village introductions in
content/, the disclosure deadlines in deadlines.toml) into examples/, drops the 示例数据 notes from the hand-written pages, rewrites the data
package's title and sources, regenerates metadata.json, and (in a git repository) commits, then
starts the public history at that commit so the sample's history is never published.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from sunshine import settings
from sunshine.package import Project
from sunshine.portal import metadata

EXAMPLES = "examples"
# The sample's own files: pages about its villages, its disclosure deadlines (rules and exemptions).
SAMPLE_FILES = ("content/villages", "deadlines.toml")
SAMPLE_NOTE = re.compile(r'^!!! note "示例数据"\n(?:(?: {4}.*)?\n)*', re.M)
_URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")


class InitError(Exception):
    """The answers cannot make a project; the message says which and why."""


@dataclass(frozen=True)
class Answers:
    township: str
    county: str
    title: str
    site_url: str
    datasette_url: str

    @classmethod
    def checked(cls, township: str, county: str, title: str, site_url: str, datasette_url: str) -> Answers:
        township, county, title = township.strip(), county.strip(), title.strip()
        if not township or not county:
            raise InitError("请填写乡镇（街道）名称和所属县（市、区）。")
        site_url = site_url.strip()
        if not _URL.match(site_url):
            raise InitError(
                f"网站地址应以 http:// 或 https:// 开头，例如 https://ygcw.example.gov.cn/，现在是 {site_url!r}。"
            )
        site_url = site_url if site_url.endswith("/") else site_url + "/"
        datasette_url = (datasette_url.strip() or site_url + "data").rstrip("/")
        if not _URL.match(datasette_url):
            raise InitError(f"数据门户地址应以 http:// 或 https:// 开头，现在是 {datasette_url!r}。")
        return cls(township, county, title or f"{township}阳光村务", site_url, datasette_url)


@dataclass
class InitResult:
    emptied: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    commit: str = ""
    checklist: list[str] = field(default_factory=list)


def init_project(
    project: Project, answers: Answers, *, commit: bool = True, force: bool = False
) -> InitResult:
    root = project.root
    if not force and (root / settings.FILENAME).exists() and not project.settings.sample:
        raise InitError(
            f"{settings.FILENAME} 中 site.sample 已是 false：这个仓库已经初始化过。确需重来请加 --force。"
        )
    result = InitResult()
    values = {
        "township.name": answers.township,
        "township.county": answers.county,
        "site.title": answers.title,
        "site.url": answers.site_url,
        "site.datasette_url": answers.datasette_url,
        "site.sample": False,
        "history.start": "",
    }
    _write_settings(root, values)
    for table in project.tables.values():
        path = root / table.path
        _write_header_only(path, table.field_names)
        result.emptied.append(table.path)
    for rel in SAMPLE_FILES:
        source = root / rel
        if source.exists():
            target = root / EXAMPLES / rel
            if target.is_dir():
                shutil.rmtree(target)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(source), str(target))
            result.moved.append(rel)
    for page in sorted((root / "content").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        cleaned = SAMPLE_NOTE.sub("", text)
        if cleaned != text:
            page.write_text(cleaned, encoding="utf-8")
    _rewrite_descriptor(root, answers)
    fresh = Project.load(root)
    (root / metadata.METADATA).write_text(metadata.render(metadata.build_metadata(fresh)), encoding="utf-8")
    if commit and _is_git(root):
        result.commit = _commit(
            root, f"Start {answers.township}'s own data: settings, empty tables, own pages"
        )
        if result.commit:
            _write_settings(root, {**values, "history.start": result.commit})
            _commit(root, "Publish the history from the first commit of the township's own data")
    result.checklist = _checklist(answers, result)
    return result


def _write_settings(root: Path, values: dict) -> None:
    (root / settings.FILENAME).write_text(settings.render(values), encoding="utf-8")


def _write_header_only(path: Path, names: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(",".join(names) + "\n", encoding="utf-8")


def _rewrite_descriptor(root: Path, a: Answers) -> None:
    path = root / "datapackage.json"
    descriptor = json.loads(path.read_text(encoding="utf-8"))
    descriptor["title"] = f"{a.township}阳光村务公开数据"
    descriptor["description"] = (
        f"{a.county}{a.township}各村（社区）的三务公开、网格服务和群众诉求办结数据。\n\n"
        f"Open data on village affairs disclosures, grid services and residents' requests of {a.township}, {a.county}."
    )
    descriptor["homepage"] = a.site_url
    descriptor["sources"] = [{"title": f"{a.township}各村（居）委会、网格服务管理中心"}]
    descriptor["contributors"] = [{"title": f"{a.township}人民政府", "roles": ["publisher"]}]
    descriptor = settings.unmark_sample(descriptor)
    path.write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def _is_git(root: Path) -> bool:
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True)
    return done.returncode == 0 and Path(done.stdout.strip()).resolve() == root.resolve()


def _commit(root: Path, message: str) -> str:
    subprocess.run(["git", "add", "-A"], cwd=root, check=True, capture_output=True)
    done = subprocess.run(["git", "commit", "-q", "-m", message], cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        return ""
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()


def _checklist(a: Answers, result: InitResult) -> list[str]:
    items = [
        f"在 data/ 的 {len(result.emptied)} 张表中填入本乡镇的数据（只有表头；可用 Excel/WPS 编辑，另存为 CSV UTF-8），"
        "每填完一批运行 sunshine validate。",
        "在 content/villages/<村代码>.md 写各村（社区）的简介（示例见 examples/content/villages/）。",
        "按本乡镇的规定写公开时限 deadlines.toml（格式和示例见 examples/deadlines.toml），网站会据此显示公开日历。",
        "检查 content/home.md、content/docs/about.md 和 content/docs/feedback.md 的文字和电话。",
        f"把域名解析到服务器，网站地址 {a.site_url}，数据门户 {a.datasette_url}/（部署见 DEPLOY.md）。",
        "运行 sunshine publish 生成发布包；在代码托管平台设置部署用的密钥（见 .github/workflows/publish.yml）。",
    ]
    if result.commit:
        items.append(
            f"已提交（{result.commit[:10]}），公开的变更记录从这一提交开始（history.start）。推送到 main 即发布。"
        )
    else:
        items.append(
            "尚未提交：请提交这些修改，并把 sunshine.toml 中的 history.start 设为该提交，再推送到 main。"
        )
    return items
