"""``python -m bytespike.simulator --host 127.0.0.1 --port 9010``: run the simulator under uvicorn."""

from __future__ import annotations

import argparse

import uvicorn

from bytespike.simulator.app import create_simulator_app


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve until interrupted (access log off: it would dominate benchmarks)."""
    parser = argparse.ArgumentParser(prog="python -m bytespike.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9010)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--access-log", action="store_true", help="log every request (off by default)")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_simulator_app(),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=args.access_log,
        lifespan="off",
    )


if __name__ == "__main__":
    main()
