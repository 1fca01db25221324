"""The catalog's price rules as the estimator and the settle apply them (issue 14, finding 2).

Long-context tiers bill the whole request at the dearer rates once the prompt (input + cache
reads + cache writes) is past the threshold; off-peak rates apply outside the peak windows;
an announced price applies from its effective date. The hold uses the same rules, so it
stays a ceiling of the bill.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bytespike.billing import MILLION, Usage, hold_credits, price_at, price_usage, usage_credits
from bytespike.catalog import catalog

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC).timestamp()  # a Saturday, off-peak everywhere


def ts(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(("model_id", "threshold"), [
    ("claude-haiku-5-5", 100_000),  # Anthropic
    ("gemini-3.1-pro-preview", 200_000),  # Gemini
    ("gpt-6.2-sol", 272_000),  # OpenAI
    ("gpt-6-luna", 272_000),
])
def test_long_context_tier_at_both_sides_of_the_threshold(model_id: str, threshold: int) -> None:
    model = catalog().model(model_id)
    assert model is not None and model.price_long is not None and model.price_long.threshold == threshold
    at_threshold = Usage(input=threshold - 1000, cache_read=600, cache_write_5m=400, output=2000)
    past = Usage(input=threshold - 1000, cache_read=600, cache_write_5m=401, output=2000)
    assert at_threshold.prompt_tokens == threshold and past.prompt_tokens == threshold + 1
    assert price_at(model, prompt_tokens=threshold, at=NOW) == model.price
    assert price_at(model, prompt_tokens=threshold + 1, at=NOW) == model.price_long.price
    assert usage_credits(model, at_threshold, at=NOW) == price_usage(model.price, at_threshold)
    # The whole request, output included, at the long rates - not just the tokens past the threshold.
    assert usage_credits(model, past, at=NOW) == price_usage(model.price_long.price, past)
    assert usage_credits(model, past, at=NOW) > usage_credits(model, at_threshold, at=NOW) * 1.4


def test_the_issue_figure_a_156k_prompt_on_haiku_5_5() -> None:
    """The issue's case (a 156k-token prompt): the long tier bills it at 5x the base rate it got before."""
    model = catalog().model("claude-haiku-5-5")
    assert model is not None
    usage = Usage(input=156_000, output=600)
    assert price_usage(model.price, usage) == 15_900  # the base rate (what was billed, for this usage)
    assert usage_credits(model, usage, at=NOW) == 79_500  # 156,000 x $0.50 + 600 x $2.50 per million


