"""The ByteSpike process under benchmark: the local stack ``make dev`` runs (runs in the project venv).

``bytespike.local.stack.main`` with the same arguments ``python -m bytespike.local`` takes: every
function app behind the production path table under uvicorn with uvloop and httptools (the flags
of ``functions/*/run.sh``), the AWS side (DynamoDB + the release poller) in its own process,
``--simulator-url`` pointing the upstreams at the bench's double. The full billing path runs:
auth (key cache), hold, settle. Before it starts, this module adds read-only instrumentation for
the harness and nothing else:

  GET /_bench/upstream?since=T when each upstream request was handed to the HTTP client
  GET /_bench/dynamo?since=T   every DynamoDB call since T: [op, start, end, background] in
                       ``time.perf_counter`` seconds (CLOCK_MONOTONIC, comparable across
                       processes), recorded by wrapping ``AsyncDynamo.call`` in this
                       process only (src/ is untouched); ``background``: made by a cache
                       refresh task (``bytespike.background``), which no request waits on
  GET /_bench/env              the environment the stack configured (what a cold-started
                       function process needs to reach the same DynamoDB and upstream)
  GET /_bench/sampler/start|stop  the CPU-time sampler below

``--loop asyncio`` (the A/B variant) replaces uvloop; the stack's own ``/_local/stats`` and
``/healthz`` are unchanged.
"""

from __future__ import annotations

import importlib
import os
import time
from collections import deque
from typing import Any

EVENTS: deque[tuple[str, float, float, bool]] = deque(maxlen=400_000)
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
    from bytespike.background import in_background
    from bytespike.store import dynamo as dmod

    original = dmod.AsyncDynamo.call

    async def call(self: Any, op: str, **kwargs: Any) -> dict[str, Any]:
        t0 = time.perf_counter()
        try:
            return await original(self, op, **kwargs)
        finally:
            EVENTS.append((op, t0, time.perf_counter(), in_background()))

    dmod.AsyncDynamo.call = call  # type: ignore[method-assign]

    import bytespike.providers as providers

    send_post = providers.send_post

    async def timed_send(*args: Any, **kwargs: Any) -> Any:
        UPSTREAM.append(time.perf_counter())
        return await send_post(*args, **kwargs)

    for module in (providers, *(importlib.import_module(f"bytespike.providers.{m}") for m in ("anthropic", "openai", "gemini"))):
        module.send_post = timed_send  # type: ignore[attr-defined]


ENV_PREFIXES = ("AWS_", "DYNAMODB_", "UPSTREAM_", "BYTESPIKE_")


def bench_dispatcher(base: type) -> type:
    """The stack's dispatcher with the harness's ``/_bench/*`` endpoints in front."""

    class BenchDispatcher(base):  # type: ignore[misc, valid-type]
        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if not path.startswith("/_bench/"):
                await super().__call__(scope, receive, send)
                return
            qs = scope.get("query_string", b"").decode()
            since = float(qs[6:]) if qs.startswith("since=") else 0.0
            if path == "/_bench/dynamo":
                await self._json(send, 200, [e for e in EVENTS if e[1] >= since])  # type: ignore[arg-type]
            elif path == "/_bench/upstream":
                await self._json(send, 200, [t for t in UPSTREAM if t >= since])  # type: ignore[arg-type]
            elif path == "/_bench/env":
                from bytespike.local.template import TABLE_ENV

                wanted = set(TABLE_ENV.values())
                await self._json(send, 200, {k: v for k, v in os.environ.items()
                                             if k.startswith(ENV_PREFIXES) or k in wanted})
            elif path == "/_bench/sampler/start":
                SAMPLER.start(float(qs[9:]) if qs.startswith("interval=") else 0.001)
                await self._json(send, 200, {"ok": True})
            elif path == "/_bench/sampler/stop":
                await self._json(send, 200, SAMPLER.stop())  # type: ignore[arg-type]
            else:
                await self._json(send, 404, {"error": f"no bench endpoint {path}"})

    return BenchDispatcher


def main(argv: list[str] | None = None) -> None:
    import argparse
    import sys

    p = argparse.ArgumentParser(description=__doc__, add_help=False)
    p.add_argument("--loop", choices=("uvloop", "asyncio"), default="")
    args, stack_args = p.parse_known_args(argv if argv is not None else sys.argv[1:])
    for var in list(os.environ):  # never a real upstream
        if var.startswith("UPSTREAM_") or var.endswith("_API_KEY"):
            del os.environ[var]
    from bytespike.local import stack

    instrument()
    stack.Dispatcher = bench_dispatcher(stack.Dispatcher)  # type: ignore[misc]
    if args.loop:
        stack._loop = lambda: args.loop
    stack.main(stack_args)


if __name__ == "__main__":
    main()
