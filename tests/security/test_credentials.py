"""One credential per request, and rotation/revocation that take a secret's power away (issue #15).

Findings reproduced here (each test failed before the fix):
1. Two different credentials were accepted (``x-api-key`` = org A, ``Authorization: Bearer`` =
   org B -> 200 billed to A; member + master -> 200; operator + master on the admin API -> 201
   minted as the master).
2. A rotated-away master secret could take the key back: after the owner rotated S1 -> S2, S1
   (still in the auth cache) rotated again (-> S3) and minted a sub-key.
7. Keys in the query string were refused only under five exact names.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from bytespike.admin import keys as admin_keys
from bytespike.admin.principal import Principal
from bytespike.errors import GatewayError, Kind
from bytespike.store import keys
from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
GPT = "gpt-6-luna"
MSG = [{"role": "user", "content": "hi"}]


def _messages(stack: Stack, headers: dict[str, str], params: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/messages", json={"model": CLAUDE, "max_tokens": 5, "messages": MSG},
                      headers={"anthropic-version": "2023-06-01", **headers}, params=params, timeout=30)


def _chat(stack: Stack, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{stack.base_url}/v1/chat/completions", json={"model": GPT, "max_tokens": 5, "messages": MSG},
                      headers=headers, timeout=30)


def _master_id(stack: Stack, master_key: str) -> str:
    [master] = [k for k in stack.admin("GET", "/v1/keys", master_key).json()["data"] if k["kind"] == "master"]
    return str(master["key_id"])


# ---------------------------------------------------------------- finding 1: exactly one credential
def test_two_different_credentials_are_refused_on_both_surfaces(stack: Stack) -> None:
    a, b = stack.new_org(1_000_000), stack.new_org(1_000_000)
    both = {"x-api-key": a.master_key, "authorization": f"Bearer {b.master_key}"}
    r = _messages(stack, both)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["type"] == "authentication_error" and "one API key" in r.json()["error"]["message"]
    r = _chat(stack, both)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key", r.text
    assert stack.reservations(a.org_id) == [] and stack.reservations(b.org_id) == []
    assert stack.wallet(a.org_id)["balance"] == a.topped_up and stack.wallet(b.org_id)["balance"] == b.topped_up


def test_a_member_key_with_its_master_key_is_refused(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    member = stack.mint(org.master_key, member_id="m1")["secret"]
    for headers in ({"x-api-key": member, "authorization": f"Bearer {org.master_key}"},
                    {"x-api-key": org.master_key, "authorization": f"Bearer {member}"}):
        assert _messages(stack, headers).status_code == 401
    assert stack.reservations(org.org_id) == []


def test_the_same_key_in_both_headers_is_one_credential(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    r = _messages(stack, {"x-api-key": org.master_key, "authorization": f"Bearer {org.master_key}"})
    assert r.status_code == 200, r.text
    r = _chat(stack, {"x-api-key": org.master_key, "authorization": f"bearer  {org.master_key}"})
    assert r.status_code == 200, r.text


def test_operator_plus_master_on_the_admin_api_is_refused(stack: Stack) -> None:
    org = stack.create_org(1_000)
    before = stack.admin("GET", "/v1/keys", org.master_key).json()["data"]
    r = httpx.post(f"{stack.base_url}/v1/keys", json={"member_id": "sneaky"}, timeout=30,
                   headers={"x-api-key": org.master_key, "authorization": f"Bearer {stack.operator_key}"})
    assert r.status_code == 401, r.text
    r = httpx.post(f"{stack.base_url}/v1/keys", json={"kind": "master", "org_id": org.org_id}, timeout=30,
                   headers={"x-api-key": stack.operator_key, "authorization": f"Bearer {org.master_key}"})
    assert r.status_code == 401, r.text
    assert stack.admin("GET", "/v1/keys", org.master_key).json()["data"] == before


def test_a_non_bearer_authorization_beside_a_key_is_ambiguous(stack: Stack) -> None:
    org = stack.new_org(1_000)
    r = _messages(stack, {"x-api-key": org.master_key, "authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and "one API key" in r.json()["error"]["message"]


# ---------------------------------------------------------------- finding 2: rotation evicts
def test_a_rotated_away_master_secret_has_no_admin_power(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    s1 = org.master_key
    master_id = _master_id(stack, s1)  # S1 is now in the auth cache
    assert stack.admin("GET", "/v1/keys", s1).status_code == 200
    owner = stack.admin("POST", f"/v1/keys/{master_id}/rotate", s1)  # the owner rotates S1 -> S2
    assert owner.status_code == 200, owner.text
    s2 = owner.json()["secret"]
    # The attacker, holding S1, tries to take the key back and to mint a key of its own.
    assert stack.admin("POST", f"/v1/keys/{master_id}/rotate", s1).status_code == 401
    assert stack.admin("POST", "/v1/keys", s1, json={"member_id": "attacker"}).status_code == 401
    assert stack.admin("GET", "/v1/keys", s1).status_code == 401
    assert stack.admin("GET", "/v1/usage", s1).status_code == 401
    # The owner's S2 is the master: it lists no attacker key and keeps working after the cache TTL.
    listed = stack.admin("GET", "/v1/keys", s2).json()["data"]
    assert [k["member_id"] for k in listed if k["kind"] == "sub"] == []
    assert _messages(stack, {"x-api-key": s2}).status_code == 200


def test_a_revoked_key_has_no_admin_power_at_once(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    member = stack.mint(org.master_key, member_id="leaver")
    assert stack.admin("GET", "/v1/usage", member["secret"]).status_code == 200  # cached
    assert stack.admin("POST", f"/v1/keys/{member['key_id']}/revoke", org.master_key).status_code == 200
    assert stack.admin("GET", "/v1/usage", member["secret"]).status_code == 401


def test_the_gateway_that_rotated_evicts_the_old_secret_from_its_own_cache(stack: Stack) -> None:
    """The local stack runs every function in one process: the request path there stops S1 at
    once (on Lambda, other functions' instances keep their cache for AUTH_CACHE_TTL_SECONDS)."""
    org = stack.create_org(1_000_000)
    s1 = org.master_key
    assert _messages(stack, {"x-api-key": s1}).status_code == 200  # cached on the request path
    master_id = _master_id(stack, s1)
    assert stack.admin("POST", f"/v1/keys/{master_id}/rotate", s1).status_code == 200
    assert _messages(stack, {"x-api-key": s1}).status_code == 401


def _principal_of(stack: Stack, secret: str) -> tuple[Principal, Any]:
    item = stack.ddb.get_item(TableName=stack.tables["KEYS_TABLE"], Key={"pk": {"S": keys.key_pk(keys.digest(secret))}},
                              ConsistentRead=True)["Item"]
    return Principal.of_key(keys.KeyRecord.from_item(item)), stack.ddb


def test_a_principal_read_before_a_rotation_cannot_act_after_it_commits(stack: Stack) -> None:
    """The race the table read alone leaves open: authenticated with S1, then the owner rotates,
    then the attacker's operation runs. Each key operation checks the caller's own key item in
    the same transaction, so it fails once the rotation has committed."""
    org = stack.create_org(1_000_000)
    stale, client = _principal_of(stack, org.master_key)  # S1 authenticated (active)
    master_id = _master_id(stack, org.master_key)
    assert stack.admin("POST", f"/v1/keys/{master_id}/rotate", org.master_key).status_code == 200
    from bytespike.admin.schemas import CreateKey

    for attempt in (lambda: admin_keys.rotate_key(client, stale, None, master_id),
                    lambda: admin_keys.mint_key(client, stale, CreateKey(member_id="late")),
                    lambda: admin_keys.revoke_key(client, stale, None, master_id)):
        with pytest.raises(GatewayError) as exc:
            attempt()
        assert exc.value.kind is Kind.AUTHENTICATION, exc.value


# ---------------------------------------------------------------- finding 7: credentials in the URL
CREDENTIAL_NAMES = ["key", "api_key", "apikey", "access_token", "token", "API_KEY", "api-key", "x-api-key",
                    "authorization", "Authorization", "X-API-KEY", "auth", "bearer", "secret", "client_secret",
                    "password", "id_token", "refresh_token", "anthropic_api_key", "openai-api-key", "Key"]


@pytest.mark.parametrize("name", CREDENTIAL_NAMES)
def test_any_credential_like_query_parameter_is_refused(stack: Stack, name: str) -> None:
    org = stack.new_org(1_000_000)
    r = _messages(stack, {"x-api-key": org.master_key}, params={name: org.master_key})
    assert r.status_code == 401 and "URL" in r.json()["error"]["message"], (name, r.status_code, r.text)
    assert stack.reservations(org.org_id) == []


def test_a_key_shaped_value_under_any_name_is_refused(stack: Stack) -> None:
    org = stack.new_org(1_000_000)
    r = _messages(stack, {"x-api-key": org.master_key}, params={"q": org.master_key})
    assert r.status_code == 401 and "URL" in r.json()["error"]["message"]


@pytest.mark.parametrize("name", ["key_id", "limit", "after_id", "before_id", "org_id", "member_id", "cursor",
                                  "format", "group_by", "status", "variant", "model", "monkey_business"])
def test_ordinary_query_parameters_are_not_credentials(name: str) -> None:
    from bytespike.gateway.auth import credential_param

    assert credential_param(name, "x") is False


def test_credential_param_classifier() -> None:
    from bytespike.gateway.auth import credential_param

    for name in CREDENTIAL_NAMES:
        assert credential_param(name, "v"), name
    assert credential_param("anything", "sk-bs-" + secrets.token_hex(8))
