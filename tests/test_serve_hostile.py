"""The preview server of `sunshine serve` under careless or hostile requests: no listings, plain
4xx/5xx answers without tracebacks, idle connections closed, a bounded number of threads."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from sunshine.serve import run
from sunshine.serve.run import site_server

from .portal_support import free_port


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setattr(run.SiteHandler, "timeout", 1)
    monkeypatch.setattr(run, "MAX_CONNECTIONS", 3)
    root = tmp_path / "site"
    (root / "assets").mkdir(parents=True)
    (root / "downloads").mkdir()
    (root / "index.html").write_text("<html><body>阳光村务</body></html>", encoding="utf-8")
    (root / "assets" / "app.js").write_text("console.log(1)", encoding="utf-8")
    (root / "downloads" / "petitions.csv").write_text("case_id\n", encoding="utf-8")
    port = free_port()
    server = site_server(root, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    server.shutdown()
    server.server_close()


def exchange(port: int, raw: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(raw)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


@pytest.mark.parametrize("path", ["/assets/", "/downloads/", "/assets", "/downloads"])
def test_folders_are_not_listed(site, path):
    response = exchange(site, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert status(response) in (301, 404)
    assert b"app.js" not in response and b"petitions.csv" not in response
    if status(response) == 301:
        followed = exchange(site, f"GET {path}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert status(followed) == 404
        assert b"app.js" not in followed and b"petitions.csv" not in followed


@pytest.mark.parametrize(
    ("request_line", "expected"),
    [
        (b"GET /%00 HTTP/1.1", 400),
        (b"GET /index.html%00.js HTTP/1.1", 400),
        (b"GET /%0d%0aSet-Cookie:x HTTP/1.1", 400),
        (b"GET /" + b"a" * 70_000 + b" HTTP/1.1", 414),
        (b"GET / HTTP/9.9", 505),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.1", 404),
        (b"GET /" + b"a/" * 3000 + b" HTTP/1.1", 404),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),
    ],
    ids=["nul", "nul-suffix", "crlf", "70-kb-line", "http-9.9", "long-name", "deep-path", "tls-hello"],
)
def test_malformed_requests_get_a_plain_error_and_no_traceback(site, capfd, request_line, expected):
    response = exchange(site, request_line + b"\r\nHost: x\r\n\r\n")
    assert status(response) == expected
    assert b"content-security-policy" in response.lower()
    ok = exchange(site, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status(ok) == 200
    assert "Traceback" not in capfd.readouterr().err


def test_an_idle_connection_is_closed(site):
    with socket.create_connection(("127.0.0.1", site), timeout=10) as conn:
        started = time.perf_counter()
        assert conn.recv(1024) == b""  # closed by the server, nothing sent
        assert time.perf_counter() - started < 5


def test_idle_connections_hold_at_most_the_bounded_number_of_threads(site):
    def serving() -> int:
        return sum("process_request_thread" in t.name for t in threading.enumerate())

    before = serving()
    idle = [socket.create_connection(("127.0.0.1", site), timeout=10) for _ in range(10)]
    try:
        time.sleep(0.3)
        assert serving() - before <= 3
        ok = exchange(site, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # served once idle ones time out
        assert status(ok) == 200
    finally:
        for conn in idle:
            conn.close()
