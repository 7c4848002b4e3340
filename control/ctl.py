"""`argo-proxy ctl …`: one JSON-RPC call to the running daemon, printed for people
(`requests` and `usage` are printed by ctl_records.py).

`--json` prints the method's result as it came, for scripts. Every command exits 1
with a message on stderr when no daemon answers, or when the daemon refused (a
reload of a broken file, a failed refresh).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from argo_proxy.daemon.config import control_socket_path

from .client import ControlClient, DaemonNotRunning, RpcError
from .ctl_records import RequestsQuery, follow_requests, print_usage, show_requests

__all__ = ["run_ctl"]

# action → method (`legacy` picks legacy.get or legacy.set by its argument)
_METHODS: dict[str, str] = {
    "status": "status",
    "refresh": "refresh",
    "reload": "config.reload",
    "config": "config.get",
    "stop": "shutdown",
    "usage": "usage.get",
    "route": "route.explain",
}
_STOP_WAIT = 20.0  # seconds `ctl stop` waits for the daemon to be gone


def _out(text: str) -> None:
    print(text, flush=True)


def _fail(text: str) -> int:
    print(f"argo-proxy ctl: {text}", file=sys.stderr, flush=True)
    return 1


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _clock(at: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) if at else "?"


def _describe_reload(report: dict[str, Any]) -> str:
    if not report["ok"]:
        return f"refused at {_clock(report['at'])} ({report['trigger']}): {report['message']}"
    return f"ok at {_clock(report['at'])} ({report['trigger']}): {report['message']}"


def _describe_breaker(breaker: dict[str, Any]) -> str:
    text = (
        f"{breaker['model']} {breaker['state'].replace('_', '-')}, {breaker['failures']} failures"
    )
    return text + (f", retry at {breaker['retry_at']}" if breaker["retry_at"] else "")


def _print_status(result: dict[str, Any]) -> int:
    models = result["models"]
    counters = result["counters"]
    rows = [
        ("listening on", result["listen_url"] or "(not yet)"),
        *([("also on", result["socket_url"])] if result.get("socket_url") else []),
        (
            "access",
            f"token required ({result['token_file']})"
            if result.get("auth") == "token"
            else "no token (auth: none)",
        ),
        ("config", result["config_path"] or "none (built-in defaults)"),
        ("ARGO", result["argo_base_url"]),
        ("legacy mode", "on" if result["legacy"] else "off"),
        (
            "models",
            f"{models['unique_models']} models, {models['total_aliases']} aliases "
            f"({'from ARGO' if models['source'] == 'upstream' else 'built-in list'})",
        ),
        (
            "requests",
            f"{counters['requests']} ({counters['active_streams']} streams active, "
            f"{counters['errors']} errors)",
        ),
        ("last reload", _describe_reload(result["last_reload"]) if result["last_reload"] else "-"),
        *[
            ("fallbacks", f"{model} → {' → '.join(chain)}")
            for model, chain in result["fallbacks"].items()
        ],
        *[("breaker", _describe_breaker(breaker)) for breaker in result["breakers"]],
        ("control socket", result["control_socket"]),
    ]
    _out(
        f"argo-proxy {result['version']}: {result['phase']} "
        f"(pid {result['pid']}, up {_duration(result['uptime_s'])})"
    )
    for label, value in rows:
        _out(f"  {label:<15} {value}")
    return 0


def _print_refresh(result: dict[str, Any]) -> int:
    current, previous = result["current"], result["previous"]
    if result["status"] != "ok":
        return _fail(result["message"])
    _out(
        f"{result['message']}: {current['unique_models']} models, {current['total_aliases']} "
        f"aliases (was {previous['unique_models']} models, {previous['total_aliases']} aliases)"
    )
    return 0


def _print_legacy(result: dict[str, Any]) -> int:
    state = "on" if result["enabled"] else "off"
    if "changed" not in result:
        _out(f"legacy mode is {state}")
    elif result["changed"]:
        _out(f"legacy mode {state} (from the next request; the config file is unchanged)")
    else:
        _out(f"legacy mode was already {state}")
    return 0


def _print_reload(result: dict[str, Any]) -> int:
    if not result["ok"]:
        return _fail(f"config not reloaded: {result['message']} (the last good config stays)")
    source = result["path"]
    read = f"from {source}" if source else "(no config file: the built-in defaults)"
    if not result["changes"]:
        _out(f"config reloaded {read}: no setting changed")
        return 0
    _out(f"config reloaded {read}:")
    for change in result["changes"]:
        _out(f"  {change['key']}: {change['old']!r} -> {change['new']!r}")
    for action in result["actions"]:
        _out(f"  {action}")
    if result["restart_needed"]:
        _out(f"  needs a restart to take effect: {', '.join(result['restart_needed'])}")
    return 0


def _print_config(result: dict[str, Any]) -> int:
    _out(f"# {result['path'] or 'no config file: built-in defaults'}")
    for key, value in result["config"].items():
        _out(f"{key}: {json.dumps(value)}")
    return 0


def _leg(leg: dict[str, Any]) -> str:
    converted = "converted" if leg["converted"] else "as sent"
    breaker = "" if leg["breaker"] == "closed" else f", breaker {leg['breaker']}"
    return f"{leg['model']} ({leg['upstream']} API, {converted}{breaker}) at {leg['url']}"


def _print_route(result: dict[str, Any]) -> int:
    rule = result["rule"]
    by = f"route `{rule['label']}`" if rule else "its name (no route matches)"
    _out(f"{result['requested_model']} from {result['client']} ({result['format']}) → {by}")
    _out(f"  sent to        {_leg(result)}")
    for number, leg in enumerate(result["fallbacks"], 1):
        _out(f"  fallback {number:<5} {_leg(leg)}")
    if result["legacy"]:
        _out("  legacy mode is on: the legacy gateway serves it (docs/legacy.md)")
    return 0


def _print_stop(result: dict[str, Any]) -> int:
    _out(f"the daemon (pid {result['pid']}) has stopped")
    return 0


_PRINTERS: dict[str, Callable[[dict[str, Any]], int]] = {
    "status": _print_status,
    "refresh": _print_refresh,
    "legacy": _print_legacy,
    "reload": _print_reload,
    "config": _print_config,
    "stop": _print_stop,
    "usage": print_usage,
    "route": _print_route,
}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _wait_gone(path: Path, pid: int) -> bool:
    """After `shutdown`: wait for the daemon to finish stopping.

    Its last step removes the socket file (it stops accepting much earlier, while
    requests in flight finish); a daemon that died instead is gone from the process
    table (a zombie not yet reaped by its parent keeps its pid, hence both checks).
    """
    deadline = time.monotonic() + _STOP_WAIT
    while time.monotonic() < deadline:
        if not path.exists() or not _alive(pid):
            return True
        await asyncio.sleep(0.1)
    return False


async def run_ctl(
    action: str,
    value: str | None,
    socket: Path | None,
    *,
    as_json: bool,
    params: dict[str, Any] | None = None,
    follow: bool = False,
) -> int:
    """One ctl command; `params` are those of `requests` (requests.list) and `usage`
    (usage.get), `follow` is `requests -f`."""
    method = _METHODS.get(action) or ("legacy.get" if value is None else "legacy.set")
    if action == "legacy" and value is not None:
        params = {"enabled": value == "on"}
    try:
        path = control_socket_path(socket)
        client = await ControlClient.connect(path)
    except DaemonNotRunning as exc:
        return _fail(exc.message)
    if action == "requests":
        show = follow_requests if follow else show_requests
        try:
            return await show(client, RequestsQuery(**(params or {})), as_json=as_json)
        finally:
            await client.close()
    try:
        pid = (await client.call("status"))["pid"] if action == "stop" else 0
        result = await client.call(method, params, timeout=120)
    except RpcError as exc:
        return _fail(f"the daemon refused {method}: {exc.message}")
    except asyncio.TimeoutError:
        return _fail(f"no answer to {method} within 120s")
    finally:
        await client.close()
    if action == "stop":
        if not await _wait_gone(path, pid):
            return _fail(f"the daemon (pid {pid}) is still stopping after {_STOP_WAIT:g}s")
        result = {**result, "pid": pid}
    if as_json:
        _out(json.dumps(result, indent=2))
        ok = result.get("ok", True) and result.get("status", "ok") == "ok"
        return 0 if ok else 1
    return _PRINTERS[action](result)
