"""No API key or provider secret ever appears in the gateway's logs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from tests.conftest import STACK_ARGS, STACK_ENV
from tests.support.stack import local_stack_process


def test_logs_never_contain_keys(tmp_path: Path) -> None:
    provider_secret = "sk-sim-" + os.urandom(8).hex()
    env = {**STACK_ENV, "LOG_LEVEL": "info", "UPSTREAM_ANTHROPIC_API_KEY": provider_secret,
           "UPSTREAM_ANTHROPIC_BASE_URL": "http://127.0.0.1:1/unused"}
    with local_stack_process(tmp_path, args=[*STACK_ARGS, "--log-level", "info"], env=env) as (info, env_file, log):
        exported = dict(line[7:].split("=", 1) for line in env_file.read_text().splitlines() if line.startswith("export "))
        master, operator = exported["ANTHROPIC_API_KEY"], exported["BYTESPIKE_OPERATOR_KEY"]
        base = info["base_url"]
        body = {"model": "gpt-6-luna", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]}
        assert httpx.post(base + "/v1/messages", json=body, headers={"x-api-key": master}, timeout=30).status_code == 200
        httpx.post(base + "/v1/messages", json={**body, "model": "claude-haiku-5-5"}, headers={"x-api-key": master},
                   timeout=30)  # the Claude upstream is unreachable: an error path, logged
        httpx.post(base + "/v1/messages?api_key=" + master, json=body, timeout=30)
        httpx.post(base + "/v1/chat/completions", json=body, headers={"authorization": "Bearer " + master}, timeout=30)
        time.sleep(1.0)
        text = log.read_text()
    # The startup banner prints the demo master key on purpose (the README's `make dev`); logs must not.
    banner_start, banner_end = text.index("ByteSpike local stack is up"), text.index("Ctrl-C stops everything.")
    text = text[:banner_start] + text[banner_end:]
    assert '"message":"call"' in text and '"key":"' in text  # the per-request records are there
    for secret in (master, provider_secret, operator, master[6:]):
        assert secret not in text
