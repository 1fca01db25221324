"""A handle on the running local stack: SDK clients, direct DynamoDB reads, money checks."""

from __future__ import annotations

import itertools
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
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


REPO = Path(__file__).resolve().parents[2]


@contextmanager
def local_stack_process(workdir: Path, *, args: list[str] | None = None,
                        env: dict[str, str] | None = None) -> Iterator[tuple[dict[str, Any], Path, Path]]:
    """Run `python -m bytespike.local` in a subprocess until healthy; yield (healthz info, env file, log)."""
    port, sim_port = free_port(), free_port()
    env_file, log_path = workdir / "dev.env", workdir / "stack.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("UPSTREAM_")}  # no real keys in tests
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bytespike.local", "--port", str(port), "--sim-port", str(sim_port),
             "--env-file", str(env_file), "--no-reuse-key", "--log-level", "warning", *(args or [])],
            cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            info = _wait_healthy(proc, f"http://127.0.0.1:{port}", log_path)
            yield info, env_file, log_path
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


# The test stacks' alert delivery: rules apply within a second; 3 attempts per round, 0.2 s and
# 0.5 s apart; rounds 1, 2, 4 s apart. Shared by every process polling one DynamoDB's Alerts stream.
ALERTS_ENV = {
    "ALERTS_RULES_TTL_SECONDS": "1",
    "ALERTS_RETRY_DELAYS": "0.2,0.5",
    "ALERTS_RETRY_SCHEDULE": "1,2,4",
}


def gateway_on(stack: Stack, workdir: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    """Another gateway process on ``stack``'s DynamoDB (its own simulator, poller and sweeper), run
    with ``env`` on top of the production defaults; a context manager like ``local_stack_process``.

    A joined gateway also polls the shared Alerts stream and runs its retries, standing in for the
    one AlertsFunction, so it delivers alerts on the test stack's schedule (``ALERTS_ENV``): on
    production timings it took over the session's alert events and retried them minutes apart."""
    env = {**ALERTS_ENV, **env}
    args = ["--dynamodb-url", stack.dynamodb_url, "--table-prefix", "bytespike-test", "--sweep-interval", "1",
            "--poll-interval", "0.1"]
    return local_stack_process(workdir, args=args, env=env)


@contextmanager
def local_dynamodb() -> Iterator[Any]:
    """The local DynamoDB (``bytespike.local.moto_server.LocalDynamoDB``) in this process's threads."""
    from bytespike.local.moto_server import LocalDynamoDB

    server = LocalDynamoDB(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _wait_healthy(proc: subprocess.Popen[bytes], base: str, log_path: Path) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"local stack exited early:\n{log_path.read_text()}")
        try:
            r = httpx.get(base + "/healthz", timeout=1)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"local stack did not become healthy:\n{log_path.read_text()}")


_CLIENT_IPS = itertools.count(1)


