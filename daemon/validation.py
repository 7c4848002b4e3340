"""Checking a client body against its field rules (`field_rules.py`), once, when it is
parsed: a wrong type is a 400 naming the field (`'stream_options' must be an object;
got 5`) instead of a crash deep in the dispatcher, llm-rosetta or ARGO, and a null in
an optional field is removed, meaning "not sent" as the client APIs have it.

JSON nesting is bounded too (`MAX_DEPTH`): a body nested deeper is refused before it
is parsed, instead of exhausting Python's stack in the parser or after it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import ClientRequestError
from .field_rules import RULES, BodyKind, Field

__all__ = ["MAX_DEPTH", "check_body", "check_nesting", "too_deep"]

# Deep enough for any real request (tool schemas rarely pass 20 levels), shallow enough
# that no recursive walk over the body (ours or llm-rosetta's) nears Python's limit.
MAX_DEPTH = 100

# ---------------------------------------------------------------- checking


class _Mismatch(Exception):
    """A value that breaks its rule; `steps` is filled in on the way out."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.steps: list[str | int] = []


def _wrong(rule: Field, value: Any) -> _Mismatch:
    text = json.dumps(value, ensure_ascii=False)
    shown = text if len(text) <= 80 else text[:77] + "..."
    return _Mismatch(f"must be {rule.describe()}; got {shown}")


# These walks run on every request: leaf values are tested inline, not by a call each.


def _check_fields(obj: dict[str, Any], fields: Mapping[str, Field]) -> None:
    absent: list[str] = []
    for name, value in obj.items():
        rule = fields.get(name)
        if rule is None or (rule.leaf and type(value) in rule.accepts):
            continue
        try:
            if value is None:
                if rule.null == "absent":
                    absent.append(name)
                elif rule.null == "error":
                    raise _wrong(rule, value)
            else:
                _check(value, rule)
        except _Mismatch as exc:
            exc.steps.append(name)
            raise
    for name in absent:
        del obj[name]


def _check(value: Any, rule: Field) -> None:
    kind = type(value)
    if kind not in rule.accepts or (rule.minimum is not None and value < rule.minimum):
        raise _wrong(rule, value)
    if rule.longest is not None and kind is str and len(value) > rule.longest:
        # the value is not shown: it is what is too long
        raise _Mismatch(
            f"must be at most {rule.longest} characters long; got {len(value)} characters"
        )
    if kind is dict:
        if rule.fields is not None:
            _check_fields(value, rule.fields)
        for name in rule.required:
            got = value.get(name)
            if got is None or got == "":  # a tool named "" is no more use than none
                missing = _Mismatch("is required" if got is None else "must not be empty")
                missing.steps.append(name)
                raise missing
        if rule.variants is not None:
            tag = value.get("type")
            variant = rule.variants.get(tag) if type(tag) is str else None
            if variant is not None:
                _check(value, variant)
    elif kind is list and rule.items is not None:
        item_rule = rule.items
        for index, item in enumerate(value):
            if item_rule.leaf and type(item) in item_rule.accepts:
                continue
            try:
                if item is None:
                    if item_rule.null != "value":
                        raise _wrong(item_rule, item)
                else:
                    _check(item, item_rule)
            except _Mismatch as exc:
                exc.steps.append(index)
                raise


def _path(steps: list[str | int]) -> str:
    out = ""
    for step in reversed(steps):
        out += f"[{step}]" if isinstance(step, int) else f".{step}" if out else step
    return out


def check_body(kind: BodyKind, body: dict[str, Any]) -> None:
    """Raise a 400 naming the first field of the wrong type; remove nulls meaning "not sent"."""
    try:
        _check_fields(body, RULES[kind])
    except _Mismatch as exc:
        raise ClientRequestError(f"'{_path(exc.steps)}' {exc.problem}.") from None


# ---------------------------------------------------------------- nesting

# Kept of a body to measure its nesting: brackets, quotes, and the `,` and `:` that
# always stand between two strings (so `""` is always one string without brackets).
_NOT_SKELETON = bytes(c for c in range(256) if c not in b'[]{}",:')
_BRACKETS = bytes.maketrans(b"{}", b"[]")  # for depth, both kinds count alike


def _nests_deeper(raw: bytes, limit: int) -> bool:
    """Whether the JSON text `raw` nests more than `limit` levels deep.

    C-speed bytes operations only: a Python loop over a large body (a coding assistant
    sends hundreds of KB) would cost milliseconds on every request.
    """
    if b'\\"' in raw:  # an escaped quote ends no string (backslash pairs go first)
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    skeleton = raw.translate(_BRACKETS, _NOT_SKELETON)
    if skeleton.count(b"[") <= limit:  # nothing nests deeper than its count of brackets
        return False
    # Strings go (every other piece between quotes): their brackets are text.
    skeleton = b"".join(skeleton.replace(b'""', b"").split(b'"')[::2]).translate(None, b",:")
    for _ in range(limit):  # each round peels the innermost pairs: one level
        if not skeleton:
            return False
        peeled = skeleton.replace(b"[]", b"")
        if len(peeled) == len(skeleton):
            return False  # unbalanced: not JSON, which the parser reports
        skeleton = peeled
    return bool(skeleton)


def too_deep(limit: int = MAX_DEPTH) -> ClientRequestError:
    return ClientRequestError(
        f"The request body nests JSON more than {limit} levels deep; "
        f"argo-proxy accepts at most {limit}."
    )


def check_nesting(raw: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse a body nested deeper than `limit` before it is parsed: the parser, and
    every recursive walk after it (ours and llm-rosetta's), would exhaust Python's stack."""
    if _nests_deeper(raw, limit):
        raise too_deep(limit)
