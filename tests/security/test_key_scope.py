"""A sub-key's scope is never wider than its master's, and only the operator moves money in.

Already proven elsewhere (referenced by docs/SECURITY.md, not repeated here):
- models, modalities and expiry narrow or inherit, members mint nothing, masters mint no
  masters: tests/e2e/test_admin_keys.py::test_sub_keys_cannot_mint_or_widen_scope and
  tests/unit/test_admin.py::test_sub_keys_never_widen_their_master;
- top-ups and org creation need the operator credential (masters, members, other orgs and
  revoked keys get 403/401, and the wallet does not move):
  tests/e2e/test_admin_isolation.py::test_isolation_matrix ("POST /v1/orgs/A/topups").

This file covers quota and RPM (finding F3: a master limited by the operator could mint an
unlimited sub-key) and the paid path's enforcement of the inherited limits.
"""

from __future__ import annotations

import httpx
import pytest

from bytespike.admin import keys as admin_keys
from bytespike.errors import GatewayError, Kind
from bytespike.store import keys
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"


def _master(**kw: object) -> keys.KeyRecord:
    return keys.KeyRecord(**{"digest": "m" * 64, "key_id": "key_master", "org_id": "org-a", "kind": "master",
                             "member_id": "owner", **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("parent", "asked", "granted"), [
    ({}, (None, None, None), (None, None, None)),  # an unlimited master mints freely
    ({}, (10**9, "day", 10**6), (10**9, "day", 10**6)),
    ({}, (5000, None, None), (5000, "month", None)),  # a quota always has a period (month by default)
    ({"quota": 1000, "quota_period": "day", "rpm": 10}, (None, None, None), (1000, "day", 10)),  # inherited
    ({"quota": 1000, "quota_period": "day", "rpm": 10}, (500, None, 5), (500, "month", 5)),  # narrower
    ({"quota": 1000, "quota_period": "day"}, (1000, "month", None), (1000, "month", None)),  # month <= a day's
    ({"quota": 1000, "quota_period": "month"}, (1000, "month", None), (1000, "month", None)),
])
def test_sub_key_limits_inherit_or_narrow(parent: dict, asked: tuple, granted: tuple) -> None:
    assert admin_keys._narrow_limits(_master(**parent), *asked) == granted


@pytest.mark.parametrize(("parent", "asked", "param"), [
    ({"quota": 1000, "quota_period": "day"}, (1001, "day", None), "quota"),
    ({"quota": 1000, "quota_period": "month"}, (10, "day", None), "quota_period"),  # a day quota refills monthly
    ({"quota": 1000, "quota_period": "month"}, (None, "day", None), "quota_period"),
    ({"rpm": 10}, (None, None, 11), "rpm"),
])
def test_sub_key_limits_never_widen(parent: dict, asked: tuple, param: str) -> None:
    with pytest.raises(GatewayError) as err:
        admin_keys._narrow_limits(_master(**parent), *asked)
    assert err.value.kind is Kind.PERMISSION and err.value.param == param


def test_a_limited_master_cannot_mint_an_unlimited_sub_key_over_http(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    limited = stack.mint(stack.operator_key, org_id=org.org_id, kind="master", quota=50_000, quota_period="day",
                         rpm=30, label="team budget")
    for body, param in (({"member_id": "w", "quota": 50_001}, "quota"),
                        ({"member_id": "w", "quota": 100, "quota_period": "day", "rpm": 31}, "rpm")):
        r = stack.admin("POST", "/v1/keys", limited["secret"], json=body)
        assert r.status_code == 403 and r.json()["error"]["type"] == "permission_error", r.text
        assert param in r.json()["error"]["message"]
    # The operator minting under that master is held to the same rule.
    r = stack.admin("POST", "/v1/keys", stack.operator_key,
                    json={"org_id": org.org_id, "parent_key_id": limited["key_id"], "member_id": "w", "quota": 10**9})
    assert r.status_code == 403, r.text
    sub = stack.mint(limited["secret"], member_id="inherits")
    assert (sub["quota"], sub["quota_period"], sub["rpm"]) == (50_000, "day", 30)
    # And the paid path enforces it: a request that could cost more than the quota holds nothing.
    r = httpx.post(stack.base_url + "/v1/messages", headers={"x-api-key": sub["secret"]}, timeout=30,
                   json={"model": "claude-opus-5-5", "max_tokens": 60_000, "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 402 and "quota" in r.json()["error"]["message"], r.text
    # An unlimited master (the org's first) still chooses freely.
    free = stack.mint(org.master_key, member_id="free", quota=10**9, rpm=10**6)
    assert (free["quota"], free["quota_period"], free["rpm"]) == (10**9, "month", 10**6)
