"""No secret in responses: no header of any endpoint carries the key it was called with, no
body echoes it, the caller's key never travels to an upstream, and an upstream's error text
is scrubbed of key-shaped tokens and of every secret the process knows before it is rendered.

Logs: tests/e2e/test_log_redaction.py::test_logs_never_contain_keys. The playground's house
key: tests/e2e/test_playground.py::test_no_house_key_in_any_response.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from typing import Any

import httpx
import pytest
from starlette.routing import Route

from bytespike import errors
from bytespike.errors import GatewayError, Kind, redact
from bytespike.http.app import REGISTRARS, create_app
from bytespike.http.render import error_response
from bytespike.providers import media as up
from bytespike.providers import upstream_error
from bytespike.store.keys import KEY_PREFIX
from tests.support.stack import Stack, next_client_ip

CLAUDE = "claude-haiku-5-5"
MSG = [{"role": "user", "content": "hi"}]


def all_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route every function serves: the API's operations, not the
    public OpenAPI document, nor the HEAD twin Starlette adds to every GET."""
    out: set[tuple[str, str]] = set()
    for function in REGISTRARS:
        for route in create_app(function).routes:
            if isinstance(route, Route) and route.path != "/openapi.json":
                out.update((method, route.path) for method in route.methods if method != "HEAD")
    return sorted(out)


BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/messages"): {"model": CLAUDE, "max_tokens": 5, "messages": MSG},
    ("POST", "/v1/messages/count_tokens"): {"model": CLAUDE, "messages": MSG},
    ("POST", "/v1/chat/completions"): {"model": "gpt-6-luna", "max_tokens": 5, "messages": MSG},
    ("POST", "/v1/embeddings"): {"model": "text-embedding-3-small", "input": "hi"},
    ("POST", "/v1/rerank"): {"model": "rerank-v3.5", "query": "q", "documents": ["a", "b"]},
    ("POST", "/v1/images/generations"): {"model": "gpt-image-1", "prompt": "x", "size": "1024x1024", "quality": "low"},
    ("POST", "/v1/images/edits"): {"model": "gpt-image-1", "prompt": "x"},  # not multipart: a 400
    ("POST", "/v1/audio/speech"): {"model": "tts-1", "voice": "alloy", "input": "hi", "response_format": "wav"},
    ("POST", "/v1/audio/transcriptions"): {"model": "whisper-1"},  # not multipart: a 400
    ("POST", "/v1/videos"): {"model": "doubao-seedance-2-0", "prompt": "x [[sim job_ms=0]]", "size": "854x480",
                             "seconds": "4"},
    ("POST", "/v1/orgs"): {"org_id": "PLACEHOLDER"},
    ("POST", "/v1/orgs/{org_id}/topups"): {"amount": 1, "topup_id": "PLACEHOLDER"},
    ("POST", "/v1/keys"): {"member_id": "echo"},
    ("POST", "/playground/estimate"): {"surface": "anthropic", "request": {"model": CLAUDE, "max_tokens": 5,
                                                                          "messages": MSG}},
    ("POST", "/playground/run"): {"surface": "anthropic", "request": {"model": CLAUDE, "max_tokens": 5,
                                                                     "messages": MSG}},
}


def _leaks(secret: str, r: httpx.Response) -> list[str]:
    needles = [secret] + ([secret[len(KEY_PREFIX):]] if secret.startswith(KEY_PREFIX) else [])
    found = [f"header {name}" for name, value in r.headers.items() for n in needles if n in value]
    found += [f"header name {name}" for name in r.headers if name.lower() in ("x-api-key", "authorization")]
    found += ["body" for n in needles if n.encode() in r.content]
    return found


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the openai SDK marks videos.* deprecated (Sora)
def test_no_response_header_or_body_of_any_endpoint_contains_the_presented_key(stack: Stack) -> None:
    org = stack.create_org(5_000_000)
    member = stack.mint(org.master_key, member_id="leaky")
    job = stack.openai(org.master_key).videos.create(model="doubao-seedance-2-0", prompt="x [[sim job_ms=0]]",
                                                     size="854x480", seconds="4")
    request_id = httpx.post(stack.base_url + "/v1/messages", json=BODIES[("POST", "/v1/messages")], timeout=30,
                            headers={"x-api-key": org.master_key}).headers["request-id"]
    unknown = KEY_PREFIX + secrets.token_urlsafe(32)
    presented = {"master": org.master_key, "member": member["secret"], "unknown": unknown,
                 "operator": stack.operator_key, "not-a-key": "hunter2-" + secrets.token_hex(12)}
    # Who presents what, and how (each caller once per header style that changes the error shape).
    calls = [("master", "x-api-key"), ("master", "authorization"), ("member", "authorization"),
             ("unknown", "x-api-key"), ("operator", "authorization"), ("not-a-key", "x-api-key")]
    routes = all_routes()
    assert len(routes) >= 30, routes  # every function's routes, found from the app factory
    leaks: list[str] = []
    statuses: set[int] = set()
    with stack.http_from(next_client_ip(), timeout=60) as client:
        for method, template in routes:
            for who, header in calls:
                secret = presented[who]
                key_id = member["key_id"]
                if template.endswith(("/revoke", "/rotate")):
                    key_id = stack.mint(org.master_key, member_id="target")["key_id"]  # a key nobody else uses
                path = (template.replace("{model_id:path}", CLAUDE).replace("{org_id}", org.org_id)
                        .replace("{key_id}", key_id).replace("{request_id}", request_id)
                        .replace("{video_id}", job.id).replace("{name}", "app.js"))
                body = BODIES.get((method, template))
                if isinstance(body, dict) and body.get("org_id") == "PLACEHOLDER":
                    body = {"org_id": f"echo-{secrets.token_hex(4)}"}
                if isinstance(body, dict) and body.get("topup_id") == "PLACEHOLDER":
                    body = {**body, "topup_id": f"t-{time.time_ns()}"}
                if method == "DELETE" and who == "master":
                    continue  # keep the job for the other calls (the refusals are still checked)
                value = secret if header == "x-api-key" else f"Bearer {secret}"
                r = client.request(method, path, json=body, headers={header: value})
                statuses.add(r.status_code)
                leaks += [f"{method} {path} as {who} via {header} ({r.status_code}): {w}" for w in _leaks(secret, r)]
    assert not leaks, "\n".join(leaks)
    assert {200, 201, 400, 401, 403, 404} <= statuses, statuses  # successes and refusals were both seen


