"""`argo-proxy` on the command line: parse, then hand over; the work is done elsewhere.

    argo-proxy serve [CONFIG] [options]      run the daemon (`argo-proxy CONFIG` too)
    argo-proxy simulate [options]            run the simulated ARGO
    argo-proxy ctl status|refresh|legacy [on|off]|reload|config|stop [--json]
    argo-proxy ctl requests [-n N] [-f] [--model M] [--client C] [--status S] [--json]
    argo-proxy ctl usage [--since 7d] [--until T] [--by model|client|day] [--json]
    argo-proxy ctl route '<json body>' [--client NAME] [--format openai|responses|anthropic|google]
    argo-proxy token [--rotate]              the access token clients send
    argo-proxy env [--shell sh|fish|powershell] [--json]   exports for every client
    argo-proxy run -- COMMAND [ARGS...]      run a tool with those exports set
    argo-proxy setup [TOOL...] [--dry-run] [--undo] [--json] [--yes]   wire a tool's own files
    argo-proxy models [CONFIG] [--json]      ARGO's models and their aliases (the daemon's)
    argo-proxy config show|validate|path|init|migrate [CONFIG]
    argo-proxy config env [prod|dev|test] [-c CONFIG]   show or switch ARGO's environment

Exit codes: 0 done, 1 failed (or no daemon running, for `ctl`), 2 bad usage,
3 could not start (bad config, port in use, a daemon already running).
"""

from __future__ import annotations

import argparse
import asyncio
import difflib
import functools
import json
import logging
import math
import os
import shlex
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from argo_proxy.daemon import __version__
from argo_proxy.daemon.config import load_config
from argo_proxy.daemon.errors import ConfigError, FolderError, StartupError
from argo_proxy.daemon.request_log import MAX_LIST_LIMIT

from .assistants import ASSISTANTS
from .logs import setup_logging

__all__ = ["main"]

log = logging.getLogger("argo_proxy")

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_STARTUP = 3
EXIT_BROKEN_PIPE = 141  # as a command that SIGPIPE ended: 128 + 13
_COMMANDS = ("serve", "simulate", "ctl", "token", "env", "run", "setup", "models", "config")
_CTL_COMMANDS = (
    "status",
    "refresh",
    "legacy",
    "reload",
    "config",
    "stop",
    "requests",
    "usage",
    "route",
)
# ctl options that belong to one command or two: option → (dest, commands)
_CTL_OPTIONS = {
    "-n": ("limit", ("requests",)),
    "--follow": ("follow", ("requests",)),
    "--model": ("model", ("requests",)),
    "--client": ("client", ("requests", "route")),
    "--format": ("format", ("route",)),
    "--status": ("status", ("requests",)),
    "--since": ("since", ("requests", "usage")),
    "--until": ("until", ("usage",)),
    "--by": ("by", ("usage",)),
}
_CONFIG_COMMANDS = ("show", "validate", "path", "init", "migrate", "env")
_MAX_DELAY_MS = 60_000  # `simulate --chunk-delay-ms`


def _add_config_arguments(parser: argparse.ArgumentParser, *flags: str) -> None:
    parser.add_argument("config_path", nargs="?", metavar="CONFIG", help="config file")
    parser.add_argument(
        *flags, "--config", dest="config_option", metavar="PATH", help="config file"
    )


