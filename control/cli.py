"""`argo-proxy` on the command line: parse, then hand over (style.md: CLI is a thin shell).

Exit codes: 0 done, 1 failed while running, 2 bad usage, 3 could not start
(bad config, port in use).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence
from typing import Any

from argo_proxy.daemon import __version__
from argo_proxy.daemon.config import Config, load_config
from argo_proxy.daemon.errors import ConfigError

__all__ = ["main"]

log = logging.getLogger("argo_proxy")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STARTUP = 3
_COMMANDS = ("serve", "simulate")


def _setup_logging(verbose: bool) -> None:
    """Everything to stderr: stdout may belong to JSON-RPC (design.md pitfalls)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "sanic.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # llm-rosetta reports dropped fields as warnings; route them to the log.
    logging.captureWarnings(True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="argo-proxy",
        description="Use ARGO from any LLM client, in the client's own API format.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"argo-proxy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument("config_path", nargs="?", metavar="CONFIG", help="config file")
    serve.add_argument("--config", dest="config_option", metavar="PATH", help="config file")
    serve.add_argument("--host", "-H", help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", "-p", type=int, help="listen port (default 44497; 0 = any)")
    serve.add_argument("--user", "-u", help="your ANL username")
    serve.add_argument(
        "--argo-base-url", help="ARGO base URL, e.g. https://apps.inside.anl.gov/argoapi"
    )
    serve.add_argument(
        "--username-passthrough",
        action="store_const",
        const=True,
        help="use each client's API key as its ARGO username",
    )
    serve.add_argument("--legacy-argo", action="store_const", const=True, help="legacy ARGO mode")
    serve.add_argument(
        "--anthropic-stream-mode", choices=("force", "retry", "passthrough"), help="see docs"
    )
    loud = serve.add_mutually_exclusive_group()
    loud.add_argument("--verbose", "-v", action="store_const", const=True, help="debug logging")
    loud.add_argument("--quiet", "-q", action="store_const", const=True, help="info logging")
    serve.add_argument(
        "--simulate",
        action="store_true",
        help="run a simulated ARGO in the same process and use it (no Argonne access needed)",
    )

    sim = sub.add_parser("simulate", help="run a simulated ARGO upstream (for tests and demos)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=44498, help="0 = any free port")
    sim.add_argument("--prefix", default="", help="serve under this path, e.g. /argoapi")
    sim.add_argument("--users", help="comma-separated usernames ARGO knows (default: anyone)")
    sim.add_argument(
        "--chunk-delay-ms", type=float, default=0.0, help="delay between stream chunks"
    )
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    """`argo-proxy config.yaml -v` means `argo-proxy serve config.yaml -v` (behaviour.md §5)."""
    if argv and argv[0] not in _COMMANDS and argv[0] not in ("-h", "--help", "-V", "--version"):
        return ["serve", *argv]
    return argv


def _serve_overrides(args: argparse.Namespace) -> dict[str, Any]:
    verbose = True if args.verbose else (False if args.quiet else None)
    return {
        "host": args.host,
        "port": args.port,
        "user": args.user,
        "argo_base_url": args.argo_base_url,
        "username_passthrough": args.username_passthrough,
        "use_legacy_argo": args.legacy_argo,
        "anthropic_stream_mode": args.anthropic_stream_mode,
        "verbose": verbose,
    }


def _load(args: argparse.Namespace) -> Config:
    path = args.config_option or args.config_path
    return load_config(path, overrides=_serve_overrides(args))


def _run(coro: Any) -> None:
    """Run on uvloop when available (Sanic brings it), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is missing on Windows
        asyncio.run(coro)
    else:
        uvloop.run(coro)


def _cmd_serve(args: argparse.Namespace) -> int:
    from .runtime import Runtime, StartupError

    try:
        config = _load(args)
    except ConfigError as exc:
        print(f"argo-proxy: {exc.message}", file=sys.stderr)
        return EXIT_STARTUP
    _setup_logging(config.verbose)
    for note in config.notes:
        log.info("config: %s", note)
    log.info("config: %s", config.source or "defaults (no file)")

    async def main() -> None:
        nonlocal config
        sim_task = None
        if args.simulate:
            sim_task, url = await _start_simulator()
            config = dataclasses.replace(
                config, argo_base_url=url, native_openai_base_url="", native_anthropic_base_url=""
            )
            log.info("using the simulated ARGO at %s", url)
        runtime = Runtime(config)
        if sim_task is not None:
            runtime.add_stop_hook(_cancel(sim_task))
        await runtime.run()

    try:
        _run(main())
    except StartupError as exc:
        log.error("%s", exc.message)
        return EXIT_STARTUP
    return 0


def _cancel(task: asyncio.Task[None]) -> Any:
    async def stop() -> None:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    return stop


async def _start_simulator() -> tuple[asyncio.Task[None], str]:
    from argo_proxy.daemon.simulator import SimulatorSettings, run_simulator

    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(
        run_simulator("127.0.0.1", 0, SimulatorSettings(), on_ready=ready.set_result)
    )
    waiting: set[asyncio.Future[Any]] = {task, ready}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        task.result()  # raises the simulator's start-up error
    return task, ready.result()


def _cmd_simulate(args: argparse.Namespace) -> int:
    from argo_proxy.daemon.simulator import SimulatorSettings, run_simulator

    _setup_logging(False)
    users = frozenset(u.strip().lower() for u in args.users.split(",")) if args.users else None
    settings = SimulatorSettings(
        prefix=args.prefix.rstrip("/"), users=users, chunk_delay_ms=args.chunk_delay_ms
    )

    def ready(url: str) -> None:
        print(f"argo-proxy simulate: listening on {url}", file=sys.stderr, flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(run_simulator(args.host, args.port, settings, on_ready=ready))
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            pass

    try:
        _run(main())
    except OSError as exc:
        print(
            f"argo-proxy simulate: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr
        )
        return EXIT_STARTUP
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(_normalise_argv(list(sys.argv[1:] if argv is None else argv)))
    if args.command is None:
        _parser().print_help()
        return 0
    handler = {"serve": _cmd_serve, "simulate": _cmd_simulate}[args.command]
    return handler(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
