"""One definition of the security headers and the CSP, used by every server: the site's <meta>, the
preview server, the portal plugin and the generated nginx configuration."""

from __future__ import annotations

import re

from sunshine import headers
from sunshine.portal import plugin
from sunshine.publish import nginx


def test_the_policy_allows_only_this_origin_and_the_named_scripts():
    policy = headers.csp(["'sha256-abc='"])
    assert policy.startswith("default-src 'self'; script-src 'self' 'sha256-abc='; ")
    assert "object-src 'none'" in policy
    assert policy.endswith("frame-ancestors 'none'")
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_a_meta_policy_leaves_out_what_only_a_header_can_say():
    assert headers.csp(meta=True) == headers.csp().removesuffix("; frame-ancestors 'none'")


def test_the_portal_sends_the_same_headers_and_policy_with_its_nonce():
    assert {k.lower(): v for k, v in headers.SECURITY_HEADERS.items()} == plugin.SECURITY_HEADERS
    assert plugin.csp_for("n0nce") == headers.csp(["'nonce-n0nce'"])


def locations(conf: str) -> int:
    return len(re.findall(r"^\s*location\b", conf, re.M))


def test_nginx_sends_the_same_headers_and_policy_on_every_location_but_the_proxied_portal():
    conf = nginx.locations_conf(nginx.Nginx(script_hashes=["'sha256-abc='"]))
    policy = headers.csp(["'sha256-abc='"])
    # the site, its hashed assets, its other files, the favicon, the portal's redirect, and nginx's
    # own pages (portal down, too many requests, an address it cannot read); Datasette sends its own
    assert locations(conf) == 9
    assert conf.count(f'add_header Content-Security-Policy "{policy}" always;') == 8
    for name, value in headers.SECURITY_HEADERS.items():
        assert conf.count(f'add_header {name} "{value}" always;') == 8


def test_a_site_on_https_tells_browsers_to_stay_on_https_everywhere():
    conf = nginx.locations_conf(nginx.Nginx(hsts=True))
    assert conf.count('add_header Strict-Transport-Security "max-age=31536000" always;') == locations(conf)
    assert "Strict-Transport-Security" not in nginx.locations_conf(nginx.Nginx())