def _add_socket_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--control-socket",
        metavar="PATH",
        help="the control socket (default: $ARGO_PROXY_CONTROL_SOCKET, else "
        "control.sock in the user runtime directory)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="argo-proxy",
        description="Use ARGO from any LLM client, in the client's own API format.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"argo-proxy {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the daemon")
    _add_config_arguments(serve)
    serve.add_argument("--host", "-H", help="listen address (default 127.0.0.1)")
    serve.add_argument(
        "--port",
        "-p",
        type=_port,
        help="listen port (default 44497; 0 = any; `auto` = the configured one, or any "
        "free port when it is taken)",
    )
    serve.add_argument(
        "--auth",
        choices=("token", "none"),
        help="require the access token on every API request (default) or not",
    )
    serve.add_argument(
        "--allow-insecure-network",
        action="store_const",
        const=True,
        help="confirm listening on a non-loopback address with --auth none",
    )
    serve.add_argument("--socket", metavar="PATH", help="also serve on this Unix socket (0600)")
    serve.add_argument(
        "--no-tcp", action="store_true", help="serve only on --socket, on no TCP port"
    )
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
    serve.add_argument(
        "--dump-requests",
        action="store_const",
        const=True,
        help="write each API request's bodies to a JSON file, credentials removed (debugging)",
    )
    serve.add_argument(
        "--dump-dir",
        metavar="DIR",
        help="where --dump-requests writes (default: dumps in the user state directory)",
    )
    loud = serve.add_mutually_exclusive_group()
    loud.add_argument("--verbose", "-v", action="store_const", const=True, help="debug logging")
    loud.add_argument("--quiet", "-q", action="store_const", const=True, help="info logging")
    serve.add_argument(
        "--simulate",
        action="store_true",
        help="run a simulated ARGO in the same process and use it (no Argonne access needed)",
    )
    serve.add_argument(
        "--control",
        choices=("socket", "stdio"),
        default="socket",
        help="control channels: the socket is always on; `stdio` adds JSON-RPC on "
        "stdin/stdout for the editor that starts the daemon",
    )
    _add_socket_argument(serve)
    serve.add_argument(
        "--no-watch", action="store_true", help="do not reload the config file when it changes"
    )

    sim = sub.add_parser("simulate", help="run a simulated ARGO upstream (for tests and demos)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=_port_number, default=44498, help="0 = any free port")
    sim.add_argument("--prefix", default="", help="serve under this path, e.g. /argoapi")
    sim.add_argument("--users", help="comma-separated usernames ARGO knows (default: anyone)")
    sim.add_argument(
        "--chunk-delay-ms", type=_delay_ms, default=0.0, help="delay between stream chunks"
    )

    ctl = sub.add_parser("ctl", help="steer the running daemon (over its control socket)")
    ctl.add_argument("action", choices=_CTL_COMMANDS, metavar="|".join(_CTL_COMMANDS))
    ctl.add_argument("value", nargs="?", help="legacy: on or off; route: a request body, as JSON")
    ctl.add_argument("--json", action="store_true", help="print the JSON answer, for scripts")
    _add_socket_argument(ctl)
    records = ctl.add_argument_group("requests and usage")
    records.add_argument(
        "-n", type=_positive, dest="limit", metavar="N", help="requests: the newest N (20)"
    )
    records.add_argument(
        "-f", "--follow", action="store_true", help="requests: print new ones as they finish"
    )
    records.add_argument("--model", help="requests: asked for, or at ARGO, this model")
    records.add_argument("--client", help="requests: from this client, e.g. claude-code")
    records.add_argument("--status", help="requests: a code (429), a class (4xx), ok or error")
    records.add_argument("--since", help="from: 90s, 15m, 24h, 7d, today, a date (usage: today)")
    records.add_argument("--until", help="usage: to (now), in the same forms")
    records.add_argument("--by", choices=("model", "client", "day"), help="usage: rows by")
    records.add_argument(
        "--format", help="route: the body's format: openai (default), responses, anthropic, google"
    )

    token = sub.add_parser("token", help="print the access token clients send as API key")
    _add_config_arguments(token)
    token.add_argument(
        "--rotate", action="store_true", help="make a new token; the old one stops working"
    )
    _add_socket_argument(token)

    env = sub.add_parser("env", help="print the exports every supported client reads")
    _add_config_arguments(env)
    env.add_argument("--shell", choices=("sh", "fish", "powershell"), default="sh")
    env.add_argument("--json", action="store_true", help="print JSON, for scripts")
    _add_socket_argument(env)

    run = sub.add_parser(
        "run",
        help="run a command with the client exports set",
        usage="argo-proxy run [--config PATH] [--control-socket PATH] -- COMMAND [ARGS...]",
    )
    run.add_argument("--config", dest="config_option", metavar="PATH", help="config file")
    _add_socket_argument(run)
    run.add_argument("command_line", nargs=argparse.REMAINDER, metavar="COMMAND")

    setup = sub.add_parser(
        "setup",
        help="point assistants' own config files at the daemon (a diff first; --undo)",
        usage="argo-proxy setup [TOOL...] [--dry-run] [--undo] [--json] [--yes]",
    )
    setup.add_argument(
        "tools",
        nargs="*",
        metavar="TOOL",
        help=f"one of {', '.join(a.id for a in ASSISTANTS.values() if a.setup)}",
    )
    setup.add_argument("--config", dest="config_option", metavar="PATH", help="config file")
    setup.add_argument("--dry-run", "-n", action="store_true", help="only show the diff")
    setup.add_argument("--undo", action="store_true", help="put the files back as they were")
    setup.add_argument("--json", action="store_true", help="the plan or result as JSON")
    setup.add_argument("--yes", "-y", action="store_true", help="write without asking")
    _add_socket_argument(setup)

    models = sub.add_parser("models", help="list ARGO's models and their aliases")
    _add_config_arguments(models)
    models.add_argument("--json", action="store_true", help="print JSON, for scripts")
    _add_socket_argument(models)

    config = sub.add_parser(
        "config",
        help="show, check, find, create or migrate a config file, or switch its ARGO environment",
        usage="argo-proxy config {show,validate,path,init,migrate} [CONFIG] [--force]\n"
        "       argo-proxy config env [prod|dev|test] [-c CONFIG]",
    )
    config.add_argument("action", choices=_CONFIG_COMMANDS, metavar="|".join(_CONFIG_COMMANDS))
    _add_config_arguments(config, "-c")
    config.add_argument("--force", "-f", action="store_true", help="init: overwrite a file")
    return parser


def _port(text: str) -> int | str:
    """`serve --port`: `auto`, or a whole number (load_config checks its range)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number or `auto`: {text!r}") from None


def _port_number(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number 0-65535: {text!r}")
    return number


def _delay_ms(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not 0 <= number <= _MAX_DELAY_MS:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"not a number of milliseconds from 0 to {_MAX_DELAY_MS}: {text!r}"
        )
    return number


def _normalise_argv(argv: list[str]) -> list[str] | str:
    """`argo-proxy config.yaml -v` means `argo-proxy serve config.yaml -v`, as in argo-proxy
    (docs/compatibility.md#command-line).

    Returns an error message for a word that is neither a command nor a path.
    """
    if not argv or argv[0] in _COMMANDS or argv[0] in ("-h", "--help", "-V", "--version"):
        return argv
    first = argv[0]
    looks_like_path = first.startswith("-") or any(c in first for c in "./\\")
    if not looks_like_path and not Path(first).exists():
        close = difflib.get_close_matches(first, _COMMANDS, n=1, cutoff=0.75)
        if close:
            return f"argo-proxy: unknown command '{first}'. Did you mean '{close[0]}'?"
    return ["serve", *argv]


def _serve_overrides(args: argparse.Namespace) -> dict[str, Any]:
    verbose = True if args.verbose else (False if args.quiet else None)
    auto = args.port == "auto"  # keeps the file's port, with the fallback switched on
    return {
        "host": args.host,
        "port": None if auto else args.port,
        "port_auto": True if auto else None,
        "auth": args.auth,
        "allow_insecure_network": args.allow_insecure_network,
        "socket": args.socket,
        "tcp": False if args.no_tcp else None,
        "user": args.user,
        "argo_base_url": args.argo_base_url,
        "username_passthrough": args.username_passthrough,
        "use_legacy_argo": args.legacy_argo,
        "anthropic_stream_mode": args.anthropic_stream_mode,
        "verbose": verbose,
        "dump_requests": args.dump_requests,
        "dump_dir": args.dump_dir,
    }


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = args.config_option or args.config_path
    return path


def _run(coro: Any) -> Any:
    """Run on uvloop when available (Sanic brings it), else asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is missing on Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


def _cmd_serve(args: argparse.Namespace) -> int:
    from .runtime import Runtime, RuntimeOptions

    overrides = _serve_overrides(args)
    try:
        config = load_config(_config_path(args), overrides=overrides)
        setup_logging(config.verbose, config.log_path, config.max_log_history)
    except ConfigError as exc:  # FolderError too: the log folder is another user's
        print(f"argo-proxy: {exc.message}", file=sys.stderr)
        return EXIT_STARTUP
    except OSError as exc:
        print(f"argo-proxy: cannot write the log file {config.log_path}: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    for note in config.notes:
        log.info("config: %s", note)
    log.info("config: %s", config.source or "defaults (no file)")

    async def main() -> None:
        nonlocal config, overrides
        sim_task = None
        if args.simulate:
            sim_task, url = await _start_simulator()
            # An override like the command-line ones, so that a reload keeps it.
            overrides = {
                **overrides,
                "argo_base_url": url,
                "native_openai_base_url": "",
                "native_anthropic_base_url": "",
            }
            config = load_config(config.source, overrides=overrides)
            log.info("using the simulated ARGO at %s", url)
        socket_path = Path(args.control_socket) if args.control_socket else None
        options = RuntimeOptions(
            control=args.control,
            control_socket=socket_path,
            overrides=overrides,
            watch=not args.no_watch,
            next_steps=_next_steps(args.control == "stdio", socket_path),
        )
        runtime = Runtime(config, options)
        if sim_task is not None:
            runtime.add_stop_hook(_cancel(sim_task))
        try:
            await runtime.run()
        except BaseException:
            if sim_task is not None:
                await _cancel(sim_task)()
            raise

    try:
        _run(main())
    except (StartupError, ConfigError) as exc:
        log.error("%s", exc.message)
        return EXIT_STARTUP
    return 0


def _next_steps(from_editor: bool, socket: Path | None) -> Callable[[str, str], list[str]]:
    """What `serve` prints once it listens: the commands that reach it, spelled as this
    user can run them (docs/index.md)."""
    from .client_setup import next_steps

    command, tip = "argo-proxy", ""
    exe = Path(sys.argv[0])
    if exe.name == "argo-proxy":  # else `python -m`, a test, a renamed launcher
        found = shutil.which("argo-proxy")
        if found is None or Path(found).resolve() != exe.resolve():
            command = shlex.quote(str(exe.absolute()))
            activate = exe.absolute().parent / "activate"
            if activate.is_file():
                tip = f"argo-proxy is not on PATH: `. {shlex.quote(str(activate))}` puts it there"
    option = f" --control-socket {shlex.quote(str(socket))}" if socket else ""
    return functools.partial(
        next_steps, command=command, socket_option=option, path_tip=tip, from_editor=from_editor
    )


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
    from argo_proxy.daemon.simulator import SimulatorSettings, StopSignals, serve_until_stopped

    # Before the simulator (and Sanic) load: a signal during start-up must stop us too.
    with StopSignals() as stop:
        setup_logging(False)
        users = frozenset(u.strip().lower() for u in args.users.split(",")) if args.users else None
        settings = SimulatorSettings(
            prefix=args.prefix.rstrip("/"), users=users, chunk_delay_ms=args.chunk_delay_ms
        )

        def ready(url: str) -> None:
            print(f"argo-proxy simulate: listening on {url}", file=sys.stderr, flush=True)

        try:
            _run(serve_until_stopped(args.host, args.port, settings, stop, on_ready=ready))
        except OSError as exc:
            print(
                f"argo-proxy simulate: cannot listen on {args.host}:{args.port}: {exc}",
                file=sys.stderr,
            )
            return EXIT_STARTUP
    return 0


def _positive(text: str) -> int:
    """`ctl requests -n`: as many records as requests.list gives at most."""
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LIST_LIMIT:
        raise argparse.ArgumentTypeError(f"not a whole number from 1 to {MAX_LIST_LIMIT}: {text!r}")
    return number


def _ctl_params(args: argparse.Namespace) -> dict[str, Any] | str:
    """The params of `requests`/`usage` from their options, or what is wrong."""
    for option, (dest, commands) in _CTL_OPTIONS.items():
        given = getattr(args, dest)
        if given not in (None, False) and args.action not in commands:
            return f"argo-proxy ctl {args.action} takes no {option}"
    if args.action == "requests":
        params = {"limit": args.limit or 20}
        for key in ("model", "client", "status", "since"):
            if getattr(args, key) is not None:
                params[key] = getattr(args, key)
        return params
    if args.action == "usage":
        return {key: getattr(args, key) for key in ("since", "until", "by") if getattr(args, key)}
    if args.action == "route":
        try:
            body = json.loads(args.value or "")
        except ValueError as exc:
            return f"argo-proxy ctl route takes a request body as JSON: {exc}"
        params = {"body": body, "client": args.client or "unknown"}
        return {**params, "format": args.format or "openai"}
    return {}


def _guarded(command: str, coro: Any) -> Any:
    """Run a client command (`ctl`, `token`, `env`, `run`, `models`); a folder that is not the
    user's own (the control socket's, the token's) exits 3, as `serve` does for it."""
    try:
        return _run(coro)
    except FolderError as exc:
        print(f"argo-proxy {command}: {exc.message}", file=sys.stderr, flush=True)
        return EXIT_STARTUP


def _cmd_ctl(args: argparse.Namespace) -> int:
    from .ctl import run_ctl

    if args.value is not None and args.action not in ("legacy", "route"):
        print(f"argo-proxy ctl {args.action} takes no argument", file=sys.stderr)
        return EXIT_USAGE
    if args.action == "legacy" and args.value not in (None, "on", "off"):
        print(f"argo-proxy ctl legacy takes on or off, not {args.value!r}", file=sys.stderr)
        return EXIT_USAGE
    params = _ctl_params(args)
    if isinstance(params, str):
        print(params, file=sys.stderr)
        return EXIT_USAGE
    socket_path = Path(args.control_socket) if args.control_socket else None
    command = run_ctl(
        args.action,
        args.value,
        socket_path,
        as_json=args.json,
        params=params or None,
        follow=args.follow,
    )
    try:
        code: int = _guarded("ctl", command)
    except KeyboardInterrupt:  # Ctrl-C before `requests -f` started listening for it
        return 0 if args.follow else 130
    return code


def _socket_path(args: argparse.Namespace) -> Path | None:
    return Path(args.control_socket) if args.control_socket else None


def _cmd_token(args: argparse.Namespace) -> int:
    from .client_setup import run_token

    code: int = _guarded(
        "token", run_token(_config_path(args), _socket_path(args), rotate=args.rotate)
    )
    return code


def _cmd_env(args: argparse.Namespace) -> int:
    from .client_setup import run_env

    path, socket = _config_path(args), _socket_path(args)
    code: int = _guarded("env", run_env(path, socket, shell=args.shell, as_json=args.json))
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    from .client_setup import prepare_run, run_command

    command = list(args.command_line)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("argo-proxy run: name a command, e.g. `argo-proxy run -- claude`", file=sys.stderr)
        return EXIT_USAGE
    wired = _guarded("run", prepare_run(args.config_option, _socket_path(args), command))
    if isinstance(wired, int):
        return wired
    return run_command(wired.command, wired.env)


def _cmd_setup(args: argparse.Namespace) -> int:
    from .setup_command import run_setup

    command = run_setup(
        args.tools,
        args.config_option,
        _socket_path(args),
        dry_run=args.dry_run,
        undo=args.undo,
        as_json=args.json,
        yes=args.yes,
    )
    code: int = _guarded("setup", command)
    return code


def _cmd_models(args: argparse.Namespace) -> int:
    from .models_command import run_models

    command = run_models(_config_path(args), _socket_path(args), as_json=args.json)
    code: int = _guarded("models", command)
    return code


def _cmd_config(args: argparse.Namespace) -> int:
    from .config_commands import run_config

    if args.action == "env":  # `config env [prod|dev|test] [-c CONFIG]`, as in argo-proxy
        return run_config("env", args.config_option, env=args.config_path)
    return run_config(args.action, _config_path(args), force=args.force)


def main(argv: Sequence[str] | None = None) -> int:
    normalised = _normalise_argv(list(sys.argv[1:] if argv is None else argv))
    if isinstance(normalised, str):
        print(normalised, file=sys.stderr)
        return EXIT_USAGE
    args = _parser().parse_args(normalised)
    if args.command is None:
        _parser().print_help()
        return 0
    handlers = {
        "serve": _cmd_serve,
        "simulate": _cmd_simulate,
        "ctl": _cmd_ctl,
        "token": _cmd_token,
        "env": _cmd_env,
        "run": _cmd_run,
        "setup": _cmd_setup,
        "models": _cmd_models,
        "config": _cmd_config,
    }
    try:
        code = handlers[args.command](args)
        sys.stdout.flush()  # a reader that went away shows here, not in the exit's flush
    except BrokenPipeError:
        # `argo-proxy models | head`: the reader has what it wanted. No traceback; the
        # rest of stdout goes to /dev/null so that the exit's flush is quiet too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
