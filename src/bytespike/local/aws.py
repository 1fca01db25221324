"""The local stack's AWS side: DynamoDB and SES in one process, the functions AWS would run beside them in another.

``python -m bytespike.local`` starts this process (so do the test stacks and ``make bench``,
which runs the stack ``make dev`` runs): the local DynamoDB (moto behind the keep-alive,
Nagle-free server of ``moto_server``, made cheap by ``moto_speed``, with the fault hook; moto's
SES answers on the same port, with the alerts sender verified). It starts a child of its own, the
functions process (``--functions``): the pollers that feed the Reservations stream to the release
handler and the Alerts stream to the alerts function, and the scheduled functions (the sweeper,
the video poller, the alerts function's retry rounds). On AWS all of these are outside the
gateway's Lambda, and the functions outside DynamoDB; here each runs in its own process, so
moto's CPU per call and the release, sweep and alert work neither hold the gateway's GIL nor
count as its CPU or its DynamoDB calls, and the functions' botocore work does not hold moto's.

Both processes exit when their parent does (a SIGKILLed stack leaves no orphan behind).
``GET /_bytespike/stats`` on the DynamoDB port reports the functions process's counters and its
DynamoDB calls (the stack's ``/_local/stats`` adds them to the gateway's); ``GET
/_bytespike/emails`` lists what SES "sent".
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from typing import Any

log = logging.getLogger("bytespike.local.aws")


def spawn(port: int, table_prefix: str, poll_interval: float, log_level: str,
          schedule_interval: float = 0.0, simulator_url: str | None = None) -> subprocess.Popen[bytes]:
    """Start the AWS side on ``port`` (returns at once: it imports moto while the caller imports the gateway)."""
    argv = [sys.executable, "-m", "bytespike.local.aws", "--port", str(port), "--table-prefix", table_prefix,
            "--poll-interval", str(poll_interval), "--schedule-interval", str(schedule_interval),
            "--log-level", log_level]
    return subprocess.Popen(argv + (["--simulator-url", simulator_url] if simulator_url else []),
                            stdin=subprocess.DEVNULL)


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 90.0) -> None:
    """Until the side accepts connections on ``port`` (or has died: then the stack cannot run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the local DynamoDB process exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.02)
    raise TimeoutError(f"the local DynamoDB did not listen on port {port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _exit_with_parent() -> None:
    """Leave when the stack that started us is gone, however it went (SIGKILL included)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def verify_alerts_sender(endpoint: str) -> None:
    """moto's SES sends only from a verified identity, as SES does: verify the local sender (before
    anything here can send)."""
    import boto3

    boto3.client("ses", region_name="us-east-1", endpoint_url=endpoint).verify_email_identity(
        EmailAddress=os.environ["ALERTS_EMAIL_FROM"])


async def _poll(poller: Any) -> None:
    """A stream poller, once the stack has created its table."""
    while True:
        try:
            await asyncio.to_thread(poller._init)
            break
        except Exception as exc:  # ResourceNotFoundException until the stack's create_tables
            if "ResourceNotFound" not in type(exc).__name__ + str(exc):
                raise
            await asyncio.sleep(0.1)
    await poller.run(initialised=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bytespike.local.aws", description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="the local DynamoDB's port")
    parser.add_argument("--table-prefix", default="bytespike-local")
    parser.add_argument("--poll-interval", type=float, default=0.2, help="0: no stream pollers")
    parser.add_argument("--schedule-interval", type=float, default=0.0,
                        help="seconds between the scheduled functions' runs: the sweeper, the video poller and the "
                             "alerts function's retries (0: none; needs the pollers)")
    parser.add_argument("--simulator-url", default=None, help="the upstreams' base URL (the video poller's)")
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--functions", action="store_true",
                        help="internal: be the functions process of the local DynamoDB on --port")
    parser.add_argument("--stats-fd", type=int, default=-1, help="internal: the socket the functions process reports on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    _exit_with_parent()
    if args.functions:
        _functions(args)
        return

    from bytespike.local.moto_server import LocalDynamoDB
    from bytespike.local.stack import configure_env

    server = LocalDynamoDB(args.port)
    server.start()
    # moto's import and the tables are long-lived: out of the collector's sight (gc.freeze), so its full
    # passes do not walk them; young collections come less often (each call leaves cyclic parse trees).
    gc.freeze()
    gc.set_threshold(20_000, 20, 100)
    env = configure_env(args.port, args.simulator_url, args.table_prefix)
    verify_alerts_sender(env["SES_ENDPOINT_URL"])
    if args.poll_interval > 0:
        # The functions process reports on a socket bound here and handed down: no port to race for.
        stats = socket.create_server(("127.0.0.1", 0))
        stats_port = stats.getsockname()[1]
        subprocess.Popen([sys.executable, "-m", "bytespike.local.aws", "--functions", "--stats-fd", str(stats.fileno()),
                          *(argv if argv is not None else sys.argv[1:])], stdin=subprocess.DEVNULL,
                         pass_fds=(stats.fileno(),))
        stats.close()
        assert server.app is not None
        server.app.stats = lambda: _functions_stats(stats_port)
    threading.Event().wait()


def _functions_stats(port: int) -> dict[str, Any]:
    """The functions process's counters (read when asked, so a test that saw a release in the table
    also sees the release's calls counted); nothing while that process is starting."""
    import json
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:  # loopback, our own child
            stats: dict[str, Any] = json.loads(resp.read())
            return stats
    except OSError:
        return {}


def _functions(args: argparse.Namespace) -> None:
    """The stream pollers and the scheduled functions, in a process of their own.

    On AWS they are Lambda functions, apart from DynamoDB; here they were threads of the local
    DynamoDB's process, whose botocore work (each release's request and the stream reads) held
    that process's GIL while the gateway's calls waited: ~3.5 CPU-ms per request, moved off it.
    """
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import boto3

    from bytespike.local.stack import (
        alerts_retry_loop,
        configure_env,
        stream_pollers,
        sweeper_loop,
        video_poll_loop,
    )
    from bytespike.store.dynamo import (  # CALLS: the release handler's calls (ledger counts them)
        CALLS,
        sync_client,
    )

    env = configure_env(args.port, args.simulator_url, args.table_prefix)
    streams = boto3.client("dynamodbstreams", region_name="us-east-1", endpoint_url=env["DYNAMODB_ENDPOINT_URL"])
    release, alerts = stream_pollers(sync_client(), streams, env, args.poll_interval)

    class Stats(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({**release.stats(), **{f"alerts_{k}": v for k, v in alerts.stats().items()},
                               "dynamodb_calls": dict(CALLS)}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    stats_server = ThreadingHTTPServer(("127.0.0.1", 0), Stats, bind_and_activate=False)
    stats_server.socket.close()
    stats_server.socket = socket.socket(fileno=args.stats_fd)  # bound and listening (the parent's)
    threading.Thread(target=stats_server.serve_forever, name="stats", daemon=True).start()

    async def run() -> None:
        jobs = [_poll(release), _poll(alerts)]
        if args.schedule_interval > 0:  # EventBridge schedules on AWS
            jobs += [alerts_retry_loop(args.schedule_interval), sweeper_loop(args.schedule_interval)]
            if args.simulator_url:
                jobs.append(video_poll_loop(args.schedule_interval))
        await asyncio.gather(*jobs)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
