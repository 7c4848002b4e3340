"""What the user's tools need to reach the daemon: its real URL and the access token.

    argo-proxy token [--rotate]                  the token (a new one with --rotate)
    argo-proxy env [--shell sh|fish|powershell]  exports every supported client reads
    argo-proxy run -- COMMAND ARGS...            COMMAND with those variables set

The running daemon is asked first, over the user's own control socket: it knows the
port it really listens on (`--port auto` may have moved it) and the token in force.
With no daemon running, the config file says where it will listen (docs/security.md).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from argo_proxy.daemon.access import read_or_create_token, write_new_token
from argo_proxy.daemon.config import control_socket_path, load_config
from argo_proxy.daemon.errors import ConfigError, FolderError
from argo_proxy.daemon.model_cards import ModelCard, chat_cards
from argo_proxy.daemon.models import builtin_catalog

from .assistants import assistants_payload, client_variables
from .client import ControlClient, DaemonNotRunning, RpcError
from .run_wiring import CannotRun, Wired, tool_of, wire

__all__ = [
    "chat_models",
    "client_variables",
    "connection_or_fail",
    "served_or_fail",
    "next_steps",
    "prepare_run",
    "render_exports",
    "run_command",
    "run_env",
    "run_token",
]

SHELLS = ("sh", "fish", "powershell")


@dataclass(frozen=True)
class Connection:
    """Where clients reach the daemon and what they send as their API key."""

    base_url: str | None  # None: the daemon serves no TCP port
    key: str
    auth: str
    running: bool
    token_file: str | None = None


def _client_url(listen_url: str) -> str:
    """A listen address clients can dial: a wildcard becomes loopback."""
    return listen_url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")


def _warn(text: str) -> None:
    print(f"argo-proxy: {text}", file=sys.stderr, flush=True)


async def _ask_daemon(socket: Path, rotate: bool) -> tuple[dict[str, Any], dict[str, Any]] | None:
    try:
        client = await ControlClient.connect(socket)
    except DaemonNotRunning:
        return None
    try:
        status = await client.call("status")
        token = await client.call("token.rotate" if rotate else "token.get")
    finally:
        await client.close()
    return status, token


async def find_connection(
    config_path: str | None, socket: Path | None, *, rotate: bool = False
) -> Connection:
    """Ask the running daemon; else read the config (and the token file, made if missing).

    Raises ConfigError (bad config, unreadable token file) or RpcError (the daemon
    refused).
    """
    answer = await _ask_daemon(control_socket_path(socket), rotate)
    if answer is not None:
        status, token = answer
        listen = status.get("listen_url")
        key = token.get("token") or (_load_quietly(config_path) or "argo-proxy")
        return Connection(
            _client_url(listen) if listen else None,
            key,
            token["auth"],
            True,
            token.get("token_file"),
        )
    config = load_config(config_path)
    if config.auth == "token":
        path = config.token_path
        key = write_new_token(path) if rotate else read_or_create_token(path)
    else:
        key = config.user
    base = _client_url(config.listen_url) if config.tcp else None
    return Connection(base, key, config.auth, False, str(config.token_path))


def _card(row: dict[str, Any]) -> ModelCard:
    return ModelCard(
        alias=row["id"],
        internal_id=row["internal_id"],
        name=row["name"],
        family=row["family"],
        max_input_tokens=row["max_input_tokens"],
        max_output_tokens=row["max_output_tokens"],
        tool_calling=row["tool_calling"],
        image_input=row["image_input"],
    )


async def chat_models(socket: Path | None) -> list[ModelCard]:
    """The running daemon's chat models (`models.list`), else the built-in list."""
    try:
        client = await ControlClient.connect(control_socket_path(socket))
    except DaemonNotRunning:
        return chat_cards(builtin_catalog())
    try:
        answer = await client.call("models.list")
    except RpcError:
        return chat_cards(builtin_catalog())
    finally:
        await client.close()
    return [_card(row) for row in answer["models"]]


def _load_quietly(config_path: str | None) -> str | None:
    """The ARGO username from the config, for `auth: none` (clients still need a key)."""
    try:
        return load_config(config_path).user or None
    except ConfigError:
        return None