def next_client_ip() -> str:
    """A loopback address no other test in this session uses (127.77.x.y; never 127.0.0.1)."""
    i = next(_CLIENT_IPS)
    return f"127.77.{i // 250}.{i % 250 + 1}"


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
    house_org: str = ""
    house_key: str = field(default="", repr=False)
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
                     operator_key=exported["BYTESPIKE_OPERATOR_KEY"],
                     house_org=exported.get("PLAYGROUND_HOUSE_ORG", ""), house_key=exported.get("PLAYGROUND_HOUSE_KEY", ""))

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

    def http_from(self, ip: str, **kw: Any) -> httpx.Client:
        """An HTTP client whose connections come from ``ip`` (any 127/8 address works on Linux
        loopback): the playground counts free runs by the TCP peer, so each test gets its own."""
        return httpx.Client(base_url=self.base_url, transport=httpx.HTTPTransport(local_address=ip), **kw)

    def async_http_from(self, ip: str, **kw: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, transport=httpx.AsyncHTTPTransport(local_address=ip), **kw)

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
        """top-ups = balance + Σ cost(released) + Σ hold(not released); balance never negative.

        The wallet and the reservations are two reads while the stack's pollers and sweeper keep
        working, so they are taken as one snapshot: reservations, wallet, reservations again, until
        the two reservation reads agree. Every wallet change the stack makes is in one transaction
        with a reservation change (hold, release), so reservations unchanged around the wallet read
        mean the wallet read belongs to the same state.
        """
        for _ in range(50):
            before = self.reservations(org_id)
            wallet = self.wallet(org_id)
            res = self.reservations(org_id)
            if _money_view(before) == _money_view(res):
                break
        else:
            raise AssertionError(f"reservations of {org_id} kept changing: no consistent snapshot")
        billed = sum(int(r.get("cost") or 0) for r in res if r.get("released"))
        open_holds = sum(int(r["hold"]) for r in res if not r.get("released"))
        assert wallet["balance"] >= 0, wallet
        assert wallet["topped_up"] == wallet["balance"] + billed + open_holds, (wallet, billed, open_holds)
        return {"balance": wallet["balance"], "billed": billed, "open_holds": open_holds}

    # ------------------------------------------------------------ admin API (issue #5)
    @property
    def env_file(self) -> Path:
        """The dev.env the stack wrote (the conftest keeps it next to the log)."""
        return self.log_path.parent / "dev.env"

    def admin(self, method: str, path: str, key: str | None = None, *, shape: str = "anthropic",
              json: Any = None, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
              ) -> httpx.Response:
        """One admin API call; ``shape`` picks the auth header and so the error shape (x-api-key vs Bearer)."""
        auth: dict[str, str] = {}
        if key:
            auth = {"x-api-key": key} if shape == "anthropic" else {"authorization": f"Bearer {key}"}
        if shape == "anthropic":
            auth["anthropic-version"] = "2023-06-01"  # as the Anthropic SDK sends it, with or without a key
        return httpx.request(method, self.base_url + path, json=json, params=params,
                             headers={**auth, **(headers or {})}, timeout=30)

    def create_org(self, credits: int, org_id: str | None = None) -> Org:
        """An org through the admin API (operator), its master key from the response."""
        org_id = org_id or f"org-{secrets.token_hex(4)}"
        r = self.admin("POST", "/v1/orgs", self.operator_key, json={"org_id": org_id, "credits": credits})
        assert r.status_code == 201, r.text
        return Org(org_id, r.json()["master_key"]["secret"], credits)

    def mint(self, key: str, **body: Any) -> dict[str, Any]:
        """A key minted with ``key`` (a master, or the operator); the response includes the one-time secret."""
        r = self.admin("POST", "/v1/keys", key, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def member_used(self, org_id: str, member_id: str, period: str) -> int | None:
        from bytespike.store import ledger
        from bytespike.store.dynamo import from_item

        item = self.ddb.get_item(TableName=self.tables["ACCOUNTS_TABLE"], Key=ledger.member_key(org_id, member_id, period),
                                 ConsistentRead=True).get("Item")
        return int(from_item(item)["used"]) if item else None

    def _streams(self) -> tuple[Any, str]:
        streams = boto3.client("dynamodbstreams", endpoint_url=self.dynamodb_url, region_name="us-east-1")
        arn = self.ddb.describe_table(TableName=self.tables["RESERVATIONS_TABLE"])["Table"]["LatestStreamArn"]
        return streams, arn

    def stream_mark(self) -> dict[str, str]:
        """Shard iterators at the stream's current end: read from here later instead of from the start."""
        streams, arn = self._streams()
        return {shard["ShardId"]: streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                             ShardIteratorType="LATEST")["ShardIterator"]
                for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]}

    def stream_records(self, reservation_ids: set[str], since: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """The Reservations stream records of these reservations, Lambda-shaped (to redeliver them).

        ``since`` (from :meth:`stream_mark`) skips what came before; the whole stream is slow to read late in a run.
        """
        streams, arn = self._streams()
        out: list[dict[str, Any]] = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            it = (since or {}).get(shard["ShardId"]) or streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                page = streams.get_records(ShardIterator=it, Limit=1000)
                out += [{**r, "eventSourceARN": arn} for r in page["Records"]
                        if r["dynamodb"]["Keys"]["id"]["S"] in reservation_ids]
                if not page["Records"]:
                    break
                it = page.get("NextShardIterator")
        return out

    # ------------------------------------------------------------ multimodal (issue #6)
    def scoped_key(self, org_id: str, modalities: list[str]) -> str:
        """A master key of ``org_id`` limited to these modalities (e.g. ["chat"])."""
        from bytespike.store import keys

        secret = keys.new_secret()
        record = keys.KeyRecord(digest=keys.digest(secret), key_id=f"key_{secrets.token_hex(6)}", org_id=org_id,
                                kind="master", member_id="owner", created_at=int(time.time()),
                                modalities=frozenset(modalities))
        self.ddb.put_item(TableName=self.tables["KEYS_TABLE"], Item=record.to_item())
        return secret

    def usage_row(self, org_id: str, request_id: str, timeout: float = 20.0) -> dict[str, Any]:
        """The usage-ledger row the release wrote for one request (waits for the release)."""
        from bytespike.store.dynamo import from_item

        deadline = time.monotonic() + timeout
        while True:
            page = self.ddb.query(TableName=self.tables["USAGE_TABLE"], KeyConditionExpression="pk = :p",
                                  FilterExpression="request_id = :r", ConsistentRead=True,
                                  ExpressionAttributeValues={":p": {"S": f"ORG#{org_id}"}, ":r": {"S": request_id}})
            if page.get("Items"):
                return from_item(page["Items"][0])
            if time.monotonic() > deadline:
                raise AssertionError(f"no usage row for {request_id} within {timeout}s")
            time.sleep(0.1)

    def video_job(self, job_id: str) -> dict[str, Any] | None:
        from bytespike.store.dynamo import from_item

        item = self.ddb.get_item(TableName=self.tables["VIDEO_JOBS_TABLE"], Key={"id": {"S": job_id}},
                                 ConsistentRead=True).get("Item")
        return from_item(item) if item else None


def _money_view(reservations: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What of a reservation the conservation sum reads, in a stable order."""
    return sorted((r["id"], bool(r.get("released")), int(r.get("cost") or 0), int(r["hold"])) for r in reservations)
