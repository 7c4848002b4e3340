"""`python -m argo_proxy.daemon.simulator`: run a simulated ARGO in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from .foreground import StopSignals, serve_until_stopped
from .settings import SimulatorSettings


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m argo_proxy.daemon.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--prefix", default="", help="e.g. /argoapi")
    parser.add_argument("--users", default=None, help="comma-separated allow-list")
    parser.add_argument("--chunk-delay-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse, then serve until SIGINT or SIGTERM; logs and the ready line go to stderr."""
    # First, before Sanic loads: a signal during start-up must stop us, not be lost.
    with StopSignals() as stop:
        args = _parse(argv)
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)
        users = None if args.users is None else frozenset(u for u in args.users.split(",") if u)
        settings = SimulatorSettings(
            prefix=args.prefix, users=users, chunk_delay_ms=args.chunk_delay_ms, seed=args.seed
        )

        def ready(url: str) -> None:
            print(f"argo-proxy simulate: listening on {url}", file=sys.stderr, flush=True)

        asyncio.run(serve_until_stopped(args.host, args.port, settings, stop, on_ready=ready))
    return 0


if __name__ == "__main__":
    sys.exit(main())
