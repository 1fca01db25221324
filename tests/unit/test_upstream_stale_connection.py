"""An upstream that closes a pooled keep-alive connection just as a request goes out on it.

Found in CI (tests/contract/test_responses_sdk.py, 1 run in ~5): a 502 "Could not reach the upstream
(ClientOSError)" - the simulator closes idle connections after 5 s, the gateway keeps them 60 s,
and a request written as the close arrives was never read. Real upstreams (and their load
balancers) close idle connections on their own clocks too. The server below closes each connection
after reading its second request, without answering: the race, made deterministic.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bytespike import providers
from bytespike.errors import GatewayError, Kind

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@dataclass
class Upstream:
    """Answers ``serve`` requests per connection, then reads one more and hangs up."""

    serve: int
    port: int = 0
    connections: int = 0
    requests: list[int] = field(default_factory=list)  # the connection number of each request read

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number, served = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.requests.append(number)
                if served == self.serve:
                    return  # read, never answered: the connection closes under the request
                served += 1
                writer.write(OK)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture
async def upstream(request: pytest.FixtureRequest) -> AsyncIterator[Upstream]:
    up = Upstream(serve=request.param)
    server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
    up.port = server.sockets[0].getsockname()[1]
    yield up
    await providers.UPSTREAM_HTTP.close()
    server.close()
    await server.wait_closed()


async def _post(up: Upstream) -> providers.UpstreamResponse:
    account = providers.Account(provider="openai", name="main", base_url=f"http://127.0.0.1:{up.port}", api_key="k")
    response = await providers.send_post(account, f"{account.base_url}/v1/chat/completions", b"{}",
                                         {"content-type": "application/json"})
    assert await response.aread() == b"{}"
    await response.aclose()
    return response


@pytest.mark.parametrize("upstream", [1], indirect=True)
async def test_a_request_on_a_connection_closed_under_it_is_sent_again_on_a_new_one(upstream: Upstream) -> None:
    assert (await _post(upstream)).status_code == 200  # connection 1, then pooled
    assert (await _post(upstream)).status_code == 200  # connection 1 hangs up on it; connection 2 answers
    assert upstream.requests == [1, 1, 2] and upstream.connections == 2


@pytest.mark.parametrize("upstream", [0], indirect=True)
async def test_a_fresh_connection_that_fails_is_not_sent_twice(upstream: Upstream) -> None:
    """It may have reached a server that died working on it: a paid POST is not repeated on a guess."""
    with pytest.raises(GatewayError) as caught:
        await _post(upstream)
    assert caught.value.kind is Kind.UPSTREAM
    assert upstream.requests == [1]
