"""The one-command local stack: every function on one port, offline.

Two processes. This one: every function app behind the production path table, under uvicorn
with uvloop and httptools as on Lambda; the upstream simulator on its own port; tables created
from template.yaml; a demo org with a funded wallet and a master key. The AWS side
(``bytespike.local.aws``, started here): DynamoDB with streams (moto behind a keep-alive,
Nagle-free server), a poller feeding Lambda-shaped Reservations stream batches to the release
handler, and the scheduled functions (the sweeper, the video poller, alert retries), which on AWS
are not in the gateway's Lambda either. ``make bench`` measures exactly this stack. A stack that
joins another's DynamoDB (``--dynamodb-url``) runs its own pollers and schedule instead.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

log = logging.getLogger("bytespike.local")

DEMO_ORG = "demo"
DEMO_CREDITS = 10_000_000  # $10
LOCAL_SIM_KEY = "sk-sim-local"
HOUSE_ORG = "playground-house"  # funds the playground's free runs
HOUSE_CREDITS = 5_000_000  # $5
LOCAL_ALERTS_SENDER = "alerts@bytespike.local"  # verified in moto's SES by the AWS side (local.aws)
PROVIDERS = ("anthropic", "openai", "gemini", "deepseek", "ark", "cohere", "jina")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configure_env(moto_port: int, sim_port: int | str | None, prefix: str) -> dict[str, str]:
    """Point the shared code at moto and the simulator; real provider keys keep real upstreams.

    ``sim_port`` is the simulator's port or base URL (``None``: no upstreams, e.g. the AWS side).
    """
    from bytespike.local.template import TABLE_ENV

    env = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "DYNAMODB_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        # moto serialises every call; on a busy laptop one can wait seconds behind others.
        "DYNAMODB_READ_TIMEOUT": os.environ.get("DYNAMODB_READ_TIMEOUT", "60"),
        "BYTESPIKE_LOCAL": "1",
        # The operator credential (top-ups, org creation): SSM/Secrets Manager on AWS, env locally.
        "BYTESPIKE_OPERATOR_KEY": os.environ.get("BYTESPIKE_OPERATOR_KEY") or "op-local-" + secrets.token_hex(16),
        # Alerts: emails through moto's SES on the same local endpoint, from a sender the AWS side verifies;
        # webhooks may go to loopback receivers (only here: webhook.py, docs/SECURITY.md).
        "SES_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "ALERTS_EMAIL_FROM": os.environ.get("ALERTS_EMAIL_FROM") or LOCAL_ALERTS_SENDER,
        "ALERTS_WEBHOOK_ALLOW_LOOPBACK": "1",
    }
    for logical, var in TABLE_ENV.items():
        env[var] = f"{prefix}-{logical}"
    if sim_port is not None:
        env.update(_upstream_env(sim_port if isinstance(sim_port, str) else f"http://127.0.0.1:{sim_port}"))
    os.environ.update(env)
    from bytespike.config import reset_settings

    reset_settings()
    return env


def _upstream_env(sim_url: str) -> dict[str, str]:
    """Every provider without a real key in the environment goes to the simulator at ``sim_url``."""
    env = {"BYTESPIKE_SIM_URL": sim_url}
    from bytespike.catalog import catalog

    for name, provider in catalog().providers.items():
        var = f"UPSTREAM_{name.upper()}"
        real_key = os.environ.get(f"{var}_API_KEY") or os.environ.get(provider.key_env)
        if real_key:
            log.info("provider %s: real API (key from environment)", name)
            continue
        env[f"{var}_BASE_URL"] = f"{sim_url.rstrip('/')}{provider.sim_prefix}"
        env[f"{var}_API_KEY"] = LOCAL_SIM_KEY
    return env


def create_tables(client: Any, prefix: str) -> None:
    from bytespike.local.template import table_definitions

    existing = set(client.list_tables().get("TableNames", []))
    for _, definition in table_definitions(prefix).items():
        create = definition["create"]
        if create["TableName"] in existing:
            continue
        client.create_table(**create)
        ttl = definition.get("ttl")
        if ttl and ttl.get("Enabled"):
            client.update_time_to_live(
                TableName=create["TableName"],
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )


def seed_demo(client: Any, master_secret: str | None) -> str:
    """A demo org with a $10 wallet and a master key (reused from dev.env when present)."""
    from bytespike.store import keys, ledger

    ledger.create_wallet(client, DEMO_ORG, "Demo org")
    ledger.top_up(client, DEMO_ORG, DEMO_CREDITS, topup_id="seed")
    secret = master_secret or keys.new_secret()
    record = keys.KeyRecord(
        digest=keys.digest(secret),
        key_id="key_demo_master",
        org_id=DEMO_ORG,
        kind="master",
        member_id="owner",
        label="demo master",
        created_at=int(time.time()),
    )
    from bytespike.config import settings

    client.put_item(TableName=settings().keys_table, Item=record.to_item())
    return secret


def seed_house(client: Any) -> str:
    """The playground's house org: a funded wallet and a key that may only use free-tier models.

    The key goes to this process's environment (``PLAYGROUND_HOUSE_KEY``), where the
    playground function reads it; on AWS it is an SSM SecureString instead.
    """
    from bytespike.config import settings
    from bytespike.playground.settings import free_models
    from bytespike.store import keys, ledger

    ledger.create_wallet(client, HOUSE_ORG, "Playground house wallet")
    ledger.top_up(client, HOUSE_ORG, HOUSE_CREDITS, topup_id="seed")
    secret = os.environ.get("PLAYGROUND_HOUSE_KEY") or keys.new_secret()
    record = keys.KeyRecord(
        digest=keys.digest(secret),
        key_id="key_playground_house",
        org_id=HOUSE_ORG,
        kind="master",
        member_id="playground",
        models=frozenset(m.id for m in free_models()),
        label="playground house key",
        created_at=int(time.time()),
    )
    client.put_item(TableName=settings().keys_table, Item=record.to_item())
    os.environ.update({"PLAYGROUND_HOUSE_KEY": secret, "PLAYGROUND_HOUSE_ORG": HOUSE_ORG})
    os.environ.setdefault("PLAYGROUND_GET_KEY_HINT", "the local stack printed the demo org's master key when it "
                                                     "started; it is also in .bytespike/dev.env")
    return secret


def write_dev_env(path: Path, base_url: str, secret: str, sim_url: str, moto_url: str, operator_key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Written by `make dev`; `source` it to point the official SDKs at the local gateway.\n"
        f"export ANTHROPIC_BASE_URL={base_url}\n"
        f"export ANTHROPIC_API_KEY={secret}\n"
        f"export OPENAI_BASE_URL={base_url}/v1\n"
        f"export OPENAI_API_KEY={secret}\n"
        # Google's SDKs and Gemini CLI read these two (the key travels as x-goog-api-key).
        f"export GOOGLE_GEMINI_BASE_URL={base_url}\n"
        f"export GEMINI_API_KEY={secret}\n"
        f"export BYTESPIKE_SIM_URL={sim_url}\n"
        f"export BYTESPIKE_DYNAMODB_URL={moto_url}\n"
        f"export BYTESPIKE_OPERATOR_KEY={operator_key}\n"
        # The playground's "request as code" and the README's examples read these two.
        f"export BYTESPIKE_BASE_URL={base_url}\n"
        f"export BYTESPIKE_API_KEY={secret}\n"
        # The `bytespike` CLI on PATH, and able to find this stack from any directory.
        f"export BYTESPIKE_ENV_FILE={path.resolve()}\n"
        f'export PATH="{Path(sys.executable).parent}:$PATH"\n'
    )
    path.chmod(0o600)


def read_saved_secret(path: Path) -> str | None:
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("export ANTHROPIC_API_KEY="):
            return line.split("=", 1)[1].strip() or None
    return None


class StreamPoller:
    """Reads a table's stream like Lambda's event source mapping and calls its function (by default
    the release handler on the Reservations stream; ``stream_pollers`` also gives the Alerts stream its).

    Records the handler reports as failed are redelivered in the next batch (at-least-once),
    exactly as ReportBatchItemFailures makes Lambda do.
    """

    REWIND = 0

    def __init__(self, client: Any, streams: Any, table: str, interval: float = 0.2,
                 handler: Any = None) -> None:
        self.handler = handler  # the function the stream invokes (default: the release function)
        self.client = client
        self.streams = streams
        self.table = table
        self.interval = interval
        self.consumed: dict[str, int] = {}
        self.shards: list[tuple[str, int]] = []  # (shard id, starting sequence number)
        self.iterators: dict[str, str] = {}  # shard id -> the NextShardIterator of its last read
        self.seen: dict[str, None] = {}  # insertion-ordered set of delivered eventIDs
        self.pending: list[dict[str, Any]] = []
        self.stream_arn = ""
        self.delivered = 0
        self.batches = 0

    def stats(self) -> dict[str, int]:
        return {"stream_records_delivered": self.delivered, "stream_batches": self.batches,
                "stream_pending": len(self.pending)}

    def _init(self) -> None:
        self.stream_arn = self.client.describe_table(TableName=self.table)["Table"]["LatestStreamArn"]

    def _fetch(self) -> list[dict[str, Any]]:
        """New records of every shard.

        Stock moto rolls a cancelled transaction back by swapping in copies of its tables;
        ``moto_speed.fast_moto_transactions`` (always installed by the local stack) rolls back
        items in place and drops the records the cancelled transaction appended, so the stream is
        append-only: each poll continues from the iterator the last GetRecords returned (or, after
        a failed poll, from the position consumed so far; ``REWIND`` re-reads a window behind it,
        for stock moto). eventIDs already delivered are skipped either way. moto's stream has one
        shard per table, listed once. Re-reading 64 records every 0.2 s used to be ~40 % of the
        local DynamoDB's CPU; DescribeStream and GetShardIterator on every poll were two more calls
        per stream every 0.2 s. On AWS, Lambda's event source mapping does this job and none of
        this code runs.
        """
        if not self.shards:
            desc = self.streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]
            self.shards = [(s["ShardId"], int(s["SequenceNumberRange"]["StartingSequenceNumber"]))
                           for s in desc.get("Shards", [])]
        out: list[dict[str, Any]] = []
        for sid, start in self.shards:
            position = max(0, self.consumed.get(sid, 0) - self.REWIND)
            iterator = None if self.REWIND else self.iterators.pop(sid, None)  # popped: a failed read starts afresh
            try:
                page = self.streams.get_records(ShardIterator=iterator or self._iterator(sid, start + position),
                                                Limit=100 + self.REWIND)
            except ClientError as exc:  # iterators live 15 minutes (a laptop that slept): a new one, same place
                if iterator is None or exc.response.get("Error", {}).get("Code") != "ExpiredIteratorException":
                    raise
                page = self.streams.get_records(ShardIterator=self._iterator(sid, start + position),
                                                Limit=100 + self.REWIND)
            records = page.get("Records", [])
            self.consumed[sid] = position + len(records)
            if page.get("NextShardIterator"):
                self.iterators[sid] = page["NextShardIterator"]
            for rec in records:
                if rec["eventID"] in self.seen:
                    continue
                self.seen[rec["eventID"]] = None
                out.append({**rec, "eventSourceARN": self.stream_arn})
        while len(self.seen) > 50_000:
            self.seen.pop(next(iter(self.seen)))
        return out

    def _iterator(self, shard_id: str, sequence_number: int) -> str:
        return self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=str(sequence_number),
        )["ShardIterator"]

    def poll_once(self) -> int:
        from bytespike.release.handler import handler as release

        handler = self.handler or release
        records = list(self.pending) + self._fetch()
        if not records:
            return 0
        self.batches += 1
        result = handler({"Records": records}, None)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        if failed:
            log.warning("%s stream: the handler failed %d of %d records; they will be redelivered", self.table,
                        len(failed), len(records))
        # Lambda retries from the first failed record onwards; we redeliver only failed ones,
        # which is what ReportBatchItemFailures plus a conditional release makes equivalent.
        self.pending = [r for r in records if r["dynamodb"].get("SequenceNumber") in failed]
        self.delivered += len(records)
        return len(records)

    async def run(self, initialised: bool = False) -> None:
        if not initialised:
            await asyncio.to_thread(self._init)
        while True:
            try:
                await asyncio.to_thread(self.poll_once)
            except Exception:
                log.exception("stream poll failed")
            await asyncio.sleep(self.interval)


async def scheduled(interval: float, job: Callable[[], Any]) -> None:
    """A scheduled function (an EventBridge rate on AWS): ``job`` in a worker thread every ``interval`` s."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(job)
        except Exception:
            log.exception("%s failed", getattr(job, "__name__", job))


