"""Long-context prices end to end (issue 14, finding 2): estimate, hold and settle, per provider.

A prompt past the model's threshold is billed, whole request, at the catalog's ``price_long``;
one just under it at ``price``. The hold is sized from the gateway's upper-leaning estimate
(UTF-8 bytes / 2.5), so both prompts here are held at the long tier; the settle then follows
the upstream's own count (the simulator's: bytes / 4). Before the fix a 156k-token prompt was
billed at the base rate, and the hold - sized at the base rate - would have capped a fixed
settle anyway. Runs on the production-default gateway (6 MB bodies: OpenAI's 272k threshold
needs a ~1.1 MB prompt).
"""

from __future__ import annotations

import httpx
import pytest

from bytespike.billing import MILLION
from bytespike.catalog import Price, catalog
from tests.support.stack import Stack

pytestmark = pytest.mark.timeout(180)


def _cost(price: Price, input_tokens: int, output_tokens: int) -> int:
    return -(-(input_tokens * price.input + output_tokens * price.output) // MILLION)


def _prompt(tokens: int) -> str:
    """Text the simulator counts as ``tokens`` (4 UTF-8 bytes per token, see simulator/tokens.py)."""
    return "abc " * tokens


def _ask(base_url: str, key: str, model_id: str, text: str) -> httpx.Response:
    model = catalog().model(model_id)
    assert model is not None
    if catalog().provider_of(model).wire == "openai":
        return httpx.post(f"{base_url}/v1/chat/completions", headers={"authorization": f"Bearer {key}"}, timeout=60,
                          json={"model": model_id, "max_tokens": 50, "messages": [{"role": "user", "content": text}]})
    return httpx.post(f"{base_url}/v1/messages", headers={"x-api-key": key, "anthropic-version": "2023-06-01"},
                      timeout=60, json={"model": model_id, "max_tokens": 50,
                                        "messages": [{"role": "user", "content": text}]})


def _usage(r: httpx.Response) -> tuple[int, int, int]:
    """(prompt tokens, output tokens, credits) from either surface's body."""
    u = r.json()["usage"]
    if "prompt_tokens" in u:
        return u["prompt_tokens"], u["completion_tokens"], u["credits"]
    return u["input_tokens"], u["output_tokens"], u["credits"]


@pytest.mark.parametrize("model_id", ["claude-haiku-5-5", "gemini-3.1-pro-preview", "gpt-6-luna"])
def test_long_context_prompts_are_held_and_billed_at_the_long_tier(stack: Stack, production_gateway: str,
                                                                   model_id: str) -> None:
    model = catalog().model(model_id)
    assert model is not None and model.price_long is not None
    threshold = model.price_long.threshold
    org = stack.new_org(200_000_000)
    bills = {}
    for side, tokens in (("under", threshold - 2_000), ("over", threshold + 2_000)):
        r = _ask(production_gateway, org.master_key, model_id, _prompt(tokens))
        assert r.status_code == 200, r.text[:300]
        prompt, output, credits = _usage(r)
        assert (prompt <= threshold) == (side == "under"), (side, prompt)
        rates = model.price if side == "under" else model.price_long.price
        assert credits == _cost(rates, prompt, output), (side, credits)
        # Held at the long tier either way: the estimate (bytes / 2.5) is past the threshold.
        assert int(r.headers["estimated_credits"]) >= _cost(model.price_long.price, prompt, 50) >= credits
        bills[side] = (r.headers["request-id"], credits)
    reservations = {x["id"]: x for x in stack.wait_all_released(org.org_id)}
    for rid, credits in bills.values():
        assert int(reservations[rid]["cost"]) == credits
    assert stack.assert_conservation(org.org_id)["billed"] == sum(c for _, c in bills.values())
    # The over-threshold bill is the long tier's: ~2x-5x the base rate for the same size.
    assert bills["over"][1] > 1.5 * bills["under"][1]


def test_a_short_prompt_is_held_at_the_base_rate(stack: Stack, production_gateway: str) -> None:
    org = stack.new_org(10_000_000)
    model = catalog().model("claude-haiku-5-5")
    assert model is not None and model.price_long is not None
    r = _ask(production_gateway, org.master_key, "claude-haiku-5-5", "hello")
    assert r.status_code == 200
    held = int(r.headers["estimated_credits"])
    assert _cost(model.price, 20, 50) <= held < _cost(model.price_long.price, 20, 50)
