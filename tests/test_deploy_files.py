"""The deployment files a bundle carries, and the publish workflow, pass the tools their users run:
hadolint (Dockerfiles), the Kubernetes schemas, systemd-analyze, actionlint and zizmor."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sunshine.package import Project
from sunshine.publish import loopback, nginx, service
from sunshine.publish.bundle import PublishError, public_urls

from .conftest import ROOT, copy_package

BIN = Path(sys.executable).parent
WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"


def run(*cmd: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("name", ["datasette", "site"])
def test_the_dockerfiles_pass_hadolint(tmp_path, name):
    text = (
        service.dockerfile("sunshine-0.1.0-py3-none-any.whl")
        if name == "datasette"
        else service.site_dockerfile()
    )
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    done = run(BIN / "hadolint", path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_datasette_image_is_slim_pinned_non_root_and_checks_its_health():
    text = service.dockerfile("sunshine-0.1.0-py3-none-any.whl")
    assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    assert "pip install --require-hashes --no-deps -r requirements.lock" in text
    assert re.search(r"^USER 10001:10001$", text, re.M)
    assert re.search(r"^HEALTHCHECK ", text, re.M)
    lock = (ROOT / "deploy" / "requirements.lock").read_text(encoding="utf-8")
    packages = re.findall(r"^([a-z0-9_.-]+)==\S+ \\$", lock, re.M)
    assert {"datasette", "jieba", "uvicorn"} <= set(packages)
    assert all(f"{p}==" in lock for p in packages) and lock.count("--hash=sha256:") >= len(packages)


# What the service process imports: the portal plugin, its launcher, and the library modules they use.
PORTAL_PROBE = """
import ast, importlib.metadata, json, sys
import sunshine.portal.__main__, sunshine.portal.plugin
ours = [m for name, m in sorted(sys.modules.items()) if name.split(".")[0] == "sunshine"]
tops = set()
for module in ours:
    for node in ast.walk(ast.parse(open(module.__file__, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            tops |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            tops.add(node.module.split(".")[0])
tops -= set(sys.stdlib_module_names) | {"sunshine"}
dists = importlib.metadata.packages_distributions()
print(json.dumps(sorted({d for t in tops for d in dists.get(t, [t])})))
"""


def test_the_lock_file_holds_every_package_the_portal_imports():
    done = subprocess.run([sys.executable, "-c", PORTAL_PROBE], capture_output=True, text=True, check=True)
    needed = {re.sub(r"[-_.]+", "-", d).lower() for d in json.loads(done.stdout)}
    lock = (ROOT / "deploy" / "requirements.lock").read_text(encoding="utf-8")
    locked = {re.sub(r"[-_.]+", "-", p).lower() for p in re.findall(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    # jieba_fast is tried first and falls back to jieba (same words); it has no wheel for a slim image.
    optional = {"jieba-fast"}
    assert "openpyxl" in needed
    assert sorted(needed - locked - optional) == []


def test_the_service_writes_https_links_when_the_public_site_is_https():
    https = service.run_script(["sunshine.db"], base_url="/data/", https=True)
    plain = service.run_script(["sunshine.db"], base_url="/data/")
    assert "--setting force_https_urls on" in https
    assert "force_https_urls" not in plain
    assert https.replace(" \\\n    --setting force_https_urls on", "") == plain


def test_the_kubernetes_manifests_validate_against_the_schemas(tmp_path):
    path = tmp_path / "sunshine.yaml"
    path.write_text(service.kubernetes_yaml(service.kubernetes(host="cun.example.gov.cn")), encoding="utf-8")
    done = run(BIN / "kubernetes-validate", "--strict", path)
    assert done.returncode == 0, done.stdout + done.stderr
    kinds = [d["kind"] for d in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
    assert sorted(set(kinds)) == [
        "Deployment",
        "HorizontalPodAutoscaler",
        "Ingress",
        "PodDisruptionBudget",
        "Service",
    ]


def test_every_container_runs_non_root_read_only_with_probes_and_limits():
    for doc in service.kubernetes(host="cun.example.gov.cn"):
        if doc["kind"] != "Deployment":
            continue
        assert doc["spec"]["replicas"] >= 2
        for c in doc["spec"]["template"]["spec"]["containers"]:
            assert c["securityContext"]["runAsNonRoot"] is True
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert set(c["resources"]) == {"requests", "limits"}
            assert "readinessProbe" in c and "livenessProbe" in c


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not available")
def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    unit = tmp_path / "sunshine-datasette@8001.service"
    unit.write_text(service.systemd_unit(), encoding="utf-8")
    done = run("systemd-analyze", "verify", unit)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if "sunshine-datasette" in line] == []
    text = service.systemd_unit()
    for line in ("DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ProtectHome=yes"):
        assert line in text.splitlines()


def test_the_publish_workflow_passes_actionlint_and_zizmor():
    done = run(BIN / "actionlint", WORKFLOW, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    done = run(BIN / "zizmor", "--offline", "--no-progress", WORKFLOW, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_publish_workflow_pins_every_action_by_commit():
    uses = re.findall(r"uses:\s*(\S+)", WORKFLOW.read_text(encoding="utf-8"))
    assert uses
    assert [u for u in uses if not re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", u)] == []


def test_the_publish_workflow_validates_before_it_builds_and_bundles():
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["bundle"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert runs.index(".venv/bin/sunshine validate --format github") < runs.index(
        ".venv/bin/sunshine publish"
    )


def test_the_vm_deploy_restores_the_execute_bit_of_every_script_it_runs_on_the_server():
    # Artifacts lose file modes; `sudo /srv/sunshine.next/deploy/activate.sh` needs its execute bit.
    steps = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["vm"]["steps"]
    script = next(s["run"] for s in steps if "rsync" in s.get("run", ""))
    assert "chmod +x bundle/datasette/run.sh bundle/deploy/activate.sh" in script
    assert script.index("chmod +x") < script.index("rsync")


def test_publish_refuses_a_site_below_the_domain_root_with_a_clear_message(tmp_path):
    root = copy_package(ROOT, tmp_path / "pkg")
    (root / "sunshine.toml").write_text(
        '[site]\nurl = "https://www.example.gov.cn/ygcw/"\n', encoding="utf-8"
    )
    with pytest.raises(PublishError, match="根路径"):
        public_urls(Project.load(root))


def test_the_kubernetes_nginx_counts_visitors_behind_the_ingress_by_their_forwarded_address():
    conf = nginx.server_conf(
        nginx.Nginx(upstreams=("sunshine-datasette:8001",), trusted_proxies=nginx.PRIVATE_NETWORKS)
    )
    assert "    set_real_ip_from 10.0.0.0/8;\n" in conf
    assert "    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n" in conf
    assert "set_real_ip_from" not in nginx.server_conf(nginx.Nginx())


@pytest.mark.skipif(loopback.nginx_binary() is None, reason="nginx is not installed (make test installs it)")
def test_sql_limits_behind_a_trusted_proxy_apply_to_each_forwarded_visitor_not_to_the_proxy():
    # The limit answers before the request is proxied: 429 when over it, 502 (no Datasette here) when not.
    base = Path(tempfile.mkdtemp(prefix="sunshine-realip-"))
    base.chmod(0o755)  # readable by nginx's user
    bundle = base / "bundle"
    (bundle / "nginx").mkdir(parents=True)
    (bundle / "site").mkdir()
    n = nginx.Nginx(trusted_proxies=("127.0.0.1",))
    (bundle / "nginx" / "sunshine.conf").write_text(nginx.server_conf(n), encoding="utf-8")
    (bundle / "nginx" / "locations.conf").write_text(nginx.locations_conf(n), encoding="utf-8")
    port, dead = loopback.free_port(), loopback.free_port()
    conf = loopback.loopback_conf(bundle, base / "work", port, [dead])
    server = subprocess.Popen(
        loopback.as_unprivileged(
            [loopback.nginx_binary(), "-c", str(conf), "-p", str(conf.parent), "-g", "daemon off;"]
        ),
        stderr=subprocess.DEVNULL,
    )
    try:
        assert loopback.wait_for_port("127.0.0.1", port, timeout=20, proc=server)
        url = f"http://127.0.0.1:{port}/data/sunshine?sql=select+1"
        count = nginx.Limits().sql_burst + 5
        with httpx.Client(timeout=10) as client:
            many = [
                client.get(url, headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code
                for i in range(count)
            ]
            one = [
                client.get(url, headers={"X-Forwarded-For": "198.51.100.7"}).status_code for _ in range(count)
            ]
    finally:
        server.send_signal(signal.SIGQUIT)
        server.wait(timeout=20)
        shutil.rmtree(base, ignore_errors=True)
    assert 429 not in many
    assert 429 in one


@pytest.mark.parametrize(
    "url, warned",
    [("http://127.0.0.1:8080/", True), ("http://localhost/", True), ("https://ygcw.example.gov.cn/", False)],
)
def test_publish_warns_that_a_bundle_for_this_machines_address_is_for_trying_only(tmp_path, url, warned):
    root = copy_package(ROOT, tmp_path / "pkg")
    (root / "sunshine.toml").write_text(
        f'[site]\nurl = "{url}"\ndatasette_url = "{url}data"\n', encoding="utf-8"
    )
    _, note = public_urls(Project.load(root))
    assert ("注意：site.url 是本机地址" in note) is warned


def _vm(
    tmp_path: Path,
    *,
    nginx_ok: bool,
    instance_up: bool,
    next_installs: bool = True,
    signal_on_restart: str = "",
) -> tuple[dict[str, str], Path]:
    """A VM in a folder: the live bundle, the next one, a venv whose pip logs what it installs, and
    nginx and systemctl that log what they are asked."""
    log = tmp_path / "log"
    for name in ("live", "next"):
        (tmp_path / name / "datasette" / "wheels").mkdir(parents=True)
        (tmp_path / name / "datasette" / "requirements.lock").write_text("", encoding="utf-8")
        (tmp_path / name / "datasette" / "wheels" / f"sunshine_portal-{name}.whl").write_text(
            "", encoding="utf-8"
        )
        (tmp_path / name / "bundle.txt").write_text(name, encoding="utf-8")
    stubs = {
        "venv/bin/pip": f'echo "pip $*" >> {log}'
        + (
            ""
            if next_installs
            else '\ncase "$*" in */next/*) echo "ERROR: No matching distribution" >&2; exit 1;; esac'
        ),
        "venv/bin/python": f"exit {0 if instance_up else 1}",
        "bin/nginx": f'echo "nginx $*" >> {log}'
        + ("" if nginx_ok else '\necho "nginx: [emerg] unknown directive \\"gzipp\\"" >&2; exit 1'),
        "bin/systemctl": (
            f'echo "systemctl $*" >> {log}\n'
            'if [ "$1" = list-units ]; then echo "sunshine-datasette@8001.service loaded active running x"; fi'
            + (
                f'\nif [ "$1" = restart ] && [ ! -e {tmp_path}/signalled ]; then '
                f"touch {tmp_path}/signalled; kill -{signal_on_restart} $PPID; fi"
                if signal_on_restart
                else ""
            )
        ),
    }
    for rel, body in stubs.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "SUNSHINE_NEXT": str(tmp_path / "next"),
        "SUNSHINE_LIVE": str(tmp_path / "live"),
        "SUNSHINE_VENV": str(tmp_path / "venv"),
        "SUNSHINE_WAIT": "1",
    }
    script = tmp_path / "activate.sh"
    script.write_text(service.activate_script(), encoding="utf-8")
    return env, script


def _default_signals() -> None:
    for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_DFL)


def _activate(tmp_path: Path, **vm: Any) -> tuple[subprocess.CompletedProcess, list[str]]:
    env, script = _vm(tmp_path, **vm)
    done = subprocess.run(
        ["sh", str(script)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=_default_signals,  # a shell cannot trap what it was started ignoring (under nohup)
    )
    log = (tmp_path / "log").read_text(encoding="utf-8").splitlines()
    return done, [line.replace(str(tmp_path), "VM") for line in log]


def test_activating_a_bundle_swaps_it_in_reloads_nginx_then_restarts_each_instance(tmp_path):
    done, log = _activate(tmp_path, nginx_ok=True, instance_up=True)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "live" / "bundle.txt").read_text(encoding="utf-8") == "next"
    assert (
        "pip install --quiet --no-deps --force-reinstall VM/next/datasette/wheels/sunshine_portal-next.whl"
        in log
    )
    assert log.index("systemctl reload nginx") < log.index(
        "systemctl restart sunshine-datasette@8001.service"
    )
    assert log[-1] == "systemctl restart sunshine-datasette@8001.service"
    assert done.stdout.startswith("已上线：")


def test_a_bundle_nginx_refuses_puts_the_last_bundle_and_its_plugin_back_and_shows_why(tmp_path):
    done, log = _activate(tmp_path, nginx_ok=False, instance_up=True)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        'nginx: [emerg] unknown directive "gzipp"',
        "nginx -t 没有通过（原因见上面 nginx 的输出）：换回上一个发布包。",
        f"新发布包留在 {tmp_path / 'live'}.failed，可以查看后删除。",
    ]
    assert (tmp_path / "live" / "bundle.txt").read_text(encoding="utf-8") == "live"
    assert log[-1] == (
        "pip install --quiet --no-deps --force-reinstall VM/live/datasette/wheels/sunshine_portal-live.whl"
    )
    assert "systemctl reload nginx" not in log and not any("restart" in line for line in log)


def test_an_instance_that_does_not_come_back_puts_the_last_bundle_back_under_nginx_and_the_instance(tmp_path):
    done, log = _activate(tmp_path, nginx_ok=True, instance_up=False)
    unit = "sunshine-datasette@8001.service"
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"{unit} 在 1 秒内没有启动：换回上一个发布包。",
        f"{unit} 换回上一个发布包后仍没有启动，请运行 journalctl -u {unit} 查看原因。",
        f"新发布包留在 {tmp_path / 'live'}.failed，可以查看后删除。",
    ]
    assert (tmp_path / "live" / "bundle.txt").read_text(encoding="utf-8") == "live"
    # the last bundle's plugin, then nginx on the last bundle, then the instance restarted on them
    plugin = (
        "pip install --quiet --no-deps --force-reinstall VM/live/datasette/wheels/sunshine_portal-live.whl"
    )
    assert log[log.index(plugin) + 1 :] == ["systemctl reload nginx", f"systemctl restart {unit}"]


def test_a_plugin_that_does_not_install_changes_nothing_and_says_so(tmp_path):
    done, log = _activate(tmp_path, nginx_ok=True, instance_up=True, next_installs=False)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "ERROR: No matching distribution",
        "安装新发布包的门户插件失败（见上面 pip 的输出）：网站和门户都没有换。",
    ]
    assert (tmp_path / "live" / "bundle.txt").read_text(encoding="utf-8") == "live"
    assert not (tmp_path / "live.old").exists()
    assert log[-2:] == [
        "pip install --quiet --require-hashes --no-deps -r VM/live/datasette/requirements.lock",
        "pip install --quiet --no-deps --force-reinstall VM/live/datasette/wheels/sunshine_portal-live.whl",
    ]
    assert not any(line.startswith(("nginx", "systemctl")) for line in log)


@pytest.mark.parametrize("signal_name", ["TERM", "HUP"])
def test_a_signal_while_an_instance_restarts_puts_the_last_bundle_back_under_it_too(tmp_path, signal_name):
    done, log = _activate(tmp_path, nginx_ok=True, instance_up=True, signal_on_restart=signal_name)
    unit = "sunshine-datasette@8001.service"
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "切换被中断：换回上一个发布包。"
    assert (tmp_path / "live" / "bundle.txt").read_text(encoding="utf-8") == "live"
    plugin = (
        "pip install --quiet --no-deps --force-reinstall VM/live/datasette/wheels/sunshine_portal-live.whl"
    )
    assert log[log.index(plugin) + 1 :] == ["systemctl reload nginx", f"systemctl restart {unit}"]
