"""`sunshine serve`: build, then serve the site (port 8000) and Datasette (port 8001) on this machine.

Datasette runs read-only (--immutable, with counts from `datasette inspect`), with a time limit
on every query, through the launcher in sunshine.portal that adds the portal plugin
and keeps Rich away from Datasette. The site is served by a small static server that adds the
same security headers; its Content-Security-Policy allows scripts from the site itself plus the
exact inline scripts of each page (by SHA-256 hash), nothing else.

The static server is a preview, not a production server, but it holds under careless or hostile
requests: no directory listings; a malformed request (a NUL byte, a request line over 64 KB, an
unknown HTTP version) gets its 400, 414 or 505 and one log line, never a traceback; a connection
that sends nothing is closed after IDLE_SECONDS; at most MAX_CONNECTIONS are served at once (the
rest wait in the system's queue).
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
import urllib.parse
from functools import lru_cache, partial
from pathlib import Path
from typing import Any

import click

from sunshine import headers
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


IDLE_SECONDS = 15
MAX_CONNECTIONS = 32
# Text files are sent gzip-compressed to browsers that accept it, as any production web server
# would: Material's CSS and JavaScript shrink to a third, which is what a phone pays for.
COMPRESSIBLE = {".html", ".css", ".js", ".json", ".xml", ".svg", ".txt", ".csv", ".map"}
COMPRESS_MAX_BYTES = 5_000_000


@lru_cache(maxsize=256)
def _gzipped(path: str, mtime: float) -> bytes:
    return gzip.compress(Path(path).read_bytes(), compresslevel=6, mtime=0)


@lru_cache(maxsize=512)
def _script_hashes(path: str, mtime: float) -> tuple[str, ...]:
    found = INLINE_SCRIPT.findall(Path(path).read_bytes())
    digests = sorted({base64.b64encode(hashlib.sha256(s).digest()).decode() for s in found})
    return tuple(headers.sha256_source(d) for d in digests)


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with security headers; quiet unless something goes wrong."""

    timeout = IDLE_SECONDS  # on the socket: a connection idle this long is closed
    # Answer with a status line even when the request line names no version or an unknown one
    # (HTTP/0.9 answers had none, so a 400 or 505 reached the client as a bare page).
    default_request_version = "HTTP/1.0"

    def parse_request(self) -> bool:
        self.error_page = None  # a connection kept alive serves several requests
        if not super().parse_request():
            return False
        target = self.path.split("?", 1)[0].split("#", 1)[0]
        if any(ord(c) < 0x20 or c == "\x7f" for c in urllib.parse.unquote(target)):
            self.send_error(400, "Bad request path")
            return False
        return True

    # nginx's pages in production; here the site's own 404 page, and Chinese for the rest.
    error_message_format = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>出错了（%(code)d）</title></head><body><h1>出错了（%(code)d）</h1>"
        '<p>无法处理这个请求。请从<a href="/">网站首页</a>重新进入。</p></body></html>'
    )
    error_content_type = "text/html; charset=utf-8"
    error_page: Path | None = None

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        self.error_page = page  # its own inline scripts go in the policy (end_headers)
        body = page.read_bytes()
        self.log_error("code %d, message %s", code, message)
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def list_directory(self, path: str | os.PathLike[str]) -> None:  # type: ignore[override]
        self.send_error(404, "File not found")
        return None

    def send_head(self):  # type: ignore[override]
        try:
            return self._send_head()
        except (OSError, ValueError):  # a name too long for the file system, or otherwise unusable
            self.send_error(404, "File not found")
            return None

    def _page(self) -> Path | None:
        """The file the request asks for (index.html for a folder), or None when there is none."""
        if self.error_page is not None:
            return self.error_page
        if not getattr(self, "path", None):  # an error sent before the request line was read (414, 505)
            return None
        try:
            path = Path(self.translate_path(self.path))
            return path / "index.html" if path.is_dir() else path
        except (OSError, ValueError):
            return None

    def _send_head(self):  # type: ignore[no-untyped-def]
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
        hashes: tuple[str, ...] = ()
        path = self._page()
        if path is not None and path.suffix == ".html" and path.is_file():
            hashes = _script_hashes(str(path), path.stat().st_mtime)
        self.send_header("Content-Security-Policy", headers.csp(hashes))
        for key, value in headers.SECURITY_HEADERS.items():
            self.send_header(key, value)
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if args and str(args[1] if len(args) > 1 else "").startswith(("4", "5")):
            super().log_message(format, *args)


class SiteServer(http.server.ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS of them at once."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

    def process_request(self, request: Any, client_address: Any) -> None:
        self._slots.acquire()  # the next connection waits in the listen queue until a slot frees
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        sys.stderr.write(f"网站预览服务处理 {client_address[0]} 的请求时出错：{type(error).__name__}\n")


def site_server(site: Path, host: str, port: int) -> SiteServer:
    return SiteServer((host, port), partial(SiteHandler, directory=str(site)))


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
