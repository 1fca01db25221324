"""Pages shipped as package data (the playground, the console): one way to serve them.

No build step and no CDN: the files ship in the package (in the shared layer on AWS) and are
read once per process. A strict Content-Security-Policy keeps any script but our own away from
a key the page holds in sessionStorage; an ETag lets the browser revalidate for free.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from bytespike.errors import GatewayError, Kind
from bytespike.http.render import error_response
from bytespike.protocols import SurfaceName

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}
_TYPES = {"html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}


class StaticAssets:
    """The named files under ``<package>/static``; any other name is not found (no path walking)."""

    def __init__(self, package: str, names: Iterable[str]) -> None:
        self.package = package
        self.names = tuple(names)
        self._read: dict[str, tuple[bytes, str, str]] = {}

    def asset(self, name: str) -> tuple[bytes, str, str] | None:
        """(bytes, content type, etag) of a shipped asset, or None for anything else."""
        if name not in self.names:
            return None
        if name not in self._read:
            data = resources.files(self.package).joinpath("static", *name.split("/")).read_bytes()
            content_type = _TYPES.get(name.rsplit(".", 1)[-1], "text/plain; charset=utf-8")
            self._read[name] = data, content_type, '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        return self._read[name]

    def serve(self, request: Request, name: str, surface: SurfaceName, request_id: str) -> Response:
        """The asset with the security headers (304 on a matching ETag); a 404 in ``surface``'s shape."""
        found = self.asset(name)
        if found is None:
            return error_response(GatewayError(Kind.NOT_FOUND, f"GET {request.url.path}: Not Found"), surface,
                                  request_id)
        data, content_type, etag = found
        headers = {**SECURITY_HEADERS, "etag": etag, "cache-control": "no-cache"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(data, media_type=content_type, headers=headers)
