"""Every HTTP response of every function carries ``estimated_credits``, and every rejected request
leaves one structured log line (issue #15, findings 6 and 8).

Before the fix the header was missing on the router's 404 ("No function serves …"), on
``/v1/usage``, ``/v1/usage/{id}``, ``/playground/config``, the admin responses, CSV exports and
the playground's assets; and a rejected request (401, 400, 404 …) left nothing in the log.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import httpx

from bytespike.http.paths import PATH_TABLE
from tests.security.test_secrets_in_responses import BODIES, all_routes
from tests.support.stack import Stack, next_client_ip

CLAUDE = "claude-haiku-5-5"


def _fill(template: str, ids: dict[str, str]) -> str:
    return (template.replace("{model_id:path}", CLAUDE).replace("{org_id}", ids["org"])
            .replace("{key_id}", ids["key"]).replace("{request_id}", ids["request"])
            .replace("{video_id}", "video_nope").replace("{name}", "app.js"))


def _estimate(r: httpx.Response) -> int:
    value = r.headers.get("estimated_credits")
    assert value is not None and re.fullmatch(r"\d+", value), (r.request.method, r.request.url, r.status_code,
                                                              dict(r.headers))
    return int(value)


def test_every_route_of_every_function_answers_with_estimated_credits(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    member = stack.mint(org.master_key, member_id="est")
    request_id = httpx.post(f"{stack.base_url}/v1/messages", json=BODIES[("POST", "/v1/messages")], timeout=30,
                            headers={"x-api-key": org.master_key}).headers["request-id"]
    ids = {"org": org.org_id, "key": member["key_id"], "request": request_id}
    routes = [(m, p) for m, p in all_routes() if not p.endswith(("/revoke", "/rotate"))]
    functions = {fn for _, fn in PATH_TABLE}
    assert len(routes) >= 28 and functions >= {"messages", "chat", "admin", "playground", "video"}
    statuses: set[int] = set()
    with stack.http_from(next_client_ip(), timeout=60) as client:
        for method, template in routes:
            path = _fill(template, ids)
            body = BODIES.get((method, template))
            if isinstance(body, dict) and body.get("org_id") == "PLACEHOLDER":
                body = {"org_id": f"est-{secrets.token_hex(4)}"}
            if isinstance(body, dict) and body.get("topup_id") == "PLACEHOLDER":
                body = {**body, "topup_id": f"t-{time.time_ns()}"}
            for headers in ({}, {"x-api-key": org.master_key}, {"authorization": f"Bearer {stack.operator_key}"}):
                r = client.request(method, path, json=body, headers=headers)
                statuses.add(r.status_code)
                _estimate(r)
        # CSV exports, a conditional GET of an asset (304), the health check.
        r = client.get("/v1/usage", params={"format": "csv"}, headers={"x-api-key": org.master_key})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv") and _estimate(r) == 0
        r = client.get("/v1/usage/summary", params={"format": "csv"}, headers={"x-api-key": org.master_key})
        assert r.status_code == 200 and _estimate(r) == 0
        asset = client.get("/playground/static/app.js")
        assert _estimate(asset) == 0
        r = client.get("/playground/static/app.js", headers={"if-none-match": asset.headers["etag"]})
        assert r.status_code == 304 and _estimate(r) == 0
        assert _estimate(client.get("/healthz")) == 0
    assert {200, 201, 400, 401, 403, 404} <= statuses, statuses


def test_unknown_paths_and_methods_under_every_prefix_answer_with_estimated_credits_zero(stack: Stack) -> None:
    seen = []
    for prefix, function in PATH_TABLE:
        base = "/playground" if prefix == "/" else prefix
        r = httpx.get(f"{stack.base_url}{base}/no-such-thing-{secrets.token_hex(3)}", timeout=30)
        assert r.status_code in (401, 404, 405), (prefix, r.status_code, r.text)  # paid functions authenticate first
        assert _estimate(r) == 0, prefix
        seen.append((function, r.status_code))
    for method, path in (("GET", "/v1/messages"), ("DELETE", "/v1/chat/completions"), ("PUT", "/v1/keys"),
                         ("PATCH", "/v1/embeddings"), ("GET", "/playground/run")):
        r = httpx.request(method, stack.base_url + path, timeout=30)
        assert r.status_code == 405 and _estimate(r) == 0, (method, path, r.status_code)
    # The router itself: a path no function serves, in the caller's protocol, with a request id.
    r = httpx.get(f"{stack.base_url}/v2/nothing", timeout=30)
    assert r.status_code == 404 and _estimate(r) == 0
    assert r.json()["error"]["code"] == "not_found" and r.headers["request-id"].startswith("req_")
    r = httpx.post(f"{stack.base_url}/v1/nope", headers={"anthropic-version": "2023-06-01"}, timeout=30)
    assert r.status_code == 404 and _estimate(r) == 0 and r.json()["type"] == "error"


# ---------------------------------------------------------------- one log line per rejected request
def _records(stack: Stack) -> list[dict[str, Any]]:
    out = []
    for line in stack.log_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{") and '"rejected"' in line:
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def _wait_record(stack: Stack, request_id: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        found = [r for r in _records(stack) if r.get("request_id") == request_id]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no rejection record for {request_id}")


def test_each_rejected_request_leaves_one_structured_log_line_without_secrets(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    cases = [
        ("POST", "/v1/messages", {"x-api-key": org.master_key, "anthropic-version": "2023-06-01"},
         {"model": CLAUDE, "max_tokens": "100", "messages": [{"role": "user", "content": "x"}]},
         400, "invalid_request", "anthropic", CLAUDE),
        ("POST", "/v1/chat/completions", {"authorization": f"Bearer {org.master_key}x"},
         {"model": "gpt-6-luna", "messages": [{"role": "user", "content": "x"}]}, 401, "authentication", "openai", None),
        ("POST", "/v1/messages", {"x-api-key": org.master_key},
         {"model": "claude-nope", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
         404, "not_found", "anthropic", "claude-nope"),
        ("GET", "/v1/keys", {"authorization": "Bearer sk-bs-" + "z" * 43}, None, 401, "authentication", "openai", None),
        ("GET", "/v9/unknown", {}, None, 404, "not_found", "openai", None),
        ("GET", "/v1/messages", {}, None, 405, "invalid_request", "anthropic", None),
    ]
    for method, path, headers, body, status, kind, surface, model in cases:
        r = httpx.request(method, stack.base_url + path, headers=headers, json=body, timeout=30)
        assert r.status_code == status, (path, r.status_code, r.text)
        [record] = _wait_record(stack, r.headers["request-id"])
        assert record["status"] == status and record["kind"] == kind, record
        assert record["surface"] == surface and record["path"] == path and record["method"] == method, record
        assert record.get("model") == model, record
        assert org.master_key not in json.dumps(record) and org.master_key[6:] not in json.dumps(record)
    # A successful request is not a rejection.
    ok = httpx.post(stack.base_url + "/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                    json={"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    assert ok.status_code == 200
    time.sleep(0.2)
    assert not [r for r in _records(stack) if r.get("request_id") == ok.headers["request-id"]]


def test_make_dev_prints_one_line_per_request(stack: Stack) -> None:
    """``python -m bytespike.local`` (make dev) prints method, path, model, status, credits and ms."""
    org = stack.new_org(1_000_000)
    r = httpx.post(stack.base_url + "/v1/messages?beta=true", headers={"x-api-key": org.master_key}, timeout=30,
                   json={"model": CLAUDE, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]})
    billed = r.json()["usage"]["credits"]
    bad = httpx.get(stack.base_url + "/v1/keys", timeout=30)
    deadline = time.monotonic() + 5
    pattern_ok = re.compile(rf"POST /v1/messages {CLAUDE} 200 {billed}cr \d+(\.\d+)?ms {r.headers['request-id']}")
    pattern_bad = re.compile(rf"GET /v1/keys - 401 0cr \d+(\.\d+)?ms {bad.headers['request-id']}")
    while time.monotonic() < deadline:
        text = stack.log_path.read_text(errors="replace")
        if pattern_ok.search(text) and pattern_bad.search(text):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no access line for the requests:\n" + text[-2000:])
    assert "beta=true" not in text  # no query strings (they can carry secrets)
