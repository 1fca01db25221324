"""The page's static assets (one HTML, one JS, one CSS), served from the package itself.

No build step and no CDN: the files ship as package data (in the shared layer on AWS) and
are read once per process. A strict Content-Security-Policy keeps third-party script away
from a pasted key in sessionStorage.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@lru_cache(maxsize=len(ASSETS))
def asset(name: str) -> tuple[bytes, str, str] | None:
    """(bytes, content type, etag) of a shipped asset, or None for anything else."""
    if name not in ASSETS:
        return None
    data = resources.files("bytespike.playground").joinpath("static", name).read_bytes()
    return data, ASSETS[name], '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