def _quote_fish(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_powershell(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_exports(variables: Mapping[str, str], shell: str) -> str:
    """Lines that set `variables` in `shell` (sh covers bash, zsh, dash)."""
    if shell == "fish":
        lines = [f"set -gx {k} {_quote_fish(v)}" for k, v in variables.items()]
    elif shell == "powershell":
        lines = [f"$env:{k} = {_quote_powershell(v)}" for k, v in variables.items()]
    else:
        lines = [f"export {k}={shlex.quote(v)}" for k, v in variables.items()]
    return "\n".join(lines)


def next_steps(
    listen_url: str,
    auth: str,
    *,
    command: str = "argo-proxy",
    socket_option: str = "",
    path_tip: str = "",
    from_editor: bool = False,
) -> list[str]:
    """What `serve` prints on stderr once it listens: the commands that reach this
    daemon at the address it really listens on (never the token itself), each line
    ready to paste into a shell.

    `command` is how to run argo-proxy again (its full path when it is not on PATH,
    with `path_tip` saying how to put it there); `socket_option` is
    ` --control-socket PATH` when the daemon does not use the default socket.
    """
    base = _client_url(listen_url).rstrip("/")
    where = (
        "from a terminal" if from_editor else "this terminal runs it (Ctrl-C stops it); in another"
    )
    lines = [f"argo-proxy is ready at {base}; {where}:"]
    if path_tip:
        lines.append(f"  # {path_tip}")
    cli, sock = command, socket_option
    steps = [
        (f"{cli} run{sock} -- claude", "Claude Code wired to it; codex, opencode, python... alike"),
        (f'eval "$({cli} env{sock})"', "or: every client's URL and key, set in this shell"),
        (f"{cli} token{sock}", "the access token, which clients send as their API key"),
        (f"{cli} models{sock}", "the models it serves"),
    ]
    if auth != "token":
        del steps[2]
    width = max(len(step) for step, _ in steps)
    lines += [f"  {step:<{width}}  # {what}" for step, what in steps]
    key = f"`{cli} token`" if auth == "token" else "any (auth: none)"
    lines.append(f"By hand: base URL {base}/v1 (OpenAI), {base} (Anthropic, Google); key {key}")
    return lines


def _describe(connection: Connection) -> str:
    where = connection.base_url or "no TCP port"
    state = "the running daemon" if connection.running else "no daemon running yet"
    return f"argo-proxy at {where} ({state}, auth {connection.auth})"


_SOCKET_ONLY = "clients must use its socket"


async def connection_or_fail(
    config_path: str | None, socket: Path | None, *, rotate: bool = False, token_only: bool = False
) -> Connection | int:
    """The connection, or the exit code (1) after saying why there is none. A folder
    that is not the user's own raises FolderError: the command line exits 3 for it.

    With no daemon running it says what the answer is made of: for `token`
    (`token_only`) the token file, for `env` and `run` the config's address too."""
    try:
        connection = await find_connection(config_path, socket, rotate=rotate)
    except FolderError:
        raise
    except ConfigError as exc:
        _warn(exc.message)
        return 1
    except RpcError as exc:
        _warn(f"the daemon refused: {exc.message}")
        return 1
    if connection.running or rotate:
        return connection
    if token_only and connection.auth == "token":
        _warn(
            f"no daemon is running (start it with `argo-proxy serve`); this is the token "
            f"in {connection.token_file}, which the daemon requires once it runs"
        )
    elif not token_only:
        _warn(
            "no daemon is running (start it with `argo-proxy serve`); using the address "
            "from the config"
        )
    return connection


async def served_or_fail(
    config_path: str | None, socket: Path | None, *, needed: str
) -> tuple[Connection, str] | int:
    """For the commands that hand clients the daemon's address (`env`, `run`, `setup`):
    the connection and its base URL, or the exit code (1) after saying why there is
    none, `needed` saying why a daemon with no TCP port (`tcp: false`) will not do."""
    connection = await connection_or_fail(config_path, socket)
    if isinstance(connection, int):
        return connection
    if connection.base_url is None:
        _warn(f"the daemon serves no TCP port (`tcp: false`); {needed}")
        return 1
    return connection, connection.base_url


async def run_token(config_path: str | None, socket: Path | None, *, rotate: bool) -> int:
    connection = await connection_or_fail(config_path, socket, rotate=rotate, token_only=True)
    if isinstance(connection, int):
        return connection
    if connection.auth != "token" and not rotate:
        _warn("`auth: none`: the daemon asks for no token (docs/security.md)")
        return 1
    print(connection.key, flush=True)
    if rotate:
        taken = "the running daemon requires it now" if connection.running else "saved"
        _warn(f"new access token in {connection.token_file}; {taken}")
    return 0


async def run_env(
    config_path: str | None, socket: Path | None, *, shell: str, as_json: bool
) -> int:
    served = await served_or_fail(config_path, socket, needed=_SOCKET_ONLY)
    if isinstance(served, int):
        return served
    connection, base_url = served
    variables = client_variables(base_url, connection.key)
    if as_json:
        payload = {
            "base_url": base_url,
            "auth": connection.auth,
            "running": connection.running,
            "token_file": connection.token_file,
            "variables": variables,
            # Which of them each assistant reads: the editor extension's list.
            "assistants": assistants_payload(),
        }
        print(json.dumps(payload, indent=2), flush=True)
    else:
        print(f"# {_describe(connection)}", flush=True)
        print(render_exports(variables, shell), flush=True)
    return 0


async def prepare_run(
    config_path: str | None, socket: Path | None, command: Sequence[str]
) -> Wired | int:
    """`command` and its environment: this process's, plus the client variables, plus
    what its tool needs beyond them (control/run_wiring.py); an exit code (and a
    message) if the daemon cannot be found or the tool cannot be wired."""
    served = await served_or_fail(config_path, socket, needed=_SOCKET_ONLY)
    if isinstance(served, int):
        return served
    connection, base_url = served
    env = {**os.environ, **client_variables(base_url, connection.key)}
    tool = tool_of(command)
    models = await chat_models(socket) if tool in ("claude", "codex", "opencode", "gemini") else []
    try:
        return wire(command, env, base_url, models)
    except CannotRun as exc:
        _warn(str(exc))
        return 1


def run_command(command: Sequence[str], env: Mapping[str, str]) -> int:
    """Run `command` with `env`: replace this process on POSIX (signals and the exit
    code are then the command's own), wait for it elsewhere."""
    if os.name == "posix":
        try:
            os.execvpe(command[0], list(command), dict(env))
        except OSError as exc:
            _warn(f"cannot run {command[0]!r}: {exc.strerror or exc}")
            return 127
    try:
        return subprocess.call(list(command), env=dict(env))
    except OSError as exc:
        _warn(f"cannot run {command[0]!r}: {exc.strerror or exc}")
        return 127
