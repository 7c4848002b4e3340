"""What `argo-proxy run -- TOOL ...` adds for the tools that need more than the
variables (docs/clients.md#run-tool-by-tool): settings on the command line or in the environment,
never a file, and never where the user has a setting of their own.

- Codex: `-c` overrides right after the executable: a `model_providers.argo` entry
  (the key read from ARGO_PROXY_TOKEN), `model_provider="argo"`, a model.
- OpenCode: `OPENCODE_CONFIG_CONTENT`, the argo provider and a model.
- Aider: litellm told to use its own copy of the price list (no download).
- Gemini CLI: it takes its auth method only from a settings file; with none chosen it
  would stop with "Invalid auth method selected.", so `run` says which file and the
  command that writes it (`argo-proxy setup gemini`) instead.
- Claude Code: ANTHROPIC_MODEL, a model ARGO has, when the user chose none.
- The SDKs: the variables are all they need.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.exceptions import TOMLKitError

from argo_proxy.daemon.model_cards import ModelCard

from . import jsonc
from .assistant_files import (
    CODEX_PROVIDER_NAME,
    GEMINI_MODELS,
    OPENCODE_PROVIDER_NAME,
    PROVIDER,
    WIRINGS,
    Places,
    claude_code_model,
    codex_provider,
    default_model,
    opencode_provider,
)
from .assistants import ASSISTANTS

__all__ = ["CannotRun", "Wired", "tool_of", "wire"]


class CannotRun(Exception):
    """The tool cannot reach the daemon from what `run` may set: the message says why
    and what to do."""


@dataclass(frozen=True)
class Wired:
    command: list[str]
    env: dict[str, str]


def tool_of(command: Sequence[str]) -> str | None:
    """The assistant `command` starts, by its executable's name."""
    name = Path(command[0]).name.lower()
    for suffix in (".exe", ".cmd", ".js"):
        name = name.removesuffix(suffix)
    for assistant in ASSISTANTS.values():
        if name in assistant.executables:
            return assistant.id
    return None


def _files(tool: str, env: Mapping[str, str]) -> list[Path]:
    """The user's own files of `tool`: where `setup` writes, the first place it reads."""
    return WIRINGS[tool].files(Places(Path(env.get("HOME") or Path.home()), env))


# ------------------------------------------------------------------ Codex


def _option_values(args: Sequence[str], *names: str) -> list[str]:
    """The values of `--name VALUE` / `--name=VALUE` / `-n VALUE` in `args`."""
    values = []
    for i, arg in enumerate(args):
        if arg == "--":
            break
        for name in names:
            if arg == name and i + 1 < len(args):
                values.append(args[i + 1])
            elif name.startswith("--") and arg.startswith(name + "="):
                values.append(arg[len(name) + 1 :])
    return values


def _providers(table: Any, prefix: str, ours: str) -> set[str]:
    """`PREFIX.NAME` for each provider in `table` that is the user's own. The entry
    `argo-proxy setup` wrote is not: `run` sets it again with the daemon's address as
    it is now (`--port auto` may have moved it since)."""
    if not isinstance(table, dict):
        return set()
    return {
        f"{prefix}.{name}"
        for name, entry in table.items()
        if not (name == PROVIDER and isinstance(entry, dict) and entry.get("name") == ours)
    }


def _codex_settings(args: Sequence[str], env: Mapping[str, str]) -> set[str]:
    """The settings the user has made themselves: in config.toml (and the profile it
    or `--profile` selects) and on the command line."""
    (path,) = _files("codex", env)
    config: dict[str, Any] = {}
    try:
        config = tomlkit.parse(path.read_text(encoding="utf-8")).unwrap()
    except (OSError, UnicodeDecodeError, TOMLKitError):
        pass  # none, or one Codex itself will complain about
    own = set(config)
    own.update(_providers(config.get("model_providers"), "model_providers", CODEX_PROVIDER_NAME))
    profiles = config.get("profiles") or {}
    for profile in [config.get("profile"), *_option_values(args, "-p", "--profile")]:
        if isinstance(profile, str) and isinstance(profiles.get(profile), dict):
            own.update(profiles[profile])
    for override in _option_values(args, "-c", "--config"):
        key = override.partition("=")[0].strip()
        own.add(key)
        if key == "model_providers":
            own.add(f"model_providers.{PROVIDER}")
    if _option_values(args, "-m", "--model"):
        own.add("model")
    if "--oss" in args or _option_values(args, "--local-provider"):
        own.add("model_provider")
    return own


def _toml_value(value: Any) -> str:
    """A value as `-c` takes it: TOML (an inline table for a dict)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _codex(
    command: Sequence[str], env: dict[str, str], base: str, models: Sequence[ModelCard]
) -> Wired:
    own = _codex_settings(command[1:], env)
    overrides: dict[str, Any] = {}
    if f"model_providers.{PROVIDER}" not in own:
        overrides[f"model_providers.{PROVIDER}"] = codex_provider(base)
    if "model_provider" not in own:
        overrides["model_provider"] = PROVIDER
        if "model" not in own:  # Codex's own default is a model ARGO may not have
            overrides["model"] = default_model(models)
    added = [f"{key}={_toml_value(value)}" for key, value in overrides.items()]
    words = [word for setting in added for word in ("-c", setting)]
    return Wired([command[0], *words, *command[1:]], env)


# ------------------------------------------------------------------ OpenCode


def _opencode_settings(command: Sequence[str], env: Mapping[str, str]) -> set[str]:
    """The top-level keys (and `provider.NAME`s) of the user's own OpenCode configs."""
    folder = _files("opencode", env)[0].parent
    files = [folder / n for n in ("config.json", "opencode.json", "opencode.jsonc")]
    files += [Path.cwd() / n for n in ("opencode.json", "opencode.jsonc")]
    if env.get("OPENCODE_CONFIG"):
        files.append(Path(env["OPENCODE_CONFIG"]))
    own: set[str] = set()
    for path in files:
        try:
            config = jsonc.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, jsonc.JsoncError):
            continue
        if isinstance(config, dict):
            own.update(config)
            own.update(_providers(config.get("provider"), "provider", OPENCODE_PROVIDER_NAME))
    if _option_values(command[1:], "-m", "--model"):
        own.add("model")
    return own


