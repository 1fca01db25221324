"""The console's static page for the people who pay: served by the admin function at ``/console``.

Like the playground (``playground/page.py``): no build step, no CDN, package data read once per
process, a strict Content-Security-Policy (the signed-in key sits in sessionStorage, so no script
but our own may run). The chart library is vendored (``static/vendor/uplot``, its licence kept).
Everything the page shows comes from the admin API it calls with the key (docs/CONSOLE.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bytespike.errors import GatewayError, Kind
from bytespike.gateway.pipeline import new_request_id
from bytespike.http.render import error_response

_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8"}
ASSETS = ("index.html", "console.js", "console.css", "vendor/uplot/uPlot.iife.min.js", "vendor/uplot/uPlot.min.css",
          "vendor/uplot/LICENSE")

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
    data = resources.files("bytespike.console").joinpath("static", *name.split("/")).read_bytes()
    return data, _TYPES.get("." + name.rsplit(".", 1)[-1], "text/plain; charset=utf-8"), '"' + hashlib.sha256(data).hexdigest()[:16] + '"'


def serve(request: Request, name: str) -> Response:
    found = asset(name)
    if found is None:
        return error_response(GatewayError(Kind.NOT_FOUND, f"GET {request.url.path}: Not Found"), "openai",
                              new_request_id())
    data, content_type, etag = found
    headers = {**SECURITY_HEADERS, "etag": etag, "cache-control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=content_type, headers=headers)


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
