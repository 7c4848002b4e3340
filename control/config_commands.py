"""`argo-proxy config show|validate|path|init|migrate [CONFIG]` and
`argo-proxy config env [prod|dev|test] [-c CONFIG]` (docs/control.md#everyday-commands).

Reading and validating stay in daemon/config.py; this module asks questions, renders
the canonical v3 file (argo-proxy's layout, docs/compatibility.md#config-files) and
writes it; `env` edits one setting in place (config_edit.py). Only `init` is
interactive. None of them touches the network or a running daemon (which picks up an
edit by watching its file).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from argo_proxy.daemon.config import (
    DEFAULT_BASE_URL,
    DEFAULT_PORT,
    ENVIRONMENTS,
    config_search_paths,
    default_config_file,
    file_settings,
    find_config_file,
    load_config,
    override_of,
)
from argo_proxy.daemon.errors import ConfigError
from argo_proxy.daemon.folders import private_folder
from argo_proxy.daemon.routes import RouteRule, rule_payload

from .config_edit import current_environment, switch_environment

__all__ = ["render_config", "run_config"]

T = TypeVar("T")

# argo-proxy's canonical writer groups keys under these comments (its saved-file layout).
_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Core settings", ("config_version", "user", "host", "port", "verbose", "log_to_file")),
    (
        "Upstream",
        (
            "argo_base_url",
            "native_openai_base_url",
            "native_anthropic_base_url",
            "anthropic_stream_mode",
            "use_legacy_argo",
            "username_passthrough",
            "default_model",
            "default_embed_model",
            "model_refresh_interval_hours",
            "request_timeout",
            "connect_timeout",
        ),
    ),
    (
        "Network & validation",
        ("connection_test_timeout", "resolve_overrides"),
    ),
    (
        "Image processing",
        ("max_payload_size", "image_timeout", "concurrent_downloads"),
    ),
    ("Other", ("max_log_history", "max_body_mb", "pypi_url")),
)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)  # `12`, as people write it, not `12.0`
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, RouteRule):
        return rule_payload(value)  # as the file wrote it
    if isinstance(value, tuple):
        return [_plain(item) for item in value]
    return value


def render_config(settings: Mapping[str, Any]) -> str:
    """The canonical YAML text of `settings` (only the keys given, grouped, commented)."""
    placed = {key for _, keys in _SECTIONS for key in keys}
    sections = [*_SECTIONS, ("Other", tuple(k for k in settings if k not in placed))]
    blocks: list[str] = []
    for title, keys in sections:
        lines = [
            yaml.safe_dump({key: _plain(settings[key])}, sort_keys=False, allow_unicode=True)
            for key in keys
            if key in settings
        ]
        if lines:
            blocks.append(f"# {title}\n" + "".join(lines))
    return "\n".join(blocks)


def _error(text: str) -> int:
    print(f"argo-proxy config: {text}", file=sys.stderr)
    return 1


def _searched() -> str:
    return ", ".join(str(p) for p in config_search_paths())


# ---------------------------------------------------------------------------- commands


def _show(path: str | None) -> int:
    config = load_config(path)
    print(json.dumps(config.public_dict(), indent=2))
    return 0


def _validate(path: str | None) -> int:
    config = load_config(path)
    if config.source is None:
        return _error(f"no config file found (searched {_searched()})")
    for note in config.notes:
        print(f"note: {note}")
    print(f"Configuration validation successful: {config.source}")
    return 0


def _path(path: str | None) -> int:
    found = find_config_file(path)
    if found is None:
        return _error(
            f"no config file found (searched {_searched()}); create one with "
            "`argo-proxy config init`"
        )
    print(found)
    return 0


def _migrate(path: str | None) -> int:
    target = find_config_file(path)
    if target is None:
        return _error(f"no config file to migrate (searched {_searched()})")
    raw, settings = file_settings(target)  # first: a file that does not load is refused
    original = target.read_text(encoding="utf-8")
    text = render_config(settings)
    if text == original:
        print("Config is already in canonical v3 format. Nothing to do.")
        return 0
    backup = target.with_name(target.name + ".bak")
    shutil.copy2(target, backup)
    target.write_text(text, encoding="utf-8")
    print(f"Migrated {target} (the original is saved as {backup})")
    old_version = str(raw.get("config_version", "") or "none")
    if old_version != "3":
        print(f"config_version: {old_version} -> 3")
    for key in raw:
        if key not in settings:
            print(f"removed: {key}")
    for key, value in settings.items():
        if key not in raw and key != "config_version":
            print(f"added: {key}: {_plain(value)}")
    return 0


def _environment(path: str | None, env: str | None) -> int:
    """Show the file's ARGO environment, or switch it (docs/control.md#switching-environment)."""
    if env is not None and env not in ENVIRONMENTS:
        print(
            f"argo-proxy config env: unknown environment {env!r}: choose "
            f"{', '.join(ENVIRONMENTS)} (a config file goes after -c/--config)",
            file=sys.stderr,
        )
        return 2
    target = find_config_file(path)
    if target is None:
        return _error(
            f"no config file found (searched {_searched()}); create one with "
            "`argo-proxy config init`, or name one with -c/--config"
        )
    if env is None:
        name, base, _ = current_environment(target)
        print(f"Current environment: {name}")
        print(f"  argo_base_url: {base}")
        print(f"  config file: {target}")
        print()
        print("Available environments:")
        for known, url in ENVIRONMENTS.items():
            print(f"  {known:<5} {url}{' (active)' if known == name else ''}")
    else:
        switch = switch_environment(target, env)
        if not switch.changed:
            print(f"Already on '{env}' environment. Nothing to do.")
            return 0
        was = f"was {switch.previous}" if switch.previous != env else "overrides removed"
        print(f"Switched to '{env}' environment ({was}).")
        print(f"  argo_base_url: {switch.argo_base_url}")
        for key in switch.cleared:
            print(f"  removed: {key} (it follows argo_base_url now)")
        print(f"  config file: {target}")
        print("A running daemon using this file applies it when it sees the file change.")
    beaten = override_of("argo_base_url")
    if beaten is not None:
        print(f"note: the {beaten} is set here, and wins over the file for a daemon started here")
    return 0


