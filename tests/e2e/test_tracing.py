"""X-Ray over real HTTP: a traced request yields subsegments for the upstream call and each DynamoDB call."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import httpx

from tests.conftest import STACK_ARGS, STACK_ENV
from tests.support.stack import local_stack_process

TRACE = "1-67687c5a-" + os.urandom(12).hex()
PARENT = os.urandom(8).hex()


def _drain(sock: socket.socket, seconds: float) -> list[dict]:
    docs, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            raw = sock.recv(65536)
        except TimeoutError:
            break
        docs.append(json.loads(raw.partition(b"\n")[2]))
    return docs


def test_traced_request_emits_upstream_and_dynamodb_subsegments(tmp_path: Path) -> None:
    daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    daemon.bind(("127.0.0.1", 0))
    env = {**STACK_ENV, "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon.getsockname()[1]}"}
    with local_stack_process(tmp_path, args=STACK_ARGS, env=env) as (info, env_file, _log):
        exported = dict(line[7:].split("=", 1) for line in env_file.read_text().splitlines() if line.startswith("export "))
        master, base = exported["ANTHROPIC_API_KEY"], info["base_url"]
        body = {"model": "claude-haiku-5-5", "max_tokens": 20, "stream": True,
                "messages": [{"role": "user", "content": "trace me"}]}
        _drain(daemon, 0.3)  # whatever the stack's background loops sent (nothing is expected)
        untraced = httpx.post(base + "/v1/messages", json=body, headers={"x-api-key": master}, timeout=30)
        assert untraced.status_code == 200
        assert _drain(daemon, 1.0) == []  # no trace header: no subsegments
        traced = httpx.post(base + "/v1/messages", json=body, timeout=30, headers={
            "x-api-key": master, "x-amzn-trace-id": f"Root={TRACE};Parent={PARENT};Sampled=1"})
        assert traced.status_code == 200 and "message_stop" in traced.text
        docs = _drain(daemon, 2.0)
        raw = json.dumps(docs)
    assert docs and all(d["trace_id"] == TRACE and d["parent_id"] == PARENT for d in docs)
    ddb = [d for d in docs if d["name"] == "DynamoDB"]
    ops = {d["aws"]["operation"] for d in ddb}
    assert {"TransactWriteItems", "UpdateItem"} <= ops, ops  # the hold and the settle
    assert all(d["namespace"] == "aws" and d["aws"]["table_name"] for d in ddb)
    upstream = [d for d in docs if d["namespace"] == "remote"]
    assert len(upstream) == 1 and upstream[0]["http"]["response"]["status"] == 200
    assert upstream[0]["annotations"]["provider"] == "anthropic"
    assert master not in raw and master[6:] not in raw  # the key never reaches the trace
