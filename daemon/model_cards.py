"""What each ARGO chat model can take and give: a display name, token limits, tool calling
and image input.

ARGO's model list names models and nothing else, but editors need these figures to plan a
prompt (VS Code's language model API asks for them, editor-extension/README.md). They are
the vendors' published figures for the model behind each ARGO internal id, kept here as a
table (first matching pattern wins), so that a new ARGO model of a known line gets its
line's figures and an unknown one conservative defaults. The only reader is the control
plane's ``models.list`` method (docs/control.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from .models import Catalog, Family, family_of

__all__ = ["ModelCard", "card_for", "chat_cards"]


@dataclass(frozen=True)
class ModelCard:
    """One ARGO chat model as an editor lists it."""

    alias: str  # the name clients send (`argo:gpt-4o`)
    internal_id: str  # ARGO's id (`gpt4o`)
    name: str  # for people (`GPT-4o`)
    family: Family
    max_input_tokens: int
    max_output_tokens: int
    tool_calling: bool
    image_input: bool


@dataclass(frozen=True)
class _Limits:
    max_input_tokens: int
    max_output_tokens: int
    tool_calling: bool = True
    image_input: bool = True


# (fnmatch pattern on the internal id, limits); first match wins, so narrower patterns first.
_LIMITS: tuple[tuple[str, _Limits], ...] = (
    ("gpt4o*", _Limits(128_000, 16_384)),
    ("gpt41*", _Limits(1_047_576, 32_768)),
    ("gpt5*", _Limits(272_000, 128_000)),
    ("gpto3mini*", _Limits(200_000, 100_000, image_input=False)),
    ("gpto*", _Limits(200_000, 100_000)),
    ("gpt35*", _Limits(16_385, 4_096, image_input=False)),
    ("gpt4*", _Limits(128_000, 4_096)),
    ("claudeopus4", _Limits(200_000, 32_000)),
    ("claudeopus41", _Limits(200_000, 32_000)),
    ("claude*", _Limits(200_000, 64_000)),
    ("gemini*", _Limits(1_048_576, 65_536)),
)
# A model of a line this table does not know: what nearly every current chat model allows.
_DEFAULT = _Limits(128_000, 8_192, tool_calling=True, image_input=False)

# ARGO's display names for the internal ids the built-in list knows (models.py); other ids
# are named after their alias.
_NAMES: dict[str, str] = {
    "gpto1": "o1",
    "gpto3": "o3",
    "gpto3mini": "o3-mini",
    "gpto4mini": "o4-mini",
}


def _limits(internal_id: str) -> _Limits:
    lowered = internal_id.lower()
    for pattern, limits in _LIMITS:
        if fnmatchcase(lowered, pattern):
            return limits
    return _DEFAULT


def _name(alias: str, internal_id: str) -> str:
    if internal_id in _NAMES:
        return _NAMES[internal_id]
    words = [w[:1].upper() + w[1:] for w in alias.removeprefix("argo:").split("-") if w]
    if len(words) > 1 and words[0] == "Gpt":  # ARGO writes "GPT-4.1 Mini"
        words[:2] = [f"GPT-{words[1]}"]
    return " ".join(words)


def card_for(alias: str, internal_id: str) -> ModelCard:
    """The card of one chat model, known by `alias`."""
    limits = _limits(internal_id)
    return ModelCard(
        alias=alias,
        internal_id=internal_id,
        name=_name(alias, internal_id),
        family=family_of(internal_id),
        max_input_tokens=limits.max_input_tokens,
        max_output_tokens=limits.max_output_tokens,
        tool_calling=limits.tool_calling,
        image_input=limits.image_input,
    )


def _preferred_alias(aliases: list[str]) -> str:
    """The alias an editor shows: the plain spelling of ARGO's display name.

    models.py adds spellings for the o-series (`argo:gpt-o3`) and Claude
    (`argo:claude-4.6-sonnet`); the plain one is `argo:o3`, `argo:claude-sonnet-4.6`.
    """

    def rank(alias: str) -> tuple[int, int, str]:
        bare = alias.removeprefix("argo:")
        reordered = bare.startswith("claude-") and bare.split("-")[1][:1].isdigit()
        return (int(bare.startswith("gpt-o") or reordered), len(alias), alias)

    return min(aliases, key=rank)


def chat_cards(catalog: Catalog) -> list[ModelCard]:
    """One card per chat model (not per alias), sorted by name."""
    aliases: dict[str, list[str]] = {}
    for alias, internal in catalog.chat.items():
        aliases.setdefault(internal, []).append(alias)
    cards = [card_for(_preferred_alias(names), internal) for internal, names in aliases.items()]
    return sorted(cards, key=lambda c: (c.family, c.name.lower()))
