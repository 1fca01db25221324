"""Process settings, read once from the environment.

The same code runs on Lambda and in the local stack; only these values differ
(table names, the DynamoDB endpoint, upstream base URLs and keys).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw not in (None, "") else default


@dataclass(frozen=True, slots=True)
class Settings:
    keys_table: str
    accounts_table: str
    reservations_table: str
    usage_table: str
    region: str
    dynamodb_endpoint: str | None
    dynamodb_read_timeout: float
    auth_cache_ttl: float
    hold_deadline_seconds: int
    max_body_bytes: int
    upstream_connect_timeout: float
    upstream_idle_timeout: float
    ping_interval: float
    reservation_shards: int
    released_retention_days: int
    # Video jobs (issue #6): their table, how long a job may run, how soon clients re-poll.
    video_jobs_table: str = "bytespike-video-jobs"
    # Stored OpenAI Responses (store: true; issue 17) and how long they are kept (OpenAI: 30 days).
    responses_table: str = "bytespike-responses"
    responses_ttl_days: int = 30
    video_job_timeout_seconds: int = 3600
    video_poll_after_ms: int = 2000
    alerts_table: str = "bytespike-alerts"  # alert rules, events and their delivery log (issue #19)

    @staticmethod
    def from_env() -> Settings:
        return Settings(
            keys_table=os.environ.get("KEYS_TABLE", "bytespike-keys"),
            accounts_table=os.environ.get("ACCOUNTS_TABLE", "bytespike-accounts"),
            reservations_table=os.environ.get("RESERVATIONS_TABLE", "bytespike-reservations"),
            usage_table=os.environ.get("USAGE_TABLE", "bytespike-usage"),
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            dynamodb_endpoint=os.environ.get("DYNAMODB_ENDPOINT_URL") or None,
            dynamodb_read_timeout=_float("DYNAMODB_READ_TIMEOUT", 5.0),
            auth_cache_ttl=_float("AUTH_CACHE_TTL_SECONDS", 30.0),
            # A hold must outlive the longest possible invocation (Lambda caps at 900 s).
            hold_deadline_seconds=_int("HOLD_DEADLINE_SECONDS", 960),
            # Lambda function URLs cap request payloads at 6 MB.
            max_body_bytes=_int("MAX_BODY_BYTES", 6 * 1024 * 1024),
            upstream_connect_timeout=_float("UPSTREAM_CONNECT_TIMEOUT", 10.0),
            # The longest an upstream may stay silent, before its first byte or mid-stream: reasoning
            # models think for minutes. Just under the streaming functions' 900 s Lambda timeout, so
            # only Lambda's own limit is tighter; the client is kept alive with pings meanwhile.
            upstream_idle_timeout=_float("UPSTREAM_IDLE_TIMEOUT", 840.0),
            ping_interval=_float("SSE_PING_INTERVAL", 10.0),
            reservation_shards=_int("RESERVATION_SHARDS", 8),
            released_retention_days=_int("RELEASED_RETENTION_DAYS", 90),
            video_jobs_table=os.environ.get("VIDEO_JOBS_TABLE", "bytespike-video-jobs"),
            responses_table=os.environ.get("RESPONSES_TABLE", "bytespike-responses"),
            responses_ttl_days=_int("RESPONSES_TTL_DAYS", 30),
            video_job_timeout_seconds=_int("VIDEO_JOB_TIMEOUT_SECONDS", 3600),
            video_poll_after_ms=_int("VIDEO_POLL_AFTER_MS", 2000),
            alerts_table=os.environ.get("ALERTS_TABLE", "bytespike-alerts"),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings (the local stack sets env vars before the apps start)."""
    settings.cache_clear()