async def sweeper_loop(interval: float) -> None:
    from bytespike.release.sweeper import sweep

    await scheduled(interval, sweep)


def stream_pollers(client: Any, streams: Any, env: dict[str, str], interval: float) -> list[StreamPoller]:
    """The functions the tables' streams invoke, as Lambda's event source mappings do on AWS: the
    release function (Reservations, first) and the alerts function (Alerts: each new event)."""
    from bytespike.alerts.notify import handler as alerts_function

    return [StreamPoller(client, streams, env["RESERVATIONS_TABLE"], interval=interval),
            StreamPoller(client, streams, env["ALERTS_TABLE"], interval=interval, handler=alerts_function)]


async def alerts_retry_loop(interval: float) -> None:
    """The alerts function's schedule (every minute on AWS): deliveries whose next round is due."""
    from bytespike.alerts.notify import retry_due

    await scheduled(interval, retry_due)


async def video_poll_loop(interval: float) -> None:
    """The scheduled video poller (VideoPollFunction on AWS), run in the stack's own loop."""
    from bytespike.gateway.media.video import poll_open_jobs

    while True:
        await asyncio.sleep(interval)
        try:
            await poll_open_jobs()
        except Exception:
            log.exception("video poll failed")


class Dispatcher:
    """One ASGI app for the whole stack: by listening port (simulator vs gateway), then by path table."""

    def __init__(self, gateway_port: int, sim_port: int, info: dict[str, Any]) -> None:
        from bytespike.http.access import AccessMiddleware
        from bytespike.http.app import REGISTRARS, create_app
        from bytespike.http.paths import PATH_TABLE
        from bytespike.simulator.app import create_simulator_app

        self.gateway_port = gateway_port
        self.sim_port = sim_port
        self.info = info
        self.ready = False
        names = {fn for _, fn in PATH_TABLE if fn in REGISTRARS}
        self.apps = {name: create_app(name) for name in sorted(names)}
        self.unrouted = AccessMiddleware(_unrouted, function="router")  # the front door's own 404
        self.simulator = create_simulator_app()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        server = scope.get("server") or ("", 0)
        if server[1] == self.sim_port:
            await self.simulator(scope, receive, send)
            return
        from bytespike.http.paths import function_for

        path = scope.get("path", "")
        if path == "/healthz":
            public = {k: v for k, v in self.info.items() if not k.startswith("_")}
            await self._json(send, 200 if self.ready else 503, {"ok": self.ready, **public})
            return
        if path == "/_local/stats" and scope.get("client", ("",))[0] == "127.0.0.1":
            from bytespike.store.dynamo import CALLS

            # dynamodb_calls: the whole stack's (the release poller's included, wherever it runs);
            # gateway_dynamodb_calls: this process's request path only (make bench, scenario 8).
            side = await self._stream_stats()
            total = CALLS + Counter(side.pop("dynamodb_calls", {}))
            await self._json(send, 200, {"dynamodb_calls": dict(total), "gateway_dynamodb_calls": dict(CALLS), **side})
            return
        app = self.apps.get(function_for(path) or "")
        await (app or self.unrouted)(scope, receive, send)

    async def _stream_stats(self) -> dict[str, Any]:
        """The release poller's counters: this process's poller, or the AWS side's (``local.aws``, with
        its DynamoDB calls)."""
        poller = self.info.get("_poller")
        if poller is not None:
            return dict(poller.stats())
        if self.info.get("_aws_side"):
            import urllib.request

            from bytespike.local.moto_server import STATS_PATH

            def fetch() -> dict[str, Any]:
                with urllib.request.urlopen(self.info["dynamodb_url"] + STATS_PATH, timeout=10) as resp:
                    return dict(json.loads(resp.read()))

            return await asyncio.to_thread(fetch)
        return {"stream_records_delivered": 0, "stream_batches": 0, "stream_pending": 0}

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                from bytespike.providers import HTTP
                from bytespike.store.dynamo import dynamo

                await HTTP.close()
                await dynamo().close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    @staticmethod
    async def _json(send: Any, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode()),
                                (b"estimated_credits", b"0")]})
        await send({"type": "http.response.body", "body": raw})


