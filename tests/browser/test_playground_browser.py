"""The playground in a real browser against the local stack: estimate before confirming,
streamed answer, billed credits, three free runs then a friendly refusal, a pasted key.

Screenshots of the page's states go to docs/screenshots/ (the README shows one).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playwright.sync_api import Page, expect

from tests.browser.conftest import SourceRelay, opened, shot
from tests.support.stack import Stack, next_client_ip

FREE = "claude-haiku-5-5"
PAID = "claude-sonnet-5-5"  # not on the free list


@contextmanager
def visitor(browser: Any, stack: Stack, ip: str | None = None, **context: Any) -> Iterator[Page]:
    """A fresh browser context (its own sessionStorage) whose requests reach the stack from ``ip``."""
    relay = SourceRelay(urlparse(stack.base_url).port or 80, ip or next_client_ip())
    try:
        with opened(browser, relay.url + "/", **context) as page:
            yield page
    finally:
        relay.close()


def estimate(page: Page, prompt: str, model: str = FREE) -> int:
    page.select_option("#model", model)
    page.fill("#prompt", prompt)
    page.click("#estimate-btn")
    text = page.locator("#estimate-text")
    expect(text).to_contain_text("credits")
    expect(page.locator("#confirm-btn")).to_be_focused()  # keyboard users land on the decision
    return int(re.search(r"up to ([\d,]+) credits", text.inner_text()).group(1).replace(",", ""))


def confirm_and_wait(page: Page) -> int:
    page.keyboard.press("Enter")  # the focused "Confirm and run" button
    expect(page.locator("#result")).to_contain_text("Billed", timeout=20_000)
    billed = re.search(r"Billed ([\d,]+) credits", page.locator("#result").inner_text()).group(1)
    return int(billed.replace(",", ""))


def test_free_runs_estimate_stream_bill_then_friendly_refusal(browser: Any, stack: Stack, shots: Path) -> None:
    before = {r["id"] for r in stack.reservations(stack.house_org)}
    with visitor(browser, stack) as page:
        expect(page.locator("#runs")).to_have_text("Free runs left today: 3 of 3")
        expect(page.locator("#model option[value='claude-opus-5-5']")).to_be_disabled()  # needs a key
        shot(page, shots, "playground-1-start.png")

        est = estimate(page, "Explain in two sentences why the sea is salty.")
        page.fill("#system", "You are a concise science tutor.")
        expect(page.locator("#estimate")).to_be_hidden()  # any edit withdraws the estimate
        est = estimate(page, "Explain in two sentences why the sea is salty.")
        assert est > 0
        expect(page.locator("#output .block")).to_have_count(0)  # nothing ran before confirming
        expect(page.locator("#runs")).to_have_text("Free runs left today: 3 of 3")
        shot(page, shots, "playground-2-estimate.png")

        billed = confirm_and_wait(page)
        expect(page.locator("#output .block.text")).to_contain_text("You said: Explain")
        expect(page.locator("#output")).to_have_attribute("aria-busy", "false")
        assert 0 < billed <= est
        expect(page.locator("#result")).to_contain_text(f"estimate was up to {est:,}")
        expect(page.locator("#runs")).to_have_text("Free runs left today: 2 of 3")
        shot(page, shots, "playground-3-answer.png")
        request_id = re.search(r"req_[0-9a-f]+", page.locator("#result").inner_text()).group(0)

        for n in (2, 3):
            estimate(page, f"Run number {n}: say hello.")
            confirm_and_wait(page)
            expect(page.locator("#runs")).to_have_text(f"Free runs left today: {3 - n} of 3")

        # The fourth estimate says at once that the run would not start (it used to offer "1 of your 0
        # free runs left" and a confirm button, then refuse).
        page.fill("#prompt", "A fourth run, please.")
        page.click("#estimate-btn")
        text = page.locator("#estimate-text")
        expect(text).to_contain_text("No free runs left today (3 of 3 used)")
        expect(text).not_to_contain_text("0 free runs")
        expect(page.locator("#confirm-btn")).to_be_hidden()
        limit = page.locator("#limit")
        expect(limit).to_be_visible()
        expect(limit).to_contain_text("You have used today's 3 free runs")
        expect(limit).to_contain_text("paste it under")
        expect(page.locator("#limit-key-btn")).to_be_focused()
        expect(page.locator("#runs")).to_have_text("Free runs left today: 0 of 3")
        shot(page, shots, "playground-5-limit.png")
        page.click("#limit-key-btn")
        expect(page.locator("#api-key")).to_be_focused()

    # The billed figure on the page is the ledger's; the fourth run reached nothing.
    released = {r["id"]: r for r in stack.wait_all_released(stack.house_org) if r["id"] not in before}
    assert len(released) == 3
    assert released[request_id]["cost"] == billed


def test_thinking_tools_code_and_no_layout_jumps(browser: Any, stack: Stack, shots: Path) -> None:
    with visitor(browser, stack) as page:
        page.select_option("#model", FREE)
        page.check("#thinking")
        estimate(page, "Is 1,001 a prime number? Explain briefly.")
        confirm_and_wait(page)
        thinking = page.locator("#output details.block.thinking")
        expect(thinking).to_have_count(1)
        expect(thinking.locator("summary")).to_have_text("Thinking")
        expect(page.locator("#output .block.text")).to_have_count(1)
        shot(page, shots, "playground-4-thinking.png")

        # A slow stream: the text grows inside the fixed-height output; nothing below it moves.
        page.uncheck("#thinking")
        page.check("#tool")
        estimate(page, "Weather in Lisbon? [[sim tools=1 deltas=40 interval_ms=40]]")
        below = page.locator("#code-h")
        y0 = below.bounding_box()["y"]
        page.keyboard.press("Enter")
        expect(page.locator("#output")).to_have_attribute("aria-busy", "true")
        ys = []
        for _ in range(8):
            page.wait_for_timeout(100)
            ys.append(below.bounding_box()["y"])
        expect(page.locator("#result")).to_contain_text("Billed", timeout=20_000)
        assert set(ys) == {y0}, ys
        tool = page.locator("#output .block.tool")
        expect(tool).to_contain_text("Tool call · get_weather")
        expect(tool.locator("pre")).to_contain_text('"city"')

        # The request as code, for both surfaces, with a placeholder key only.
        expect(page.locator("#code")).to_contain_text("/v1/messages")
        page.check("input[name=surface][value=openai]")
        page.click("#tab-python")
        code = page.locator("#code")
        expect(code).to_contain_text("from openai import OpenAI")
        expect(code).to_contain_text('os.environ["BYTESPIKE_API_KEY"]')
        page.keyboard.press("ArrowLeft")
        expect(page.locator("#tab-curl")).to_be_focused()
        expect(code).to_contain_text("Authorization: Bearer $BYTESPIKE_API_KEY")
        expect(code).to_contain_text('"stream_options"')
        assert stack.house_key not in page.content()

        # The OpenAI surface streams too (and a gateway error shows the API's own message).
        page.uncheck("#tool")
        estimate(page, "Say hi over the OpenAI surface.")
        confirm_and_wait(page)
        expect(page.locator("#output .block.text")).to_contain_text("hi")
        expect(page.locator("#runs")).to_have_text("Free runs left today: 0 of 3")


def test_pasted_key_lifts_the_limit(browser: Any, stack: Stack, shots: Path) -> None:
    ip = next_client_ip()
    with stack.http_from(ip, timeout=30) as client:  # this visitor already spent the free runs
        for i in range(3):
            r = client.post("/playground/run", json={"surface": "openai", "request": {
                "model": "deepseek-flash", "max_tokens": 32, "messages": [{"role": "user", "content": f"spend {i}"}]}})
            assert r.status_code == 200
    org = stack.new_org(2_000_000)
    with visitor(browser, stack, ip) as page:
        expect(page.locator("#runs")).to_have_text("Free runs left today: 0 of 3")
        page.locator("#key-details summary").click()
        page.fill("#api-key", org.master_key)
        page.keyboard.press("Enter")
        expect(page.locator("#runs")).to_contain_text("Using your API key")
        expect(page.locator("#key-status")).to_contain_text("in use")
        assert page.evaluate("sessionStorage.getItem('bytespike.apiKey')") == org.master_key
        assert org.master_key not in page.locator("#api-key").input_value()  # cleared from the field
        expect(page.locator(f"#model option[value='{PAID}']")).to_be_enabled()
        page.fill("#max-tokens", "2048")  # above the free cap: fine with a key
        est = estimate(page, "Summarise the plot of Hamlet in one line.", model=PAID)
        expect(page.locator("#estimate-text")).to_contain_text("Billed to your key's wallet")
        billed = confirm_and_wait(page)
        assert 0 < billed <= est
        expect(page.locator("#output .block.text")).not_to_be_empty()
        shot(page, shots, "playground-6-own-key.png")
        for _ in range(3):  # no IP limit with a key
            estimate(page, "Again.", model=PAID)
            confirm_and_wait(page)

        # A gateway error is shown as the API's message (not a blank page), and bills nothing.
        estimate(page, "Break please [[sim status=400]]", model=PAID)
        page.keyboard.press("Enter")
        error = page.locator("#error")
        expect(error).to_be_visible()
        expect(error).to_contain_text("Error 400")
        assert page.locator("#error").inner_text().strip() != "Error 400:"

        page.reload()  # the key survives a reload of this tab (sessionStorage) ...
        expect(page.locator("body")).to_have_attribute("data-ready", "true")
        expect(page.locator("#runs")).to_contain_text("Using your API key")
        page.click("#key-forget")  # ... until forgotten
        expect(page.locator("#runs")).to_have_text("Free runs left today: 0 of 3")
        assert page.evaluate("sessionStorage.getItem('bytespike.apiKey')") is None
    res = stack.wait_all_released(org.org_id)
    assert len(res) == 5 and sum(r["cost"] for r in res) > 0
    stack.assert_conservation(org.org_id)


def test_narrow_screen_is_readable(browser: Any, stack: Stack, shots: Path) -> None:
    with visitor(browser, stack, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True) as page:
        page.select_option("#model", FREE)
        estimate(page, "Give me a haiku about loopback addresses.")
        confirm_and_wait(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
        shot(page, shots, "playground-7-mobile.png")
        # Keyboard: every control is reachable and shows focus.
        page.locator("#model").focus()
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.name || document.activeElement.id")
        assert focused == "surface"
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none"
