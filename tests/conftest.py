"""Shared fixtures: the real local stack (moto server + gateway + simulator) in a subprocess.

Tests talk to it over HTTP with the official SDKs, and read DynamoDB directly (moto in
server mode) to check the money invariant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stack import ALERTS_ENV, Stack, gateway_on, local_stack_process

# What the test stack runs with: a small body limit (cheap 413 tests), a short auth cache
# (revocation tests), a fast sweeper and stream poller.
STACK_ENV = {
    "MAX_BODY_BYTES": str(1024 * 1024),
    "AUTH_CACHE_TTL_SECONDS": "2",
    "SSE_PING_INTERVAL": "5",
    **ALERTS_ENV,
}
STACK_ARGS = ["--sweep-interval", "1", "--poll-interval", "0.1", "--table-prefix", "bytespike-test"]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    with local_stack_process(workdir, args=STACK_ARGS, env=STACK_ENV) as (info, env_file, log_path):
        yield Stack.from_info(info, env_file, log_path)


@pytest.fixture(scope="session")
def production_gateway(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A gateway with every production default (10 s pings, 6 MB bodies, no short timers) on the
    session's DynamoDB: what `make dev` runs. Its base URL; money checks go through ``stack``."""
    with gateway_on(stack, tmp_path_factory.mktemp("production"), {}) as (info, _, _):
        yield info["base_url"]
