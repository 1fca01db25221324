"""SSRF: the only URLs the gateway fetches on its own are video results the upstream names
(``GET /v1/videos/{id}/content``); ``bytespike.http.fetch_guard`` restricts them to http(s),
public addresses (the provider's configured origin excepted), re-checked redirects, and
size and time limits.

Image URLs in chat requests are never fetched by the gateway: they pass to the provider as
URLs (Gemini ``fileData``, https only: tests/unit/test_translate_gemini.py), and
``images`` with ``response_format=url`` passes the provider's URL through.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bytespike.http import fetch_guard
from bytespike.http.fetch_guard import FetchLimits, FetchRefused, fetch, is_public_address
from tests.support.stack import Stack

# ------------------------------------------------------------------ the address classifier
NOT_PUBLIC = [
    "127.0.0.1", "127.255.255.254", "0.0.0.0", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254",  # EC2 / Lambda metadata
    "169.254.170.2",  # ECS task credentials
    "100.100.100.200",  # Alibaba metadata (CGNAT range)
    "100.64.0.1", "192.0.0.1", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "fe80::1", "fe80::1%eth0", "fc00::1", "fd00:ec2::254",  # AWS IPv6 metadata
    "ff02::1", "fec0::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1", "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
    "2001::1",  # Teredo
    "2001:db8::1", "3fff::1", "100::1", "::127.0.0.1", "not an ip", "",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700:4700::1111", "2a00:1450:4001:81b::200e",
          "::ffff:8.8.8.8", "64:ff9b::808:808"]

V4_BLOCKED = [ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",
    "240.0.0.0/4")]
V6_BLOCKED = [ipaddress.IPv6Network(n) for n in ("::/8", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
                                                 "2001:db8::/32", "2002::/16", "2001::/32", "100::/64")]


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_special_purpose_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_unicast_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


def _in(nets: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from(nets).flatmap(
        lambda net: st.integers(0, net.num_addresses - 1).map(lambda i, net=net: net.network_address + i))


@settings(max_examples=400, deadline=None)
@given(_in(V4_BLOCKED))
def test_every_blocked_ipv4_address_is_refused_in_every_ipv6_disguise(ip: ipaddress.IPv4Address) -> None:
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    nat64 = ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | int(ip))
    six_to_four = ipaddress.IPv6Address((0x2002 << 112) | (int(ip) << 80) | 1)
    assert not any(is_public_address(a) for a in (ip, str(ip), mapped, nat64, six_to_four))


@settings(max_examples=400, deadline=None)
@given(_in(V6_BLOCKED))
def test_every_blocked_ipv6_address_is_refused(ip: ipaddress.IPv6Address) -> None:
    assert not is_public_address(ip)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_ipv4_verdict_agrees_with_its_mapped_and_nat64_forms_and_the_stdlib(n: int) -> None:
    ip = ipaddress.IPv4Address(n)
    verdict = is_public_address(ip)
    assert verdict == is_public_address(ipaddress.IPv6Address(f"::ffff:{ip}"))
    assert verdict == is_public_address(ipaddress.IPv6Address(int(ipaddress.IPv6Address("64:ff9b::")) | n))
    if verdict:  # never more permissive than Python's own idea of "global"
        assert ip.is_global and not ip.is_multicast and not any(ip in net for net in V4_BLOCKED)


@settings(max_examples=500, deadline=None)
@given(st.integers(0, 2**128 - 1))
def test_ipv6_public_only_inside_global_unicast(n: int) -> None:
    ip = ipaddress.IPv6Address(n)
    if ip.ipv4_mapped is not None or ip in ipaddress.IPv6Network("64:ff9b::/96"):
        return  # judged by the embedded IPv4 address (above)
    if is_public_address(ip):
        assert ip in ipaddress.IPv6Network("2000::/3") and ip.is_global
        assert not any(ip in net for net in V6_BLOCKED)


# ------------------------------------------------------------------ the fetcher, against local servers
@dataclass
class Server:
    """A tiny HTTP server on 127.0.0.1 that records every request it gets."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    drip: float = 0.0  # seconds between 1-byte writes for /slow
    httpd: ThreadingHTTPServer | None = None

    @property
    def origin(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            srv.hits.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            if self.path == "/slow":
                self.send_response(200)
                self.end_headers()
                with contextlib.suppress(OSError):
                    for _ in range(10_000):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(srv.drip)
                return
            status, headers, body = srv.routes.get(self.path, (404, {}, b"no"))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            if "content-length" not in {k.lower() for k in headers}:
                self.send_header("connection", "close")  # body until close: no declared length
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

    srv.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.httpd.daemon_threads = True
    thread = threading.Thread(target=srv.httpd.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


LIMITS = FetchLimits(max_bytes=10_000, connect_timeout=2, read_timeout=2, total_timeout=3, max_redirects=2)


async def _get(url: str, **kw: Any) -> tuple[int, bytes]:
    response = await fetch(url, limits=kw.pop("limits", LIMITS), **kw)
    try:
        return response.status_code, await response.aread()
    finally:
        await response.aclose()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:70/_x",
                                 "data:text/plain,hi", "http://user:pw@example.com/x", "http:///nohost", "//x/y"])
