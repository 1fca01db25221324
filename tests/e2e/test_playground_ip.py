"""Which client address the playground trusts, per deployment (no stack needed)."""

from __future__ import annotations

import json

import pytest
from starlette.requests import Request

from bytespike.playground import quota
from bytespike.playground.client_ip import bucket, bucket_hash, client_ip
from bytespike.playground.settings import PlaygroundSettings


def _request(headers: dict[str, str], peer: str = "10.0.0.9") -> Request:
    return Request({"type": "http", "method": "POST", "path": "/playground/run", "query_string": b"",
                    "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
                    "client": (peer, 40000)})


FORGED = {"x-forwarded-for": "203.0.113.9", "x-real-ip": "203.0.113.9", "forwarded": "for=203.0.113.9"}


def test_peer_source_ignores_every_forwarding_header() -> None:
    assert client_ip(_request(FORGED), "peer") == "10.0.0.9"
    assert client_ip(_request({"x-amzn-request-context": json.dumps({"http": {"sourceIp": "1.1.1.1"}})}), "peer") == "10.0.0.9"


def test_lambda_source_reads_the_adapters_request_context() -> None:
    ctx = {"http": {"sourceIp": "198.51.100.4", "method": "POST"}, "requestId": "r"}
    assert client_ip(_request({**FORGED, "x-amzn-request-context": json.dumps(ctx)}, peer="127.0.0.1"), "lambda") == "198.51.100.4"
    v1 = {"identity": {"sourceIp": "198.51.100.5"}}
    assert client_ip(_request({"x-amzn-request-context": json.dumps(v1)}), "lambda") == "198.51.100.5"
    # No context (or garbage): no trusted address, so the run is refused (fail closed), never the peer.
    assert client_ip(_request(FORGED, peer="127.0.0.1"), "lambda") is None
    assert client_ip(_request({"x-amzn-request-context": "{not json"}), "lambda") is None
    assert client_ip(_request({"x-amzn-request-context": json.dumps({"http": {"sourceIp": "nope"}})}), "lambda") is None


@pytest.mark.parametrize(("header", "ip"), [("198.51.100.10:46532", "198.51.100.10"),
                                            ("2001:db8:85a3::8a2e:370:7334:46532", "2001:db8:85a3::8a2e:370:7334")])
def test_cloudfront_source_reads_viewer_address(header: str, ip: str) -> None:
    assert client_ip(_request({**FORGED, "cloudfront-viewer-address": header}), "cloudfront") == ip
    assert client_ip(_request(FORGED), "cloudfront") is None


def test_buckets_ipv6_by_64_and_hashes_with_salt() -> None:
    assert bucket("2001:db8:1:2:aaaa::1") == bucket("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert bucket("2001:db8:1:3::1") != bucket("2001:db8:1:2::1")
    assert bucket("::ffff:192.0.2.1") == "192.0.2.1"
    assert bucket_hash("192.0.2.1", "a") != bucket_hash("192.0.2.1", "b")
    assert "192.0.2.1" not in bucket_hash("192.0.2.1", "a")


def test_source_defaults_to_lambda_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PLAYGROUND_CLIENT_IP_SOURCE", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    assert PlaygroundSettings.from_env().client_ip_source == "peer"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "bytespike-playground")
    assert PlaygroundSettings.from_env().client_ip_source == "lambda"
    monkeypatch.setenv("PLAYGROUND_CLIENT_IP_SOURCE", "x-forwarded-for")
    with pytest.raises(ValueError):
        PlaygroundSettings.from_env()


def test_windows_are_utc_days() -> None:
    win = quota.window(1_795_737_600 + 3600, 86_400)  # 2026-11-27T01:00Z
    assert win.label == "2026-11-27" and win.resets_at_iso == "2026-11-28T00:00:00Z"
    assert quota.window(1_795_737_600 + 90, 60).label == "2026-11-27T00:01:00"


def test_ip_salt_is_secret_per_deployment() -> None:
    """Without PLAYGROUND_IP_SALT the salt comes from the house key (an SSM SecureString on AWS),
    so the counters' hashes cannot be reversed with a public salt (SECURITY.md F6)."""
    from bytespike.playground.settings import _LOCAL_SALT, derive_ip_salt

    a, b = derive_ip_salt("sk-bs-house-a"), derive_ip_salt("sk-bs-house-b")
    assert a != b and _LOCAL_SALT not in (a, b) and "house" not in a
    assert derive_ip_salt(None) == _LOCAL_SALT  # no house key: no free runs to count
