"""`sunshine serve`: the static site server's headers, and serving the last good build when a build fails."""

from __future__ import annotations

import base64
import hashlib
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from sunshine.serve.run import site_server, wait_for_port

from .conftest import ROOT, copy_package
from .portal_support import free_port, sample_database

INLINE = "__md_scope=new URL('.',location)"


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(
        f'<html><head><script>{INLINE}</script><script src="app.js"></script>'
        '<script id="__config" type="application/json">{}</script></head><body>阳光村务</body></html>',
        encoding="utf-8",
    )
    (root / "app.js").write_text("console.log(1)", encoding="utf-8")
    port = free_port()
    server = site_server(root, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_site_pages_allow_only_their_own_inline_scripts(site):
    response = httpx.get(site + "/")
    digest = base64.b64encode(hashlib.sha256(INLINE.encode()).digest()).decode()
    csp = response.headers["content-security-policy"]
    script_src = csp.split("script-src")[1].split(";")[0].split()
    assert script_src == ["'self'", f"'sha256-{digest}'"]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


def test_site_assets_and_missing_pages_carry_the_headers_too(site):
    for path, status in (("/app.js", 200), ("/nowhere/", 404)):
        response = httpx.get(site + path)
        assert response.status_code == status
        assert response.headers["x-frame-options"] == "DENY"
        assert "script-src 'self';" in response.headers["content-security-policy"]


def test_a_missing_page_is_the_sites_own_404_page_with_its_scripts_allowed(site, tmp_path):
    (tmp_path / "site" / "404.html").write_text(
        "<html><head><script>var a=1</script></head><body><h1>找不到这个页面</h1></body></html>",
        encoding="utf-8",
    )
    with httpx.Client() as client:  # one connection: the next request is not the 404 page
        missing = client.get(site + "/nowhere/")
        home = client.get(site + "/")
    assert missing.status_code == 404
    assert "<h1>找不到这个页面</h1>" in missing.text
    digest = base64.b64encode(hashlib.sha256(b"var a=1").digest()).decode()
    assert f"'sha256-{digest}'" in missing.headers["content-security-policy"]
    assert f"'sha256-{digest}'" not in home.headers["content-security-policy"]


def test_other_errors_are_said_in_chinese(site):
    response = httpx.request("POST", site + "/")
    assert response.status_code == 501
    assert "<title>出错了（501）</title>" in response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_text_files_are_sent_compressed_to_browsers_that_accept_it(site):
    compressed = httpx.get(site + "/", headers={"Accept-Encoding": "gzip"})
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["vary"] == "Accept-Encoding"
    assert "阳光村务" in compressed.text
    assert "content-security-policy" in compressed.headers
    plain = httpx.get(site + "/app.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.text == "console.log(1)"


def broken_package(tmp_path: Path) -> Path:
    root = copy_package(ROOT, tmp_path / "pkg")
    villages = root / "data" / "villages.csv"
    lines = villages.read_text(encoding="utf-8").splitlines(keepends=True)
    first = lines[1].split(",")
    first[1] = ""  # the required village name
    villages.write_text("".join([lines[0], ",".join(first), *lines[2:]]), encoding="utf-8")
    return root


def serve(root: Path, port: int, datasette_port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sunshine.cli",
            "serve",
            "--port",
            str(port),
            "--datasette-port",
            str(datasette_port),
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_failed_build_serves_the_last_good_database_and_ctrl_c_stops_cleanly(tmp_path):
    root = broken_package(tmp_path)
    (root / "build").mkdir()
    shutil.copy(sample_database(), root / "build" / "sunshine.db")
    port, datasette_port = free_port(), free_port()
    proc = serve(root, port, datasette_port)
    try:
        assert wait_for_port("127.0.0.1", datasette_port, timeout=90, proc=proc)
        response = httpx.get(
            f"http://127.0.0.1:{datasette_port}/sunshine/villages.json", params={"_shape": "array"}
        )
        assert response.status_code == 200
        assert response.headers["x-frame-options"] == "DENY"
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "继续提供上一次成功构建的网站和数据库" in err
    assert "Traceback" not in out + err


def test_a_failed_build_with_nothing_built_before_exits_with_a_chinese_message(tmp_path):
    proc = serve(broken_package(tmp_path), free_port(), free_port())
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "没有可用的上一次构建" in err
    assert "Traceback" not in out + err
