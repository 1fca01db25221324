"""The console's static page for the people who pay: served by the admin function at ``/console``.

Like the playground (``playground/page.py``): no build step, no CDN, package data read once per
process, a strict Content-Security-Policy (the signed-in key sits in sessionStorage, so no script
but our own may run). The chart library is vendored (``static/vendor/uplot``, its licence kept).
Everything the page shows comes from the admin API it calls with the key (docs/CONSOLE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bytespike.gateway.pipeline import new_request_id
from bytespike.http.static_pages import SECURITY_HEADERS, StaticAssets
from bytespike.protocols import SurfaceName

__all__ = ["ASSETS", "PAGES", "SECURITY_HEADERS", "asset", "register"]

ASSETS = ("index.html", "console.js", "console.css", "vendor/uplot/uPlot.iife.min.js", "vendor/uplot/uPlot.min.css",
          "vendor/uplot/LICENSE")
PAGES = StaticAssets("bytespike.console", ASSETS)
asset = PAGES.asset


def serve(request: Request, name: str) -> Response:
    return PAGES.serve(request, name, SurfaceName.OPENAI_CHAT, new_request_id())


async def index(request: Request) -> Response:
    return serve(request, "index.html")


async def bare(_: Request) -> Response:
    """``/console`` -> ``/console/``, so the page's relative paths have one base."""
    return RedirectResponse("/console/", status_code=308)


async def static(request: Request, name: str) -> Response:
    return serve(request, name)


def register(add: Callable[..., Any]) -> None:
    """``add(path, handler, methods=..., include_in_schema=...)``: the app factory's route adder."""
    add("/console", bare, methods=["GET"], include_in_schema=False)
    add("/console/", index, methods=["GET"], include_in_schema=False)
    add("/console/static/{name:path}", static, methods=["GET"], include_in_schema=False)
