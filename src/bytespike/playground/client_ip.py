"""Who is calling, from a source the caller cannot forge, and the counter bucket it maps to.

Never ``X-Forwarded-For`` (any client can send one). The sources, by deployment:

* ``peer`` (local stack, any server the client reaches directly): the TCP peer address
  (the local stack runs uvicorn with ``proxy_headers=False`` so nothing rewrites it).
* ``lambda`` (function URL behind the Lambda Web Adapter): ``requestContext.http.sourceIp``
  of the invocation event, which the adapter passes as the ``x-amzn-request-context``
  header JSON. The adapter *replaces* any client-sent header of that name.
* ``cloudfront`` (CloudFront in front of a function URL that only CloudFront can call,
  e.g. AuthType AWS_IAM + origin access control): ``CloudFront-Viewer-Address``, which
  CloudFront sets itself. Behind CloudFront the function URL's ``sourceIp`` is an edge
  address shared by many viewers, so it must not be the bucket.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json

from starlette.requests import Request


def _parse(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def _from_lambda(request: Request) -> str | None:
    raw = request.headers.get("x-amzn-request-context")
    if not raw:
        return None
    try:
        ctx = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(ctx, dict):
        return None
    http = ctx.get("http") if isinstance(ctx.get("http"), dict) else {}
    identity = ctx.get("identity") if isinstance(ctx.get("identity"), dict) else {}
    # Function URL / HTTP API (v2): http.sourceIp; REST API (v1): identity.sourceIp.
    ip = http.get("sourceIp") or identity.get("sourceIp")
    return ip if isinstance(ip, str) else None


def _from_cloudfront(request: Request) -> str | None:
    raw = request.headers.get("cloudfront-viewer-address")
    if not raw or ":" not in raw:
        return None
    return raw.rsplit(":", 1)[0]  # "<ip>:<port>"; IPv6 addresses are not bracketed


def client_ip(request: Request, source: str) -> str | None:
    """The caller's address as the configured trusted source reports it (None if absent)."""
    if source == "lambda":
        raw = _from_lambda(request)
    elif source == "cloudfront":
        raw = _from_cloudfront(request)
    else:
        raw = request.client.host if request.client else None
    ip = _parse(raw)
    return str(ip) if ip is not None else None


def bucket(ip: str) -> str:
    """The unit that gets N free runs: one IPv4 address, or one IPv6 /64 (a single subscriber
    usually holds a whole /64, so per-address counting would be free to evade)."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{addr}/64", strict=False))
    return str(addr)


def bucket_hash(ip: str, salt: str) -> str:
    """A keyed hash of the bucket: the counter table never stores raw addresses."""
    return hmac.new(salt.encode(), bucket(ip).encode(), hashlib.sha256).hexdigest()[:32]
