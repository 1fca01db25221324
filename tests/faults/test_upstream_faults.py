"""Upstream faults on both surfaces: the client gets a proper error in its own protocol, the hold is
released and nothing is billed (conservation holds); an oversized reply is passed through and billed
exactly at the upstream's usage, capped at the hold."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bytespike.billing import Usage, price_usage
from bytespike.catalog import catalog
from tests.conftest import STACK_ENV
from tests.faults._support import (
    CLAUDE,
    SURFACES,
    assert_error,
    assert_error_body,
    assert_released_unbilled,
    assert_stream_error,
    post,
    request,
    sse_data,
)
from tests.support.stack import Stack, free_port, local_stack_process


# ---------------------------------------------------------------- a misbehaving upstream
class FaultUpstream:
    """An Anthropic-wire upstream steered by a ``FAULT=<name>`` marker in the request text.

    hang: accept and never answer; badsse: 200 then ``message_start`` with invalid JSON;
    garbage: 200 then binary junk; anything else is proxied to the simulator (sim directives work).
    """

    def __init__(self, sim_url: str) -> None:
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                text = raw.decode("utf-8", "replace")
                stream = bool(json.loads(raw).get("stream"))
                if "FAULT=hang" in text:
                    outer.release.wait(20)
                    return
                if "FAULT=badsse" in text or "FAULT=garbage" in text:
                    junk = (b"event: message_start\ndata: {\"type\": \"message_start\", \"message\": {oops\n\n"
                            if "FAULT=badsse" in text else b"\x00\xff\xfe\x89PNG\r\n\x1a\n\xde\xad\xbe\xef" * 64)
                    self.send_response(200)
                    self.send_header("content-type", "text/event-stream" if stream else "application/json")
                    if not stream:
                        self.send_header("content-length", str(len(junk)))
                    self.end_headers()
                    self.wfile.write(junk)
                    self.wfile.flush()
                    return
                fwd = {k: v for k, v in self.headers.items()
                       if k.lower() in ("x-api-key", "anthropic-version", "anthropic-beta", "content-type")}
                with httpx.stream("POST", sim_url + self.path, content=raw, headers=fwd, timeout=30) as r:
                    self.send_response(r.status_code)
                    for k, v in r.headers.items():
                        if k.lower() in ("content-type", "retry-after", "request-id"):
                            self.send_header(k, v)
                    self.end_headers()
                    try:
                        for chunk in r.iter_raw():
                            self.wfile.write(chunk)
                            self.wfile.flush()
                    except OSError:
                        pass

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/anthropic"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _gateway(stack: Stack, workdir: Path, base_url: str, **env: str):  # type: ignore[no-untyped-def]
    accounts = [{"name": f"faults-{workdir.name}", "api_key": "sk-sim-faults", "base_url": base_url}]
    return local_stack_process(
        workdir, args=["--dynamodb-url", stack.dynamodb_url, "--table-prefix", "bytespike-test",
                       "--sweep-interval", "1", "--poll-interval", "0.2"],
        env={**STACK_ENV, "UPSTREAM_ANTHROPIC_ACCOUNTS": json.dumps(accounts), **env})


@pytest.fixture(scope="module")
def faulty(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose one Anthropic account is a FaultUpstream, with a 1 s idle timeout."""
    upstream = FaultUpstream(stack.sim_url)
    try:
        with _gateway(stack, tmp_path_factory.mktemp("faulty"), upstream.url, UPSTREAM_IDLE_TIMEOUT="1",
                      UPSTREAM_CONNECT_TIMEOUT="2") as (info, _, _):
            yield info["base_url"]
    finally:
        upstream.close()


