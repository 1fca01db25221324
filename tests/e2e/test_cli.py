"""The ``bytespike`` CLI end to end against the local stack, as a subprocess (the installed console script)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.stack import Stack

CLAUDE = "claude-haiku-5-5"
TABLE_VARS = ("KEYS_TABLE", "ACCOUNTS_TABLE", "RESERVATIONS_TABLE", "USAGE_TABLE", "ALERTS_TABLE")


def _exe() -> list[str]:
    script = Path(sys.executable).parent / "bytespike"
    return [str(script)] if script.exists() else [shutil.which("bytespike") or sys.executable, "-m", "bytespike.cli"]


def cli(stack: Stack, *args: str, env: dict[str, str] | None = None, ok: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI with the stack's environment (endpoint and table names, as a shell would export them)."""
    if env is None:
        env = {**os.environ, "DYNAMODB_ENDPOINT_URL": stack.dynamodb_url, **stack.tables}
    proc = subprocess.run([*_exe(), *args], env=env, capture_output=True, text=True, timeout=60, cwd=stack.log_path.parent)
    if ok:
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def test_cli_end_to_end(stack: Stack) -> None:
    org_id = f"cli-{int(time.time() * 1000) % 10**8}"
    created = json.loads(cli(stack, "orgs", "create", org_id, "--name", "CLI Org", "--credits", "2_000_000",
                             "--json").stdout)
    master = created["master_key"]
    assert created["balance"] == 2_000_000 and master["secret"].startswith("sk-bs-")

    first = cli(stack, "wallet", "topup", org_id, "500000", "--id", "inv-42")
    replay = cli(stack, "wallet", "topup", org_id, "500000", "--id", "inv-42")
    assert "applied    yes" in first.stdout and "no (replay" in replay.stdout
    assert "balance    2,500,000" in replay.stdout and "topped_up  2,500,000" in replay.stdout
    # The API sees exactly what the CLI wrote (same library, same records).
    api = stack.admin("GET", f"/v1/orgs/{org_id}", master["secret"]).json()
    assert (api["balance"], api["topped_up"]) == (2_500_000, 2_500_000)

    sub = json.loads(cli(stack, "keys", "create", "--org", org_id, "--member", "alice", "--label", "laptop",
                         "--quota", "100000", "--period", "day", "--models", CLAUDE, "--rpm", "100",
                         "--expires", "30d", "--json").stdout)
    assert (sub["member_id"], sub["quota"], sub["quota_period"], sub["models"]) == ("alice", 100_000, "day", [CLAUDE])
    assert sub["parent_key_id"] == master["key_id"]
    msg = stack.anthropic(sub["secret"]).messages.create(model=CLAUDE, max_tokens=30,
                                                          messages=[{"role": "user", "content": "from the cli"}])
    stack.wait_all_released(org_id)

    # Three read-only commands at once (independent processes, one wall-clock wait).
    with ThreadPoolExecutor(3) as pool:
        listing, usage_json, summary_csv = (p.stdout for p in pool.map(lambda a: cli(stack, *a), [
            ("keys", "list", "--org", org_id, "--json"), ("usage", "--org", org_id, "--json"),
            ("usage", "--org", org_id, "--summary", "--csv")]))
    keys = json.loads(listing)
    assert {k["key_id"] for k in keys} == {master["key_id"], sub["key_id"]}
    assert master["secret"] not in listing and sub["secret"] not in listing and "secret" not in listing
    assert [k["quota_used"] for k in keys if k["key_id"] == sub["key_id"]] == [msg.usage.model_extra["credits"]]

    rows = json.loads(usage_json)
    assert [(r["request_id"], r["member_id"], r["credits"]) for r in rows] == [
        (msg._request_id, "alice", msg.usage.model_extra["credits"])]
    summary = list(csv.DictReader(io.StringIO(summary_csv)))
    assert [(s["member_id"], s["model"], s["requests"], s["credits"]) for s in summary] == [
        ("alice", CLAUDE, "1", str(msg.usage.model_extra["credits"]))]

    rotated = json.loads(cli(stack, "keys", "rotate", sub["key_id"], "--org", org_id, "--json").stdout)
    assert rotated["key_id"] == sub["key_id"] and rotated["secret"] != sub["secret"]
    revoked = json.loads(cli(stack, "keys", "revoke", sub["key_id"], "--org", org_id, "--json").stdout)
    assert revoked["status"] == "revoked"
    time.sleep(2.2)  # the auth cache TTL of the test stack
    for secret in (sub["secret"], rotated["secret"]):
        r = httpx.get(f"{stack.base_url}/v1/usage", headers={"x-api-key": secret}, timeout=10)
        assert r.status_code == 401


