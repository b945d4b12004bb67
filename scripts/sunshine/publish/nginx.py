"""The nginx configuration of a published bundle: the site at `/`, Datasette at `/data/`.

One origin serves both, so the site's links into the portal need no CORS. The static site gets the
project's security headers and a Content-Security-Policy that names every inline script of the
site by hash (the same policy as each page's <meta>, plus frame-ancestors, which only a header can
carry). Datasette sets its own headers and cache lifetimes through the portal plugin; nginx passes
them on untouched. Several Datasette instances sit behind one upstream: a request that fails to
reach one (connection refused, reset, timeout, 502/503/504) is retried on the next (passive failover).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sunshine import headers

# Material writes its bundles with a content hash in the name: bundle.56ea9cef.min.js.
HASHED_ASSET = r"\.[0-9a-f]{8,}\.min\.(js|css)$"
GZIP_TYPES = (
    "text/css application/javascript text/javascript application/json text/xml application/xml "
    "application/rss+xml image/svg+xml text/plain text/csv"
)


@dataclass(frozen=True)
class Limits:
    """Per-client limits on the portal (requests a second, with a burst) and its SQL endpoints."""

    data_rate: int = 20  # requests per second per client address, anywhere under /data/
    data_burst: int = 60
    sql_rate: int = 4  # arbitrary SQL (/data/<db>?sql=…) is the expensive part
    sql_burst: int = 12
    connections: int = 20  # open connections per client address to /data/


@dataclass(frozen=True)
class Nginx:
    """What varies between deployments; the defaults are those of a plain VM (DEPLOY.md)."""

    server_name: str = "_"
    listen: str = "80"
    site_root: str = "/srv/sunshine/site"
    site_path: str = "/"  # where the site lives on the domain, ending in "/"
    upstreams: Sequence[str] = ("127.0.0.1:8001", "127.0.0.1:8002")
    script_hashes: Iterable[str] = ()
    limits: Limits = field(default_factory=Limits)
    hsts: bool = False  # the site is served over https: browsers are told to use nothing else
    # Addresses of the proxies in front (an Ingress controller): the visitor's address is then read from
    # X-Forwarded-For, so the per-address limits count visitors, not the one proxy they all come through.
    trusted_proxies: Sequence[str] = ()

    @property
    def data_path(self) -> str:
        return self.site_path + "data/"


LOCATIONS = "/srv/sunshine/nginx/locations.conf"
# Where a cluster's pods (an Ingress controller among them) have their addresses: the private ranges.
PRIVATE_NETWORKS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")


# What a visitor reads while no Datasette instance answers (one line: nginx returns it as it is).
def _page(title: str, text: str) -> str:
    """A page nginx answers itself, in Chinese, small enough to sit in the configuration."""
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title></head><body><h1>{title}</h1><p>{text}</p>"
        '<p><a href="/">返回网站首页</a></p></body></html>'
    )


PORTAL_DOWN = _page(
    "数据门户暂时无法访问", "数据门户正在更新或重启，请过一两分钟再试。网站上的公开内容不受影响。"
)
BUSY = _page(
    "请求太频繁",
    "这个地址在短时间内发出的请求太多，请稍等一会儿再试。需要大量数据时，请在网站的数据目录中下载整张表。",
)
BAD_REQUEST = _page("无法识别的地址", "这个网址的格式不对或太长，可能复制时不完整。请从网站首页重新进入。")
# nginx's own answers, each a page in Chinese with the site's headers: (status, location, page, extra headers)
OWN_PAGES = (
    (503, "@sunshine_portal_down", PORTAL_DOWN, ("Retry-After 60", 'Cache-Control "no-store"')),
    (429, "@sunshine_busy", BUSY, ("Retry-After 10", 'Cache-Control "no-store"')),
    # A request line nginx could not read has no URI for a named location to keep: a URI of its own.
    (400, "= /.sunshine-bad-request", BAD_REQUEST, ("internal", 'Cache-Control "no-store"')),
)


def server_conf(n: Nginx, *, locations: str = LOCATIONS) -> str:
    """The http-level part (Debian: copy to /etc/nginx/conf.d/): zones, the upstream, and a server that
    includes the bundle's locations. The operator may edit this copy (HTTPS, more instances); the
    locations, whose policy changes with the site, come anew with every bundle."""
    lim = n.limits
    upstream = "\n".join(f"    server {u} max_fails=1 fail_timeout=10s;" for u in n.upstreams)
    real_ip = "".join(f"    set_real_ip_from {a};\n" for a in n.trusted_proxies)
    if real_ip:
        real_ip += "    real_ip_header X-Forwarded-For;\n    real_ip_recursive on;\n"
    return f"""# 阳光村务 · written by `sunshine publish`. Copy it to /etc/nginx/conf.d/ once and adapt it there
