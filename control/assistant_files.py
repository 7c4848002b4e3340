"""What `argo-proxy setup` writes into each assistant's own files, as functions from
the files' content to their new content: Claude Code, Codex, Gemini CLI, Aider,
OpenCode, Continue and Cline (docs/clients.md#setup).

Each keeps everything else in the file, comments too (tomlkit for TOML, ruamel.yaml
for YAML, control/jsonc.py for JSON with comments), and sets only its own entries.
Where the tool can read the key from elsewhere, no secret goes into the file: Claude
Code runs `argo-proxy token` (`apiKeyHelper`), Codex reads ARGO_PROXY_TOKEN
(`env_key`), OpenCode `{env:ARGO_PROXY_TOKEN}`. Where it cannot (Gemini CLI's `.env`,
Aider, Continue, Cline), the file is written mode 0600.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from tomlkit.exceptions import TOMLKitError

from argo_proxy.daemon.model_cards import ModelCard

from . import jsonc
from .file_edits import FileChange, read_text

__all__ = [
    "WIRINGS",
    "Places",
    "SetupError",
    "Target",
    "Wiring",
    "GEMINI_MODELS",
    "claude_code_model",
    "default_model",
    "with_env_variables",
]

PROVIDER = "argo"  # the provider's name in Codex's and OpenCode's files
# The names our provider entries carry: an entry by that name is ours, not the user's.
CODEX_PROVIDER_NAME = "ARGO via argo-proxy"
OPENCODE_PROVIDER_NAME = "ARGO (argo-proxy)"


class SetupError(ValueError):
    """A file cannot be rewritten as it is (it does not parse): the user must fix it."""


@dataclass(frozen=True)
class Places:
    """Where the user's files are: their home and the variables that move them."""

    home: Path
    env: Mapping[str, str]

    def under(self, variable: str, *default: str) -> Path:
        value = self.env.get(variable)
        return Path(value) if value else self.home.joinpath(*default)


@dataclass(frozen=True)
class Target:
    """What to point the assistant at."""

    url: str  # the daemon's base URL for clients (no /v1)
    key: str  # the access token (with `auth: none`, the username)
    models: Sequence[ModelCard]  # ARGO's chat models
    token_command: str | None  # a shell command that prints the key (`argo-proxy token`)

    @property
    def base(self) -> str:
        return self.url.rstrip("/")


def default_model(models: Sequence[ModelCard], *preferred: str) -> str:
    """The model an assistant starts with when the user has chosen none: the first of
    `preferred` (ARGO ids) ARGO has, else Claude Sonnet, else GPT-4o, else the first."""
    for internal in (*preferred, "claudesonnet46", "claudesonnet45", "gpt4o"):
        for card in models:
            if card.internal_id == internal:
                return card.alias
    return models[0].alias if models else "argo:gpt-4o"


# Gemini CLI's own default is a Gemini model ARGO may not have: one it has.
GEMINI_MODELS = ("gemini25pro", "gemini25flash")
# Claude Code's own default may be a Claude model ARGO does not have yet: one it has,
# by the name Claude Code knows it by (it decides features such as thinking by name).
_CLAUDE_CODE_NAMES = {"claudesonnet46": "claude-sonnet-4-6", "claudesonnet45": "claude-sonnet-4-5"}


def claude_code_model(models: Sequence[ModelCard]) -> str:
    """The model Claude Code starts with when the user has chosen none."""
    have = {card.internal_id for card in models}
    for internal, name in _CLAUDE_CODE_NAMES.items():
        if internal in have:
            return name
    return default_model(models)


Read = Callable[[Path], "str | None"]


@dataclass(frozen=True)
class Wiring:
    label: str
    files: Callable[[Places], list[Path]]
    write: Callable[[Read, Places, Target], list[FileChange]]
    key_note: str  # where the key goes, for the user

    def changes(self, places: Places, target: Target, read: Read = read_text) -> list[FileChange]:
        return self.write(read, places, target)


# ------------------------------------------------------------------ JSON (with comments)


def _json_root(text: str | None, path: Path) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = jsonc.loads(text)
    except jsonc.JsoncError as exc:
        raise SetupError(
            f"{path} is not JSON ({exc}); fix it (or move it away) and try again"
        ) from exc
    if not isinstance(value, dict):
        raise SetupError(f"{path} is not a JSON object; fix it (or move it away) and try again")
    return value


