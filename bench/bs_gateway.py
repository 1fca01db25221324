"""The ByteSpike gateway process under benchmark (runs in the project venv).

It serves exactly what the two streaming function entry points serve
(``functions/messages/main.py`` = ``create_app("messages")``, ``functions/chat/main.py`` =
``create_app("chat")``), routed by the production path table, under uvicorn with the
production flags of ``functions/*/run.sh`` (``--loop uvloop --http httptools
--no-access-log``). DynamoDB is another process (``bench/dynamo_side.py``), as it is
another service on AWS. The full billing path runs: auth (key cache), hold, settle.

Two read-only endpoints for the harness:
  GET /_local/stats    the same JSON as the local stack's (``dynamodb_calls`` from
                       ``bytespike.store.dynamo.CALLS``)
  GET /_bench/upstream?since=T when each upstream request was handed to the HTTP client
  GET /_bench/dynamo?since=T   every DynamoDB call since T: [op, start, end] in
                       ``time.perf_counter`` seconds (CLOCK_MONOTONIC, comparable across
                       processes), recorded by wrapping ``AsyncDynamo.call`` in this
                       process only (src/ is untouched)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import time
from collections import deque
from typing import Any

EVENTS: deque[tuple[str, float, float]] = deque(maxlen=400_000)
UPSTREAM: deque[float] = deque(maxlen=400_000)  # when each upstream request was handed to the HTTP client


class CpuSampler:
    """A CPU-time sampling profiler: SIGPROF from ``setitimer(ITIMER_PROF)`` fires after every
    ``interval`` of process CPU time (user + system), and the handler records the main
    thread's Python stack. Unlike a wall-clock sampler it never counts time spent preempted,
    so its shares hold on a busy machine. Native time (syscalls, C extensions, uvloop) lands
    on the Python frame that called into it, or on the next one uvloop runs."""

    def __init__(self) -> None:
        from collections import Counter

        self.stacks: Counter[tuple[str, ...]] = Counter()
        self.running = False

    @staticmethod
    def _label(code: Any) -> str:
        path = code.co_filename
        for marker in ("site-packages/", "/src/", "/lib/python3.12/"):
            if marker in path:
                path = path.split(marker, 1)[1]
                break
        else:
            if "/bench/" in path:
                path = "bench/" + path.split("/bench/", 1)[1]
        return f"{code.co_qualname} ({path}:0)"

    def _handler(self, signum: int, frame: Any) -> None:
        out = []
        while frame is not None:
            out.append(self._label(frame.f_code))
            frame = frame.f_back
        out.reverse()
        self.stacks[tuple(out)] += 1

    def start(self, interval: float) -> None:
        import signal

        self.stacks.clear()
        signal.signal(signal.SIGPROF, self._handler)
        signal.setitimer(signal.ITIMER_PROF, interval, interval)
        self.running = True

    def stop(self) -> list[tuple[list[str], int]]:
        import signal

        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        self.running = False
        return [(list(k), v) for k, v in self.stacks.items()]


SAMPLER = CpuSampler()


def instrument() -> None:
    from bytespike.store import dynamo as dmod

    original = dmod.AsyncDynamo.call

    async def call(self: Any, op: str, **kwargs: Any) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            return await original(self, op, **kwargs)
        finally:
            EVENTS.append((op, t0, time.perf_counter()))

    dmod.AsyncDynamo.call = call  # type: ignore[method-assign]

    import bytespike.providers as providers

    send_post = providers.send_post

    async def timed_send(*args: Any, **kwargs: Any) -> Any:
        UPSTREAM.append(time.perf_counter())
        return await send_post(*args, **kwargs)

    for module in (providers, *(importlib.import_module(f"bytespike.providers.{m}") for m in ("anthropic", "openai", "gemini"))):
        module.send_post = timed_send  # type: ignore[attr-defined]


class BenchApp:
    def __init__(self, functions: list[str]) -> None:
        from bytespike.http.app import create_app

        self.apps = {name: create_app(name) for name in functions}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
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
        path = scope.get("path", "")
        if path == "/_local/stats":
            from bytespike.store.dynamo import CALLS

            await self._json(send, {"dynamodb_calls": dict(CALLS)})
            return
        if path == "/_bench/dynamo":
            since = 0.0
            qs = scope.get("query_string", b"").decode()
            if qs.startswith("since="):
                since = float(qs[6:])
            await self._json(send, [e for e in EVENTS if e[1] >= since])
            return
        if path == "/_bench/upstream":
            since = 0.0
            qs = scope.get("query_string", b"").decode()
            if qs.startswith("since="):
                since = float(qs[6:])
            await self._json(send, [t for t in UPSTREAM if t >= since])
            return
        if path == "/_bench/sampler/start":
            qs = scope.get("query_string", b"").decode()
            SAMPLER.start(float(qs[9:]) if qs.startswith("interval=") else 0.001)
            await self._json(send, {"ok": True})
            return
        if path == "/_bench/sampler/stop":
            await self._json(send, SAMPLER.stop())
            return
        if path == "/healthz":
            await self._json(send, {"ok": True})
            return
        from bytespike.http.paths import function_for

        app = self.apps.get(function_for(path) or "")
        if app is None:
            await self._json(send, {"error": {"message": f"no function serves {path}"}}, 404)
            return
        await app(scope, receive, send)

    @staticmethod
    async def _json(send: Any, body: Any, status: int = 200) -> None:
        raw = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dynamo-port", type=int, required=True)
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--prefix", default="bytespike-bench")
    p.add_argument("--loop", default="uvloop")
    p.add_argument("--http", default="httptools")
    p.add_argument("--functions", default="messages,chat")
    args = p.parse_args(argv)
    for var in list(os.environ):  # never a real upstream
        if var.startswith("UPSTREAM_") or var.endswith("_API_KEY"):
            del os.environ[var]
    from bytespike.local.stack import configure_env

    configure_env(args.dynamo_port, args.upstream_port, args.prefix)
    instrument()
    import uvicorn

    app = BenchApp(args.functions.split(","))
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop=args.loop, http=args.http, access_log=False,
                log_level="warning", lifespan="on")


if __name__ == "__main__":
    main()
