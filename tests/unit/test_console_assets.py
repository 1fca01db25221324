"""The console's static assets: the vendored chart library is the pinned npm release (digests), its
licence ships with it, the page loads nothing from another origin, and every asset is package data."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

from bytespike.console import page

UPLOT = {  # uplot@1.6.32 from the npm registry (dist/), as recorded in static/vendor/uplot/VENDOR.md
    "uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
    "uPlot.min.css": "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
}


def test_the_vendored_chart_library_is_the_pinned_release_with_its_licence() -> None:
    vendor = resources.files("bytespike.console").joinpath("static", "vendor", "uplot")
    for name, digest in UPLOT.items():
        assert hashlib.sha256(vendor.joinpath(name).read_bytes()).hexdigest() == digest, name
        assert digest in vendor.joinpath("VENDOR.md").read_text()
    assert "MIT License" in vendor.joinpath("LICENSE").read_text()
    assert "(v1.6.32)" in vendor.joinpath("uPlot.iife.min.js").read_text()[:80]


def test_every_asset_is_served_and_nothing_comes_from_another_origin() -> None:
    for name in page.ASSETS:
        found = page.asset(name)
        assert found is not None and found[0], name
    html = page.asset("index.html")[0].decode()
    for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert ref.startswith(("/console/", "#")), ref
    assert page.asset("../../admin/keys.py") is None and page.asset("vendor/uplot/VENDOR.md") is None
    csp = page.SECURITY_HEADERS["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_the_pages_credit_sub2api_and_say_no_code_of_it_is_used() -> None:
    for package in ("bytespike.console", "bytespike.playground"):
        html = resources.files(package).joinpath("static", "index.html").read_text()
        assert "sub2api" in html and "Wei-Shaw" in html and "LGPL-3.0" in html and "no sub2api code is used" in html
