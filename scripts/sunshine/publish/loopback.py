"""Run a published bundle on this machine's loopback: its Datasette instances (its own run.sh) and
nginx with its own sunshine.conf, moved to free ports and to the bundle's paths. The publish tests
and `make bench-province` use it; nothing here is needed on a real server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sunshine.publish import nginx
from sunshine.serve.run import wait_for_port

TEMP_KINDS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loopback_conf(
    bundle: Path, work: Path, port: int, upstreams: list[int], *, data_rate: int | None = None
) -> Path:
    """The bundle's own nginx/sunshine.conf and locations.conf, on 127.0.0.1:port, in front of `upstreams`."""
    server = (bundle / "nginx" / "sunshine.conf").read_text(encoding="utf-8")
    server = server.replace("listen 80;", f"listen 127.0.0.1:{port};")
    locations = (bundle / "nginx" / "locations.conf").read_text(encoding="utf-8")
    locations = locations.replace("root /srv/sunshine/site;", f"root {bundle / 'site'};")
    work.mkdir(parents=True, exist_ok=True)
    (work / "locations.conf").write_text(locations, encoding="utf-8")
    server = server.replace(f"include {nginx.LOCATIONS};", f"include {work / 'locations.conf'};")
    lines = [line for line in server.splitlines() if not line.strip().startswith("server 127.0.0.1:")]
    at = next(i for i, line in enumerate(lines) if line.startswith("upstream sunshine_datasette")) + 1
    lines[at:at] = [f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in upstreams]
    server = "\n".join(lines) + "\n"
    if data_rate is not None:
        server = server.replace(f"rate={nginx.Limits().data_rate}r/s", f"rate={data_rate}r/s")
    for kind in TEMP_KINDS:
        (work / kind).mkdir(parents=True, exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text(
        nginx.nginx_conf(
            server,
            pid=str(work / "nginx.pid"),
            error_log=str(work / "error.log"),
            access_log="off",
            temp_dir=str(work),
            worker_processes="1",
        ),
        encoding="utf-8",
    )
    for path in [work, *(work / kind for kind in TEMP_KINDS)]:
        path.chmod(0o777)  # pid, logs and temp files are written by nginx's user
    return conf


def as_unprivileged(cmd: list[str]) -> list[str]:
    """Run as an ordinary user: when this process is root, drop to nobody first."""
    if os.geteuid() != 0:
        return cmd
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *cmd]


def start_datasette(bundle: Path, port: int) -> subprocess.Popen:
    """One instance from the bundle's run.sh, with this interpreter (which has the plugin installed)."""
    proc = subprocess.Popen(
        ["sh", str(bundle / "datasette" / "run.sh"), str(port)],
        env={**os.environ, "PYTHON": sys.executable},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    if not wait_for_port("127.0.0.1", port, timeout=90, proc=proc):
        stop(proc)
        raise RuntimeError(f"Datasette did not start on port {port}")
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)


@dataclass
class Running:
    url: str  # http://127.0.0.1:PORT/ (nginx)
    nginx_conf: Path
    datasettes: list[subprocess.Popen]
    ports: list[int]
    work: Path


@contextmanager
def running_bundle(
    bundle: Path, *, port: int | None = None, instances: int = 2, data_rate: int | None = None
) -> Iterator[Running]:
    """nginx on a free loopback port in front of `instances` Datasette instances of the bundle (with
    none, in front of a port where nothing answers: a portal that is down)."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (make nginx)")
    work = Path(tempfile.mkdtemp(prefix="sunshine-nginx-"))
    port = port or free_port()
    ports = [free_port() for _ in range(instances)]
    datasettes: list[subprocess.Popen] = []
    server = None
    try:
        datasettes = [start_datasette(bundle, p) for p in ports]
        conf = loopback_conf(bundle, work, port, ports or [free_port()], data_rate=data_rate)
        server = subprocess.Popen(
            as_unprivileged([binary, "-c", str(conf), "-p", str(work), "-g", "daemon off;"]),
            stderr=subprocess.DEVNULL,
        )
        if not wait_for_port("127.0.0.1", port, timeout=20, proc=server):
            log = work / "error.log"
            raise RuntimeError(log.read_text(encoding="utf-8") if log.exists() else "nginx did not start")
        yield Running(f"http://127.0.0.1:{port}/", conf, datasettes, ports, work)
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGQUIT)
            server.wait(timeout=20)
        for proc in datasettes:
            stop(proc)
        shutil.rmtree(work, ignore_errors=True)
