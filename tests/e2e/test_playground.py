"""The playground over real HTTP: free-run counting, trusted client addresses, free rules, no key leaks.

Each test comes from its own loopback address (``next_client_ip``), which is the client
address the local stack counts free runs by, so tests never share a counter.
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from bytespike.playground import quota
from bytespike.playground.client_ip import bucket_hash
from bytespike.playground.settings import PlaygroundSettings, derive_ip_salt
from tests.support.stack import Stack, next_client_ip

# DeepSeek's free model: other suites make Claude's simulated upstream fail on purpose, and a
# shared cooldown must not turn these tests' runs into 529s.
FREE = "deepseek-flash"


def _anthropic(text: str, **kw: object) -> dict:
    return {"surface": "anthropic",
            "request": {"model": FREE, "max_tokens": 128, "messages": [{"role": "user", "content": text}], **kw}}


def _openai(text: str, model: str = FREE, **kw: object) -> dict:
    return {"surface": "openai",
            "request": {"model": model, "max_tokens": 128, "messages": [{"role": "user", "content": text}], **kw}}


def _runs_left(client: httpx.Client) -> int:
    return int(client.get("/playground/config").json()["free"]["runs_left"])


def _house_reservations(stack: Stack) -> dict[str, dict]:
    return {r["id"]: r for r in stack.reservations(stack.house_org)}


def _sse_usage(text: str) -> dict:
    """The final usage object of an Anthropic or OpenAI stream (where usage.credits is)."""
    usage: dict = {}
    for line in text.splitlines():
        if line.startswith("data: {"):
            data = json.loads(line[6:])
            if isinstance(data.get("usage"), dict):
                usage = data["usage"]
    return usage


def test_page_and_assets_are_served_offline(stack: Stack) -> None:
    with stack.http_from(next_client_ip(), timeout=10) as client:
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "/playground/static/app.js" in page.text
        assert "http://" not in page.text and "https://" not in page.text  # no CDN: every asset is same-origin
        for name, kind in (("app.js", "javascript"), ("app.css", "css")):
            r = client.get(f"/playground/static/{name}")
            assert r.status_code == 200 and kind in r.headers["content-type"]
            assert client.get(f"/playground/static/{name}", headers={"if-none-match": r.headers["etag"]}).status_code == 304
        assert client.get("/playground/static/../config.py").status_code == 404
        cfg = client.get("/playground/config").json()
        assert cfg["free"]["runs_left"] == 3 and cfg["free"]["available"] is True
        assert FREE in cfg["free"]["models"] and "claude-opus-5-5" not in cfg["free"]["models"]


async def test_concurrent_free_runs_from_one_ip_never_exceed_three(stack: Stack) -> None:
    ip = next_client_ip()
    before = set(_house_reservations(stack))
    async with stack.async_http_from(ip, timeout=30) as client:
        responses = await asyncio.gather(*[
            client.post("/playground/run", json=_anthropic(f"concurrent {i} [[sim first_token_ms=150]]"))
            for i in range(12)
        ])
    ok = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert len(ok) == 3 and len(refused) == 9, [r.status_code for r in responses]
    for r in refused:
        assert r.json()["error"]["type"] == "rate_limit_error"
        assert r.headers["x-playground-runs-left"] == "0" and r.headers["estimated_credits"] == "0"
        assert "API key" in r.json()["error"]["message"]
    billed = {r.headers["request-id"]: _sse_usage(r.text)["credits"] for r in ok}
    assert all(c > 0 for c in billed.values())
    # Exactly the three runs reached the pipeline; each was billed what its stream said.
    released = stack.wait_all_released(stack.house_org)
    new = {r["id"]: r for r in released if r["id"] not in before}
    assert set(new) == set(billed)
    assert all(new[rid]["cost"] == credits for rid, credits in billed.items())
    stack.assert_conservation(stack.house_org)
    cfg = PlaygroundSettings.from_env()
    win = quota.window(time.time(), cfg.window_seconds)
    item = stack.ddb.get_item(TableName=stack.tables["ACCOUNTS_TABLE"], ConsistentRead=True,
                              Key={"pk": {"S": f"PLAYIP#{bucket_hash(ip, cfg.ip_salt or derive_ip_salt(stack.house_key))}"}, "sk": {"S": win.label}})["Item"]
    assert item["runs"]["N"] == "3" and int(item["ttl"]["N"]) > time.time()


def test_forged_forwarding_headers_do_not_reset_the_count(stack: Stack) -> None:
    """From 127.0.0.1 (the address uvicorn trusts for X-Forwarded-For by default), every
    forwarding header a client could forge is ignored: the TCP peer is what counts."""
    ip = "127.0.0.1"
    cfg = PlaygroundSettings.from_env()
    win = quota.window(time.time(), cfg.window_seconds)
    stack.ddb.delete_item(TableName=stack.tables["ACCOUNTS_TABLE"],
                          Key={"pk": {"S": f"PLAYIP#{bucket_hash(ip, cfg.ip_salt or derive_ip_salt(stack.house_key))}"}, "sk": {"S": win.label}})
    forged = [
        {"x-forwarded-for": "203.0.113.1"},
        {"x-forwarded-for": "203.0.113.2, 198.51.100.7", "x-real-ip": "203.0.113.2"},
        {"forwarded": "for=203.0.113.3", "cloudfront-viewer-address": "203.0.113.3:443",
         "x-amzn-request-context": json.dumps({"http": {"sourceIp": "203.0.113.3"}})},
    ]
    with stack.http_from(ip, timeout=30) as client:
        for i, headers in enumerate(forged):
            r = client.post("/playground/run", json=_anthropic(f"forged {i}"), headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["x-playground-runs-left"] == str(2 - i)
        fourth = client.post("/playground/run", json=_anthropic("forged 4"),
                             headers={"x-forwarded-for": "192.0.2.200", "x-real-ip": "192.0.2.200"})
        assert fourth.status_code == 429 and fourth.headers["x-playground-runs-left"] == "0"
        assert _runs_left(client) == 0
        assert client.get("/playground/config", headers={"x-forwarded-for": "192.0.2.201"}).json()["free"]["runs_left"] == 0


def test_free_rules_refuse_before_a_run_is_counted(stack: Stack) -> None:
    with stack.http_from(next_client_ip(), timeout=30) as client:
        r = client.post("/playground/run", json={**_anthropic("x"), "request": {**_anthropic("x")["request"],
                                                                                "model": "claude-opus-5-5"}})
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error"
        assert "not available for free runs" in r.json()["error"]["message"]
        r = client.post("/playground/run", json=_openai("x", model="gpt-6.2-astra"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "permission_denied"
        r = client.post("/playground/estimate", json={**_anthropic("x"), "request": {**_anthropic("x")["request"],
                                                                                     "model": "claude-opus-5-5"}})
        assert r.status_code == 403
        too_long = _anthropic("x")
        too_long["request"]["max_tokens"] = 100_000
        r = client.post("/playground/run", json=too_long)
        assert r.status_code == 400 and "at most 1024" in r.json()["error"]["message"]
        r = client.post("/playground/run", json=_anthropic("x", metadata={"user_id": "u"}))
        assert r.status_code == 400 and "metadata" in r.json()["error"]["message"]
        r = client.post("/playground/run", json={"surface": "anthropic", "request": {
            "model": FREE, "messages": [{"role": "user", "content": "x"}]}})
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        r = client.post("/playground/run", json=_anthropic("x" * 40_000))
        assert r.status_code == 413
        assert client.post("/playground/run", content=b"not json").status_code == 400
        assert _runs_left(client) == 3


def test_failed_run_is_given_back_and_bills_nothing(stack: Stack) -> None:
    before = set(_house_reservations(stack))
    with stack.http_from(next_client_ip(), timeout=30) as client:
        # Upstream 400s: a failure before any output that puts no account into cooldown.
        r = client.post("/playground/run", json=_anthropic("fail [[sim status=400]]"))
        assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
        assert r.headers["x-playground-runs-left"] == "3"
        r = client.post("/playground/run", json=_openai("fail [[sim status=400]]"))
        assert r.status_code == 400 and "error" in r.json()
        assert _runs_left(client) == 3
    new = [r for r in stack.wait_all_released(stack.house_org) if r["id"] not in before]
    assert new and all(r["state"] == "FAILED" and r["cost"] == 0 for r in new)


@pytest.mark.parametrize("body", [_anthropic("estimate me", system="Be brief."),
                                  _anthropic("estimate me", model="gpt-6-luna", thinking={"type": "adaptive"}),
                                  _openai("estimate me", reasoning_effort="medium"),
                                  _openai("estimate me", model="gpt-6-luna")])
def test_estimate_is_the_hold_the_run_places(stack: Stack, body: dict) -> None:
    with stack.http_from(next_client_ip(), timeout=30) as client:
        est = client.post("/playground/estimate", json=body)
        assert est.status_code == 200, est.text
        estimate = est.json()
        assert estimate["estimated_credits"] > 0 and estimate["input_tokens"] > 0
        assert _runs_left(client) == 3  # estimating costs no run
        run = client.post("/playground/run", json=body)
        assert run.status_code == 200 and run.headers["content-type"].startswith("text/event-stream")
        assert int(run.headers["estimated_credits"]) == estimate["estimated_credits"]
        assert 0 < _sse_usage(run.text)["credits"] <= estimate["estimated_credits"]


def test_no_house_key_in_any_response(stack: Stack) -> None:
    key = stack.house_key
    assert key.startswith("sk-bs-")
    seen: list[httpx.Response] = []
    with stack.http_from(next_client_ip(), timeout=30) as client:
        for path in ("/", "/playground", "/playground/static/app.js", "/playground/static/app.css",
                     "/playground/config", "/playground/nope", "/v1/models"):
            seen.append(client.get(path))
        seen.append(client.post("/playground/estimate", json=_anthropic("leak?")))
        seen.append(client.post("/playground/run", json=_anthropic("leak? [[sim think]]")))
        seen.append(client.post("/playground/run", json=_openai("leak?")))
        seen.append(client.post("/playground/run", json=_anthropic("leak? [[sim status=400]]")))
        seen.append(client.post("/playground/run", json=_anthropic("leak? [[sim error_after=2]]")))
        seen.append(client.post("/playground/run", json=_openai("leak?", model="claude-opus-5-5")))
        seen.append(client.post("/playground/run", json=_anthropic("leak?")))
        seen.append(client.post("/playground/run", json=_anthropic("leak?")))  # the refusal
    assert seen[-1].status_code == 429
    for r in seen:
        blob = r.text + "\n" + "\n".join(f"{k}: {v}" for k, v in r.headers.items())
        assert key not in blob and key[6:20] not in blob, r.request.url
    assert key not in stack.log_path.read_text()
