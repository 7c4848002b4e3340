"""The coding assistants and SDKs argo-proxy wires, and the variables each reads.

The one home of this list: `argo-proxy env` prints every variable, `run` sets them,
`setup` writes them into the assistants' own files, and the editor extension reads
the list from `argo-proxy env --json` (its `assistants` member, docs/clients.md).

Each variable's value is made from the daemon's base URL (no `/v1`) and the key
clients send (the access token; with `auth: none`, the ARGO username).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ASSISTANTS",
    "Assistant",
    "assistants_payload",
    "client_variables",
    "variable_value",
]

# Each variable, in `argo-proxy env`'s order, and what it holds.
_VARIABLES: dict[str, str] = {
    # Anything else (OpenCode's `{env:ARGO_PROXY_TOKEN}`, Codex's `env_key`, scripts).
    "ARGO_PROXY_URL": "url",
    "ARGO_PROXY_TOKEN": "key",
    # OpenAI SDKs, Codex CLI, Aider (OPENAI_API_BASE), OpenCode's openai provider.
    "OPENAI_BASE_URL": "url/v1",
    "OPENAI_API_BASE": "url/v1",
    "OPENAI_API_KEY": "key",
    # Anthropic SDKs, Claude Code, Aider.
    "ANTHROPIC_BASE_URL": "url",
    "ANTHROPIC_API_KEY": "key",
    "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH": "1",
    # Gemini CLI and the google-genai SDK.
    "GOOGLE_GEMINI_BASE_URL": "url",
    "GEMINI_API_KEY": "key",
}


def variable_value(name: str, base_url: str, key: str) -> str:
    """The value of one of the variables above for this daemon."""
    base = base_url.rstrip("/")
    kind = _VARIABLES[name]
    return {"url": base, "url/v1": f"{base}/v1", "key": key}.get(kind, kind)


@dataclass(frozen=True)
class Assistant:
    """One tool argo-proxy knows how to point at the daemon."""

    id: str  # the name `setup` takes (`argo-proxy setup codex`)
    label: str
    executables: tuple[str, ...]  # the commands `run` recognises; () for SDKs and editors
    variables: tuple[str, ...]  # what it reads, beyond ARGO_PROXY_URL and ARGO_PROXY_TOKEN
    setup: bool  # whether `argo-proxy setup` writes its files


_OPENAI = ("OPENAI_BASE_URL", "OPENAI_API_BASE", "OPENAI_API_KEY")
_ANTHROPIC = ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")
_GOOGLE = ("GOOGLE_GEMINI_BASE_URL", "GEMINI_API_KEY")

ASSISTANTS: dict[str, Assistant] = {
    a.id: a
    for a in (
        Assistant(
            "claude",
            "Claude Code",
            ("claude",),
            (*_ANTHROPIC, "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH"),
            True,
        ),
        # Codex's provider reads the key from ARGO_PROXY_TOKEN (env_key).
        Assistant("codex", "Codex CLI", ("codex",), _OPENAI, True),
        Assistant("gemini", "Gemini CLI", ("gemini",), _GOOGLE, True),
        Assistant("aider", "Aider", ("aider",), (*_OPENAI, *_ANTHROPIC), True),
        # OpenCode's provider reads `{env:ARGO_PROXY_TOKEN}`.
        Assistant("opencode", "OpenCode", ("opencode",), (), True),
        Assistant("continue", "Continue", (), (), True),
        Assistant("cline", "Cline", (), (), True),
        Assistant("openai-sdk", "OpenAI SDK", (), _OPENAI, False),
        Assistant("anthropic-sdk", "Anthropic SDK", (), _ANTHROPIC, False),
        Assistant("google-sdk", "Google GenAI SDK", (), _GOOGLE, False),
    )
}


def client_variables(
    base_url: str, key: str, assistants: Iterable[str] | None = None
) -> dict[str, str]:
    """ARGO_PROXY_URL, ARGO_PROXY_TOKEN and the variables of `assistants` (all of them
    by default), in `argo-proxy env`'s order (docs/security.md)."""
    chosen = ASSISTANTS.values() if assistants is None else [ASSISTANTS[a] for a in assistants]
    wanted = {"ARGO_PROXY_URL", "ARGO_PROXY_TOKEN"}
    for assistant in chosen:
        wanted.update(assistant.variables)
    return {name: variable_value(name, base_url, key) for name in _VARIABLES if name in wanted}


def assistants_payload() -> dict[str, dict[str, object]]:
    """The table for `argo-proxy env --json`: what the editor extension reads."""
    return {
        a.id: {
            "label": a.label,
            "executables": list(a.executables),
            "variables": ["ARGO_PROXY_URL", "ARGO_PROXY_TOKEN", *a.variables],
            "setup": a.setup,
        }
        for a in ASSISTANTS.values()
    }