@pytest.fixture(scope="module")
def refusing(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway whose one Anthropic account points at a closed loopback port."""
    closed = free_port()  # bound then released: nothing listens there
    with _gateway(stack, tmp_path_factory.mktemp("refusing"), f"http://127.0.0.1:{closed}/anthropic",
                  UPSTREAM_CONNECT_TIMEOUT="2") as (info, _, _):
        yield info["base_url"]


# ---------------------------------------------------------------- before the first byte
# Each test runs its cases on one org and waits for the releases once (the release wait dominates).
BOTH = [(surface, stream) for surface in SURFACES for stream in (True, False)]


def test_refused_connection(stack: Stack, refusing: str) -> None:
    org = stack.new_org(1_000_000)
    for surface, stream in BOTH:
        r = post(refusing, surface, org.master_key, "refused", stream=stream, model=CLAUDE)
        body = assert_error_body(surface, r)
        assert r.status_code in (502, 503, 529), (surface, stream, r.status_code, body)
    assert_released_unbilled(stack, org)


def test_timeout_before_headers(stack: Stack, faulty: str) -> None:
    org = stack.new_org(1_000_000)
    for surface, stream in BOTH:
        started = time.monotonic()
        r = post(faulty, surface, org.master_key, "FAULT=hang", stream=stream, model=CLAUDE)
        assert time.monotonic() - started < 10
        assert_error_body(surface, r)
        assert r.status_code in (502, 504), (surface, stream, r.status_code)
    assert_released_unbilled(stack, org)


def test_slow_first_token_past_idle_timeout(stack: Stack, faulty: str) -> None:
    """Streaming: headers and message_start came, then silence past the idle timeout (in-band error);
    non-streaming: the whole reply is late (an error status)."""
    org = stack.new_org(1_000_000)
    for surface, stream in BOTH:
        r = post(faulty, surface, org.master_key, "slow [[sim first_token_ms=1800]]", stream=stream, model=CLAUDE)
        if stream:
            assert_stream_error(surface, r)
        else:
            assert_error_body(surface, r)
            assert r.status_code in (502, 504)
    assert_released_unbilled(stack, org)


def test_malformed_upstream_body_after_200(stack: Stack, faulty: str) -> None:
    org = stack.new_org(1_000_000)
    for surface, stream in BOTH:
        for fault in ("badsse", "garbage"):
            r = post(faulty, surface, org.master_key, f"FAULT={fault}", stream=stream, model=CLAUDE)
            assert_error(surface, r, stream=stream)
    assert_released_unbilled(stack, org)


def test_status_before_first_byte(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    for surface, stream in BOTH:
        for status in (429, 500, 529):
            r = post(stack.base_url, surface, org.master_key, f"x [[sim status={status} retry_after=3]]", stream=stream)
            assert_error_body(surface, r)
            if status == 429:
                assert r.status_code == 429 and r.headers.get("retry-after") == "3"
    res = assert_released_unbilled(stack, org)
    assert len(res) == 12 and all(x["state"] == "FAILED" for x in res)


def test_non_json_error_body(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    for surface, stream in BOTH:
        r = post(stack.base_url, surface, org.master_key, "x [[sim error_body=html]]", stream=stream)
        assert_error_body(surface, r)
        assert r.status_code == 502
    assert_released_unbilled(stack, org)


def test_connection_dropped_or_error_mid_stream(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    for surface in SURFACES:
        for directive in ("drop_after=3", "error_after=3"):
            r = post(stack.base_url, surface, org.master_key, f"mid [[sim deltas=10 {directive}]]", stream=True)
            assert_stream_error(surface, r)
    res = assert_released_unbilled(stack, org)
    assert len(res) == 4 and all(x["state"] == "FAILED" for x in res)


# ---------------------------------------------------------------- oversized reply
def _priced(res: dict[str, Any]) -> int:
    u = res["usage"]
    usage = Usage(input=int(u.get("input_tokens", 0)), output=int(u.get("output_tokens", 0)),
                  cache_write_5m=int(u.get("cache_creation_5m_input_tokens", 0)),
                  cache_write_1h=int(u.get("cache_creation_1h_input_tokens", 0)),
                  cache_read=int(u.get("cache_read_input_tokens", 0)))
    model = catalog().model(res["model"])
    assert model is not None
    return price_usage(model.price, usage)


def _upstream_output_tokens(surface: str, r: httpx.Response, stream: bool) -> int:
    if not stream:
        u = r.json()["usage"]
        return int(u["output_tokens"] if surface == "anthropic" else u["completion_tokens"])
    tokens = 0
    for d in sse_data(r.text):
        if not isinstance(d, dict):
            continue
        if surface == "anthropic" and d.get("type") == "message_delta":
            tokens = int(d["usage"]["output_tokens"])
        elif surface == "openai" and d.get("usage"):
            tokens = int(d["usage"]["completion_tokens"])
    return tokens


@pytest.mark.parametrize(("surface", "stream"), [("anthropic", False), ("openai", True)])
def test_oversized_reply_passes_through_billed_exactly(stack: Stack, surface: str, stream: bool) -> None:
    """200 KB of reply text against a big max_tokens: relayed whole, billed at the upstream's usage (≤ hold)."""
    org = stack.new_org(50_000_000)
    path, headers, body = request(surface, org.master_key, "big [[sim oversize=200000]]", stream=stream,
                                  max_tokens=60_000)
    if surface == "openai" and stream:
        body["stream_options"] = {"include_usage": True}
    r = httpx.post(stack.base_url + path, json=body, headers=headers, timeout=60)
    assert r.status_code == 200, r.text[:500]
    assert len(r.content) > 150_000
    hold = int(r.headers["estimated_credits"])
    [res] = stack.wait_all_released(org.org_id)
    assert res["state"] == "SETTLED"
    out_tokens = _upstream_output_tokens(surface, r, stream)
    assert out_tokens > 1000 and int(res["usage"]["output_tokens"]) == out_tokens
    assert 0 < res["cost"] == min(_priced(res), hold)
    totals = stack.assert_conservation(org.org_id)
    assert totals["open_holds"] == 0 and totals["billed"] == res["cost"]


def test_gateways_stay_healthy(stack: Stack, faulty: str, refusing: str) -> None:
    for base in (stack.base_url, faulty, refusing):
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
