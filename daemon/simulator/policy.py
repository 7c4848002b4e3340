"""Per-model parameter policy (docs/argo.md#parameter-rules) interpreted from data.

A rule of `catalogue.json` names an endpoint (`chat` or `messages`), fnmatch model
patterns, conditions that must all hold, and an action: `accept`, `strip` (drop the
listed fields before answering) or `reject` (status + the vendor's message, which the
endpoint wraps in ARGO's Python-repr envelope). Rules are tried in file order; the first
rejection wins. ARGO's rules drift month to month, hence data, not code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

__all__ = ["Endpoint", "Policy", "PolicyOutcome", "Rejection"]

Endpoint = Literal["chat", "messages"]

_MISSING = object()


@dataclass(frozen=True)
class Rejection:
    """A rule refused the request; `param`/`code` fill OpenAI vendor errors."""

    rule_id: str
    status: int
    message: str
    param: str | None
    code: str | None


@dataclass(frozen=True)
class PolicyOutcome:
    """What the policy made of a body: a rejection, or the body to answer (maybe stripped)."""

    rejection: Rejection | None
    body: Mapping[str, Any]


@dataclass(frozen=True)
class _Condition:
    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class _Rule:
    rule_id: str
    endpoint: str
    models: tuple[str, ...]
    when: tuple[_Condition, ...]
    action: str
    status: int
    message: str
    param: str | None
    code: str | None
    fields: tuple[str, ...]


def _get(body: Mapping[str, Any], dotted: str) -> Any:
    value: Any = body
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    # An explicit null reads as "not sent": SDKs serialise unset optionals that way.
    return _MISSING if value is None else value


def _holds(cond: _Condition, body: Mapping[str, Any]) -> bool:
    value = _get(body, cond.field)
    if value is _MISSING:
        return False
    op = cond.op
    if op == "present":
        return True
    if op == "eq":
        return bool(value == cond.value)
    if op == "ne":
        return bool(value != cond.value)
    if op == "not_in":
        return value not in cond.value
    if op == "lt":
        return isinstance(value, (int, float)) and value < cond.value
    if op == "ge_field":
        other = _get(body, str(cond.value))
        return (
            isinstance(value, (int, float)) and isinstance(other, (int, float)) and value >= other
        )
    raise ValueError(f"policy: unknown condition op {op!r}")


def _strip(body: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    # Copy: the request log keeps the body exactly as received.
    out = copy.deepcopy(dict(body))
    for dotted in fields:
        *parents, leaf = dotted.split(".")
        node: Any = out
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)
    return out


def _parse_rule(raw: Mapping[str, Any]) -> _Rule:
    action = str(raw.get("action", "reject"))
    if action not in ("accept", "strip", "reject"):
        raise ValueError(f"policy rule {raw.get('id')!r}: unknown action {action!r}")
    return _Rule(
        rule_id=str(raw.get("id", "?")),
        endpoint=str(raw["endpoint"]),
        models=tuple(raw["models"]),
        when=tuple(_Condition(str(c["field"]), str(c["op"]), c.get("value")) for c in raw["when"]),
        action=action,
        status=int(raw.get("status", 400)),
        message=str(raw.get("message", "")),
        param=raw.get("param"),
        code=raw.get("code"),
        fields=tuple(raw.get("fields", ())),
    )


class Policy:
    """The rules of one profile, with per-(endpoint, model) rule lists cached."""

    def __init__(self, rules: Sequence[Mapping[str, Any]]) -> None:
        self._rules = tuple(_parse_rule(r) for r in rules)
        self._by_target: dict[tuple[str, str], tuple[_Rule, ...]] = {}

    def _rules_for(self, endpoint: str, model_id: str) -> tuple[_Rule, ...]:
        key = (endpoint, model_id)
        rules = self._by_target.get(key)
        if rules is None:
            rules = tuple(
                r
                for r in self._rules
                if r.endpoint == endpoint and any(fnmatchcase(model_id, p) for p in r.models)
            )
            self._by_target[key] = rules
        return rules

    def apply(self, endpoint: Endpoint, model_id: str, body: Mapping[str, Any]) -> PolicyOutcome:
        """Run the rules for `model_id` on `endpoint` over `body`."""
        for rule in self._rules_for(endpoint, model_id):
            if not all(_holds(c, body) for c in rule.when):
                continue
            if rule.action == "accept":
                return PolicyOutcome(None, body)
            if rule.action == "strip":
                body = _strip(body, rule.fields)
                continue
            shown = _get(body, rule.when[0].field) if rule.when else _MISSING
            message = rule.message.replace("{value}", "" if shown is _MISSING else str(shown))
            return PolicyOutcome(
                Rejection(rule.rule_id, rule.status, message, rule.param, rule.code), body
            )
        return PolicyOutcome(None, body)