async def test_only_http_and_https_urls_without_credentials(url: str) -> None:
    with pytest.raises(FetchRefused):
        await _get(url)


async def test_loopback_and_private_targets_are_refused_before_any_connection(server: Server) -> None:
    server.routes["/x"] = (200, {"content-length": "2"}, b"ok")
    port = server.origin.rsplit(":", 1)[1]
    for url in (f"{server.origin}/x", f"http://localhost:{port}/x", f"http://2130706433:{port}/x",
                f"http://0x7f000001:{port}/x", f"http://127.1:{port}/x", f"http://[::ffff:127.0.0.1]:{port}/x",
                "http://169.254.169.254/latest/meta-data/iam/", "http://[fd00:ec2::254]/latest/meta-data/",
                "http://10.0.0.1/", "http://metadata.google.internal./computeMetadata/v1/"):
        with pytest.raises((FetchRefused, httpx.HTTPError)):
            await _get(url)
    assert server.hits == []  # refused at resolution: nothing ever connected


async def test_the_providers_own_origin_is_trusted_and_alone_gets_the_key(server: Server) -> None:
    """Locally the simulator is on 127.0.0.1: its origin (the configured base URL) is trusted."""
    server.routes["/v1/files/a:download"] = (200, {"content-length": "5"}, b"video")
    status, body = await _get(f"{server.origin}/v1/files/a:download", trusted_origin=server.origin + "/v1beta",
                              headers={"x-goog-api-key": "provider-key"})
    assert (status, body) == (200, b"video")
    assert server.hits[-1][1].get("x-goog-api-key") == "provider-key"
    # Same host and port, other scheme: not the origin, so the key is not sent (the TLS handshake
    # to this plain-HTTP server then fails; the request never reaches the handler).
    with pytest.raises((FetchRefused, httpx.HTTPError)):
        await _get(server.origin.replace("http://", "https://") + "/v1/files/a:download",
                   trusted_origin=server.origin, headers={"x-goog-api-key": "provider-key"})
    assert len(server.hits) == 1


async def test_another_port_on_the_trusted_host_is_not_trusted(server: Server) -> None:
    with pytest.raises(FetchRefused):
        await _get(server.origin + "/x", trusted_origin="http://127.0.0.1:1")
    assert server.hits == []