def test_cli_errors_are_one_line_with_a_nonzero_exit(stack: Stack) -> None:
    for args, code, text in (
        (("wallet", "show", "no-such-org"), 1, "No org 'no-such-org'"),
        (("wallet", "topup", "demo", "12.5", "--id", "x"), 2, "whole number of credits"),
        (("--table-prefix", "nope", "wallet", "show", "demo"), 1, "table not found"),
    ):
        proc = cli(stack, *args, ok=False)
        assert proc.returncode == code, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and text in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stdout == ""


def test_cli_finds_the_local_stack_from_its_env_file(stack: Stack) -> None:
    """Only the dev.env the stack wrote: the endpoint comes from it and the tables are found by name."""
    env = {k: v for k, v in os.environ.items() if k not in (*TABLE_VARS, "DYNAMODB_ENDPOINT_URL")}
    out = cli(stack, "--env-file", str(stack.env_file), "wallet", "show", "demo", "--json", env=env)
    assert json.loads(out.stdout)["org_id"] == "demo"


def _fresh_shell_env() -> dict[str, str]:
    """A new terminal's environment: none of the stack's variables, no venv on PATH."""
    keep = ("HOME", "LANG", "TERM", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ} | {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def test_the_readme_steps_put_the_cli_on_path_from_any_directory(stack: Stack, tmp_path: Path) -> None:
    """Issue 19: `bytespike …` was "command not found" after the README's steps, and from another
    directory could not find the stack. `source .bytespike/dev.env` now does both."""
    before = subprocess.run(["bash", "-c", "command -v bytespike"], env=_fresh_shell_env(), capture_output=True,
                            text=True)
    assert before.returncode != 0  # not on a fresh shell's PATH by itself
    script = f"source {stack.env_file} && cd {tmp_path} && bytespike wallet show demo --json"
    proc = subprocess.run(["bash", "-c", script], env=_fresh_shell_env(), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["org_id"] == "demo"


def test_the_playground_code_runs_as_pasted_after_sourcing_dev_env(stack: Stack) -> None:
    """Issue 19: the playground's curl uses $BYTESPIKE_API_KEY, which dev.env did not set (401)."""
    body = json.dumps({"model": CLAUDE, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]})
    curl = (f"curl -s -o /dev/null -w '%{{http_code}}' $BYTESPIKE_BASE_URL/v1/messages "
            f"-H \"x-api-key: $BYTESPIKE_API_KEY\" -H 'anthropic-version: 2023-06-01' "
            f"-H 'content-type: application/json' -d '{body}'")
    proc = subprocess.run(["bash", "-c", f"source {stack.env_file} && {curl}"], env=_fresh_shell_env(),
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout == "200", (proc.stdout, proc.stderr)


def test_cli_alerts(stack: Stack) -> None:
    org = stack.create_org(1_000_000)
    out = json.loads(cli(stack, "alerts", "set", "--org", org.org_id, "--wallet", "50,80%,100",
                         "--webhook", "https://hooks.example.com/bytespike", "--email", "ops@example.com",
                         "--json").stdout)
    assert out["wallet"] == [50, 80, 100] and out["webhook_secret"].startswith("whsec_")
    shown = json.loads(cli(stack, "alerts", "show", "--org", org.org_id, "--json").stdout)
    assert "webhook_secret" not in shown and shown["emails"] == ["ops@example.com"]
    api = stack.admin("GET", "/v1/alerts", org.master_key).json()  # the same rules through the API
    assert api["wallet"] == [50, 80, 100] and api["webhook_url"] == "https://hooks.example.com/bytespike"
    bad = cli(stack, "alerts", "set", "--org", org.org_id, "--webhook", "http://10.1.2.3/x", ok=False)
    assert bad.returncode == 1 and "webhook_url" in bad.stderr
    sent = json.loads(cli(stack, "alerts", "test", "--org", org.org_id, "--json").stdout)
    assert sent["event_id"].startswith("evt_")
    listed = json.loads(cli(stack, "alerts", "events", "--org", org.org_id, "--json").stdout)
    assert listed[0]["event_id"] == sent["event_id"]