# (HTTPS, more Datasette instances): {locations} is replaced with each bundle.
limit_req_zone $binary_remote_addr zone=sunshine_data:10m rate={lim.data_rate}r/s;
# Arbitrary SQL (?sql=…) costs the most: counted in a stricter zone of its own (an empty key is not counted).
map $arg_sql $sunshine_sql_client {{
    "" "";
    default $binary_remote_addr;
}}
limit_req_zone $sunshine_sql_client zone=sunshine_sql:10m rate={lim.sql_rate}r/s;
limit_conn_zone $binary_remote_addr zone=sunshine_conn:10m;

upstream sunshine_datasette {{
{upstream}
    keepalive 16;
}}

server {{
    listen {n.listen};
    server_name {n.server_name};
{real_ip}    include {locations};
}}
"""


def locations_conf(n: Nginx) -> str:
    """Inside the server: compression, timeouts, the site's locations with headers and cache rules, the portal."""
    lim = n.limits
    policy = headers.csp(sorted(set(n.script_hashes)))
    root = f"root {n.site_root};" if n.site_path == "/" else f"alias {n.site_root.rstrip('/')}/;"
    data = n.data_path
    return f"""# 阳光村务 · generated by `sunshine publish` with this bundle's site; included by sunshine.conf.
server_tokens off;
charset utf-8;
charset_types text/css application/javascript application/json text/plain text/csv text/xml;

client_max_body_size 64k;
client_header_timeout 10s;
client_body_timeout 10s;
send_timeout 30s;
keepalive_timeout 30s;

gzip on;
gzip_static on;
gzip_vary on;
gzip_min_length 512;
gzip_types {GZIP_TYPES};

limit_req_status 429;
limit_conn_status 429;

# The static site: short-lived HTML, immutable hashed assets.
location {n.site_path} {{
    {root}
    index index.html;
    try_files $uri $uri/ =404;
    # The site's own Chinese page for a path that is not there, and for a folder without a page.
    error_page 404 {n.site_path}404.html;
    error_page 403 =404 {n.site_path}404.html;
{_header_lines(policy, indent=4, hsts=n.hsts)}
    add_header Cache-Control "public, max-age=300" always;

    location ~* "{HASHED_ASSET}" {{
{_header_lines(policy, indent=8, hsts=n.hsts)}
        add_header Cache-Control "public, max-age=31536000, immutable" always;
    }}
    location ~* \\.(css|js|svg|png|jpg|webp|ico|woff2?|json|xml|csv|parquet|db)$ {{
{_header_lines(policy, indent=8, hsts=n.hsts)}
        add_header Cache-Control "public, max-age=3600" always;
    }}
}}

# Browsers ask for /favicon.ico on pages that name no icon (Datasette's): the site's own icon.
location = {n.site_path}favicon.ico {{
    {root}
    try_files /assets/images/favicon.png =404;
{_header_lines(policy, indent=4, hsts=n.hsts)}
    add_header Cache-Control "public, max-age=3600" always;
}}

# The portal: Datasette with base_url {data}, which sets its own headers and cache lifetimes.
location = {data.rstrip("/")} {{
{_header_lines(policy, indent=4, hsts=n.hsts)}
    return 301 {data}$is_args$args;
}}
location {data} {{
    limit_req zone=sunshine_data burst={lim.data_burst} nodelay;
    limit_req zone=sunshine_sql burst={lim.sql_burst} nodelay;
    limit_conn sunshine_conn {lim.connections};
    # Datasette builds its links from base_url; it is sent paths without the prefix (else some double it).
    proxy_pass http://sunshine_datasette/;
{_proxy_lines(indent=4)}{HSTS_LINE if n.hsts else ""}
    # No instance answers (all stopped or restarting): a page in Chinese instead of nginx's 502.
    error_page 502 503 504 = @sunshine_portal_down;
    error_page 429 = @sunshine_busy;
}}

# A malformed or overlong address (/data/%, a 9 kB query string): Chinese instead of nginx's English.
error_page 400 414 /.sunshine-bad-request;
{_own_pages(policy, hsts=n.hsts)}
"""


