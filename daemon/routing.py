"""Where a request goes: (model, config) → upstream format, URL and identity headers.

docs/argo.md#endpoints: Claude goes to ARGO's native Anthropic endpoint (tool calls leak
as text on its OpenAI layer); GPT, o-series, Gemini and unknown models go to the
OpenAI-compatible chat endpoint (docs/argo.md#claude-through-chat-completions). ARGO's
credential is the ANL username (docs/argo.md#identity).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from .config import Config
from .errors import ClientRequestError, UnauthorizedError
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
# What a header value may hold as it is: printable ASCII (httpx encodes header values as
# ASCII, and refuses control characters).
_PRINTABLE = "".join(c for c in string.printable if c.isprintable())


def _plain(text: str) -> bool:
    """Whether `text` can go into a header to ARGO as it is."""
    return text.isascii() and text.isprintable()


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
    if not config.username_passthrough:
        return config.user
    user = _credential(headers, query).lower()
    if not _plain(user):  # it goes into ARGO's headers (docs/security.md#turning-it-off)
        raise UnauthorizedError(
            "With `username_passthrough` on, the API key is your ARGO username, which is "
            "plain ASCII; the key sent is not (docs/security.md)."
        )
    return user or config.user


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
        headers["anthropic-version"] = _anthropic_version(client_headers)
    else:
        headers["Authorization"] = f"Bearer {user}"
    if stream:
        headers["Accept"] = "text/event-stream"
        headers["Accept-Encoding"] = "identity"
    client_agent = client_headers.get("user-agent")
    if client_agent and not _plain(client_agent):  # `Müller`: its bytes percent-encoded
        client_agent = quote(client_agent, safe=_PRINTABLE, errors="replace")
    # ARGO's operators asked intermediaries to identify themselves (docs/argo.md#identity).
    headers["User-Agent"] = f"{user_agent} {client_agent}" if client_agent else user_agent
    return headers


def _anthropic_version(client_headers: Mapping[str, str]) -> str:
    """The client's `anthropic-version`, which ARGO's Anthropic API reads as it came."""
    version = client_headers.get("anthropic-version")
    if not version:
        return ANTHROPIC_VERSION
    if not _plain(version):
        raise ClientRequestError(
            f"The anthropic-version header must be a version such as {ANTHROPIC_VERSION}, "
            f"in plain ASCII; got {ascii(version)[:60]}."
        )
    return version
