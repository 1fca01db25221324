"""The admin's DynamoDB client: the functions' endpoint and region, with patient timeouts.

Admin calls are few and buffered (the function has 60 s), so a slow store should make
them slower, not fail them: a read timeout of 20 s instead of the request path's 5 s.
Retries stay ours (``admin.retry``): bounded, and only where a repeat is safe.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from bytespike.config import settings

_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=20,
                 max_pool_connections=32, tcp_keepalive=True)


def admin_client() -> Any:
    s = settings()
    kwargs: dict[str, Any] = {"region_name": s.region, "config": _CONFIG}
    if s.dynamodb_endpoint:
        kwargs["endpoint_url"] = s.dynamodb_endpoint
    return boto3.client("dynamodb", **kwargs)
