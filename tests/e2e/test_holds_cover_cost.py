"""Holds that cover what a request can cost, and broke wallets that never reach the provider
(issue 14, findings 3 and 5).

``n`` > 1 on an OpenAI-format pass-through generates n completions, each up to the output
budget, billed together: the hold was sized for one, so the bill could pass it and be capped
away. A hold that failed for lack of credit used to run beside the upstream call: the
provider had the request before the 402.
"""

from __future__ import annotations

import asyncio
import json
import secrets

import httpx
import pytest

from bytespike.billing import MILLION
from bytespike.catalog import catalog
from tests.support.stack import Stack, gateway_on

GPT = "gpt-6-luna"


def _chat(base: str, key: str, text: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{base}/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=30,
                      json={"model": GPT, "max_tokens": 300, "messages": [{"role": "user", "content": text}], **extra})


@pytest.mark.parametrize("stream", [False, True])
def test_n_choices_are_held_and_billed_in_full(stack: Stack, stream: bool) -> None:
    org = stack.new_org(10_000_000)
    model = catalog().model(GPT)
    assert model is not None
    one = _chat(stack.base_url, org.master_key, "count to nine [[sim words=30]]")
    three = _chat(stack.base_url, org.master_key, "count to nine [[sim words=30]]", n=3, stream=stream,
                  **({"stream_options": {"include_usage": True}} if stream else {}))
    assert one.status_code == three.status_code == 200, three.text[:300]
    held_one, held_three = int(one.headers["estimated_credits"]), int(three.headers["estimated_credits"])
    # The output budget is held three times (the prompt once).
    assert abs((held_three - held_one) - 2 * 300 * model.price.output / MILLION) <= 1, (held_one, held_three)
    if stream:
        chunks = [json.loads(line[6:]) for line in three.text.splitlines() if line.startswith("data: {")]
        indices = {c["index"] for chunk in chunks for c in chunk.get("choices") or []}
        usage = chunks[-1]["usage"]
    else:
        body = three.json()
        indices = {c["index"] for c in body["choices"]}
        usage = body["usage"]
    assert indices == {0, 1, 2}
    single = one.json()["usage"]
    assert usage["completion_tokens"] == 3 * single["completion_tokens"]
    assert usage["credits"] > one.json()["usage"]["credits"] * 2  # three completions billed, none capped away
    reservations = {r["id"]: r for r in stack.wait_all_released(org.org_id)}
    assert int(reservations[three.headers["request-id"]]["cost"]) == usage["credits"] <= held_three
    stack.assert_conservation(org.org_id)


def test_n_out_of_range_is_a_400_and_holds_nothing(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    for n in (0, 129, "2", 1.5):
        r = _chat(stack.base_url, org.master_key, "hi", n=n)
        assert r.status_code == 400 and r.json()["error"]["param"] == "n", (n, r.text)
    # A lane that cannot produce several completions refuses n > 1 in OpenAI's wording.
    r = httpx.post(f"{stack.base_url}/v1/chat/completions", headers={"authorization": f"Bearer {org.master_key}"},
                   timeout=30, json={"model": "claude-haiku-5-5", "max_tokens": 50, "n": 2,
                                     "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "n", r.text
    assert stack.reservations(org.org_id) == []


@pytest.fixture(scope="module")
def cold_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A freshly started gateway process: it knows no wallet yet."""
    with gateway_on(stack, tmp_path_factory.mktemp("cold"), {}) as (info, _, _):
        yield info


def _reached(gateway: dict, text: str) -> int:
    """How many requests containing ``text`` this gateway's own simulator (its upstream) received."""
    r = httpx.get(gateway["simulator_url"] + "/_sim/requests", params={"contains": text}, timeout=5)
    return len(r.json()["requests"])


async def _burst(base: str, key: str, text: str, count: int, surface: str = "anthropic") -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=count)) as http:
        if surface == "anthropic":
            calls = [http.post(f"{base}/v1/messages", headers={"x-api-key": key}, json={
                "model": "claude-haiku-5-5", "max_tokens": 100, "messages": [{"role": "user", "content": text}]})
                for _ in range(count)]
        else:
            calls = [http.post(f"{base}/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, json={
                "model": GPT, "max_tokens": 100, "messages": [{"role": "user", "content": text}]})
                for _ in range(count)]
        return list(await asyncio.gather(*calls))


@pytest.mark.parametrize("surface", ["anthropic", "openai"])
def test_a_broke_wallet_never_reaches_the_upstream(stack: Stack, cold_gateway: dict, surface: str) -> None:
    """50 concurrent requests on an empty wallet, on a process that has never seen the org: all 402,
    nothing held, and none of them reached the provider (before: all 50 did)."""
    org = stack.new_org(0)
    tag = f"broke-{secrets.token_hex(4)}"
    responses = asyncio.run(_burst(cold_gateway["base_url"], org.master_key, f"hello {tag}", 50, surface))
    assert {r.status_code for r in responses} == {402}
    assert _reached(cold_gateway, tag) == 0
    assert stack.reservations(org.org_id) == []
    stack.assert_conservation(org.org_id)
    # The process now knows the wallet is empty: later requests are refused before the upstream too.
    responses = asyncio.run(_burst(cold_gateway["base_url"], org.master_key, f"again {tag}", 5, surface))
    assert {r.status_code for r in responses} == {402} and _reached(cold_gateway, tag) == 0


def test_a_wallet_that_runs_dry_stops_reaching_the_upstream(stack: Stack, cold_gateway: dict) -> None:
    """A wallet with room for a few holds, then a burst: the upstream sees the requests that were
    held (and perhaps a few overlapped ones the wallet then refused), never the whole burst."""
    probe = stack.new_org(10_000_000)
    hold = int(asyncio.run(_burst(cold_gateway["base_url"], probe.master_key, "size", 1))[0].headers["estimated_credits"])
    org = stack.new_org(hold * 4 + hold // 2)
    tag = f"dry-{secrets.token_hex(4)}"
    warm = asyncio.run(_burst(cold_gateway["base_url"], org.master_key, f"warm {tag}", 1))  # the process learns the wallet
    assert warm[0].status_code == 200
    stack.wait_all_released(org.org_id)
    responses = asyncio.run(_burst(cold_gateway["base_url"], org.master_key, f"burst {tag}", 40))
    ok = sum(r.status_code == 200 for r in responses)
    assert ok >= 1 and {r.status_code for r in responses} <= {200, 402}
    reached = _reached(cold_gateway, f"burst {tag}")
    assert ok <= reached <= ok + 8, (ok, reached)  # not the 40 of the burst
    stack.wait_all_released(org.org_id)
    stack.assert_conservation(org.org_id)


def test_openai_without_max_tokens_is_held_for_the_model_maximum(stack: Stack) -> None:
    org = stack.new_org(100_000_000)
    model = catalog().model(GPT)
    assert model is not None
    r = httpx.post(f"{stack.base_url}/v1/chat/completions", headers={"authorization": f"Bearer {org.master_key}"},
                   timeout=30, json={"model": GPT, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    held = int(r.headers["estimated_credits"])
    assert held >= model.max_output_tokens * model.price.output // MILLION
    assert r.json()["usage"]["credits"] < held
