"""The Datasette service of a published bundle: one start script, and the files that run it.

`run.sh PORT [HOST]` is the only command line: it is the one `sunshine serve` uses (same databases,
same settings, from sunshine.serve.run), with `base_url` set so every link works under `/data/`.
The Dockerfile, the systemd template unit and the Kubernetes Deployment all start it; the tests
start two instances of it behind nginx. The databases are immutable and ship with the service,
so instances share nothing and scale by count.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml

from sunshine.serve.run import datasette_command, launcher

PORT = 8001
HEALTH_PATH = "-/versions.json"
IMAGE = "sunshine-datasette"
UID = 10001


def datasette_args(databases: list[str], *, base_url: str, https: bool = False) -> list[str]:
    """Datasette's arguments after `python -m sunshine.portal`, with files relative to the bundle.

    Behind a proxy Datasette sees plain http: with `https` (the public site is https) the absolute
    links it writes (the JSON alternate link, for example) say https, as the visitor's browser needs.
    """
    cmd = datasette_command(
        [Path(db) for db in databases],
        metadata=Path("metadata.json"),
        inspect_file=Path("inspect.json"),
        host="HOST",
        port=0,
    )
    args = cmd[len(launcher()) :]
    args = [a for a in args if a != "--cors"]  # one origin behind nginx: nothing to share across origins
    args = [*args, "--setting", "base_url", base_url]
    return [*args, "--setting", "force_https_urls", "on"] if https else args


def run_script(databases: list[str], *, base_url: str, https: bool = False) -> str:
    args = datasette_args(databases, base_url=base_url, https=https)
    words = []
    for i, arg in enumerate(args):
        previous = args[i - 1] if i else ""
        if previous == "--host":
            words.append('"$host"')
        elif previous == "--port":
            words.append('"$port"')
        elif previous in {"--immutable", "--inspect-file", "--metadata"}:
            words.append(f'"$here/{arg}"')
        else:
            words.append(shlex.quote(arg))
    pairs: list[str] = []  # one option and its values per line
    pending = 0
    for word in words:
        if pending:
            pairs[-1] += " " + word
            pending -= 1
        else:
            pairs.append(word)
            pending = 2 if word == "--setting" else int(word.startswith("--"))
    lines = " \\\n    ".join(pairs)
    return f"""#!/bin/sh
# Serve this bundle's databases read-only with the portal plugin. Usage: run.sh PORT [HOST]
# PYTHON names the interpreter that has requirements.lock and the sunshine wheel installed.
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
port=${{1:-{PORT}}}
host=${{2:-127.0.0.1}}
exec "${{PYTHON:-python3}}" -m sunshine.portal {lines}
"""


def dockerfile(wheel: str) -> str:
    return f"""# 阳光村务 · the Datasette service. Build from this directory:
#   docker build -t {IMAGE} .
#   docker run --read-only --tmpfs /tmp -p 8001:8001 {IMAGE}
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    PIP_NO_CACHE_DIR=1 \\
    PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    PYTHON=python3

WORKDIR /srv/sunshine

# Every dependency pinned, with hashes; the plugin from its own wheel, without dependencies.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock
COPY wheels/{wheel} wheels/
RUN pip install --no-deps wheels/{wheel}

COPY run.sh metadata.json inspect.json *.db ./

RUN groupadd --system --gid {UID} sunshine \\
    && useradd --system --uid {UID} --gid sunshine --no-create-home --shell /usr/sbin/nologin sunshine
USER {UID}:{UID}

EXPOSE {PORT}
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \\
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:{PORT}/{HEALTH_PATH}', timeout=2)"]
CMD ["sh", "run.sh", "{PORT}", "0.0.0.0"]
"""


def activate_script() -> str:
    """Run on the VM (as root) after a new bundle is copied to /srv/sunshine.next: see DEPLOY.md."""
    return """#!/bin/sh
# 阳光村务 · swap in the bundle copied to /srv/sunshine.next, reload nginx (the site and its policy
# change together), then restart the Datasette instances one at a time (nginx sends each request to
# an instance that is up). Run as root. When the new portal plugin does not install, nothing changes.
# When nginx does not accept the new configuration, an instance does not come back, or the script
# is interrupted (HUP, INT, TERM), the previous bundle and its portal plugin go back, nginx is reloaded on them, and
# the instances restarted so far are restarted on them. Messages are in Chinese, for the operator.
set -eu
next=${SUNSHINE_NEXT:-/srv/sunshine.next}
live=${SUNSHINE_LIVE:-/srv/sunshine}
venv=${SUNSHINE_VENV:-/opt/sunshine/venv}
wait=${SUNSHINE_WAIT:-60}  # seconds an instance has to come back
restarted=""
reloaded=""

say() { echo "$*" >&2; }