def test_the_callers_key_never_reaches_the_upstream(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    marker = f"upstream-echo-{secrets.token_hex(6)}"
    for model in (CLAUDE, "gpt-6-luna", "gemini-3.5-flash-lite"):
        for headers in ({"x-api-key": org.master_key, "anthropic-version": "2023-06-01"},
                        {"authorization": f"Bearer {org.master_key}"}):
            path = "/v1/messages" if "x-api-key" in headers else "/v1/chat/completions"
            r = httpx.post(stack.base_url + path, headers=headers, timeout=30,
                           json={"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": marker}]})
            assert r.status_code == 200, r.text
    seen = stack.sim_requests(marker)
    assert len(seen) == 6
    for rec in seen:
        text = json.dumps(rec)
        assert org.master_key not in text and org.master_key[len(KEY_PREFIX):] not in text


# ------------------------------------------------------------------ upstream error text
PROVIDER_KEY = "sk-proj-" + "Q" * 40
ARK_STYLE_KEY = "3f2b8c1e-9d4a-4b7e-8f60-1c2d3e4f5a6b"  # a secret of no recognisable shape


@pytest.mark.parametrize("provider", ["openai", "anthropic", "deepseek", "ark", "gemini"])
def test_an_upstream_that_echoes_the_key_in_an_error_does_not_leak_it(provider: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """An upstream (or a proxy before it) answering a *request* error (400) with the request's
    headers in the message: the caller gets the message, not the keys."""
    monkeypatch.setenv("UPSTREAM_ARK_API_KEY", ARK_STYLE_KEY)  # the process's own provider secret
    client_key = KEY_PREFIX + "c" * 43
    echo = (f"bad header: authorization: Bearer {PROVIDER_KEY}; x-api-key: {client_key}; "
            f"x-goog-api-key: AIza{'G' * 35}; api-key {ARK_STYLE_KEY}")
    body = json.dumps({"error": {"message": echo, "type": "invalid_request_error", "code": "InvalidParameter",
                                 "status": "INVALID_ARGUMENT"}}).encode()
    errs = [upstream_error(provider, 400, body, httpx.Headers()), up.error_from_response(400, body, httpx.Headers())]
    for err in errs:
        for surface in ("anthropic", "openai"):
            rendered = error_response(err, surface, "req_test").body.decode()
            assert "bad header" in rendered  # the upstream's message is still shown
            for leaked in (PROVIDER_KEY, client_key, client_key[len(KEY_PREFIX):], "AIza" + "G" * 35, ARK_STYLE_KEY):
                assert leaked not in rendered, (surface, rendered)


def test_registered_secrets_are_redacted_whatever_their_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "plain-words-no-shape-" + secrets.token_hex(4)
    assert redact(f"x {secret} y") == f"x {secret} y"
    monkeypatch.setattr(errors, "_REGISTERED", set())
    errors.register_secret(secret)
    errors.register_secret("short")  # too short to redact safely: ignored
    assert redact(f"x {secret} y short") == "x [redacted] y short"
    monkeypatch.setenv("UPSTREAM_ARK_ACCOUNTS", json.dumps([{"name": "a", "api_key": "pooled-account-secret-1"}]))
    assert "pooled-account-secret-1" not in redact("Upstream: key pooled-account-secret-1 rejected")
    rendered = error_response(GatewayError(Kind.UPSTREAM, f"Upstream: {secret}"), "openai", "req_x").body.decode()
    assert secret not in rendered and re.search(r"\[redacted\]", rendered)
