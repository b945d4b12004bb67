"""`sunshine serve`: build, then serve the site (port 8000) and Datasette (port 8001) on this machine.

Datasette runs read-only (--immutable, with counts from `datasette inspect`), with a time limit
on every query, through the launcher in sunshine.portal that adds the portal plugin
and keeps Rich away from Datasette. The site is served by a small static server that adds the
same security headers; its Content-Security-Policy allows scripts from the site itself plus the
exact inline scripts of each page (by SHA-256 hash), nothing else.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from functools import lru_cache, partial
from pathlib import Path

import click

from sunshine.build import build_command
from sunshine.package import Project
from sunshine.portal.metadata import build_metadata, render

SQL_TIME_LIMIT_MS = 3000
MAX_RETURNED_ROWS = 1000
DATASETTE_SETTINGS = {
    "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
    "max_returned_rows": MAX_RETURNED_ROWS,
    "suggest_facets": "off",
    "facet_time_limit_ms": 1000,
    "default_page_size": 50,
    "default_cache_ttl": 60,
    "num_sql_threads": 3,
    "cache_size_kb": 50000,
}
DATABASES = ("sunshine.db", "history.db")
INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", re.S)
SITE_CSP = (
    "default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SITE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def datasette_databases(build_dir: Path) -> list[Path]:
    return [build_dir / name for name in DATABASES if (build_dir / name).exists()]


def launcher() -> list[str]:
    return [sys.executable, "-m", "sunshine.portal"]


def write_inspect_file(databases: list[Path], path: Path) -> Path:
    """Row counts and hashes of the immutable databases, so no page has to count a big table."""
    tmp = path.with_name(path.name + ".tmp")
    subprocess.run([*launcher(), "inspect", *map(str, databases), "--inspect-file", str(tmp)], check=True)
    os.replace(tmp, path)
    return path


def datasette_command(
    databases: list[Path], *, metadata: Path, inspect_file: Path, host: str, port: int
) -> list[str]:
    """The command line that serves the databases read-only with the portal's settings."""
    cmd = [*launcher(), "serve", "--host", host, "--port", str(port), "--cors"]
    for db in databases:
        cmd += ["--immutable", str(db)]
    cmd += ["--inspect-file", str(inspect_file), "--metadata", str(metadata)]
    for key, value in DATASETTE_SETTINGS.items():
        cmd += ["--setting", key, str(value)]
    return cmd


# Text files are sent gzip-compressed to browsers that accept it, as any production web server
# would: Material's CSS and JavaScript shrink to a third, which is what a phone pays for.
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".xml", ".svg", ".txt", ".csv", ".map"}
COMPRESS_MAX_BYTES = 5_000_000


@lru_cache(maxsize=256)
def _gzipped(path: str, mtime: float) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=6, mtime=0)


@lru_cache(maxsize=512)
def _script_hashes(path: str, mtime: float) -> str:
    found = INLINE_SCRIPT.findall(Path(path).read_bytes())
    digests = sorted({base64.b64encode(hashlib.sha256(s).digest()).decode() for s in found})
    return "".join(f" 'sha256-{d}'" for d in digests)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with security headers; quiet unless something goes wrong."""

    def send_head(self):  # type: ignore[override]
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?", 1)[0].endswith("/"):
            path = path / "index.html"
        accepts = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts and path.suffix in COMPRESSIBLE and path.is_file()):
            return super().send_head()
        size = path.stat().st_size
        if size > COMPRESS_MAX_BYTES:
            return super().send_head()
        body = _gzipped(str(path), path.stat().st_mtime)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:
        hashes = ""
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix == ".html" and path.is_file():
            hashes = _script_hashes(str(path), path.stat().st_mtime)
        self.send_header("Content-Security-Policy", SITE_CSP.format(hashes=hashes))
        for key, value in SITE_HEADERS.items():
            self.send_header(key, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)


def site_server(site: Path, host: str, port: int) -> http.server.ThreadingHTTPServer:
    handler = partial(SiteHandler, directory=str(site))
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    return http.server.ThreadingHTTPServer((host, port), handler)


def wait_for_port(host: str, port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> bool:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _build(project: Project, host: str, datasette_port: int) -> bool:
    return build_command(project, datasette_url=f"http://{host}:{datasette_port}") == 0


def metadata_file(project: Project) -> Path:
    """The committed metadata.json, or one generated into build/ for a package without it."""
    committed = project.root / "metadata.json"
    if committed.exists():
        return committed
    generated = project.build_dir / "metadata.json"
    generated.write_text(render(build_metadata(project)), encoding="utf-8")
    return generated


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_command(project: Project, *, host: str, port: int, datasette_port: int) -> int:
    build_dir = project.build_dir
    if not _build(project, host, datasette_port):
        if (build_dir / "sunshine.db").exists():
            click.echo("本次构建失败，继续提供上一次成功构建的网站和数据库。", err=True)
        else:
            click.echo("构建失败，且没有可用的上一次构建，无法启动服务。", err=True)
            return 1
    databases = datasette_databases(build_dir)
    inspect_file = write_inspect_file(databases, build_dir / "datasette-inspect.json")
    cmd = datasette_command(
        databases,
        metadata=metadata_file(project),
        inspect_file=inspect_file,
        host=host,
        port=datasette_port,
    )
    # Datasette gets its own process group: Ctrl-C reaches only this process, which stops it cleanly.
    datasette = subprocess.Popen(cmd, start_new_session=True)
    site = site_server(build_dir / "site", host, port) if (build_dir / "site").is_dir() else None
    # SIGINT too: a shell that starts us in the background would otherwise leave it ignored.
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if site is not None:
            threading.Thread(target=site.serve_forever, daemon=True).start()
            click.echo(f"网站：http://{host}:{port}/")
        else:
            click.echo("没有找到 build/site，只提供 Datasette。", err=True)
        if wait_for_port(host, datasette_port, proc=datasette):
            click.echo(f"Datasette：http://{host}:{datasette_port}/")
            click.echo("按 Ctrl-C 停止。")
        datasette.wait()
        click.echo("Datasette 意外退出。", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo("\n正在停止……")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if site is not None:
            site.shutdown()
            site.server_close()
        if datasette.poll() is None:
            datasette.send_signal(signal.SIGINT)
            try:
                datasette.wait(timeout=10)
            except subprocess.TimeoutExpired:
                datasette.kill()
                datasette.wait()
