"""The security headers and the Content-Security-Policy, defined once.

Every place that answers a browser uses these: the site's <meta> policy written at build time,
the preview server of `sunshine serve`, the portal plugin inside Datasette, and the nginx
configuration that `sunshine publish` writes. Only same-origin resources are allowed; inline
scripts run only when named by hash (static pages) or by a per-response nonce (Datasette).
"""

from __future__ import annotations

from collections.abc import Iterable

SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_DIRECTIVES: tuple[tuple[str, str], ...] = (
    ("default-src", "'self'"),
    ("script-src", "'self'"),
    ("style-src", "'self' 'unsafe-inline'"),
    ("img-src", "'self' data:"),
    ("font-src", "'self'"),
    ("connect-src", "'self'"),
    ("worker-src", "'self' blob:"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'none'"),
)
# Browsers ignore frame-ancestors in a <meta> policy (and warn about it): that one travels as a header.
_HEADER_ONLY = {"frame-ancestors"}


def csp(scripts: Iterable[str] = (), *, meta: bool = False) -> str:
    """The policy, allowing the given extra script sources ('sha256-…' or 'nonce-…', quoted)."""
    parts = []
    for name, value in _DIRECTIVES:
        if meta and name in _HEADER_ONLY:
            continue
        if name == "script-src":
            value = " ".join([value, *scripts])
        parts.append(f"{name} {value}")
    return "; ".join(parts)


def sha256_source(digest_b64: str) -> str:
    return f"'sha256-{digest_b64}'"


def nonce_source(nonce: str) -> str:
    return f"'nonce-{nonce}'"
