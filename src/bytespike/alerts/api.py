"""Alert rules, test alerts and the event log: the logic the admin API and the CLI share.

Who: an org's master key for its own org, the operator for any org it names (``org_id``);
members get 403 (role first, as on every admin path: docs/ADMIN.md).
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Annotated, Any

from pydantic import Field

from bytespike.admin.principal import MASTER, OPERATOR, Principal, org_not_found
from bytespike.admin.retry import retrying
from bytespike.admin.schemas import ORG_ID, _Body
from bytespike.alerts import email, evaluate, store, webhook
from bytespike.errors import GatewayError, Kind
from bytespike.store import ledger

EMAIL = re.compile(r"^[^@\s,;<>\"']{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")
Percent = Annotated[int, Field(strict=True, ge=1, le=100)]


class AlertRules(_Body):
    """PUT /v1/alerts: the whole rule set (an omitted list is empty; no channel, no alerts)."""

    org_id: str | None = Field(default=None, pattern=ORG_ID)
    wallet: list[Percent] = Field(default_factory=list, max_length=10)
    quota: list[Percent] = Field(default_factory=list, max_length=10)
    webhook_url: str | None = Field(default=None, max_length=webhook.MAX_URL)
    emails: list[Annotated[str, Field(max_length=254)]] = Field(default_factory=list, max_length=10)
    rotate_secret: bool = False


def _org(client: Any, p: Principal, org_id: str | None) -> str:
    p.require(OPERATOR, MASTER)
    org = p.org_for(org_id)
    if p.role == OPERATOR and retrying(lambda: ledger.get_wallet(client, org)) is None:
        raise org_not_found(org)
    return org


def get_rules(client: Any, p: Principal, org_id: str | None) -> dict[str, Any]:
    org = _org(client, p, org_id)
    rules = retrying(lambda: store.get_rules(client, org)) or store.Rules(org)
    return {**rules.view(), "email_enabled": email.sender() is not None}


def put_rules(client: Any, p: Principal, req: AlertRules, *, deployment: bool = True) -> dict[str, Any]:
    """Replace the org's rules. A new (or rotated) webhook signing secret is in this response only.

    ``deployment``: this process is the deployment's (the admin function), so it knows whether email is
    configured; the CLI is not, and leaves that to the deployment's own check.
    """
    org = _org(client, p, req.org_id)
    url = webhook.check_url(req.webhook_url) if req.webhook_url else None
    emails = []
    for address in req.emails:
        if not EMAIL.match(address):
            raise GatewayError(Kind.INVALID_REQUEST, f"emails: '{address[:80]}' is not an email address.",
                               param="emails")
        emails.append(address)
    if emails and deployment and email.sender() is None:
        raise GatewayError(Kind.INVALID_REQUEST, "emails: this deployment sends no email (no SES sender is "
                                                 "configured: ALERTS_EMAIL_FROM).", param="emails")
    old = retrying(lambda: store.get_rules(client, org))
    secret = old.webhook_secret if old is not None and url else None
    shown: str | None = None
    if url and (secret is None or req.rotate_secret):
        secret = shown = store.new_webhook_secret()
    rules = store.Rules(org, wallet=tuple(sorted(set(req.wallet))), quota=tuple(sorted(set(req.quota))),
                        webhook_url=url, webhook_secret=secret, emails=tuple(dict.fromkeys(emails)),
                        updated_at=int(time.time()))
    retrying(lambda: store.put_rules(client, rules))
    evaluate.forget(org)  # this process applies them at once; others within ALERTS_RULES_TTL_SECONDS
    out = {**rules.view(), "email_enabled": email.sender() is not None}
    if shown:
        out["webhook_secret"] = shown
    return out


def send_test(client: Any, p: Principal, org_id: str | None) -> dict[str, Any]:
    """A test event through the real path (the Alerts stream, the notifier, every channel)."""
    org = _org(client, p, org_id)
    rules = retrying(lambda: store.get_rules(client, org))
    if rules is None or not (rules.webhook_url or rules.emails):
        raise GatewayError(Kind.INVALID_REQUEST, "Set a webhook_url or emails first: a test alert needs somewhere to go.")
    key = f"test#{int(time.time() * 1000)}#{secrets.token_hex(3)}"
    retrying(lambda: store.put_event(client, org, key, {"type": "test", "scope": "test"}))
    return {"event_id": store.event_id(org, key), "key": key, "status": "pending"}


def events(client: Any, p: Principal, org_id: str | None, limit: int = 50) -> list[dict[str, Any]]:
    org = _org(client, p, org_id)
    return [store.event_view(e) for e in retrying(lambda: store.list_events(client, org, limit))]
