"""Which ARGO model serves a request: the name resolved in ARGO's catalogue, a
`routes:` rule (routes.py), and the models a `fallbacks:` entry lists after it."""

from __future__ import annotations

import logging
from typing import Any, Literal

from .config import Config
from .errors import ModelNotFoundError
from .formats import FormatSpec
from .models import Catalog
from .routes import Choice, RequestFacts, choose

__all__ = ["choose_model", "fallback_chain", "resolve_model"]

log = logging.getLogger(__name__)


def resolve_model(
    catalog: Catalog, name: str, kind: Literal["chat", "embed"], config: Config
) -> str:
    """The ARGO model `name` stands for; the configured default for an unknown name;
    else ModelNotFoundError naming the closest models."""
    model = catalog.resolve(name, kind=kind)
    if model is not None:
        return model
    fallback = config.default_model if kind == "chat" else config.default_embed_model
    if fallback:
        model = catalog.resolve(fallback, kind=kind)
        if model is not None:
            log.warning("model %r is unknown; using the configured default %s", name, model)
            return model
    closest = catalog.closest(name)
    hint = f" Closest matches: {', '.join(closest)}." if closest else ""
    raise ModelNotFoundError(
        f"Model '{name}' is not available on ARGO.{hint} GET /v1/models lists every model; "
        f"set `default_model` in the config to fall back instead."
    )


def choose_model(
    catalog: Catalog,
    config: Config,
    spec: FormatSpec,
    body: dict[str, Any],
    requested: str,
    client: str,
    raw_size: int,
) -> Choice:
    """The ARGO model of a chat request and the `routes:` rule that chose it, if any."""
    if not config.routes:  # most configs: the name alone decides, at no cost
        return Choice(resolve_model(catalog, requested, "chat", config))
    facts = RequestFacts(spec, body, requested, client, raw_size)
    try:
        return choose(
            config.routes, facts, lambda name: resolve_model(catalog, name, "chat", config)
        )
    except ModelNotFoundError as exc:
        rule = next((r for r in config.routes if r.matches(facts)), None)
        if rule is None:
            raise
        raise ModelNotFoundError(
            f"The route `{rule.label}` sends to {rule.to!r}: {exc.message}"
        ) from None


def fallback_chain(catalog: Catalog, config: Config, model: str) -> list[str]:
    """`model`, then the ARGO models its `fallbacks:` entry lists (an entry's key may be
    any name of the model); a name ARGO does not have is left out, with a warning."""
    chain = [model]
    for key, names in config.fallbacks.items():
        if key != model and catalog.resolve(key) != model:
            continue
        for name in names:
            found = catalog.resolve(name)
            if found is None:
                log.warning("fallback %r of %s is not an ARGO model; skipped", name, model)
            elif found not in chain:
                chain.append(found)
        break
    return chain
