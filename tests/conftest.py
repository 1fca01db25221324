"""Shared fixtures: the real local stack (moto server + gateway + simulator) in a subprocess.

Tests talk to it over HTTP with the official SDKs, and read DynamoDB directly (moto in
server mode) to check the money invariant.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.stack import Stack, free_port

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    port, sim_port, moto_port = free_port(), free_port(), free_port()
    env_file = workdir / "dev.env"
    env = {
        **os.environ,
        "MAX_BODY_BYTES": str(1024 * 1024),
        "AUTH_CACHE_TTL_SECONDS": "2",
        "SSE_PING_INTERVAL": "5",
        "PYTHONUNBUFFERED": "1",
    }
    for var in list(env):  # real provider keys must not leak into the test stack
        if var.startswith("UPSTREAM_"):
            env.pop(var)
    log_path = workdir / "stack.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bytespike.local", "--port", str(port), "--sim-port", str(sim_port),
         "--moto-port", str(moto_port), "--env-file", str(env_file), "--no-reuse-key",
         "--sweep-interval", "1", "--poll-interval", "0.1", "--log-level", "warning",
         "--table-prefix", "bytespike-test"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    info = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"local stack exited early:\n{log_path.read_text()}")
        try:
            r = httpx.get(base + "/healthz", timeout=1)
            if r.status_code == 200:
                info = r.json()
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    if info is None:
        proc.kill()
        raise RuntimeError(f"local stack did not become healthy:\n{log_path.read_text()}")
    st = Stack.from_info(info, env_file, log_path)
    try:
        yield st
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