def nginx_conf(
    server: str,
    *,
    pid: str = "/run/nginx.pid",
    error_log: str = "/var/log/nginx/error.log",
    access_log: str = "/var/log/nginx/access.log",
    temp_dir: str | None = None,
    mime_types: str = "/etc/nginx/mime.types",
    worker_processes: str = "auto",
) -> str:
    """A complete nginx.conf around the text of `server_conf` (for a machine of its own, or the tests)."""
    temp = ""
    if temp_dir:
        temp = "\n".join(
            f"    {kind}_temp_path {temp_dir}/{kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
    body = "\n".join(("    " + line) if line else "" for line in server.splitlines())
    return f"""worker_processes {worker_processes};
pid {pid};
error_log {error_log} warn;

events {{
    worker_connections 1024;
}}

http {{
    include {mime_types};
    types {{
        application/vnd.apache.parquet parquet;
        application/vnd.sqlite3 db;
    }}
    default_type application/octet-stream;
    access_log {access_log};
    sendfile on;
    tcp_nopush on;
{temp}
{body}
}}
"""


HSTS = "max-age=31536000"
HSTS_LINE = f'\n    add_header Strict-Transport-Security "{HSTS}" always;'


def _own_pages(policy: str, *, hsts: bool) -> str:
    blocks = []
    for status, name, page, extra in OWN_PAGES:
        more = "".join(f"\n    {h};" if h == "internal" else f"\n    add_header {h} always;" for h in extra)
        blocks.append(
            f"location {name} {{\n{_header_lines(policy, indent=4, hsts=hsts)}{more}\n"
            # types {} first: an address ending .json would otherwise label the page JSON
            f"    types {{ }}\n    default_type \"text/html; charset=utf-8\";\n    return {status} '{page}';\n}}"
        )
    return "\n".join(blocks)


def _header_lines(policy: str, *, indent: int, hsts: bool = False) -> str:
    pad = " " * indent
    lines = [f'{pad}add_header {name} "{value}" always;' for name, value in headers.SECURITY_HEADERS.items()]
    lines.append(f'{pad}add_header Content-Security-Policy "{policy}" always;')
    if hsts:
        lines.append(f'{pad}add_header Strict-Transport-Security "{HSTS}" always;')
    return "\n".join(lines)


def _proxy_lines(*, indent: int) -> str:
    pad = " " * indent
    return "\n".join(
        pad + line
        for line in (
            "proxy_http_version 1.1;",
            'proxy_set_header Connection "";',
            "proxy_set_header Host $http_host;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
            "proxy_set_header X-Forwarded-Proto $scheme;",
            "proxy_connect_timeout 2s;",
            "proxy_send_timeout 15s;",
            "proxy_read_timeout 15s;",
            "proxy_next_upstream error timeout http_502 http_503 http_504;",
            "proxy_next_upstream_tries 3;",
            "proxy_next_upstream_timeout 10s;",
        )
    )
