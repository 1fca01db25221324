"""A handle on the running local stack: SDK clients, direct DynamoDB reads, money checks."""

from __future__ import annotations

import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import boto3
import httpx
import openai


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Org:
    org_id: str
    master_key: str
    topped_up: int


@dataclass
class Stack:
    base_url: str
    sim_url: str
    dynamodb_url: str
    tables: dict[str, str]
    master_key: str
    log_path: Path
    operator_key: str = field(default="", repr=False)
    _ddb: Any = field(default=None, repr=False)

    @staticmethod
    def from_info(info: dict[str, Any], env_file: Path, log_path: Path) -> Stack:
        exported = dict(line[len("export "):].split("=", 1) for line in env_file.read_text().splitlines()
                        if line.startswith("export "))
        master = exported["ANTHROPIC_API_KEY"]
        # Point this process's store code at the same moto tables (for direct checks and seeding).
        os.environ.update({"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                           "DYNAMODB_ENDPOINT_URL": info["dynamodb_url"], **info["tables"]})
        from bytespike.config import reset_settings

        reset_settings()
        return Stack(info["base_url"], info["simulator_url"], info["dynamodb_url"], info["tables"], master, log_path,
                     operator_key=exported["BYTESPIKE_OPERATOR_KEY"])

    # ------------------------------------------------------------ clients
    @property
    def ddb(self) -> Any:
        if self._ddb is None:
            self._ddb = boto3.client("dynamodb", endpoint_url=self.dynamodb_url, region_name="us-east-1")
        return self._ddb

    def anthropic(self, key: str | None = None, **kw: Any) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.base_url, api_key=key or self.master_key, max_retries=0, **kw)

    def async_anthropic(self, key: str | None = None, **kw: Any) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.base_url, api_key=key or self.master_key, max_retries=0, **kw)

    def openai(self, key: str | None = None, **kw: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.base_url + "/v1", api_key=key or self.master_key, max_retries=0, **kw)

    def async_openai(self, key: str | None = None, **kw: Any) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(base_url=self.base_url + "/v1", api_key=key or self.master_key, max_retries=0, **kw)

    def sim_requests(self, contains: str) -> list[dict[str, Any]]:
        r = httpx.get(self.sim_url + "/_sim/requests", params={"contains": contains}, timeout=5)
        r.raise_for_status()
        return r.json()["requests"]

    def stats(self) -> dict[str, int]:
        return httpx.get(self.base_url + "/_local/stats", timeout=5).json()["dynamodb_calls"]

    # ------------------------------------------------------------ orgs and money
    def new_org(self, credits: int, *, name: str | None = None) -> Org:
        from bytespike.store import keys, ledger

        org_id = name or f"org-{secrets.token_hex(4)}"
        ledger.create_wallet(self.ddb, org_id, org_id)
        if credits:
            ledger.top_up(self.ddb, org_id, credits, topup_id="initial")
        secret = keys.new_secret()
        record = keys.KeyRecord(digest=keys.digest(secret), key_id=f"key_{secrets.token_hex(6)}", org_id=org_id,
                                kind="master", member_id="owner", created_at=int(time.time()))
        self.ddb.put_item(TableName=self.tables["KEYS_TABLE"], Item=record.to_item())
        return Org(org_id, secret, credits)

    def wallet(self, org_id: str) -> dict[str, Any]:
        from bytespike.store import ledger

        wallet = ledger.get_wallet(self.ddb, org_id)
        assert wallet is not None
        return wallet

    def reservations(self, org_id: str) -> list[dict[str, Any]]:
        from bytespike.store.dynamo import from_item

        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.tables["RESERVATIONS_TABLE"],
            "FilterExpression": "org_id = :o",
            "ExpressionAttributeValues": {":o": {"S": org_id}},
            "ConsistentRead": True,
        }
        while True:
            page = self.ddb.scan(**kwargs)
            out.extend(from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def wait_all_released(self, org_id: str, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            res = self.reservations(org_id)
            if all(r.get("released") for r in res):
                return res
            if time.monotonic() > deadline:
                open_ = [(r["id"], r["state"]) for r in res if not r.get("released")]
                raise AssertionError(f"reservations not released within {timeout}s: {open_}")
            time.sleep(0.1)

    def assert_conservation(self, org_id: str) -> dict[str, int]:
        """top-ups = balance + Σ cost(released) + Σ hold(not released); balance never negative."""
        wallet = self.wallet(org_id)
        res = self.reservations(org_id)
        billed = sum(int(r.get("cost") or 0) for r in res if r.get("released"))
        open_holds = sum(int(r["hold"]) for r in res if not r.get("released"))
        assert wallet["balance"] >= 0, wallet
        assert wallet["topped_up"] == wallet["balance"] + billed + open_holds, (wallet, billed, open_holds)
        return {"balance": wallet["balance"], "billed": billed, "open_holds": open_holds}
