"""A gateway process killed mid-stream (SIGKILL: no shutdown, no settle, no shielded cleanup).

The victim is a second local stack joined to the session's DynamoDB (``--dynamodb-url``), so the
money state outlives it, as DynamoDB outlives a Lambda instance. Its holds have a short deadline;
the surviving session stack's sweeper and stream poller play the sweeper and release functions.

Business outcome (DESIGN.md principle 4 and pipeline step 8, "a crashed function never keeps
credits"): the client saw a broken stream, the hold is expired by the sweeper within
deadline + one sweep interval at cost 0, so the request is not billed; the wallet is whole and
conservation holds at every point.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.conftest import STACK_ENV
from tests.faults._support import CLAUDE, GPT
from tests.support.stack import Stack, local_stack_process

HOLD_DEADLINE = 4  # seconds
SWEEP_INTERVAL = 1.0  # the session stack's (tests/conftest.py STACK_ARGS)
SLOW = "[[sim deltas=80 interval_ms=100]]"  # an 8 s stream: killed well before its end


def _broken_stream_errors() -> tuple[type[BaseException], ...]:
    """What an SDK raises when the connection dies mid-body: its own errors or its HTTP library's
    (httpx, or httpx2 which these SDK versions are built on)."""
    errors: list[type[BaseException]] = [httpx.HTTPError, anthropic.APIError, openai.APIError]
    try:
        import httpx2  # type: ignore[import-not-found]

        errors.append(httpx2.HTTPError)
    except ImportError:
        pass
    return tuple(errors)


def _alive(pid: int) -> bool:
    """Running (a killed child stays a zombie until its Popen reaps it: that counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


@pytest.fixture
def victim(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with local_stack_process(
        tmp_path_factory.mktemp("victim"),
        args=["--dynamodb-url", stack.dynamodb_url, "--table-prefix", "bytespike-test", "--sweep-interval", "30"],
        env={**STACK_ENV, "HOLD_DEADLINE_SECONDS": str(HOLD_DEADLINE)},
    ) as (info, _, _):
        yield info


def test_gateway_killed_mid_stream_releases_the_holds_after_their_deadline(stack: Stack,
                                                                           victim: dict[str, Any]) -> None:
    org = stack.new_org(1_000_000)
    claude = anthropic.Anthropic(base_url=victim["base_url"], api_key=org.master_key, max_retries=0, timeout=30)
    oai = openai.OpenAI(base_url=victim["base_url"] + "/v1", api_key=org.master_key, max_retries=0, timeout=30)
    messages: Any = [{"role": "user", "content": f"a long answer {SLOW}"}]

    # Two streams in flight, one per protocol, each past its first content.
    a_stream = claude.messages.create(model=CLAUDE, max_tokens=400, messages=messages, stream=True)
    a_events = iter(a_stream)
    assert [next(a_events).type for _ in range(4)][-1] == "content_block_delta"
    o_stream = oai.chat.completions.create(model=GPT, max_tokens=400, messages=messages, stream=True)
    o_chunks = iter(o_stream)
    assert any(c.delta.content for _ in range(3) for c in next(o_chunks).choices)
    held = stack.reservations(org.org_id)
    assert len(held) == 2 and {r["state"] for r in held} == {"HELD"}
    totals = stack.assert_conservation(org.org_id)
    assert totals["open_holds"] == sum(int(r["hold"]) for r in held)

    os.kill(victim["pid"], signal.SIGKILL)
    killed_at = time.time()
    # The clients see a broken stream (no terminal event), in whichever form their SDK raises it.
    for events in (a_events, o_chunks):
        with pytest.raises(_broken_stream_errors()):
            for _ in events:
                pass
    deadline = time.monotonic() + 5
    while _alive(victim["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(victim["pid"])

    # Nothing settled them: still HELD, still counted.
    assert {r["state"] for r in stack.reservations(org.org_id)} == {"HELD"}
    stack.assert_conservation(org.org_id)

    expires_at = max(int(r["expires_at"]) for r in held)
    released = stack.wait_all_released(org.org_id, timeout=max(0.0, expires_at - killed_at) + 10)
    assert all(r["state"] == "EXPIRED" and r["cost"] == 0 and r["outcome"] == "expired by sweeper" for r in released)
    # Within the deadline plus one sweep and the stream poller's beat, not at some later time; the
    # slack is for the session stack's gateway, which sweeps between other suites' requests (a whole
    # run once saw a release past the former 2 s of slack).
    late = {r["id"]: int(r["released_at"]) / 1000 - int(r["expires_at"]) for r in released}
    assert all(s <= 1 + SWEEP_INTERVAL + 5 for s in late.values()), late
    assert stack.assert_conservation(org.org_id) == {"balance": org.topped_up, "billed": 0, "open_holds": 0}
