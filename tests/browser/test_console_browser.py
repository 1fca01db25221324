"""The console in a real browser (Playwright driving Debian's Chromium) against the local stack:
sign-in, charts drawn from real usage rows, mint/rotate/revoke round trips with the secret shown
once, a member who sees only its own key, and alerts that reach a webhook and an inbox.

Screenshots go to docs/screenshots/console-*.png when asked (``make screenshots``).
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from bytespike.alerts import webhook
from tests.browser.conftest import opened, shot
from tests.support.stack import Org, Stack
from tests.support.webhooks import Receiver, wait_emails

CLAUDE, GPT, GEMINI = "claude-haiku-5-5", "gpt-6-luna", "gemini-3.5-flash-lite"


@contextmanager
def console(browser: Any, stack: Stack, **context: Any) -> Iterator[Page]:
    with opened(browser, stack.base_url + "/console", **context) as page:
        yield page


def sign_in(page: Page, key: str) -> None:
    page.fill("#signin-key", key)
    page.click("#signin-form button[type=submit]")
    expect(page.locator("#who")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def go(page: Page, tab: str) -> None:
    page.click(f"#nav a[data-tab={tab}]")
    expect(page.locator(f"#tab-{tab}")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def fmt(n: int) -> str:
    return f"{n:,}"


def usage(stack: Stack, org: Org, keys: dict[str, str]) -> None:
    """Real requests: alice on Claude (twice, one coding session), bob on GPT (a session of its own)
    and Gemini (no session id), through both SDKs."""
    for i in range(2):
        stack.anthropic(keys["alice"]).messages.create(model=CLAUDE, max_tokens=64, messages=[
            {"role": "user", "content": f"alice {i} [[sim words=30]]"}], extra_headers={"X-Session-Id": "sess-alice"})
    stack.openai(keys["bob"]).chat.completions.create(model=GPT, max_tokens=64, messages=[
        {"role": "user", "content": "bob [[sim words=40]]"}], extra_headers={"X-Session-Id": "sess-bob"})
    stack.openai(keys["bob"]).chat.completions.create(model=GEMINI, max_tokens=64, messages=[
        {"role": "user", "content": "bob gemini [[sim words=20]]"}])
    stack.wait_all_released(org.org_id)


def summary(stack: Stack, key: str, group_by: str) -> dict[str, Any]:
    r = stack.admin("GET", "/v1/usage/summary", key, params={"group_by": group_by})
    assert r.status_code == 200, r.text
    return r.json()


def test_sign_in_is_refused_for_a_wrong_key(browser: Any, stack: Stack) -> None:
    with console(browser, stack) as page:
        page.fill("#signin-key", "sk-bs-" + "x" * 43)
        page.click("#signin-form button[type=submit]")
        expect(page.locator("#error")).to_contain_text("not accepted")
        expect(page.locator("#signin")).to_be_visible()
        assert page.evaluate("sessionStorage.length") == 0


def test_a_master_sees_its_wallet_and_charts_drawn_from_real_usage(browser: Any, stack: Stack, shots: Path) -> None:
    org = stack.create_org(20_000_000)
    keys = {m: stack.mint(org.master_key, member_id=m, quota=2_000_000)["secret"] for m in ("alice", "bob")}
    usage(stack, org, keys)
    totals = summary(stack, org.master_key, "day")["totals"]
    by_member = {r["member_id"]: r["credits"] for r in summary(stack, org.master_key, "member")["data"]}
    by_provider = {r["provider"]: r["credits"] for r in summary(stack, org.master_key, "provider")["data"]}
    assert set(by_provider) == {"anthropic", "openai", "gemini"} and totals["requests"] == 4
    wallet = stack.wallet(org.org_id)
    with console(browser, stack) as page:
        sign_in(page, org.master_key)
        expect(page.locator("#who-text")).to_contain_text(f"{org.org_id} · master key")
        assert page.evaluate("sessionStorage.getItem('bytespike.console.key')") == org.master_key
        assert org.master_key not in page.content()  # kept in storage, never rendered
        # Overview: the wallet, this month's spend and requests, the trend, each member's quota.
        expect(page.locator("#ov-balance")).to_have_text(fmt(wallet["balance"]))
        expect(page.locator("#ov-spent")).to_have_text(fmt(totals["credits"]))
        expect(page.locator("#ov-requests")).to_have_text("4")
        expect(page.locator("#ov-trend canvas").first).to_be_visible()
        expect(page.locator("#ov-trend")).to_have_attribute("data-total", str(totals["credits"]))
        expect(page.locator("#ov-quotas .meter")).to_have_count(2)
        expect(page.locator("#ov-quotas")).to_contain_text(f"{fmt(by_member['alice'])} / 2,000,000 per month")
        shot(page, shots, "console-1-overview.png")

        # Usage: the chart per member, model, provider; the data table says the same as the API.
        go(page, "usage")
        chart = page.locator("#usage-chart")
        expect(chart.locator("canvas").first).to_be_visible()
        expect(chart).to_have_attribute("data-series", "2")
        page.click("#usage-chart + p + details summary")
        table = page.locator("#usage-chart-table table")
        for member, credits in by_member.items():
            column = table.locator("thead th").all_inner_texts().index(member)
            cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
            assert sum(int(c.replace(",", "")) for c in cells) == credits, (member, cells)
        assert "alice" in (chart.get_attribute("aria-label") or "")
        page.check("input[name=group][value=provider]")
        expect(chart).to_have_attribute("data-series", "3")
        assert set(table.locator("thead th").all_inner_texts()) >= set(by_provider)
        # Per coding session (the client's session id on the usage rows; rows without one as "(none)").
        by_session = {r["session_id"] or "(none)": r["credits"] for r in summary(stack, org.master_key, "session")["data"]}
        assert set(by_session) == {"sess-alice", "sess-bob", "(none)"}, by_session
        expect(page.locator("#group-session")).to_be_visible()
        page.check("input[name=group][value=session]")
        expect(chart).to_have_attribute("data-series", "3")
        expect(table.locator("thead")).to_contain_text("sess-alice")  # the provider chart also had 3 series
        for session, credits in by_session.items():
            column = table.locator("thead th").all_inner_texts().index(session)
            cells = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
            assert sum(int(c.replace(",", "")) for c in cells) == credits, (session, cells)
        page.check("input[name=group][value=model]")
        expect(chart).to_have_attribute("data-series", "3")
        # The request log: every request with its hold, cost, state and latency.
        rows = page.locator("#log tbody tr")
        expect(rows).to_have_count(4)
        ledger = {r["request_id"]: r for r in stack.admin("GET", "/v1/usage", org.master_key).json()["data"]}
        for row in rows.all():
            cells = row.locator("td").all_inner_texts()
            r = ledger[cells[1]]
            assert cells[5].startswith("SETTLED") and cells[6] == fmt(r["hold"]) and cells[7] == fmt(r["credits"])
            assert re.fullmatch(r"[\d,]+ ms", cells[8]), cells
        shot(page, shots, "console-2-usage.png")
        # Filters and the CSV export (the same rows as the API's).
        page.fill("#f-member", "alice")
        page.click("#usage-filters button[type=submit]")
        expect(rows).to_have_count(2)
        with page.expect_download() as download:
            page.click("#csv-btn")
        csv = Path(download.value.path()).read_text()
        assert csv.splitlines()[0].startswith("time,request_id,key_id,member_id") and len(csv.splitlines()) == 3
        assert all(",alice," in line for line in csv.splitlines()[1:])


def test_mint_rotate_and_revoke_in_the_browser_with_a_concurrency_cap(browser: Any, stack: Stack, shots: Path) -> None:
    org = stack.create_org(20_000_000)
    with console(browser, stack, permissions=["clipboard-read", "clipboard-write"]) as page:
        sign_in(page, org.master_key)
        go(page, "keys")
        page.fill("#m-member", "carol")
        page.fill("#m-label", "carol's agent")
        page.fill("#m-quota", "500000")
        page.select_option("#m-period", "day")
        page.fill("#m-rpm", "600")
        page.fill("#m-concurrency", "2")
        page.select_option("#m-models", [CLAUDE])
        page.check("input[name=modality][value=chat]")
        page.click("#mint-form button[type=submit]")
        dialog = page.locator("#secret-dialog")
        expect(dialog).to_be_visible()
        secret = page.locator("#secret-value").inner_text()
        assert secret.startswith("sk-bs-")
        shot(page, shots, "console-4-secret.png", full_page=False)
        page.click("#secret-copy")
        expect(page.locator("#secret-copied")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == secret
        page.click("#secret-close")
        expect(dialog).to_be_hidden()
        assert secret not in page.content()  # shown once, gone from the page
        row = page.locator("#keys tbody tr", has_text="carol")
        expect(row).to_contain_text("0 / 2")
        expect(row).to_contain_text("0 / 500,000 per day")
        key_id = row.get_attribute("data-key")
        view = stack.admin("GET", f"/v1/keys/{key_id}", org.master_key).json()
        assert (view["max_concurrency"], view["quota"], view["rpm"], view["models"], view["modalities"]) == (
            2, 500_000, 600, [CLAUDE], ["chat"])
        shot(page, shots, "console-3-keys.png")

        # The minted key works, within its cap: 6 at once -> 2 served, 4 refused with 429.
        # (Threads: Playwright's sync API owns this thread's event loop.)
        body = {"model": CLAUDE, "max_tokens": 32, "messages": [{"role": "user", "content": "[[sim delay_ms=2000]]"}]}
        with ThreadPoolExecutor(6) as pool:
            statuses = sorted(pool.map(lambda _: httpx.post(f"{stack.base_url}/v1/messages", json=body, timeout=60,
                                                            headers={"x-api-key": secret}).status_code, range(6)))
        assert statuses == [200, 200, 429, 429, 429, 429]

        # Rotate: a new secret, once; the old one stops (auth cache TTL: 2 s in the test stack).
        page.on("dialog", lambda d: d.accept())
        row.locator("button[data-action=rotate]").click()
        expect(dialog).to_be_visible()
        rotated = page.locator("#secret-value").inner_text()
        assert rotated.startswith("sk-bs-") and rotated != secret
        page.click("#secret-close")
        _until_status(stack, secret, 401)
        assert _status(stack, rotated) == 200
        # Revoke: the row says so and the key stops.
        row.locator("button[data-action=revoke]").click()
        expect(page.locator(f"#keys tbody tr[data-key={key_id}]")).to_have_attribute("data-status", "revoked")
        _until_status(stack, rotated, 401)


def _status(stack: Stack, key: str) -> int:
    r = httpx.post(f"{stack.base_url}/v1/messages", headers={"x-api-key": key}, timeout=30,
                   json={"model": CLAUDE, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
    return r.status_code


def _until_status(stack: Stack, key: str, status: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while _status(stack, key) != status:
        assert time.monotonic() < deadline, f"key never answered {status}"
        time.sleep(0.5)


def test_a_member_sees_only_its_own_key_and_usage(browser: Any, stack: Stack, shots: Path) -> None:
    org = stack.create_org(20_000_000)
    alice = stack.mint(org.master_key, member_id="alice", quota=1_000_000, max_concurrency=4)
    bob = stack.mint(org.master_key, member_id="bob")
    usage(stack, org, {"alice": alice["secret"], "bob": bob["secret"]})
    with console(browser, stack) as page:
        sign_in(page, alice["secret"])
        expect(page.locator("#who-text")).to_contain_text("member alice")
        expect(page.locator("#nav a[data-tab=alerts]")).to_be_hidden()
        expect(page.locator("#card-balance")).to_be_hidden()  # the org's wallet is the master's business
        expect(page.locator("#ov-quotas .meter")).to_have_count(1)
        go(page, "usage")
        expect(page.locator("#log tbody tr")).to_have_count(2)  # alice's two requests, not bob's
        expect(page.locator("#f-member")).to_be_hidden()
        go(page, "keys")
        expect(page.locator("#keys-member")).to_contain_text(alice["key_id"])
        expect(page.locator("#keys-member")).to_contain_text("0 of 4 in flight")
        expect(page.locator("#mint-form")).to_be_hidden()
        content = page.content()
        assert bob["key_id"] not in content and "bob" not in page.locator("main").inner_text()
        shot(page, shots, "console-5-member.png")
        page.goto(stack.base_url + "/console/#alerts")  # not a member's page: back to the overview
        expect(page.locator("#tab-overview")).to_be_visible()
    # And the API behind it refuses the member the same things, whatever the page does.
    assert stack.admin("GET", "/v1/keys", alice["secret"]).status_code == 403
    assert stack.admin("GET", f"/v1/orgs/{org.org_id}", alice["secret"]).status_code == 403
    assert stack.admin("GET", "/v1/alerts", alice["secret"]).status_code == 403


def test_alerts_set_in_the_console_reach_a_webhook_and_an_inbox_when_the_wallet_crosses_80(
        browser: Any, stack: Stack, shots: Path) -> None:
    org = stack.create_org(5_000)
    inbox = f"ops-{secrets.token_hex(3)}@example.com"
    receiver = Receiver().start()
    try:
        with console(browser, stack) as page:
            sign_in(page, org.master_key)
            go(page, "alerts")
            page.fill("#a-wallet", "50, 80, 100")
            page.fill("#a-quota", "80")
            page.fill("#a-webhook", receiver.url)
            page.fill("#a-emails", inbox)
            page.click("#alerts-form button[type=submit]")
            expect(page.locator("#secret-dialog")).to_be_visible()
            signing = page.locator("#secret-value").inner_text()
            assert signing.startswith("whsec_")
            page.click("#secret-close")
            expect(page.locator("#status")).to_have_text("Alerts saved.")

            # Spend through the API until 80 % of the wallet's funds are gone.
            for _ in range(30):
                stack.wait_all_released(org.org_id)
                if stack.wallet(org.org_id)["balance"] <= 1_000:
                    break
                stack.anthropic(org.master_key).messages.create(model=CLAUDE, max_tokens=1024, messages=[
                    {"role": "user", "content": f"spend [[sim words=600]] {secrets.token_hex(2)}"}])
            got = receiver.wait_for(lambda r: any(x.json.get("threshold_percent") == 80 for x in r))
            at80 = next(x for x in got if x.json.get("threshold_percent") == 80)
            assert webhook.verify(signing, at80.body, at80.headers["bytespike-signature"])
            assert at80.json["type"] == "wallet.threshold" and at80.json["org_id"] == org.org_id
            [mail] = wait_emails(stack.dynamodb_url, lambda m: inbox in m["destinations"]["ToAddresses"]
                                 and "wallet at 80%" in m["subject"])
            assert "credits left" in mail["subject"] and org.org_id in mail["body"]

            page.click("#events-refresh")
            row = page.locator("#events tbody tr[data-scope=wallet][data-threshold='80']")
            expect(row).to_have_count(1)
            deadline = time.monotonic() + 20
            while "delivered" not in row.locator("td").nth(3).inner_text():
                assert time.monotonic() < deadline
                page.click("#events-refresh")
                page.wait_for_timeout(300)
            expect(row).to_contain_text("webhook #")
            expect(row).to_contain_text("email #")
            # A test alert from the button goes the same way.
            page.click("#alert-test")
            receiver.wait_for(lambda r: any(x.json.get("type") == "test" for x in r))
            page.click("#events-refresh")
            expect(page.locator("#events tbody tr[data-scope=test]")).to_have_count(1)
            shot(page, shots, "console-6-alerts.png")
    finally:
        receiver.stop()


def test_every_control_has_a_label_and_the_narrow_screen_does_not_scroll_sideways(
        browser: Any, stack: Stack, shots: Path) -> None:
    org = stack.create_org(1_000_000)
    with console(browser, stack, viewport={"width": 375, "height": 800}) as page:
        sign_in(page, org.master_key)
        for tab in ("overview", "usage", "keys", "alerts"):
            go(page, tab)
            unlabeled = page.evaluate("""() => [...document.querySelectorAll(
                'section:not([hidden]) input, section:not([hidden]) select')].filter(e =>
                !e.labels?.length && !e.getAttribute('aria-label') && !e.closest('label')).map(e => e.id || e.name)""")
            assert unlabeled == [], (tab, unlabeled)
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), tab
        go(page, "overview")
        shot(page, shots, "console-7-mobile.png")