install() {
    "$venv/bin/pip" install --quiet --require-hashes --no-deps -r "$1/datasette/requirements.lock" || return 1
    "$venv/bin/pip" install --quiet --no-deps --force-reinstall "$1"/datasette/wheels/*.whl || return 1
}

port_of() {
    port=${1#*@}
    echo "${port%.service}"
}

up() {
    tries=0
    until "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$1/-/versions.json', timeout=2)" 2>/dev/null; do
        tries=$((tries + 1))
        if [ "$tries" -gt "$wait" ]; then return 1; fi
        sleep 1
    done
}

rollback() {
    trap '' HUP INT TERM  # a second signal (a dropped ssh session) must not cut the rollback short
    set +e  # put back all that can be put back, and say what could not
    say "$1：换回上一个发布包。"
    if [ -d "$live.old" ]; then
        rm -rf "$live.failed"
        if mv "$live" "$live.failed" && mv "$live.old" "$live"; then
            install "$live" || say "重新安装上一个发布包的门户插件失败（见上面 pip 的输出），请手工运行：$venv/bin/pip install --no-deps --force-reinstall $live/datasette/wheels/*.whl"
        else
            say "无法把 $live.old 换回 $live，请手工换回后运行 systemctl reload nginx。"
        fi
        if [ -n "$reloaded" ]; then
            systemctl reload nginx || say "nginx 没有重新加载，请运行 nginx -t 查看原因。"
        fi
        for unit in $restarted; do
            systemctl restart "$unit"
            up "$(port_of "$unit")" || say "$unit 换回上一个发布包后仍没有启动，请运行 journalctl -u $unit 查看原因。"
        done
        say "新发布包留在 $live.failed，可以查看后删除。"
    fi
    exit 1
}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! install "$next"; then
    say "安装新发布包的门户插件失败（见上面 pip 的输出）：网站和门户都没有换。"
    if [ -d "$live" ]; then
        install "$live" || say "重新安装当前发布包的门户插件也失败了，请检查 $venv。"
    fi
    exit 1
fi
rm -rf "$live.old" "$live.new"
cp -al "$next" "$live.new"  # ready before the swap: the site is missing only between two renames
if [ -d "$live" ]; then mv "$live" "$live.old"; fi
mv "$live.new" "$live"
trap 'rollback "切换被中断"' HUP INT TERM
if ! checked=$(nginx -t 2>&1); then
    say "$checked"
    rollback "nginx -t 没有通过（原因见上面 nginx 的输出）"
fi
reloaded=1  # before, not after: a signal during the reload must reload nginx back
systemctl reload nginx || rollback "nginx 没有重新加载"
for unit in $(systemctl list-units --plain --no-legend 'sunshine-datasette@*' | awk '{print $1}'); do
    restarted="$restarted $unit"  # before the restart, for the same reason
    systemctl restart "$unit"
    up "$(port_of "$unit")" || rollback "$unit 在 $wait 秒内没有启动"
done
trap - HUP INT TERM
echo "已上线：$(date -Is)"
"""


def systemd_unit() -> str:
    return """# 阳光村务 · one Datasette instance per port: systemctl enable --now sunshine-datasette@8001 sunshine-datasette@8002
[Unit]
Description=阳光村务 Datasette (port %i)
After=network.target

[Service]
Type=exec
Environment=PYTHON=/opt/sunshine/venv/bin/python
Environment=HOME=/tmp
ExecStart=/bin/sh /srv/sunshine/datasette/run.sh %i 127.0.0.1
Restart=always
RestartSec=2
TimeoutStopSec=15

DynamicUser=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
NoNewPrivileges=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
CapabilityBoundingSet=
AmbientCapabilities=
UMask=0077
ReadOnlyPaths=/srv/sunshine /opt/sunshine
MemoryMax=1G

[Install]
WantedBy=multi-user.target
"""


SITE_IMAGE = "sunshine-site"
SITE_PORT = 8080


def site_dockerfile() -> str:
    """The static site behind nginx, for Kubernetes (unprivileged nginx: port 8080, pid and temp in /tmp)."""
    return f"""# 阳光村务 · the site and its nginx, for Kubernetes. Build from the bundle's root:
#   docker build -f nginx/site.Dockerfile -t {SITE_IMAGE} .
FROM nginxinc/nginx-unprivileged:1.27-alpine
COPY site/ /srv/sunshine/site/
COPY nginx/locations.conf /srv/sunshine/nginx/locations.conf
COPY nginx/kubernetes.conf /etc/nginx/conf.d/default.conf
EXPOSE {SITE_PORT}
HEALTHCHECK --interval=15s --timeout=3s CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:{SITE_PORT}/"]
"""


def _app(name: str, image: str, port: int, probe_path: str, replicas: int) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "sunshine"}
    meta = {"name": name, "labels": labels}
    probe = {"httpGet": {"path": probe_path, "port": "http"}, "timeoutSeconds": 2}
    container = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 2},
        "livenessProbe": {**probe, "initialDelaySeconds": 20, "periodSeconds": 15, "failureThreshold": 3},
        "resources": {
            "requests": {"cpu": "250m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": UID,
                            "fsGroup": UID,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [container],
                        "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": labels,
                "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": meta,
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": replicas,
                "maxReplicas": replicas * 4,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "averageUtilization": 70},
                        },
                    }
                ],
            },
        },
    ]


def kubernetes(*, host: str, replicas: int = 3) -> list[dict[str, Any]]:
    """Datasette (replicas behind a Service) and the site's nginx in front of it, reached by an Ingress."""
    return [
        *_app(IMAGE, f"{IMAGE}:latest", PORT, f"/{HEALTH_PATH}", replicas),
        *_app(SITE_IMAGE, f"{SITE_IMAGE}:latest", SITE_PORT, "/", 2),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "sunshine", "labels": {"app.kubernetes.io/part-of": "sunshine"}},
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": SITE_IMAGE, "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ],
            },
        },
    ]


def kubernetes_yaml(documents: list[dict[str, Any]]) -> str:
    head = "# 阳光村务 · generated by `sunshine publish`. kubectl apply -f kubernetes/sunshine.yaml\n"
    return head + "---\n".join(yaml.safe_dump(d, allow_unicode=True, sort_keys=False) for d in documents)