def _ask(question: str, default: T, parse: Callable[[str], T]) -> T:
    """Ask until the answer parses; Enter takes the default. EOFError when stdin ends."""
    while True:
        answer = input(f"{question} [{default}]: ").strip()
        if not answer:
            return default
        try:
            return parse(answer)
        except ValueError as exc:
            print(f"  {exc}")


def _yes(question: str, default: bool) -> bool:
    hint = "Y/n" if default else "y/N"
    while True:
        answer = input(f"{question} [{hint}]: ").strip().lower()
        if not answer:
            return default
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")
        print("  answer y or n")


def _url(answer: str) -> str:
    if not answer.startswith(("http://", "https://")):
        raise ValueError("the URL must start with http:// or https://")
    return answer.rstrip("/")


def _username(answer: str) -> str:
    if " " in answer or answer.lower() == "cels":
        raise ValueError("your own ANL username: no spaces, not the shared `cels`")
    return answer.lower()


def _port(answer: str) -> int:
    if not answer.isdigit() or not 0 <= int(answer) <= 65535:
        raise ValueError("a port number 1-65535 (0 = any free port)")
    return int(answer)


def _init(path: str | None, force: bool) -> int:
    target = Path(path).expanduser() if path else default_config_file()
    try:
        if target.exists() and not force and not _yes(f"{target} exists. Overwrite it?", False):
            print("Nothing written.")
            return 1
        print(f"Creating {target} (Enter keeps the value in brackets)")
        login = load_config(search=False, environ={}).user  # who the daemon would be
        settings: dict[str, Any] = {
            "config_version": "3",
            "user": _ask("Your ANL username", login, _username),
            "port": _ask("Port the daemon listens on", DEFAULT_PORT, _port),
            "argo_base_url": _ask("ARGO base URL", DEFAULT_BASE_URL, _url),
            "verbose": _yes("Debug logging?", False),
        }
    except (EOFError, KeyboardInterrupt):
        print()
        return _error("init needs answers on a terminal; nothing written")
    if target == default_config_file():  # argo-proxy's own folder: private, as the token's
        private_folder(target.parent, "the config folder", "choose another PATH")
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(render_config(settings))
    load_config(target, environ={})  # the file we wrote must load
    print(f"Wrote {target}. Start the daemon with `argo-proxy serve`.")
    return 0


def run_config(
    action: str, path: str | None, *, force: bool = False, env: str | None = None
) -> int:
    try:
        if action == "init":
            return _init(path, force)
        if action == "env":
            return _environment(path, env)
        commands: dict[str, Callable[[str | None], int]] = {
            "show": _show,
            "validate": _validate,
            "path": _path,
            "migrate": _migrate,
        }
        return commands[action](path)
    except ConfigError as exc:
        return _error(exc.message)
