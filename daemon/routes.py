"""Routes: which ARGO model serves a request (docs/configuration.md#routes).

`routes:` is a list of rules; the first whose conditions all hold sends the request to
its `to` model, of any family (the conversion follows from the family, as for a model
asked for by name). A rule without conditions matches every request. What a rule may
look at is read from the request only when some rule asks for it: the token estimate
walks the body, so a config without `tokens_over` never pays for it.
"""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from .formats import ClientFormat, FormatSpec
from .images import has_images
from .reasoning import read_reasoning
from .tokens import count_request_tokens

__all__ = ["BACKGROUND_CLIENT", "Choice", "RequestFacts", "RouteRule", "choose", "rule_payload"]

# Claude Code sends its background work (titles, summaries, quota checks) to its
# "small and fast" model, a Haiku unless ANTHROPIC_SMALL_FAST_MODEL says otherwise;
# its foreground turns go to the model the user chose (docs/configuration.md#routes).
BACKGROUND_CLIENT = "claude-code"
_BACKGROUND_MODEL = "*haiku*"

_CONDITIONS = ("model", "client", "thinking", "tokens_over", "images", "background")


@dataclass(frozen=True)
class RouteRule:
    """One `routes:` rule: its conditions (None = any) and the ARGO model it sends to."""

    to: str
    position: int = 0  # 1-based, as the docs and the errors count rules
    name: str = ""
    model: str | None = None  # a glob on the requested name, e.g. claude-*haiku*
    client: str | None = None  # a glob on the client as records name it
    thinking: bool | None = None
    tokens_over: int | None = None
    images: bool | None = None
    background: bool | None = None

    @property
    def label(self) -> str:
        """How records and `ctl route` name the rule: its `name`, else its place."""
        return self.name or f"rule {self.position}"

    @classmethod
    def from_config(cls, item: Any, position: int) -> RouteRule:
        """The rule at `position` of the config's list; ValueError names what is wrong."""
        if not isinstance(item, Mapping):
            raise ValueError(f"rule {position} must be a mapping such as {{model: ..., to: ...}}")
        name = item.get("name")
        where = f"rule {position}" + (f" ({name!r})" if isinstance(name, str) and name else "")
        known = {f.name for f in fields(cls)} - {"position"}
        unknown = sorted(str(key) for key in item if key not in known)
        if unknown:
            raise ValueError(
                f"{where} has unknown field `{unknown[0]}`; a rule takes "
                + ", ".join(f"`{key}`" for key in ("name", *_CONDITIONS, "to"))
            )
        values: dict[str, Any] = {"position": position}
        for key, value in item.items():
            values[str(key)] = _field(where, str(key), value)
        if "to" not in values:
            raise ValueError(f"{where} has no `to`: the ARGO model the request is sent to")
        return cls(**values)

    def matches(self, facts: RequestFacts) -> bool:
        """Whether every condition of the rule holds for the request (cheap ones first)."""
        if self.model is not None and not _glob(facts.requested, self.model):
            return False
        if self.client is not None and not _glob(facts.client, self.client):
            return False
        if self.background is not None and facts.background != self.background:
            return False
        if self.thinking is not None and facts.thinking != self.thinking:
            return False
        if self.images is not None and facts.images != self.images:
            return False
        return self.tokens_over is None or facts.tokens_over(self.tokens_over)


def rule_payload(rule: RouteRule) -> dict[str, Any]:
    """A rule as the config wrote it (`config show`, `ctl route`): the fields it set."""
    out: dict[str, Any] = {"name": rule.name} if rule.name else {}
    for key in _CONDITIONS:
        value = getattr(rule, key)
        if value is not None:
            out[key] = value
    out["to"] = rule.to
    return out


def _field(where: str, key: str, value: Any) -> Any:
    if key in ("to", "name", "model", "client"):
        if not isinstance(value, str) or not value.strip() and key != "name":
            raise ValueError(f"{where}: `{key}` must be a non-empty text; got {value!r}")
        text = value.strip()
        if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
            raise ValueError(f"{where}: `{key}` must be text without control characters")
        return text
    if key in ("thinking", "images", "background"):
        if not isinstance(value, bool):
            raise ValueError(f"{where}: `{key}` must be true or false; got {value!r}")
        return value
    # tokens_over
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{where}: `tokens_over` must be a whole number of tokens; got {value!r}")
    return value


def _glob(text: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(text.lower(), pattern.lower())


class RequestFacts:
    """What rules look at in one request; each fact is read the first time a rule asks."""

    def __init__(
        self,
        spec: FormatSpec,
        body: dict[str, Any],
        requested: str,
        client: str,
        raw_size: int,
    ) -> None:
        self.spec = spec
        self.body = body
        self.requested = requested
        self.client = client
        self._raw_size = raw_size  # the body's bytes as received: a bound on its tokens

    @property
    def format(self) -> ClientFormat:
        return self.spec.name

    @functools.cached_property
    def background(self) -> bool:
        return self.client == BACKGROUND_CLIENT and _glob(self.requested, _BACKGROUND_MODEL)

    @functools.cached_property
    def thinking(self) -> bool:
        ask = read_reasoning(self.spec.name, self.body)
        return ask is not None and ask.kind != "off" and ask.thinking

    @functools.cached_property
    def images(self) -> bool:
        return has_images(self.spec, self.body)

    @functools.cached_property
    def tokens(self) -> int:
        return count_request_tokens(self.body)

    def tokens_over(self, limit: int) -> bool:
        # A token is at least a byte of JSON: a smaller body is not counted at all.
        return self._raw_size > limit and self.tokens > limit


@dataclass(frozen=True, slots=True)
class Choice:
    """The ARGO model chosen for a request, and the rule that chose it (None: by name)."""

    model: str
    rule: RouteRule | None = None

    @property
    def label(self) -> str | None:
        return self.rule.label if self.rule is not None else None


def choose(
    rules: tuple[RouteRule, ...], facts: RequestFacts, resolve: Callable[[str], str]
) -> Choice:
    """The first rule that matches sends to its model; without one, the model asked for.
    `resolve` turns a name into an ARGO model (or raises ModelNotFoundError)."""
    for rule in rules:
        if rule.matches(facts):
            return Choice(resolve(rule.to), rule)
    return Choice(resolve(facts.requested))
