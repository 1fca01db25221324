"""A client hang-up while a non-streaming answer is still being read (issue 14, finding 4).

The e2e tests (tests/faults/test_client_disconnect.py) hang up while the upstream has not answered
yet; here the upstream's headers are in and its body is slow: the read is cancelled, the
upstream connection closed, and the call settled at 0 as a client abort.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bytespike.catalog import catalog
from bytespike.gateway import pipeline
from bytespike.store.keys import KeyRecord


class _Client:
    """An ASGI client connection that goes away after ``after`` seconds."""

    def __init__(self, after: float) -> None:
        self.after = after

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(self.after)
        return {"type": "http.disconnect"}


class _SlowBody:
    def __init__(self, seconds: float) -> None:
        self.seconds, self.closed, self.cancelled = seconds, False, False

    async def aread(self) -> bytes:
        try:
            await asyncio.sleep(self.seconds)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return b'{"usage": {"input_tokens": 10, "output_tokens": 4000}}'

    async def aclose(self) -> None:
        self.closed = True


def _call(client: Any) -> pipeline.Call:
    key = KeyRecord(digest="d" * 64, key_id="key_x", org_id="org-x", kind="master", member_id="owner")
    model = catalog().model("claude-haiku-5-5")
    assert model is not None
    call = pipeline.Call(request_id="req_x", surface="anthropic", key=key, model=model, hold=10_000,
                         reservation_id="req_x", request=client)
    call.held = True
    return call


@pytest.fixture
def settles(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    async def record(call: pipeline.Call, **kw: Any) -> bool:
        seen.append(kw)
        return True

    monkeypatch.setattr(pipeline, "_record_settle", record)
    return seen


async def test_a_hangup_mid_read_cancels_the_read_and_bills_nothing(settles: list[dict[str, Any]]) -> None:
    upstream = _SlowBody(5)
    call = _call(_Client(0.05))
    with pytest.raises(pipeline.ClientGone):
        await pipeline.read_json(call, upstream, lambda doc: doc)
    assert upstream.cancelled and upstream.closed
    assert settles == [{"cost": 0, "usage": {}, "status": "failed", "detail": "client_aborted"}]


async def test_a_client_that_stays_gets_its_answer(settles: list[dict[str, Any]]) -> None:
    upstream = _SlowBody(0.05)
    call = _call(_Client(5))
    doc = await pipeline.read_json(call, upstream, lambda d: d["usage"]["output_tokens"])
    assert doc == 4000 and upstream.closed and not upstream.cancelled
    assert settles == []  # the caller settles the success (billed_json)


async def test_an_unreadable_answer_is_an_upstream_failure(settles: list[dict[str, Any]]) -> None:
    class Broken(_SlowBody):
        async def aread(self) -> bytes:
            return b"<html>502</html>"

    with pytest.raises(pipeline.GatewayError) as err:
        await pipeline.read_json(_call(_Client(5)), Broken(0), lambda d: d)
    assert err.value.kind is pipeline.Kind.UPSTREAM
    assert settles and settles[0]["status"] == "failed" and settles[0]["detail"].startswith("failed")