def _set_json(text: str | None, path: Path, edits: Sequence[tuple[Sequence[str], Any]]) -> str:
    _json_root(text, path)  # refuses a broken file instead of mangling it
    out = text if text and text.strip() else "{}\n"
    for at, value in edits:
        try:
            out = jsonc.set_value(out, at, value)
        except jsonc.JsoncError as exc:
            raise SetupError(f"{path}: {exc}; fix it and try again") from exc
    return out if out.endswith("\n") else out + "\n"


# ------------------------------------------------------------------ dotenv

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def with_env_variables(text: str | None, variables: Mapping[str, str]) -> str:
    """`.env` text with these variables set: replaced where they are, else appended."""
    lines = text.splitlines() if text else []
    left = dict(variables)
    out = []
    for line in lines:
        match = _ENV_LINE.match(line)
        if match and match.group(1) in left:
            out.append(f"{match.group(1)}={left.pop(match.group(1))}")
        else:
            out.append(line)
    out += [f"{name}={value}" for name, value in left.items()]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------ YAML


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, order and quoting kept
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.preserve_quotes = True
    return yaml


def _yaml_doc(text: str | None, path: Path) -> CommentedMap:
    try:
        doc = _yaml().load(text or "")
    except YAMLError as exc:
        raise SetupError(f"{path}: {exc}; fix it and try again") from exc
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, CommentedMap):
        raise SetupError(f"{path} is not a YAML mapping; fix it and try again")
    return doc