def test_the_hold_is_sized_at_the_long_tier_when_the_prompt_may_cross_it() -> None:
    """Capping the bill at the hold would have hidden the long tier: the hold must be sized at it."""
    model = catalog().model("claude-haiku-5-5")
    assert model is not None and model.price_long is not None
    long = model.price_long.price
    held = hold_credits(model, {"max_tokens": 1000}, input_tokens=160_000, cache_ttl=None, at=NOW)
    assert held == -(-(160_000 * long.input + 1000 * long.output) // MILLION)
    small = hold_credits(model, {"max_tokens": 1000}, input_tokens=90_000, cache_ttl=None, at=NOW)
    assert small == -(-(90_000 * model.price.input + 1000 * model.price.output) // MILLION)
    # A request that writes the cache is held at the long tier's write rate.
    cached = hold_credits(model, {"max_tokens": 1000}, input_tokens=160_000, cache_ttl="1h", at=NOW)
    assert cached == -(-(160_000 * long.cache_write_1h + 1000 * long.output) // MILLION)
    assert held >= usage_credits(model, Usage(input=159_000, output=1000), at=NOW)


@pytest.mark.parametrize(("moment", "peak"), [
    ("2026-12-07T00:59:59", False),  # Monday, before the first window
    ("2026-12-07T01:00:00", True),
    ("2026-12-07T03:59:59", True),
    ("2026-12-07T04:00:00", False),  # end is exclusive
    ("2026-12-07T06:00:00", True),
    ("2026-12-07T09:59:00", True),
    ("2026-12-07T10:00:00", False),
    ("2026-12-11T02:00:00", True),  # Friday
    ("2026-12-12T02:00:00", False),  # Saturday: off-peak all day
    ("2026-12-13T07:00:00", False),  # Sunday
])
def test_deepseek_off_peak_rates_outside_the_peak_windows(moment: str, peak: bool) -> None:
    model = catalog().model("deepseek-flash")
    assert model is not None and model.price_offpeak is not None
    usage = Usage(input=10_000, cache_read=5_000, output=3_000)
    expected = model.price if peak else model.price_offpeak.price
    assert price_at(model, prompt_tokens=15_000, at=ts(moment)) == expected
    assert usage_credits(model, usage, at=ts(moment)) == price_usage(expected, usage)
    # Off-peak is half the peak rate for DeepSeek; the hold follows the same moment.
    assert hold_credits(model, {"max_tokens": 100}, input_tokens=1000, cache_ttl=None, at=ts(moment)) == (
        -(-(1000 * expected.input + 100 * expected.output) // MILLION))


def test_an_announced_price_applies_from_its_effective_date() -> None:
    model = catalog().model("gemini-3.8-flash")
    assert model is not None and model.price_next is not None
    usage = Usage(input=10_000, output=1_000)
    assert usage_credits(model, usage, at=ts("2026-12-31T23:59:59")) == price_usage(model.price, usage)
    assert usage_credits(model, usage, at=ts("2027-01-01T00:00:00")) == price_usage(model.price_next.price, usage)
    assert model.price_next.price.input == 2 * model.price.input


def test_a_model_without_rules_always_bills_its_price() -> None:
    model = catalog().model("claude-sonnet-5-5")
    assert model is not None
    for prompt, moment in ((10, "2026-12-07T02:00:00"), (5_000_000, "2030-01-01T00:00:00")):
        assert price_at(model, prompt_tokens=prompt, at=ts(moment)) == model.price


def test_success_bills_each_token_kind_at_its_own_price() -> None:
    model = catalog().model("claude-sonnet-5-5")
    assert model is not None
    p = model.price
    usage = Usage(input=1_001, output=333, cache_write_5m=2_000, cache_write_1h=3_000, cache_read=50_000)
    micro = (1_001 * p.input + 333 * p.output + 2_000 * p.cache_write_5m + 3_000 * p.cache_write_1h
             + 50_000 * p.cache_read)
    assert usage_credits(model, usage, at=NOW) == -(-micro // MILLION)  # rounded up to a whole credit
    assert len({p.input, p.output, p.cache_write_5m, p.cache_write_1h, p.cache_read}) == 5


def test_the_hold_uses_the_cache_write_rate_when_the_request_can_write() -> None:
    model = catalog().model("claude-sonnet-5-5")
    assert model is not None
    p = model.price
    for ttl, rate in ((None, p.input), ("5m", p.cache_write_5m), ("1h", p.cache_write_1h)):
        held = hold_credits(model, {"max_tokens": 100}, input_tokens=10_000, cache_ttl=ttl, at=NOW)
        assert held == -(-(10_000 * rate + 100 * p.output) // MILLION), ttl
    # No max_tokens (OpenAI callers may omit it): the model's whole output is held.
    assert hold_credits(model, {}, input_tokens=10, cache_ttl=None, at=NOW) == (
        -(-(10 * p.input + model.max_output_tokens * p.output) // MILLION))


def test_missing_cache_prices_bill_as_input() -> None:
    from bytespike.catalog.schema import PriceEntry

    price = PriceEntry(input=100, output=500).to_price()
    assert (price.cache_write_5m, price.cache_write_1h, price.cache_read) == (100, 100, 100)
    openai_style = PriceEntry(input=100, output=500, cache_write=125, cache_read=10).to_price()
    assert (openai_style.cache_write_5m, openai_style.cache_write_1h, openai_style.cache_read) == (125, 125, 10)
    ark = catalog().model("doubao-seed-2-1-lite")  # a catalog model with neither
    assert ark is not None and ark.price.cache_read == ark.price.input == ark.price.cache_write_5m


def test_the_bill_never_passes_the_hold() -> None:
    from bytespike.gateway.pipeline import Call, billed_credits, credits_for
    from bytespike.store.keys import KeyRecord

    model = catalog().model("claude-haiku-5-5")
    assert model is not None
    key = KeyRecord(digest="d" * 64, key_id="k", org_id="o", kind="master", member_id="owner")
    call = Call(request_id="r", surface="anthropic", key=key, model=model, hold=1_000, reservation_id="r", at=NOW)
    huge = Usage(input=10_000_000, output=1_000_000)
    assert credits_for(call, huge) == 1_000 and billed_credits(call, huge) == 1_000
    assert billed_credits(call, None, cost=1_005) == 1_000  # media: a unit cost above the hold
    assert billed_credits(call, Usage(input=10, output=10)) < 1_000