async def test_allow_private_env_is_the_only_switch_for_development(server: Server,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    server.routes["/x"] = (200, {"content-length": "2"}, b"ok")
    monkeypatch.delenv(fetch_guard.ALLOW_PRIVATE_ENV, raising=False)
    assert FetchLimits.from_env().allow_private is False
    with pytest.raises(FetchRefused):
        await _get(server.origin + "/x", limits=FetchLimits.from_env())
    monkeypatch.setenv(fetch_guard.ALLOW_PRIVATE_ENV, "1")
    assert await _get(server.origin + "/x", limits=FetchLimits.from_env()) == (200, b"ok")


async def test_redirects_are_rechecked_and_never_carry_the_key(server: Server) -> None:
    server.routes["/to-metadata"] = (302, {"location": "http://169.254.169.254/latest/", "content-length": "0"}, b"")
    with pytest.raises(FetchRefused):
        await _get(server.origin + "/to-metadata", trusted_origin=server.origin)
    # A redirect to another origin (allowed here only because private addresses are allowed): no key.
    open_limits = dataclasses.replace(LIMITS, allow_private=True)
    server.routes["/file"] = (200, {"content-length": "4"}, b"data")
    elsewhere = server.origin.replace("127.0.0.1", "localhost") + "/file"
    server.routes["/hop"] = (307, {"location": elsewhere, "content-length": "0"}, b"")
    assert await _get(server.origin + "/hop", trusted_origin=server.origin, headers={"authorization": "Bearer pk"},
                      limits=open_limits) == (200, b"data")
    assert server.hits[-2][1].get("authorization") == "Bearer pk" and "authorization" not in server.hits[-1][1]
    server.routes["/loop"] = (302, {"location": "/loop", "content-length": "0"}, b"")
    with pytest.raises(FetchRefused, match="redirects"):
        await _get(server.origin + "/loop", trusted_origin=server.origin)


async def test_size_is_capped_declared_or_streamed(server: Server) -> None:
    server.routes["/declared"] = (200, {"content-length": str(10**9)}, b"")
    with pytest.raises(FetchRefused, match="larger"):
        await _get(server.origin + "/declared", trusted_origin=server.origin)
    server.routes["/undeclared"] = (200, {}, b"y" * 50_000)
    with pytest.raises(FetchRefused, match="larger"):
        await _get(server.origin + "/undeclared", trusted_origin=server.origin)


async def test_a_slow_body_is_cut_at_the_total_time_limit(server: Server) -> None:
    server.drip = 0.05  # 20 bytes a second: never idle long enough for the read timeout
    start = time.monotonic()
    with pytest.raises(FetchRefused, match="time"):
        await _get(server.origin + "/slow", trusted_origin=server.origin,
                   limits=FetchLimits(max_bytes=10**6, connect_timeout=2, read_timeout=2, total_timeout=1))
    assert time.monotonic() - start < 3


async def test_environment_proxies_are_ignored(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    server.routes["/x"] = (200, {"content-length": "2"}, b"ok")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")  # discard port: a proxy would fail the fetch
    await fetch_guard.CLIENTS.close()
    assert await _get(server.origin + "/x", trusted_origin=server.origin) == (200, b"ok")


# ------------------------------------------------------------------ end to end: a compromised upstream
def _wait_completed(client: openai.OpenAI, video_id: str) -> None:
    deadline = time.monotonic() + 20
    while client.videos.retrieve(video_id).status in ("queued", "in_progress"):
        assert time.monotonic() < deadline
        time.sleep(0.2)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_video_result_url_pointing_inside_is_never_fetched(stack: Stack, server: Server) -> None:
    """The upstream names the result URL. Rewritten (as a compromised upstream would) to the
    metadata address, the DynamoDB endpoint or another loopback service, the content call is a
    502 and nothing is fetched; the simulator's own origin (the configured one) still works."""
    server.routes["/steal"] = (200, {"content-length": "6"}, b"secret")
    org = stack.new_org(10_000_000)
    client = stack.openai(org.master_key)
    job = client.videos.create(model="doubao-seedance-2-0", prompt="boat [[sim job_ms=0]]", size="854x480", seconds="4")
    _wait_completed(client, job.id)
    ok = httpx.get(f"{stack.base_url}/v1/videos/{job.id}/content", headers={"authorization": f"Bearer {org.master_key}"},
                   timeout=30)
    assert ok.status_code == 200 and ok.content[4:8] == b"ftyp"
    assert ok.headers["content-type"].startswith("video/") and ok.headers["x-content-type-options"] == "nosniff"
    for target in (server.origin + "/steal", stack.dynamodb_url + "/", "http://169.254.169.254/latest/meta-data/",
                   "file:///etc/passwd", f"http://127.0.0.1:{stack.base_url.rsplit(':', 1)[1]}/v1/keys"):
        stack.ddb.update_item(TableName=stack.tables["VIDEO_JOBS_TABLE"], Key={"id": {"S": job.id}},
                              UpdateExpression="SET content_url = :u", ExpressionAttributeValues={":u": {"S": target}})
        r = httpx.get(f"{stack.base_url}/v1/videos/{job.id}/content",
                      headers={"authorization": f"Bearer {org.master_key}"}, timeout=30)
        assert r.status_code == 502 and r.json()["error"]["code"] == "upstream_error", (target, r.text)
        assert "127.0.0.1" not in r.text and "169.254" not in r.text  # no resolution details for the caller
    assert server.hits == []
    assert "refused to fetch a ark result URL" in stack.log_path.read_text()  # the operator sees why
    stack.wait_all_released(org.org_id)