def _yaml_text(doc: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


# ------------------------------------------------------------------ the assistants


def _claude_files(places: Places) -> list[Path]:
    return [places.under("CLAUDE_CONFIG_DIR", ".claude") / "settings.json"]


def _claude(read: Read, places: Places, target: Target) -> list[FileChange]:
    (path,) = _claude_files(places)
    before = read(path)
    edits: list[tuple[Sequence[str], Any]] = [(("env", "ANTHROPIC_BASE_URL"), target.base)]
    if target.token_command:
        edits.append((("apiKeyHelper",), target.token_command))
    else:  # `auth: none`: the key is the ARGO username, no secret
        edits.append((("env", "ANTHROPIC_API_KEY"), target.key))
    if "model" not in _json_root(before, path):
        edits.append((("model",), claude_code_model(target.models)))
    after = _set_json(before, path, edits)
    return [FileChange(path, before, after)]


def _codex_files(places: Places) -> list[Path]:
    return [places.under("CODEX_HOME", ".codex") / "config.toml"]


def codex_provider(base: str) -> dict[str, str]:
    """The `[model_providers.argo]` table: the Responses API, the key read from the
    ARGO_PROXY_TOKEN variable (no secret in the file, nothing to edit on a rotation)."""
    return {
        "name": CODEX_PROVIDER_NAME,
        "base_url": f"{base}/v1",
        "env_key": "ARGO_PROXY_TOKEN",
        "wire_api": "responses",
    }


def _codex(read: Read, places: Places, target: Target) -> list[FileChange]:
    (path,) = _codex_files(places)
    before = read(path)
    try:
        doc = tomlkit.parse(before or "")
    except TOMLKitError as exc:
        raise SetupError(f"{path}: {exc}; fix it and try again") from exc
    doc["model_provider"] = PROVIDER  # tomlkit puts a new top-level key before the tables
    if "model" not in doc:
        doc["model"] = default_model(target.models)
    providers = doc.get("model_providers")
    if providers is None:
        providers = tomlkit.table(is_super_table=True)
        doc["model_providers"] = providers
    table = tomlkit.table()
    table.update(codex_provider(target.base))
    providers[PROVIDER] = table
    return [FileChange(path, before, tomlkit.dumps(doc))]


def _gemini_files(places: Places) -> list[Path]:
    folder = places.under("GEMINI_CLI_HOME", "") / ".gemini"
    return [folder / "settings.json", folder / ".env"]


def _gemini(read: Read, places: Places, target: Target) -> list[FileChange]:
    settings, env = _gemini_files(places)
    settings_before, env_before = read(settings), read(env)
    edits: list[tuple[Sequence[str], Any]] = [
        (("security", "auth", "selectedType"), "gemini-api-key")
    ]
    model = _json_root(settings_before, settings).get("model")
    if not (isinstance(model, dict) and model.get("name")):
        edits.append((("model", "name"), default_model(target.models, *GEMINI_MODELS)))
    selected = _set_json(settings_before, settings, edits)
    variables = {"GOOGLE_GEMINI_BASE_URL": target.base, "GEMINI_API_KEY": target.key}
    return [
        FileChange(settings, settings_before, selected),
        FileChange(env, env_before, with_env_variables(env_before, variables), private=True),
    ]


def _aider_files(places: Places) -> list[Path]:
    return [places.home / ".aider.conf.yml"]


def _aider(read: Read, places: Places, target: Target) -> list[FileChange]:
    (path,) = _aider_files(places)
    before = read(path)
    doc = _yaml_doc(before, path)
    doc["openai-api-base"] = f"{target.base}/v1"
    doc["openai-api-key"] = target.key
    if "model" not in doc:
        doc["model"] = f"openai/{default_model(target.models)}"
    return [FileChange(path, before, _yaml_text(doc), private=True)]


def _config_home(places: Places) -> Path:
    return places.under("XDG_CONFIG_HOME", ".config")


def _opencode_files(places: Places) -> list[Path]:
    return [_config_home(places) / "opencode" / "opencode.json"]


def opencode_provider(base: str, models: Sequence[ModelCard]) -> dict[str, Any]:
    """OpenCode's `provider.argo`: the OpenAI-compatible provider it ships with, the key
    read from ARGO_PROXY_TOKEN, and each ARGO chat model with its limits."""
    return {
        "npm": "@ai-sdk/openai-compatible",
        "name": OPENCODE_PROVIDER_NAME,
        "options": {"baseURL": f"{base}/v1", "apiKey": "{env:ARGO_PROXY_TOKEN}"},
        "models": {
            m.alias: {
                "name": f"{m.name} (ARGO)",
                "tool_call": m.tool_calling,
                "attachment": m.image_input,
                "limit": {"context": m.max_input_tokens, "output": m.max_output_tokens},
            }
            for m in models
        },
    }


def _opencode(read: Read, places: Places, target: Target) -> list[FileChange]:
    (path,) = _opencode_files(places)
    before = read(path)
    root = _json_root(before, path)
    edits: list[tuple[Sequence[str], Any]] = []
    if "$schema" not in root:  # OpenCode would add it itself, on its first start
        edits.append((("$schema",), "https://opencode.ai/config.json"))
    edits.append((("provider", PROVIDER), opencode_provider(target.base, target.models)))
    if "model" not in root:
        edits.append((("model",), f"{PROVIDER}/{default_model(target.models)}"))
    return [FileChange(path, before, _set_json(before, path, edits))]


_LOCAL_BASE = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])[:/]")


def _ours_in_continue(entry: Any) -> bool:
    """A Continue model entry of ours: an ARGO alias served by a local argo-proxy."""
    if not isinstance(entry, Mapping):
        return False
    model, base = entry.get("model"), entry.get("apiBase")
    return (
        isinstance(model, str)
        and model.startswith("argo:")
        and isinstance(base, str)
        and bool(_LOCAL_BASE.match(base))
    )


def _continue_files(places: Places) -> list[Path]:
    return [places.under("CONTINUE_GLOBAL_DIR", ".continue") / "config.yaml"]


def _continue(read: Read, places: Places, target: Target) -> list[FileChange]:
    (path,) = _continue_files(places)
    before = read(path)
    doc = _yaml_doc(before, path)
    for key, value in (("name", "Local Config"), ("version", "1.0.0"), ("schema", "v1")):
        doc.setdefault(key, value)
    ours = [
        {
            "name": f"{m.name} (ARGO)",
            "provider": "openai",
            "model": m.alias,
            "apiBase": f"{target.base}/v1",
            "apiKey": target.key,
            "roles": ["chat", "edit", "apply"],
            "capabilities": [
                *(["tool_use"] if m.tool_calling else []),
                *(["image_input"] if m.image_input else []),
            ],
            "defaultCompletionOptions": {
                "contextLength": m.max_input_tokens,
                "maxTokens": min(m.max_output_tokens, 16_384),
            },
        }
        for m in target.models
    ]
    existing = doc.get("models")
    if isinstance(existing, CommentedSeq):
        # edited in place, so that the user's comments in the list stay
        for index in reversed(range(len(existing))):
            if _ours_in_continue(existing[index]):
                del existing[index]
        existing.extend(ours)
    else:
        doc["models"] = ours
    return [FileChange(path, before, _yaml_text(doc), private=True)]


