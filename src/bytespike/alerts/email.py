"""Alert emails through Amazon SES (moto's SES in the local stack).

The sender is ``ALERTS_EMAIL_FROM`` (a verified SES identity; template parameter
``AlertsEmailSender``). Without it the deployment sends no email and the API refuses email
addresses in an org's rules, so no one believes they are covered when they are not.
"""

from __future__ import annotations

import os
from typing import Any

_client: Any = None


def sender() -> str | None:
    return os.environ.get("ALERTS_EMAIL_FROM") or None


def _ses() -> Any:
    global _client
    if _client is None:
        import boto3

        kwargs: dict[str, Any] = {}
        endpoint = os.environ.get("SES_ENDPOINT_URL")  # the local stack's moto; unset on AWS
        if endpoint:
            kwargs["endpoint_url"] = endpoint
        _client = boto3.client("ses", region_name=os.environ.get("AWS_REGION") or "us-east-1", **kwargs)
    return _client


def send(to: list[str], subject: str, text: str) -> str:
    """Send one message to ``to``; its SES message id. Raises on failure (the caller retries)."""
    source = sender()
    if not source:
        raise RuntimeError("no sender configured (ALERTS_EMAIL_FROM)")
    resp = _ses().send_email(Source=source, Destination={"ToAddresses": to},
                             Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                                      "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}})
    return str(resp["MessageId"])
