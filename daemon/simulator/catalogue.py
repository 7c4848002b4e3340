"""The simulated model catalogue: load `catalogue.json`, look models up, render the list.

The fixture holds ARGO's known models (docs/argo.md#known-models): display id, internal
id, family, vendor snapshot name, plus per-model thresholds; the parameter policy lives in the same
file but is interpreted by `policy.py`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

__all__ = ["Catalogue", "Family", "ListVariant", "Model", "load_catalogue"]

Family = Literal["gpt", "claude", "gemini", "embedding"]
ListVariant = Literal["current", "empty", "old_format", "bad_claude_name"]


@dataclass(frozen=True)
class Model:
    """One catalogue entry; `vendor_model` is what response bodies name (docs/argo.md#model-ids)."""

    internal_id: str
    display: str
    owned_by: str
    family: Family
    vendor_model: str | None
    retired: bool
    reasoning: bool
    adaptive_thinking: bool
    nonstream_max_tokens: int
    dimensions: int

    @property
    def response_model(self) -> str:
        """The `model` string of a success body: vendor snapshot, else the internal id."""
        return self.vendor_model or self.internal_id

    @property
    def azure(self) -> bool:
        """GPT and o-series answers come from Azure: full bodies, a preflight chunk
        (docs/argo.md#chat-completions-answers)."""
        return self.family == "gpt"


class Catalogue:
    """The loaded fixture, with its lookup tables built once."""

    def __init__(
        self,
        models: tuple[Model, ...],
        created: int,
        reasoning_empty_below: int,
        policy_profiles: Mapping[str, tuple[Mapping[str, Any], ...]],
    ) -> None:
        self.models = models
        self.created = created
        self.reasoning_empty_below = reasoning_empty_below
        self.policy_profiles = policy_profiles
        self._by_name: dict[str, Model] = {}
        for model in models:
            # docs/argo.md#model-ids: internal id or the list's display id, matched exactly,
            # so that the vendor name `gpt-4o` does not hit the display id `GPT-4o`.
            self._by_name.setdefault(model.internal_id, model)
            self._by_name.setdefault(model.display, model)
        self._embedding_names = {
            m.vendor_model: m for m in models if m.family == "embedding" and m.vendor_model
        }
        self.valid_names = ", ".join(m.internal_id for m in models if not m.retired)
        self._list_cache: dict[str, bytes] = {}

    def lookup(self, name: str) -> Model | None:
        """The model called `name` (internal or display id), retired ones included."""
        return self._by_name.get(name)

    def lookup_embedding(self, name: str) -> Model | None:
        """Like `lookup`, also accepting the official OpenAI names (docs/argo.md#model-ids)."""
        return self._by_name.get(name) or self._embedding_names.get(name)

    def list_body(self, variant: ListVariant = "current") -> bytes:
        """The `GET /v1/models` body (docs/argo.md#the-model-list), or a fault variant of it."""
        body = self._list_cache.get(variant)
        if body is None:
            body = json.dumps(self._list_document(variant)).encode()
            self._list_cache[variant] = body
        return body

    def _list_document(self, variant: ListVariant) -> dict[str, Any]:
        if variant == "empty":
            return {"object": "list", "data": []}
        if variant == "old_format":
            # The pre-Dec-2025 shape: `id` is the internal id, `model_name` the display.
            old = [{"id": m.internal_id, "model_name": m.display} for m in self.models]
            return {"object": "list", "data": old}
        entries = [
            {
                "id": m.display,
                "internal_id": m.internal_id,
                "owned_by": m.owned_by,
                "object": "model",
                "created": self.created,
            }
            for m in self.models
        ]
        if variant == "bad_claude_name":
            # A Claude display with < 3 dash parts breaks argo-proxy's alias split
            # (docs/compatibility.md#model-names).
            entries.append(
                {
                    "id": "Claude Preview",
                    "internal_id": "claudepreview",
                    "owned_by": "anthropic",
                    "object": "model",
                    "created": self.created,
                }
            )
        return {"object": "list", "data": entries}


def _model_from(entry: Mapping[str, Any], defaults: Mapping[str, Any]) -> Model:
    return Model(
        internal_id=str(entry["internal_id"]),
        display=str(entry["display"]),
        owned_by=str(entry["owned_by"]),
        family=entry["family"],
        vendor_model=entry.get("vendor_model"),
        retired=entry.get("status") == "retired",
        reasoning=bool(entry.get("reasoning", False)),
        adaptive_thinking=bool(entry.get("adaptive_thinking", False)),
        nonstream_max_tokens=int(
            entry.get("nonstream_max_tokens", defaults["nonstream_max_tokens"])
        ),
        dimensions=int(entry.get("dimensions", 0)),
    )


def _parse(document: Mapping[str, Any]) -> Catalogue:
    defaults = document["defaults"]
    profiles = {
        name: tuple(rules) for name, rules in dict(document.get("policy_profiles", {})).items()
    }
    return Catalogue(
        models=tuple(_model_from(entry, defaults) for entry in document["models"]),
        created=int(document["created"]),
        reasoning_empty_below=int(defaults["reasoning_empty_below"]),
        policy_profiles=profiles,
    )


@lru_cache(maxsize=1)
def _packaged() -> Catalogue:
    text = resources.files(__package__).joinpath("catalogue.json").read_text(encoding="utf-8")
    return _parse(json.loads(text))


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The packaged fixture (cached), or another fixture file of the same shape."""
    if path is None:
        return _packaged()
    return _parse(json.loads(path.read_text(encoding="utf-8")))