def _cline_files(places: Places) -> list[Path]:
    folder = places.under("CLINE_DIR", ".cline") / "data"
    return [folder / "globalState.json", folder / "secrets.json"]


def _cline(read: Read, places: Places, target: Target) -> list[FileChange]:
    state, secrets = _cline_files(places)
    state_before, secrets_before = read(state), read(secrets)
    current = _json_root(state_before, state).get("actModeOpenAiModelId")
    chosen = current if isinstance(current, str) and current.startswith("argo:") else None
    chosen = chosen or default_model(target.models)
    edits: list[tuple[Sequence[str], Any]] = [
        (("actModeApiProvider",), "openai"),
        (("planModeApiProvider",), "openai"),
        (("openAiBaseUrl",), f"{target.base}/v1"),
        (("actModeOpenAiModelId",), chosen),
        (("planModeOpenAiModelId",), chosen),
    ]
    card = next((m for m in target.models if m.alias == chosen), None)
    if card is not None:
        info = {
            "maxTokens": min(card.max_output_tokens, 16_384),
            "contextWindow": card.max_input_tokens,
            "supportsImages": card.image_input,
            "supportsPromptCache": False,
        }
        edits += [(("actModeOpenAiModelInfo",), info), (("planModeOpenAiModelInfo",), info)]
    return [
        FileChange(state, state_before, _set_json(state_before, state, edits)),
        FileChange(
            secrets,
            secrets_before,
            _set_json(secrets_before, secrets, [(("openAiApiKey",), target.key)]),
            private=True,
        ),
    ]


WIRINGS: dict[str, Wiring] = {
    "claude": Wiring(
        "Claude Code",
        _claude_files,
        _claude,
        "No secret goes into the file: apiKeyHelper runs `argo-proxy token` whenever Claude "
        "Code needs the key, so a rotated token needs no edit.",
    ),
    "codex": Wiring(
        "Codex CLI",
        _codex_files,
        _codex,
        'No secret goes into the file: env_key = "ARGO_PROXY_TOKEN" makes Codex read the key '
        "from that variable: start Codex with `argo-proxy run -- codex`, or after "
        '`eval "$(argo-proxy env)"`.',
    ),
    "gemini": Wiring(
        "Gemini CLI",
        _gemini_files,
        _gemini,
        "GEMINI_API_KEY (the access token) goes into ~/.gemini/.env, mode 0600: Gemini CLI "
        "reads a key from no other place; variables already set (`argo-proxy run`) win over it.",
    ),
    "aider": Wiring(
        "Aider",
        _aider_files,
        _aider,
        "openai-api-key (the access token) goes into ~/.aider.conf.yml, mode 0600; a "
        ".aider.conf.yml in a repository or the current folder still wins over it.",
    ),
    "opencode": Wiring(
        "OpenCode",
        _opencode_files,
        _opencode,
        'No secret goes into the file: apiKey is "{env:ARGO_PROXY_TOKEN}": start OpenCode '
        'with `argo-proxy run -- opencode`, or after `eval "$(argo-proxy env)"`.',
    ),
    "continue": Wiring(
        "Continue",
        _continue_files,
        _continue,
        "apiKey (the access token) goes into each ARGO model of ~/.continue/config.yaml, "
        "mode 0600: Continue runs inside the editor and reads no terminal's variables.",
    ),
    "cline": Wiring(
        "Cline",
        _cline_files,
        _cline,
        "openAiApiKey (the access token) goes into ~/.cline/data/secrets.json, mode 0600, "
        "where Cline keeps its keys; Cline reads its files when it starts.",
    ),
}


def home_places(env: Mapping[str, str] | None = None) -> Places:
    """The current user's places."""
    environ = os.environ if env is None else env
    return Places(Path(environ.get("HOME") or Path.home()), dict(environ))
