"""Where a request goes: (model, config) → upstream format, URL and identity headers.

docs/argo.md#endpoints: Claude goes to ARGO's native Anthropic endpoint (tool calls leak
as text on its OpenAI layer); GPT, o-series, Gemini and unknown models go to the
OpenAI-compatible chat endpoint (docs/argo.md#claude-through-chat-completions). ARGO's
credential is the ANL username (docs/argo.md#identity).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .config import Config
from .formats import UpstreamFormat
from .models import Family, family_of

__all__ = [
    "Route",
    "embeddings_url",
    "models_url",
    "resolve_identity",
    "route_chat",
    "upstream_headers",
]

ANTHROPIC_VERSION = "2023-06-01"


@dataclass(frozen=True)
class Route:
    """The upstream leg of one chat request."""

    model: str  # ARGO internal id
    family: Family
    upstream: UpstreamFormat
    url: str


def route_chat(model: str, config: Config) -> Route:
    family = family_of(model)
    if family == "anthropic":
        return Route(model, family, "anthropic", f"{config.anthropic_base}/v1/messages")
    return Route(model, family, "openai_chat", f"{config.openai_base}/chat/completions")


def embeddings_url(config: Config) -> str:
    return f"{config.openai_base}/embeddings"


def models_url(config: Config) -> str:
    return f"{config.openai_base}/models"


def _credential(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The username a client sent as its API key, wherever its SDK puts it."""
    for name in ("x-api-key", "authorization", "api-key", "x-goog-api-key"):
        value = headers.get(name, "").strip()
        if value.lower().startswith("bearer "):
            value = value[7:].strip()
        if value:
            return value
    return query.get("key", "").strip()


def resolve_identity(config: Config, headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """The one ARGO username for a request, used for the body and the headers alike.

    argo-proxy extracted it twice with different rules (docs/compatibility.md#identity); we
    resolve it once. Without `username_passthrough` the configured user always wins.
    """
    if config.username_passthrough:
        return _credential(headers, query).lower() or config.user
    return config.user


def upstream_headers(
    upstream: UpstreamFormat,
    user: str,
    client_headers: Mapping[str, str],
    *,
    stream: bool,
    user_agent: str,
) -> dict[str, str]:
    """Auth and content headers for ARGO (docs/argo.md#identity)."""
    headers = {"Content-Type": "application/json"}
    if upstream == "anthropic":
        headers["x-api-key"] = user
        headers["anthropic-version"] = client_headers.get("anthropic-version") or ANTHROPIC_VERSION
    else:
        headers["Authorization"] = f"Bearer {user}"
    if stream:
        headers["Accept"] = "text/event-stream"
        headers["Accept-Encoding"] = "identity"
    client_agent = client_headers.get("user-agent")
    # ARGO's operators asked intermediaries to identify themselves (docs/argo.md#identity).
    headers["User-Agent"] = f"{user_agent} {client_agent}" if client_agent else user_agent
    return headers
