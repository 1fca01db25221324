"""The operator credential: SSM SecureString on AWS, the environment locally.

On Lambda ``OPERATOR_KEY_PARAM`` names the parameter; Powertools caches the decrypted
value for five minutes, so a rotated operator secret takes effect within that time and
the admin function does not call SSM per request. Locally (and in the CLI's absence of
either) ``BYTESPIKE_OPERATOR_KEY`` holds the secret itself.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from bytespike.errors import GatewayError, Kind

PARAM_ENV = "OPERATOR_KEY_PARAM"
VALUE_ENV = "BYTESPIKE_OPERATOR_KEY"
MIN_LENGTH = 24


def operator_secret() -> str | None:
    """The configured operator secret, or None when operator access is disabled."""
    name = os.environ.get(PARAM_ENV)
    if name:
        from aws_lambda_powertools.utilities.parameters import get_parameter  # deferred: cold start

        try:
            value = get_parameter(name, decrypt=True, max_age=300)
        except Exception as exc:
            raise GatewayError(Kind.API, "The operator credential is not readable by the admin function.") from exc
        return str(value) if value else None
    return os.environ.get(VALUE_ENV) or None


def matches(presented: str) -> bool:
    """Constant-time comparison (of digests, so not even the length is compared in the clear)."""
    expected = operator_secret()
    if not expected or len(expected) < MIN_LENGTH:
        return False
    return hmac.compare_digest(hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest())
