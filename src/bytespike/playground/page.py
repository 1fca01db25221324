"""The playground's static assets (one HTML, one JS, one CSS), served from the package itself.

No build step and no CDN; served the way every shipped page is (``http/static_pages.py``).
"""

from __future__ import annotations

from bytespike.http.static_pages import SECURITY_HEADERS, StaticAssets

__all__ = ["ASSETS", "PAGES", "SECURITY_HEADERS", "asset"]

ASSETS = ("index.html", "app.js", "app.css")
PAGES = StaticAssets("bytespike.playground", ASSETS)
asset = PAGES.asset
