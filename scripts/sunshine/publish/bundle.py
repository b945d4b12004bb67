"""`sunshine publish`: build, then write a self-contained bundle (build/publish/) for real servers.

    build/publish/
      site/                    the static site, text files with a .gz beside them
        downloads/research/    each table as Parquet, the whole sunshine.db, SHA256SUMS
      datasette/               run.sh, the databases, metadata.json, inspect.json, Dockerfile,
                               requirements.lock (hashes), wheels/ (the portal plugin as a package)
      nginx/                   sunshine.conf (conf.d, the operator's copy), locations.conf (included by it,
                               new with each bundle), nginx.conf (complete), kubernetes.conf, site.Dockerfile
      systemd/                 sunshine-datasette@.service (one instance per port)
      deploy/activate.sh       on a VM: swap a copied bundle in, restart instances one at a time
      kubernetes/sunshine.yaml Deployments, Services, PodDisruptionBudgets, autoscalers, Ingress
      DEPLOY.md

The bundle is written next to the old one and swapped in by renaming, so a failed publish leaves
the last good bundle in place.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import sunshine
from sunshine import staging
from sunshine.package import Project
from sunshine.publish import files, nginx, service
from sunshine.serve.run import INLINE_SCRIPT, datasette_databases, metadata_file, write_inspect_file

DATA_PREFIX = "data/"
RESEARCH = "downloads/research"
LOCK_FILE = Path(__file__).resolve().parents[3] / "deploy" / "requirements.lock"


class PublishError(Exception):
    """The bundle cannot be written; the message says why, in Chinese."""


@dataclass(frozen=True)
class Urls:
    """Where the bundle is served: the site, and the portal under it at /data/."""

    site: str  # ends with "/"

    @property
    def datasette(self) -> str:
        return self.site + DATA_PREFIX.rstrip("/")

    @property
    def site_path(self) -> str:
        return urlsplit(self.site).path or "/"

    @property
    def data_path(self) -> str:
        return self.site_path + DATA_PREFIX

    @property
    def host(self) -> str:
        return urlsplit(self.site).hostname or "_"


@dataclass
class Bundle:
    path: Path
    tables: dict[str, int] = field(default_factory=dict)  # Parquet rows per table
    compressed: int = 0
    script_hashes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        rows = sum(self.tables.values())
        return (
            f"发布包已生成：{self.path}（{len(self.tables)} 张表的 Parquet 共 {rows:,} 行，"
            f"预压缩 {self.compressed} 个文本文件）"
        )


def write_bundle(project: Project, target: Path, where: Urls) -> Bundle:
    """Assemble the bundle from a finished build (build/site, build/*.db) into target."""
    build = project.build_dir
    site = build / "site"
    databases = datasette_databases(build)
    for db in databases:  # a build killed while it updated a database in place
        staging.roll_back_interrupted(db)
    if not site.is_dir() or not databases:
        raise PublishError("没有找到构建结果（build/site 和 build/sunshine.db），请先运行 sunshine build。")
    new = target.with_name(f".{target.name}-new")
    shutil.rmtree(new, ignore_errors=True)
    try:
        bundle = Bundle(path=target)
        _write_site(site, new / "site", databases[0], bundle)
        _write_datasette(project, databases, new / "datasette", where)
        _write_nginx(new / "nginx", where, bundle.script_hashes)
        (new / "systemd").mkdir()
        (new / "systemd" / "sunshine-datasette@.service").write_text(service.systemd_unit(), encoding="utf-8")
        (new / "deploy").mkdir()
        activate = new / "deploy" / "activate.sh"
        activate.write_text(service.activate_script(), encoding="utf-8")
        activate.chmod(0o755)
        (new / "kubernetes").mkdir()
        (new / "kubernetes" / "sunshine.yaml").write_text(
            service.kubernetes_yaml(service.kubernetes(host=where.host)), encoding="utf-8"
        )
        deploy = project.root / "DEPLOY.md"
        if deploy.exists():
            shutil.copyfile(deploy, new / "DEPLOY.md")
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    _swap(new, target)
    return bundle


def _write_site(source: Path, target: Path, db: Path, bundle: Bundle) -> None:
    shutil.copytree(source, target)
    research = target / RESEARCH
    research.mkdir(parents=True)
    for table in files.public_tables(db):
        bundle.tables[table] = files.write_parquet(db, table, research / f"{table}.parquet")
    files.link_or_copy(db, research / db.name)
    files.write_checksums(research)
    bundle.script_hashes = sorted(_inline_script_hashes(target))
    bundle.compressed = files.precompress(target)


def _inline_script_hashes(site: Path) -> set[str]:
    found: set[str] = set()
    for page in site.rglob("*.html"):
        for script in INLINE_SCRIPT.findall(page.read_bytes()):
            found.add("'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'")
    return found


def _write_datasette(project: Project, databases: list[Path], target: Path, where: Urls) -> None:
    target.mkdir(parents=True)
    for db in databases:
        files.link_or_copy(db, target / db.name)
    shutil.copyfile(metadata_file(project), target / "metadata.json")
    write_inspect_file([target / db.name for db in databases], target / "inspect.json")
    names = [db.name for db in databases]
    run = target / "run.sh"
    https = urlsplit(where.site).scheme == "https"
    run.write_text(service.run_script(names, base_url=where.data_path, https=https), encoding="utf-8")
    run.chmod(0o755)
    if not LOCK_FILE.exists():
        raise PublishError(f"找不到依赖锁定文件 {LOCK_FILE}。")
    shutil.copyfile(LOCK_FILE, target / "requirements.lock")
    wheel = _build_wheel(target / "wheels")
    (target / "Dockerfile").write_text(service.dockerfile(wheel.name), encoding="utf-8")
    (target / ".dockerignore").write_text(
        "*\n!run.sh\n!*.db\n!*.json\n!requirements.lock\n!wheels\n!wheels/*.whl\n"
    )


def _build_wheel(target: Path) -> Path:
    """The sunshine package (the portal plugin and its launcher) as a wheel, from its own source."""
    source = Path(sunshine.__file__).resolve().parents[2]
    if not (source / "pyproject.toml").exists():
        raise PublishError(f"找不到 sunshine 的源代码（{source}），无法打包门户插件。")
    target.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="sunshine-wheel-") as tmp:
        # Built from a copy: pip builds in the source tree, and two publishes at once (two townships
        # on one checkout) would share setuptools' build/ folder there and break each other's wheel.
        copy = Path(tmp) / "source"
        ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
        shutil.copytree(source / "scripts" / "sunshine", copy / "scripts" / "sunshine", ignore=ignore)
        for name in ("pyproject.toml", "README.md", "LICENSE"):
            if (source / name).exists():
                shutil.copy(source / name, copy / name)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--no-build-isolation",
                "-w",
                str(target),
                str(copy),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    wheels = sorted(target.glob("sunshine-*.whl"))
    if done.returncode != 0 or not wheels:
        raise PublishError(f"打包门户插件失败：{(done.stderr or done.stdout).strip()[-500:]}")
    return wheels[0]


def _write_nginx(target: Path, where: Urls, script_hashes: list[str]) -> None:
    target.mkdir(parents=True)
    vm = nginx.Nginx(
        server_name=where.host,
        site_path=where.site_path,
        script_hashes=script_hashes,
        hsts=where.site.startswith("https://"),
    )
    (target / "locations.conf").write_text(nginx.locations_conf(vm), encoding="utf-8")
    (target / "sunshine.conf").write_text(nginx.server_conf(vm), encoding="utf-8")
    (target / "nginx.conf").write_text(nginx.nginx_conf(nginx.server_conf(vm)), encoding="utf-8")
    k8s = nginx.Nginx(
        server_name="_",
        listen=str(service.SITE_PORT),
        upstreams=(f"{service.IMAGE}:{service.PORT}",),
        trusted_proxies=nginx.PRIVATE_NETWORKS,
    )
    (target / "kubernetes.conf").write_text(nginx.server_conf(k8s), encoding="utf-8")
    (target / "site.Dockerfile").write_text(service.site_dockerfile(), encoding="utf-8")


def _swap(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}-old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)


_URL = re.compile(r"^https?://[^/\s]+(/[^\s]*)?$")


def public_urls(project: Project) -> tuple[Urls, str]:
    """The public URLs from sunshine.toml (the portal is always <site>/data/), and a note if they disagree."""
    site = project.settings.site_url
    if not _URL.match(site):
        raise PublishError(
            f"sunshine.toml 中的 site.url 不是有效的网址：“{site}”。网址应以 https:// 开头，例如 https://ygcw.example.gov.cn/。"
        )
    where = Urls(site)
    if where.site_path != "/":
        raise PublishError(
            f"site.url 应是域名的根路径（例如 https://ygcw.example.gov.cn/），现在是 {site}。"
            "请为本站单独使用一个域名或子域名。"
        )
    note = ""
    if project.settings.datasette_url != where.datasette:
        note = (
            f"注意：发布后数据门户位于 {where.datasette}/，网站中的数据链接都指向那里；"
            f"sunshine.toml 中的 site.datasette_url 仍是 {project.settings.datasette_url}，"
            f"建议改为 {where.datasette}。\n"
        )
    host = (urlsplit(site).hostname or "").lower()
    if host == "localhost" or host.startswith("127.") or host == "::1":
        note += (
            f"注意：site.url 是本机地址 {site}：发布包里的链接、公开栏打印页的二维码和 Kubernetes 的 Ingress 都会指向它，"
            "只适合在本机试用。正式上线前，请在 sunshine.toml 中把 site.url 改为本站公开的域名（例如 https://ygcw.example.gov.cn/），再发布一次。"
        )
    return where, note.strip()
