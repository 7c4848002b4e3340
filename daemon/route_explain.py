"""What the daemon would do with a chat request, without sending it: the rule that
applies, the ARGO model, its API and URL, whether the body is converted, and the
fallback chain with each model's breaker (`argo-proxy ctl route`, the RPC
`route.explain`; docs/control.md#explaining-a-route)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .config import Config
from .errors import ClientRequestError
from .formats import FORMATS, ClientFormat
from .model_choice import choose_model, fallback_chain
from .routes import rule_payload
from .routing import route_chat
from .state import DaemonState

__all__ = ["FORMAT_NAMES", "explain_route"]

# The names `--format` takes: the short ones, and the formats' own.
FORMAT_NAMES: Mapping[str, ClientFormat] = {
    "openai": "openai_chat",
    "chat": "openai_chat",
    "responses": "openai_responses",
    "anthropic": "anthropic",
    "google": "google",
    **{name: name for name in FORMATS},
}


def explain_route(
    state: DaemonState, body: Any, client: str = "unknown", fmt: str = "openai"
) -> dict[str, Any]:
    """The route of `body` (a client's request body in format `fmt`, with its `model`,
    from client `client` as records name it); ClientRequestError for a body it cannot
    read, ModelNotFoundError for a model ARGO does not have."""
    name = FORMAT_NAMES.get(fmt)
    if name is None:
        raise ClientRequestError(
            f"unknown format {fmt!r}; one of {', '.join(sorted(FORMAT_NAMES))}"
        )
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        raise ClientRequestError('the body must be a JSON object with a "model", as sent')
    config, catalog, spec = state.config, state.registry.catalog, FORMATS[name]
    requested = body["model"]
    size = len(json.dumps(body, ensure_ascii=False).encode())
    choice = choose_model(catalog, config, spec, body, requested, client, size)
    chain = fallback_chain(catalog, config, choice.model)
    rule = None
    if choice.rule is not None:
        rule = {"label": choice.rule.label, "index": choice.rule.position}
        rule.update(rule_payload(choice.rule))
    return {
        "format": name,
        "client": client,
        "requested_model": requested,
        "rule": rule,
        **_leg(state, config, name, choice.model),
        "legacy": state.legacy,  # on: the legacy gateway serves chat (docs/legacy.md)
        "fallbacks": [_leg(state, config, name, model) for model in chain[1:]],
    }


def _leg(state: DaemonState, config: Config, fmt: ClientFormat, model: str) -> dict[str, Any]:
    route = route_chat(model, config)
    return {
        "model": model,
        "family": route.family,
        "upstream": route.upstream,
        "url": route.url,
        "converted": fmt != route.upstream,
        "breaker": state.breakers.state(model),
    }
