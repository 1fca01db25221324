"""Usage rows record the client's session (X-Claude-Code-Session-Id): cost per coding session.

Claude Code sends the header on every request; the usage API and the CLI filter and group by it.
"""

from __future__ import annotations

import json
import uuid

from tests.e2e.test_cli import cli
from tests.support.stack import Stack


def test_usage_rows_carry_the_claude_code_session_and_filter_by_it(stack: Stack) -> None:
    org = stack.create_org(5_000_000)
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    claude = stack.anthropic(org.master_key)
    oa = stack.openai(org.master_key)
    ids = {one: [], two: []}
    for session, model in ((one, "claude-haiku-5-5"), (one, "gemini-3.8-flash"), (two, "gpt-6.2-sol")):
        raw = claude.messages.with_raw_response.create(
            model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}],
            extra_headers={"X-Claude-Code-Session-Id": session})
        ids[session].append(raw.headers["request-id"])
    raw = oa.chat.completions.with_raw_response.create(model="deepseek-flash", messages=[{"role": "user", "content": "hi"}],
                                                       extra_headers={"x-claude-code-session-id": one})
    ids[one].append(raw.headers["request-id"])
    untagged = claude.messages.with_raw_response.create(
        model="claude-haiku-5-5", max_tokens=16, messages=[{"role": "user", "content": "x"}],
        extra_headers={"X-Claude-Code-Session-Id": "not a valid id; ignored, never refused"})
    assert untagged.status_code == 200
    stack.wait_all_released(org.org_id)

    rows = stack.admin("GET", "/v1/usage", org.master_key, params={"session_id": one}).json()["data"]
    assert sorted(r["request_id"] for r in rows) == sorted(ids[one])
    assert all(r["session_id"] == one and r["credits"] > 0 for r in rows)
    billed = {r["id"]: int(r.get("cost") or 0) for r in stack.reservations(org.org_id)}
    assert sum(r["credits"] for r in rows) == sum(billed[i] for i in ids[one])

    summary = stack.admin("GET", "/v1/usage/summary", org.master_key, params={"group_by": "session"}).json()
    by_session = {g["session_id"]: g for g in summary["data"]}
    assert by_session[one]["requests"] == 3 and by_session[two]["requests"] == 1
    assert by_session[""]["requests"] == 1  # the request without a usable session id

    single = stack.admin("GET", f"/v1/usage/{ids[two][0]}", org.master_key).json()
    assert single["session_id"] == two

    out = json.loads(cli(stack, "usage", "--org", org.org_id, "--session", two, "--json").stdout)
    listed = out["data"] if isinstance(out, dict) else out
    assert [r["request_id"] for r in listed] == ids[two]
