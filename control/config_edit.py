"""Editing a config file in place, the way a person would: `argo-proxy config env` and the
`config.setEnvironment` method change one setting and leave the rest of the file, its
comments and its layout byte for byte as they were (docs/control.md#switching-environment).

YAML is parsed only to find where each top-level key and its value start and end;
the text between is replaced, or the lines removed, or a line added at the end. The
file is replaced whole (a temporary file renamed over it, mode kept), so a daemon
watching it never reads half of it; a symlinked config keeps its link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from argo_proxy.daemon.config import (
    DEFAULT_BASE_URL,
    ENVIRONMENTS,
    environment_of,
    file_settings,
    read_config_text,
)
from argo_proxy.daemon.errors import ConfigError

from .file_edits import write_atomic

__all__ = ["EnvironmentSwitch", "current_environment", "edit_keys", "switch_environment"]

# The native roots follow `argo_base_url` unless set: a switch clears them, as argo-proxy's
# did, or the switch would send some requests to the old environment.
NATIVE_KEYS = ("native_openai_base_url", "native_anthropic_base_url")


@dataclass(frozen=True)
class EnvironmentSwitch:
    """The outcome of a switch: the environment now in the file, and whether it changed."""

    env: str
    argo_base_url: str
    path: Path
    changed: bool
    previous: str  # the environment before: a name, or "custom"
    cleared: tuple[str, ...] = ()  # native overrides removed from the file


def current_environment(path: Path) -> tuple[str, str, tuple[str, ...]]:
    """(environment name or "custom", `argo_base_url`, native overrides set) as the file
    says: environment variables and options are not looked at; no key means the default."""
    _, settings = file_settings(path)
    base = str(settings.get("argo_base_url") or DEFAULT_BASE_URL)
    natives = tuple(key for key in NATIVE_KEYS if settings.get(key))
    return environment_of(base) or "custom", base, natives


def switch_environment(path: Path, env: str) -> EnvironmentSwitch:
    """Point the config file at ARGO's `env` environment; raises ConfigError for an
    unknown name, a file that does not load, or one that cannot be written."""
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown ARGO environment {env!r}: choose {', '.join(ENVIRONMENTS)}")
    url = ENVIRONMENTS[env]
    previous, base, natives = current_environment(path)
    if base == url and not natives:
        return EnvironmentSwitch(env, url, path, False, previous)
    text = read_config_text(path)  # bytes decoded: "\r\n" kept as it is
    edited = edit_keys(text, {"argo_base_url": url}, remove=NATIVE_KEYS, where=str(path))
    after = yaml.safe_load(edited) or {}
    if after.get("argo_base_url") != url or any(after.get(key) for key in NATIVE_KEYS):
        # a layout the editor does not understand: better no change than a wrong one
        raise ConfigError(f"{path}: could not edit `argo_base_url` safely; set it by hand")
    _replace_file(path, edited)
    return EnvironmentSwitch(env, url, path, True, previous, natives)


# ------------------------------------------------------------------------------ text


def _top_level(text: str, where: str) -> tuple[list[tuple[str, int, int]], str]:
    """(key, start, end) of each top-level entry: `start` where its key begins and `end`
    where its value ends, as offsets into `text`; and the entries' indentation."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark is not None else where
        raise ConfigError(f"{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    if root is None:
        return [], ""
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{where}: a config file must be a mapping of `key: value` lines")
    if root.flow_style:
        raise ConfigError(
            f"{where}: the file is one `{{...}}` mapping; write it as `key: value` lines "
            "to have it edited"
        )
    entries = [
        (str(key.value), key.start_mark.index, value.end_mark.index)
        for key, value in root.value
        if isinstance(key, yaml.ScalarNode)
    ]
    indent = " " * root.value[0][0].start_mark.column if root.value else ""
    return entries, indent


def _line_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The whole lines from `start` to `end`, with the last line's end of line."""
    first = text.rfind("\n", 0, start) + 1
    if end > first and text[end - 1] == "\n":  # a block value ends at the next line's start
        return first, end
    newline = text.find("\n", end)
    return first, len(text) if newline < 0 else newline + 1


def edit_keys(
    text: str,
    values: Mapping[str, str],
    *,
    remove: Iterable[str] = (),
    where: str = "the config file",
) -> str:
    """`text` with each key of `values` set (its entry rewritten where it stands, or a
    line added at the end) and each key of `remove` deleted with its lines; everything
    else stays as it was, comments included. A key written twice is set in its last
    place (the one YAML readers keep) and dropped from the others."""
    entries, indent = _top_level(text, where)
    newline = "\r\n" if "\r\n" in text else "\n"
    last = {key: (start, end) for key, start, end in entries}
    edits: list[tuple[int, int, str]] = []  # (start, end, replacement), in any order
    for key, start, end in entries:
        if key in values and (start, end) == last[key]:
            line = _entry(key, values[key])
            if end > start and text[end - 1] == "\n":
                line += newline
            edits.append((start, end, line))
        elif key in values or key in remove:
            first, stop = _line_span(text, start, end)
            edits.append((first, stop, ""))
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    missing = [key for key in values if key not in last]
    if missing:
        if text and not text.endswith("\n"):
            text += newline
        text += "".join(indent + _entry(key, values[key]) + newline for key in missing)
    return text


def _entry(key: str, value: str) -> str:
    """`key: value` as YAML writes it (quoted if the value needs it)."""
    return yaml.safe_dump({key: value}, default_flow_style=False, width=1_000_000).rstrip("\n")


def _replace_file(path: Path, text: str) -> None:
    """Write `text` over `path` at once, keeping its mode (and a symlink's link)."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the config file: {exc.strerror or exc}; nothing was changed"
        ) from exc
