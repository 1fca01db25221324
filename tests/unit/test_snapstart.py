"""SnapStart: every sandbox restored from one snapshot gets its own randomness, connections and
caches, and every Python function in the template is wired to the hooks (issue #20)."""

from __future__ import annotations

import asyncio
import importlib.util
import random
import sys
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from bytespike import snapstart
from bytespike.config import reset_settings
from bytespike.local.template import load_template, resources

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = resources("AWS::Serverless::Function")
GLOBALS = load_template()["Globals"]["Function"]


def test_restored_sandboxes_draw_different_random_sequences() -> None:
    """Two sandboxes resume with the same generator state; after the hook they diverge."""
    draws = []
    for _ in range(2):
        random.seed(20)  # the state both sandboxes inherit from the snapshot
        snapstart.after_restore_sync()
        draws.append([random.random() for _ in range(4)])
    assert draws[0] != draws[1]


def test_caches_from_before_the_snapshot_are_forgotten() -> None:
    from bytespike.alerts import evaluate
    from bytespike.gateway import budget, pipeline
    from bytespike.providers import pool
    from bytespike.store import keys

    keys.KEY_CACHE.put("digest-of-a-key-revoked-since", None)
    pool.HEALTH._entries["openai"] = ({}, time.monotonic())
    pool.HEALTH._errors[("openai", "a")] = 3
    pipeline._HOLD_FIRST["org-1"] = time.monotonic() + 30
    budget.refused("org-2", 5_000)  # the wallet as the snapshot's process last saw it
    assert budget.claim("org-2", 1_000)
    evaluate._RULES["org-3"] = (None, time.monotonic())  # "no rules", as the snapshot's process read it
    evaluate._FIRED.add(("org-3", "wallet#topup-1#80"))
    snapstart.after_restore_sync()
    assert keys.KEY_CACHE.get("digest-of-a-key-revoked-since", 1e9) == (False, None)
    assert not pool.HEALTH._entries and not pool.HEALTH._errors
    assert "org-1" not in pipeline._HOLD_FIRST
    assert not budget.claim("org-2", 1_000), "a restored sandbox overlapped on another sandbox's wallet view"
    assert not evaluate._RULES and not evaluate._FIRED, "alert rules set since the snapshot would wait for the TTL"


@pytest.fixture
def local_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for var, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
                       "DYNAMODB_ENDPOINT_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(var, value)
    reset_settings()
    yield
    reset_settings()


def test_pooled_connections_are_closed_and_reopened(local_env: None) -> None:
    from bytespike.providers import HTTP, UPSTREAM_HTTP
    from bytespike.store import dynamo as store

    async def main() -> None:
        session, client, ddb = UPSTREAM_HTTP.get(), HTTP.get(), store.dynamo()
        await snapstart.after_restore()
        assert session.closed
        assert UPSTREAM_HTTP.get() is not session
        assert HTTP.get() is not client
        assert store.dynamo() is not ddb
        await snapstart.drop_connections()

    asyncio.run(main())


def test_the_event_handlers_boto3_clients_are_dropped() -> None:
    from bytespike.alerts import email, notify
    from bytespike.release import handler, sweeper

    handler._client, sweeper._client, notify._client, email._client = object(), object(), object(), object()
    snapstart.after_restore_sync()
    assert handler._client is None and sweeper._client is None
    assert notify._client is None and email._client is None


def test_prime_puts_the_first_requests_imports_into_the_snapshot() -> None:
    snapstart.prime()
    assert "aiohttp" in sys.modules and "bytespike.wire.openai" in sys.modules


def test_web_adapter_hooks_exist_only_where_the_template_configures_them(monkeypatch: pytest.MonkeyPatch,
                                                                        local_env: None) -> None:
    from bytespike.http.app import create_app
    from bytespike.store import keys

    assert TestClient(create_app("chat")).post("/_snapstart/after-restore").status_code == 404
    monkeypatch.setenv(snapstart.BEFORE_CHECKPOINT_ENV, "/_snapstart/before-checkpoint")
    monkeypatch.setenv(snapstart.AFTER_RESTORE_ENV, "/_snapstart/after-restore")
    client = TestClient(create_app("chat"))
    assert client.post("/_snapstart/before-checkpoint").status_code == 200
    keys.KEY_CACHE.put("stale", None)
    assert client.post("/_snapstart/after-restore").status_code == 200
    assert keys.KEY_CACHE.get("stale", 1e9) == (False, None)


# ---------------------------------------------------------------- the template and the entry points
def test_every_python_function_is_published_with_snapstart() -> None:
    assert GLOBALS["Runtime"].startswith("python3.")
    assert GLOBALS["SnapStart"] == {"ApplyOn": "PublishedVersions"}
    assert GLOBALS["AutoPublishAlias"]  # SnapStart applies to published versions only
    for logical, res in FUNCTIONS.items():
        props = res["Properties"]
        assert props.get("SnapStart", GLOBALS["SnapStart"]) == {"ApplyOn": "PublishedVersions"}, logical
        assert "ProvisionedConcurrencyConfig" not in props and "FileSystemConfigs" not in props, logical


def test_api_permissions_name_the_alias_callers_invoke() -> None:
    for logical, res in resources("AWS::Lambda::Permission").items():
        assert res["Properties"]["FunctionName"] == {"Ref": logical.removesuffix("ApiPermission") + ".Alias"}, logical


@pytest.mark.parametrize("logical", sorted(k for k, r in FUNCTIONS.items() if r["Properties"]["Handler"] == "run.sh"))
def test_web_adapter_functions_name_both_hooks(logical: str) -> None:
    props = FUNCTIONS[logical]["Properties"]
    env = props["Environment"]["Variables"]
    assert env[snapstart.BEFORE_CHECKPOINT_ENV] == "/_snapstart/before-checkpoint"
    assert env[snapstart.AFTER_RESTORE_ENV] == "/_snapstart/after-restore"
    layer = next(str(x["Fn::Sub"]) for x in props["Layers"] if "LambdaAdapterLayer" in str(x))
    assert int(layer.rsplit(":", 1)[1]) >= 30, "the adapter relays SnapStart hooks from v1.1.0 (layer 30) on"


@pytest.mark.parametrize("logical", sorted(k for k, r in FUNCTIONS.items() if r["Properties"]["Handler"] != "run.sh"))
def test_managed_runtime_functions_register_both_hooks(logical: str, monkeypatch: pytest.MonkeyPatch) -> None:
    registered: dict[str, list[Any]] = {"before": [], "after": []}
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = registered["before"].append  # type: ignore[attr-defined]
    fake.register_after_restore = registered["after"].append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", fake)
    props = FUNCTIONS[logical]["Properties"]
    module_file = ROOT / props["CodeUri"] / (props["Handler"].split(".")[0] + ".py")
    spec = importlib.util.spec_from_file_location(f"entry_{logical}", module_file)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert registered == {"before": [snapstart.prime], "after": [snapstart.after_restore_sync]}