async def _unrouted(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A path no function serves: the gateway's 404 in the caller's protocol (API Gateway's own
    answer on AWS carries the same header: template.yaml, gateway responses)."""
    from starlette.requests import Request

    from bytespike.errors import GatewayError, Kind
    from bytespike.gateway.pipeline import new_request_id
    from bytespike.http.render import error_response, surface_for_shared_path

    request = Request(scope, receive)
    err = GatewayError(Kind.NOT_FOUND, f"No function serves {request.method} {scope.get('path', '')}.")
    await error_response(err, surface_for_shared_path(request), new_request_id(), 0)(scope, receive, send)


def _loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:  # not on Windows
        return "asyncio"
    return "uvloop"


def _bind(port: int) -> socket.socket:
    """A listening socket for uvicorn whose connections send without Nagle's delay.

    asyncio sets TCP_NODELAY only on sockets whose ``proto`` is IPPROTO_TCP, and a socket made
    as ``socket(AF_INET, SOCK_STREAM)`` has proto 0, as do the connections it accepts: every
    response whose headers and body went out in two writes then waited ~40 ms for the client's
    delayed ACK (each kept-alive request after the first). uvloop does not set it either; Linux
    copies TCP_NODELAY from the listening socket to the accepted ones.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def serve(args: argparse.Namespace) -> None:
    from bytespike.local import aws

    sim_port = args.sim_port or free_port()
    side = None
    if args.dynamodb_url:  # join another stack's DynamoDB (e.g. two gateway processes sharing tables)
        moto_port = int(args.dynamodb_url.rsplit(":", 1)[1].rstrip("/"))
    else:  # DynamoDB, SES and the stream functions in a process of their own, importing while this one does
        moto_port = args.moto_port or free_port()
        side = aws.spawn(moto_port, args.table_prefix, args.poll_interval, args.log_level, args.sweep_interval,
                         args.simulator_url or f"http://127.0.0.1:{sim_port}")
    try:
        await _serve(args, sim_port, moto_port, side)
    finally:
        if side is not None:
            aws.stop(side)


async def _serve(args: argparse.Namespace, sim_port: int, moto_port: int, side: Any) -> None:
    import boto3
    import uvicorn

    from bytespike.local import aws

    env = configure_env(moto_port, args.simulator_url or sim_port, args.table_prefix)
    import bytespike.http.app
    import bytespike.simulator.app  # noqa: F401 - imported while the AWS side imports moto
    from bytespike.store.dynamo import sync_client

    if side is not None:
        await asyncio.to_thread(aws.wait_listening, moto_port, side)

    client = sync_client()
    create_tables(client, args.table_prefix)
    env_file = Path(args.env_file)
    secret = seed_demo(client, read_saved_secret(env_file) if args.reuse_key else None)
    base_url = f"http://127.0.0.1:{args.port}"
    write_dev_env(env_file, base_url, secret, env["BYTESPIKE_SIM_URL"], env["DYNAMODB_ENDPOINT_URL"],
                  env["BYTESPIKE_OPERATOR_KEY"])
    house = seed_house(client)
    with env_file.open("a") as fh:  # the playground's config (the house key stays server-side)
        fh.write(f"export PLAYGROUND_HOUSE_ORG={HOUSE_ORG}\nexport PLAYGROUND_HOUSE_KEY={house}\n")

    # pid: the process-kill fault test SIGKILLs exactly this stack (tests/faults/test_process_kill.py);
    # aws_side_pid: the local DynamoDB's process (make bench reads its CPU apart from the gateway's).
    info = {"base_url": base_url, "simulator_url": env["BYTESPIKE_SIM_URL"],
            "dynamodb_url": env["DYNAMODB_ENDPOINT_URL"], "tables": {k: v for k, v in env.items() if k.endswith("_TABLE")},
            "pid": os.getpid(), "aws_side_pid": side.pid if side is not None else None, "_aws_side": side is not None}
    dispatcher = Dispatcher(args.port, sim_port, info)
    # proxy_headers=False: the TCP peer is the client (uvicorn would otherwise let a client on
    # 127.0.0.1 rewrite it with X-Forwarded-For, and the playground counts free runs by it).
    # uvloop + httptools: what functions/*/run.sh serve with on Lambda.
    config = uvicorn.Config(dispatcher, log_level=args.log_level, access_log=False, lifespan="on",
                            timeout_graceful_shutdown=3, loop=_loop(), http="auto", proxy_headers=False)
    server = uvicorn.Server(config)
    tasks = []
    if side is None and args.poll_interval > 0:  # a joined stack consumes the streams itself, as before
        streams = boto3.client("dynamodbstreams", region_name="us-east-1", endpoint_url=env["DYNAMODB_ENDPOINT_URL"])
        pollers = stream_pollers(client, streams, env, args.poll_interval)
        info["_poller"] = pollers[0]
        tasks += [asyncio.create_task(poller.run()) for poller in pollers]
        if args.sweep_interval > 0:
            tasks.append(asyncio.create_task(alerts_retry_loop(args.sweep_interval)))
    sockets = [_bind(args.port)] + ([] if args.simulator_url else [_bind(sim_port)])
    if side is None and args.sweep_interval > 0:  # else the AWS side runs the scheduled functions, as AWS does
        tasks += [asyncio.create_task(sweeper_loop(args.sweep_interval)),
                  asyncio.create_task(video_poll_loop(args.sweep_interval))]
    serve_task = asyncio.create_task(server.serve(sockets=sockets))
    while not server.started and not serve_task.done():
        await asyncio.sleep(0.02)
    dispatcher.ready = server.started
    if server.started:
        _banner(base_url, secret, env_file, env["BYTESPIKE_SIM_URL"])
    try:
        await serve_task
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _banner(base_url: str, secret: str, env_file: Path, sim_url: str) -> None:
    print(
        "\nByteSpike local stack is up\n"
        f"  base URL      {base_url}\n"
        f"  demo org      {DEMO_ORG} (wallet {DEMO_CREDITS:,} credits = $10)\n"
        f"  master key    {secret}\n"
        f"  playground    {base_url}/ (free runs funded by the '{HOUSE_ORG}' wallet)\n"
        f"  simulator     {sim_url}\n"
        f"  SDK env       source {env_file}\n"
        "  Ctrl-C stops everything.\n",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bytespike.local", description=__doc__)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8787")))
    parser.add_argument("--sim-port", type=int, default=int(os.environ.get("SIM_PORT", "0")))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", "0")))
    parser.add_argument("--dynamodb-url", default=os.environ.get("BYTESPIKE_JOIN_DYNAMODB_URL", ""),
                        help="use this running local DynamoDB instead of starting one")
    parser.add_argument("--simulator-url", default="",
                        help="send simulated upstreams to this running simulator instead of serving one (make bench)")
    parser.add_argument("--table-prefix", default="bytespike-local")
    parser.add_argument("--env-file", default=".bytespike/dev.env")
    parser.add_argument("--no-reuse-key", dest="reuse_key", action="store_false")
    parser.add_argument("--poll-interval", type=float, default=float(os.environ.get("STREAM_POLL_INTERVAL", "0.2")),
                        help="seconds between stream polls, Reservations and Alerts (0: no stream functions)")
    parser.add_argument("--sweep-interval", type=float, default=float(os.environ.get("SWEEP_INTERVAL", "5")),
                        help="seconds between sweeps, video polls and alert retry rounds (0: none)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "warning"))
    parser.add_argument("--no-access-log", dest="access_log", action="store_false",
                        help="do not print one line per request (method, path, model, status, credits, ms)")
    args = parser.parse_args(argv)
    if args.access_log:
        os.environ["BYTESPIKE_ACCESS_LOG"] = "1"
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