def _opencode(
    command: Sequence[str], env: dict[str, str], base: str, models: Sequence[ModelCard]
) -> Wired:
    if env.get("OPENCODE_CONFIG_CONTENT"):
        return Wired(list(command), env)  # the user's own
    own = _opencode_settings(command, env)
    content: dict[str, Any] = {}
    if f"provider.{PROVIDER}" not in own:
        content["provider"] = {PROVIDER: opencode_provider(base, models)}
    if "model" not in own:
        content["model"] = f"{PROVIDER}/{default_model(models)}"
    if not content:
        return Wired(list(command), env)
    return Wired(list(command), {**env, "OPENCODE_CONFIG_CONTENT": json.dumps(content)})


# ------------------------------------------------------------------ Gemini CLI


def _gemini_settings_files(env: Mapping[str, str]) -> list[Path]:
    system = Path(env.get("GEMINI_CLI_SYSTEM_SETTINGS_PATH") or "/etc/gemini-cli/settings.json")
    defaults = Path(
        env.get("GEMINI_CLI_SYSTEM_DEFAULTS_PATH") or system.parent / "system-defaults.json"
    )
    return [
        _files("gemini", env)[0],  # the user's settings.json
        Path.cwd() / ".gemini" / "settings.json",
        system,
        defaults,
    ]


def _gemini_settings(env: Mapping[str, str]) -> list[dict[str, Any]]:
    settings = []
    for path in _gemini_settings_files(env):
        try:
            value = jsonc.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, jsonc.JsoncError):
            continue
        if isinstance(value, dict):
            settings.append(value)
    return settings


def _chosen(settings: list[dict[str, Any]], section: str, *keys: str) -> bool:
    """Whether any settings file sets one of `section`.`keys` (`security.auth` for
    `security`)."""
    for one in settings:
        table = one.get(section)
        if section == "security" and isinstance(table, dict):
            table = table.get("auth")
        if isinstance(table, dict) and any(table.get(k) for k in keys):
            return True
    return False


def _gemini(command: Sequence[str], env: dict[str, str], models: Sequence[ModelCard]) -> Wired:
    settings = _gemini_settings(env)
    # The environment can choose an auth method other than the gateway (Vertex AI, a
    # Google login); a settings file can choose any.
    by_env = any(
        env.get(v) == "true" for v in ("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA")
    )
    if not (by_env or _chosen(settings, "security", "selectedType", "useExternal")):
        raise CannotRun(
            f"Gemini CLI takes its auth method only from a settings file, and "
            f"{_gemini_settings_files(env)[0]} chooses none (without one it stops with "
            '"Invalid auth method selected."). `argo-proxy setup gemini` sets '
            "security.auth.selectedType there (and nothing else of yours); then run this again"
        )
    if (
        env.get("GEMINI_MODEL")
        or _option_values(command[1:], "-m", "--model")
        or _chosen(settings, "model", "name")
    ):
        return Wired(list(command), env)
    # Its own default is a Gemini model ARGO may not have.
    return Wired(list(command), {**env, "GEMINI_MODEL": default_model(models, *GEMINI_MODELS)})


# ------------------------------------------------------------------ Claude Code


def _claude(command: Sequence[str], env: dict[str, str], models: Sequence[ModelCard]) -> Wired:
    """ANTHROPIC_MODEL, unless the user chose a model (on the command line, in the
    environment, in Claude Code's settings)."""
    if env.get("ANTHROPIC_MODEL") or _option_values(command[1:], "--model"):
        return Wired(list(command), env)
    project = Path.cwd() / ".claude"
    for path in (
        *_files("claude", env),
        project / "settings.json",
        project / "settings.local.json",
    ):
        try:
            settings = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if isinstance(settings, dict) and (
            settings.get("model") or (settings.get("env") or {}).get("ANTHROPIC_MODEL")
        ):
            return Wired(list(command), env)
    # Its own default may be a model ARGO does not have yet.
    return Wired(list(command), {**env, "ANTHROPIC_MODEL": claude_code_model(models)})


def wire(
    command: Sequence[str], env: dict[str, str], base_url: str, models: Sequence[ModelCard]
) -> Wired:
    """`command` and `env` with what its tool needs beyond the variables. Raises
    CannotRun when the tool cannot be wired from there."""
    base = base_url.rstrip("/")
    tool = tool_of(command)
    if tool == "codex":
        return _codex(command, env, base, models)
    if tool == "opencode":
        return _opencode(command, env, base, models)
    if tool == "gemini":
        return _gemini(command, env, models)
    if tool == "claude":
        return _claude(command, env, models)
    if tool == "aider" and "LITELLM_LOCAL_MODEL_COST_MAP" not in env:
        # litellm fetches its price list from the internet on every start otherwise
        return Wired(list(command), {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"})
    return Wired(list(command), env)
