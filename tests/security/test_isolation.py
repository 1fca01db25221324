"""Cross-org (and cross-member) isolation on the paid endpoints.

The admin API's full matrix (every admin endpoint x operator / master / member / other org /
no key / revoked key, both error shapes, refused calls change nothing):
tests/e2e/test_admin_isolation.py. Reading another org's video job:
tests/contract/test_media_video.py::test_other_orgs_cannot_read_a_job. Here: every video
verb, members of one org, and idempotency keys, which derive ids and must not collide
across keys.
"""

from __future__ import annotations

import secrets
import time

import httpx
import pytest

from tests.support.stack import Stack

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # the openai SDK marks videos.* deprecated


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def test_video_jobs_are_invisible_to_other_orgs_and_other_members(stack: Stack) -> None:
    owner = stack.create_org(10_000_000)
    other = stack.create_org(10_000_000)
    alice = stack.mint(owner.master_key, member_id="alice")["secret"]
    bob = stack.mint(owner.master_key, member_id="bob")["secret"]
    job = stack.openai(alice).videos.create(model="doubao-seedance-2-0", prompt="mine [[sim job_ms=60000]]",
                                            size="854x480", seconds="4")
    base = f"{stack.base_url}/v1/videos/{job.id}"
    for intruder in (other.master_key, bob):
        for method, url in (("GET", base), ("GET", base + "/content"), ("DELETE", base)):
            r = httpx.request(method, url, headers=_bearer(intruder), timeout=30)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (method, url, r.text)
    stored = stack.video_job(job.id)
    assert stored is not None and stored["status"] in ("queued", "in_progress") and not stored.get("deleted")
    # The owner and the org's master do see it (and the master may cancel it).
    assert httpx.get(base, headers=_bearer(alice), timeout=30).status_code == 200
    assert httpx.request("DELETE", base, headers=_bearer(owner.master_key), timeout=30).status_code == 200
    stack.wait_all_released(owner.org_id)
    assert stack.reservations(other.org_id) == []


def test_an_idempotency_key_never_crosses_api_keys(stack: Stack) -> None:
    """The request (and reservation) id is derived from (key digest, Idempotency-Key): another
    org replaying the same Idempotency-Key gets its own request, billed to its own wallet."""
    a, b = stack.new_org(1_000_000), stack.new_org(1_000_000)
    idem = f"shared-{secrets.token_hex(4)}"
    body = {"model": "claude-haiku-5-5", "max_tokens": 10, "messages": [{"role": "user", "content": "hello"}]}
    ids: dict[str, set[str]] = {}
    for org, status in ((a, 200), (b, 200), (a, 409)):  # B is not A's replay; A's second call is
        r = httpx.post(stack.base_url + "/v1/messages", json=body, timeout=30,
                       headers={"x-api-key": org.master_key, "idempotency-key": idem})
        assert r.status_code == status, r.text
        ids.setdefault(org.org_id, set()).add(r.headers["request-id"])
    assert len(ids[a.org_id]) == 1 and ids[a.org_id].isdisjoint(ids[b.org_id])
    time.sleep(0.2)
    for org in (a, b):
        [res] = stack.wait_all_released(org.org_id)
        assert res["id"] in ids[org.org_id]
        stack.assert_conservation(org.org_id)
