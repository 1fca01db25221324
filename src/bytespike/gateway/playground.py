"""The playground function's handlers: the page, its assets, and the free-run API.

Thin: the rules live in ``bytespike.playground`` (free checks, estimate, IP counter).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response

from bytespike.catalog import catalog
from bytespike.errors import GatewayError, Kind
from bytespike.gateway.pipeline import new_request_id
from bytespike.http.render import error_response, json_response, read_body
from bytespike.playground import free, page, quota
from bytespike.playground.client_ip import bucket_hash, client_ip
from bytespike.playground.settings import free_models, house_key, ip_salt, playground_settings
from bytespike.protocols import SurfaceName

log = logging.getLogger("bytespike.playground")

RUNS_LEFT = "x-playground-runs-left"
RUNS_LIMIT = "x-playground-runs-limit"
RESETS_AT = "x-playground-resets-at"


def serve_asset(request: Request, name: str) -> Response:
    return page.PAGES.serve(request, name, SurfaceName.ANTHROPIC, new_request_id())


async def _ip_hash(request: Request) -> str:
    cfg = playground_settings()
    ip = client_ip(request, cfg.client_ip_source)
    if ip is None:  # fail closed: no trusted address, no free run
        log.warning("playground: no trusted client address (source %s)", cfg.client_ip_source)
        raise GatewayError(Kind.PERMISSION, "Free runs are unavailable here (the client address is unknown); "
                                            "paste your own API key to run.")
    try:
        salt = await ip_salt()
    except Exception as exc:  # the house key is unreadable: no free runs to count
        log.exception("playground: could not derive the IP salt")
        raise GatewayError(Kind.OVERLOADED, "Free runs are unavailable right now; paste your own API key to run.") from exc
    return bucket_hash(ip, salt)


def _read_limit() -> int:
    """What an anonymous caller may make the playground read and parse: the free-run prompt
    limit with room for the envelope and JSON escapes, far below the 6 MB function limit."""
    return 4 * playground_settings().max_body_bytes + 4096


def _quota_headers(used: int, win: quota.Window) -> dict[str, str]:
    limit = playground_settings().runs_per_window
    return {RUNS_LEFT: str(max(0, limit - used)), RUNS_LIMIT: str(limit), RESETS_AT: win.resets_at_iso}


async def config(request: Request) -> Response:
    """What the page needs before the first run: the free rules and this client's runs left."""
    request_id = new_request_id()
    cfg = playground_settings()
    win = quota.window(_now(), cfg.window_seconds)
    try:
        used: int | None = await quota.runs_used(await _ip_hash(request), win)
    except GatewayError:
        used = None
    limit = cfg.runs_per_window
    body = {
        "free": {
            "available": bool(await _house_key_or_none()),
            "runs_limit": limit,
            "runs_used": used if used is not None else limit,
            "runs_left": max(0, limit - used) if used is not None else 0,
            "resets_at": win.resets_at_iso,
            "max_tokens": cfg.max_tokens,
            "models": sorted(m.id for m in free_models()),
        },
        "models": {m.id: {"thinking": m.thinking, "thinking_always_on": m.thinking_always_on}
                   for m in catalog().models.values() if m.modality == "chat"},
        "anthropic_version": free.ANTHROPIC_VERSION,
    }
    return json_response(body, request_id, None, extra={"cache-control": "no-store"})


async def estimate(request: Request) -> Response:
    """The credits a free run would hold, before the user confirms (costs no run)."""
    request_id = new_request_id()
    raw = b""
    try:
        raw = await read_body(request, _read_limit())
        surface, body = free.parse_envelope(raw)
        req = free.check(surface, body)
        result = free.estimate(req)
        return json_response(result, request_id, result["estimated_credits"])
    except GatewayError as err:
        return error_response(err, free.surface_of(raw), request_id, 0)


async def run(request: Request) -> Response:
    """One free run: check, count (conditionally, before running), run on the house key."""
    request_id = new_request_id()
    raw = b""
    surface = "anthropic"
    cfg = playground_settings()
    win = quota.window(_now(), cfg.window_seconds)
    try:
        raw = await read_body(request, _read_limit())
        surface = free.surface_of(raw)
        req = free.check(*free.parse_envelope(raw))
        key = await _house_key_or_none()
        if not key:
            raise GatewayError(Kind.OVERLOADED, "Free runs are not configured on this gateway; "
                                                "paste your own API key to run.")
        ip_hash = await _ip_hash(request)
    except GatewayError as err:
        return error_response(err, surface, request_id, 0)

    try:
        used = await quota.take_run(ip_hash, win, cfg.runs_per_window)
    except GatewayError as err:
        return error_response(err, surface, request_id, 0)
    if used is None:
        err = GatewayError(
            Kind.RATE_LIMIT,
            f"You have used today's {cfg.runs_per_window} free runs, so nothing was run or billed. "
            f"To keep going, get an API key ({cfg.get_key_hint}) and paste it under “Use your own API key”: "
            f"runs then bill your own wallet, any model, no daily limit. Free runs reset at {win.resets_at_iso}.",
            retry_after=str(max(1, win.resets_at - int(_now()))),
        )
        resp = error_response(err, surface, request_id, 0)
        resp.headers.update(_quota_headers(cfg.runs_per_window, win))
        return resp

    try:
        response = await free.handler_for(req.surface)(free.inner_request(request, req, key))
    except BaseException:
        await quota.give_back(ip_hash, win)
        raise
    if response.status_code >= 400:
        # Nothing ran and nothing was billed: the run goes back (see docs/PLAYGROUND.md).
        await quota.give_back(ip_hash, win)
        used -= 1
        if response.status_code in (401, 402, 403):  # the house key's or wallet's problem, not the visitor's
            log.error("playground: house key refused (%s); free runs are failing", response.status_code)
            err = GatewayError(Kind.OVERLOADED, "Free runs are unavailable right now; try again later, "
                                                "or paste your own API key to run.")
            response = error_response(err, surface, request_id, 0)
    response.headers.update(_quota_headers(used, win))
    return response


async def _house_key_or_none() -> str | None:
    """The house key, or None when it is unset or cannot be read (free runs then say so)."""
    try:
        return await house_key()
    except Exception:
        log.exception("playground: could not read the house key")
        return None


def _now() -> float:
    import time

    return time.time()
