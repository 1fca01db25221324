"""Upstream account pools: failover before the first byte, cooldowns shared across gateway
processes through DynamoDB, disable on bad credentials, stickiness for prompt caching."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anthropic
import httpx
import pytest

from bytespike.store.dynamo import s
from tests.conftest import STACK_ENV
from tests.support.stack import Stack, free_port, local_stack_process

CLAUDE = "claude-haiku-5-5"


class FailingUpstream:
    """A tiny upstream that always fails with one status (and counts the calls it got)."""

    def __init__(self, status: int, retry_after: str | None = None) -> None:
        self.calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                outer.calls += 1
                self.rfile.read(int(self.headers.get("content-length", 0)))
                body = json.dumps({"type": "error", "error": {"type": "rate_limit_error" if status == 429 else
                                                              "overloaded_error", "message": "busy"}}).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                if retry_after:
                    self.send_header("retry-after", retry_after)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/anthropic"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def busy() -> Iterator[FailingUpstream]:
    upstream = FailingUpstream(429, retry_after="30")
    yield upstream
    upstream.close()


def _gateway(stack: Stack, workdir: Path, accounts: list[dict]):  # type: ignore[no-untyped-def]
    env = {**STACK_ENV, "UPSTREAM_ANTHROPIC_ACCOUNTS": json.dumps(accounts)}
    return local_stack_process(workdir, args=["--dynamodb-url", stack.dynamodb_url, "--table-prefix", "bytespike-test",
                                              "--sweep-interval", "1", "--poll-interval", "0.2"], env=env)


def _ask(base_url: str, key: str, text: str = "hello", **extra: object) -> anthropic.types.Message:
    client = anthropic.Anthropic(base_url=base_url, api_key=key, max_retries=0)
    return client.messages.create(model=CLAUDE, max_tokens=50, messages=[{"role": "user", "content": text}], **extra)


def _clear_health(stack: Stack) -> None:
    items = stack.ddb.query(TableName=stack.tables["ACCOUNTS_TABLE"], KeyConditionExpression="pk = :p",
                            ExpressionAttributeValues={":p": s("UPSTREAM#anthropic")})["Items"]
    for item in items:
        stack.ddb.delete_item(TableName=stack.tables["ACCOUNTS_TABLE"], Key={"pk": item["pk"], "sk": item["sk"]})


def test_429_fails_over_and_cooldown_is_shared_across_processes(stack: Stack, busy: FailingUpstream,
                                                                tmp_path: Path) -> None:
    _clear_health(stack)
    org = stack.new_org(1_000_000)
    accounts = [
        {"name": "primary", "api_key": "sk-sim-primary", "base_url": busy.url, "priority": 0},
        {"name": "backup", "api_key": "sk-sim-backup", "base_url": stack.sim_url + "/anthropic", "priority": 1},
    ]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with _gateway(stack, tmp_path / "a", accounts) as (one, _, _), _gateway(stack, tmp_path / "b", accounts) as (two, _, _):
        first = _ask(one["base_url"], org.master_key)  # primary 429s -> backup answers
        assert first.content[0].text and busy.calls == 1
        second = _ask(two["base_url"], org.master_key)  # the other process skips the cooling account
        assert second.content[0].text and busy.calls == 1
        cooling = stack.ddb.get_item(TableName=stack.tables["ACCOUNTS_TABLE"],
                                     Key={"pk": s("UPSTREAM#anthropic"), "sk": s("ACCOUNT#primary")})["Item"]
        assert 10 < float(cooling["cooldown_until"]["N"]) - time.time() <= 30  # retry-after honoured
        # Let the retry-after pass: move the shared cooldown into the past, wait out the 2 s health cache.
        stack.ddb.update_item(TableName=stack.tables["ACCOUNTS_TABLE"],
                              Key={"pk": s("UPSTREAM#anthropic"), "sk": s("ACCOUNT#primary")},
                              UpdateExpression="SET cooldown_until = :t", ExpressionAttributeValues={":t": {"N": str(time.time() - 1)}})
        time.sleep(2.2)
        third = _ask(two["base_url"], org.master_key)
        assert third.content[0].text and busy.calls == 2
    res = stack.wait_all_released(org.org_id)
    assert len(res) == 3 and all(r["state"] == "SETTLED" for r in res)
    stack.assert_conservation(org.org_id)
    _clear_health(stack)


def test_all_accounts_down_gives_one_clean_error_with_retry_after(stack: Stack, busy: FailingUpstream,
                                                                 tmp_path: Path) -> None:
    _clear_health(stack)
    org = stack.new_org(1_000_000)
    accounts = [{"name": n, "api_key": "k", "base_url": busy.url} for n in ("x", "y")]
    with _gateway(stack, tmp_path, accounts) as (gw, _, _):
        r = httpx.post(gw["base_url"] + "/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                       json={"model": CLAUDE, "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]})
        assert r.status_code == 429 and r.headers["retry-after"] == "30" and busy.calls == 2
        again = httpx.post(gw["base_url"] + "/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                           json={"model": CLAUDE, "max_tokens": 20, "messages": [{"role": "user", "content": "x"}]})
        assert again.status_code == 529 and again.json()["error"]["type"] == "overloaded_error"
        assert 20 <= int(again.headers["retry-after"]) <= 30 and busy.calls == 2  # nobody was called
    res = stack.wait_all_released(org.org_id)
    assert all(r["cost"] == 0 for r in res)
    assert stack.wallet(org.org_id)["balance"] == org.topped_up
    _clear_health(stack)


def test_529_before_first_byte_fails_over_and_bad_key_disables(stack: Stack, tmp_path: Path) -> None:
    _clear_health(stack)
    overloaded = FailingUpstream(529)
    org = stack.new_org(1_000_000)
    accounts = [
        {"name": "revoked", "api_key": "sk-sim-invalid", "base_url": stack.sim_url + "/anthropic", "priority": 0},
        {"name": "busy", "api_key": "k", "base_url": overloaded.url, "priority": 1},
        {"name": "good", "api_key": "sk-sim-good", "base_url": stack.sim_url + "/anthropic", "priority": 2},
    ]
    try:
        with _gateway(stack, tmp_path, accounts) as (gw, _, _):
            msg = _ask(gw["base_url"], org.master_key)
            assert msg.content[0].text and overloaded.calls == 1
        health = {i["sk"]["S"]: i for i in stack.ddb.query(
            TableName=stack.tables["ACCOUNTS_TABLE"], KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": s("UPSTREAM#anthropic")})["Items"]}
        assert health["ACCOUNT#revoked"]["disabled"]["BOOL"] is True and "ttl" not in health["ACCOUNT#revoked"]
        assert float(health["ACCOUNT#busy"]["cooldown_until"]["N"]) > time.time()
    finally:
        overloaded.close()
        _clear_health(stack)


def test_error_after_first_byte_is_not_retried(stack: Stack, busy: FailingUpstream, tmp_path: Path) -> None:
    _clear_health(stack)
    org = stack.new_org(1_000_000)
    accounts = [{"name": "good", "api_key": "sk-sim-good", "base_url": stack.sim_url + "/anthropic", "priority": 0},
                {"name": "other", "api_key": "k", "base_url": busy.url, "priority": 1}]
    with _gateway(stack, tmp_path, accounts) as (gw, _, _):
        r = httpx.post(gw["base_url"] + "/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                       json={"model": CLAUDE, "max_tokens": 200, "stream": True,
                             "messages": [{"role": "user", "content": "x [[sim error_after=2]]"}]})
        assert r.status_code == 200 and "event: error" in r.text and busy.calls == 0
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and res["cost"] == 0


def test_sticky_sessions_stay_then_move_on_cooldown(stack: Stack, tmp_path: Path) -> None:
    _clear_health(stack)
    org = stack.new_org(1_000_000)
    names = ["a1", "a2", "a3", "a4"]
    accounts = [{"name": n, "api_key": f"sk-sim-{n}", "base_url": stack.sim_url + "/anthropic"} for n in names]
    with _gateway(stack, tmp_path, accounts) as (gw, _, _):
        def served_by(tag: str) -> str:
            _ask(gw["base_url"], org.master_key, f"turn {tag}", metadata={"user_id": "conversation-42"})
            [seen] = stack.sim_requests(f"turn {tag}")
            return seen["headers"]["x-api-key"]

        keys = {served_by(f"t{i}-{time.time_ns()}") for i in range(5)}
        assert len(keys) == 1
        home = keys.pop().removeprefix("sk-sim-")
        stack.ddb.put_item(TableName=stack.tables["ACCOUNTS_TABLE"], Item={
            "pk": s("UPSTREAM#anthropic"), "sk": s(f"ACCOUNT#{home}"), "cooldown_until": {"N": str(int(time.time()) + 60)}})
        time.sleep(2.2)  # the health cache
        moved = {served_by(f"m{i}-{time.time_ns()}") for i in range(3)}
        assert len(moved) == 1 and moved.pop() != f"sk-sim-{home}"
        # Different conversations spread over the pool.
        spread = set()
        for i in range(12):
            tag = f"u{i}-{time.time_ns()}"
            _ask(gw["base_url"], org.master_key, f"turn {tag}", metadata={"user_id": f"user-{i}"})
            spread.add(stack.sim_requests(f"turn {tag}")[0]["headers"]["x-api-key"])
        assert len(spread) >= 2
    _clear_health(stack)


def test_catalog_fallback_is_used_and_announced(stack: Stack) -> None:
    """claude-haiku-4-5 names claude-haiku-5-5 as its fallback in the catalog."""
    org = stack.new_org(1_000_000)
    tag = f"id=fb{time.time_ns()}"
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                   json={"model": "claude-haiku-4-5", "max_tokens": 50,
                         "messages": [{"role": "user", "content": f"x [[sim status=529 fail_times=1 {tag}]]"}]})
    assert r.status_code == 200, r.text
    assert r.headers["x-bytespike-fallback"] == "claude-haiku-4-5 -> claude-haiku-5-5"
    assert r.json()["model"] == "claude-haiku-5-5"
    [res] = stack.wait_all_released(org.org_id)
    assert res["cost"] == r.json()["usage"]["credits"] > 0
    # A model without a fallback surfaces the upstream's error.
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                   json={"model": CLAUDE, "max_tokens": 50,
                         "messages": [{"role": "user", "content": f"x [[sim status=529 fail_times=1 {tag}b]]"}]})
    assert r.status_code == 529 and "x-bytespike-fallback" not in r.headers


def test_catalog_fallback_only_to_a_model_the_key_may_use(stack: Stack) -> None:
    """Issue 14, finding 7: a key scoped to claude-haiku-4-5 was served by claude-haiku-5-5 through the
    catalog fallback. Now the fallback is skipped for such a key: it gets the original error, unbilled."""
    org = stack.create_org(1_000_000)
    scoped = stack.mint(org.master_key, member_id="scoped", models=["claude-haiku-4-5"])["secret"]
    tag = f"id=fbscope{time.time_ns()}"
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": scoped}, timeout=30,
                   json={"model": "claude-haiku-4-5", "max_tokens": 50,
                         "messages": [{"role": "user", "content": f"x [[sim status=529 fail_times=1 {tag}]]"}]})
    assert r.status_code == 529, r.text
    assert "x-bytespike-fallback" not in r.headers and r.json()["error"]["type"] == "overloaded_error"
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "FAILED" and int(res["cost"]) == 0 and res["model"] == "claude-haiku-4-5"
    assert stack.assert_conservation(org.org_id)["billed"] == 0
    # The same failure through the unscoped master still falls back.
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": org.master_key}, timeout=30,
                   json={"model": "claude-haiku-4-5", "max_tokens": 50,
                         "messages": [{"role": "user", "content": f"x [[sim status=529 fail_times=1 {tag}m]]"}]})
    assert r.status_code == 200 and r.headers["x-bytespike-fallback"] == "claude-haiku-4-5 -> claude-haiku-5-5"
