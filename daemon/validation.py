"""Checking a client body against its field rules (`field_rules.py`), once, when it is
parsed: a wrong type is a 400 naming the field (`'stream_options' must be an object;
got 5`) instead of a crash deep in the dispatcher, llm-rosetta or ARGO, and a null in
an optional field is removed, meaning "not sent" as the client APIs have it.

JSON nesting is bounded too (`MAX_DEPTH`): a body nested deeper is refused before it
is parsed, instead of exhausting Python's stack in the parser or after it.

Parsing itself (`load_json`) refuses what Python's json module takes but JSON does not
have, naming the field: text that no UTF-8 encoder can write (a lone UTF-16 surrogate,
bytes that are not UTF-8) and numbers that are not finite (`NaN`, `Infinity`, `1e400`).
Left in, they crashed the daemon where it encodes ARGO's body, or went to ARGO as
invalid JSON (docs/translation.md#bad-requests).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import ClientRequestError
from .field_rules import RULES, BodyKind, Field

__all__ = ["MAX_DEPTH", "check_body", "check_nesting", "load_json", "too_deep"]

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


# ---------------------------------------------------------------- text and numbers

# A parsed string holds a lone surrogate (U+D800-U+DFFF) only from an escape of one,
# `\ud83d` (hex digits in either case), or from bytes that are not UTF-8: Python's
# parser takes both, and no UTF-8 encoder writes the result. A valid pair becomes one
# character, so an escaped emoji only costs the walk that finds nothing.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONGEST_SHOWN = 40  # characters of a number, or bytes, quoted in a message


class _NonFinite:
    """What the parser makes of `NaN`, `Infinity`, `-Infinity`, or of a number too large
    for a float (`1e400`): a stand-in that the walk finds, instead of a float that
    `json.dumps` would write as JSON does not have it."""

    __slots__ = ("literal",)

    def __init__(self, literal: str) -> None:
        self.literal = literal


def _decode(raw: bytes) -> tuple[str, bool, bool]:
    """The body's text; whether it held bytes that are not UTF-8 (kept as the lone
    surrogates U+DC80-U+DCFF, `surrogateescape`, so that the walk can name their field);
    and whether it was UTF-8 (else UTF-16 or UTF-32, which `json.loads` reads too)."""
    encoding = json.detect_encoding(raw)
    utf8 = encoding.startswith("utf-8")  # with or without a byte order mark
    try:
        return raw.decode(encoding), False, utf8
    except UnicodeDecodeError as exc:
        if not utf8:
            raise ClientRequestError(
                f"The request body is not valid {encoding.upper()}: {exc.reason} "
                f"at byte {exc.start}; send it as UTF-8."
            ) from None
    return raw.decode(encoding, "surrogateescape"), True, utf8


def _text_flaw(text: str, invalid_bytes: bool) -> str | None:
    """What makes `text` unwritable as UTF-8, or None."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    at = found.start()
    if invalid_bytes and "\udc80" <= text[at] <= "\udcff":
        end = at
        while end < len(text) and "\udc80" <= text[end] <= "\udcff":
            end += 1
        shown = "".join(f"\\x{ord(c) - 0xDC00:02x}" for c in text[at:end][:_LONGEST_SHOWN])
        return f"bytes that are not UTF-8 ({shown}, at character {at}); a JSON body must be UTF-8"
    return (
        f"a lone UTF-16 surrogate (\\u{ord(text[at]):04x}, at character {at}), half of a "
        "character such as an emoji; send whole characters"
    )


def _visible(name: str) -> str:
    """A field name for a message: any surrogate in it written as its escape."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", name)


def _number_flaw(value: _NonFinite) -> str:
    literal = value.literal
    if literal.lstrip("-") in ("NaN", "Infinity"):
        return f"must be a finite number; got {literal}, which JSON does not have"
    if len(literal) > _LONGEST_SHOWN:
        literal = literal[: _LONGEST_SHOWN - 3] + "..."
    return f"must be a finite number; got {literal}, beyond the largest a number can be (~1.8e308)"


def _scan(value: Any, text: bool, numbers: bool, invalid_bytes: bool) -> None:
    """Raise a _Mismatch for the first string (`text`) or number (`numbers`) in `value`
    that ARGO's body could not carry, depth first, in the body's order."""
    kind = type(value)
    if kind is str:
        if text and not value.isascii():
            flaw = _text_flaw(value, invalid_bytes)
            if flaw is not None:
                raise _Mismatch(f"is not valid text: it holds {flaw}")
    elif kind is dict:
        for name, item in value.items():
            try:
                if text and not name.isascii():
                    flaw = _text_flaw(name, invalid_bytes)
                    if flaw is not None:
                        raise _Mismatch(f"is not valid text: the field name holds {flaw}")
                _scan(item, text, numbers, invalid_bytes)
            except _Mismatch as exc:
                exc.steps.append(_visible(name) if text else name)
                raise
    elif kind is list:
        for index, item in enumerate(value):
            try:
                _scan(item, text, numbers, invalid_bytes)
            except _Mismatch as exc:
                exc.steps.append(index)
                raise
    elif kind is _NonFinite and numbers:
        raise _Mismatch(_number_flaw(value))


def load_json(raw: bytes) -> Any:
    """The JSON value in `raw` (nesting already bounded, `check_nesting`); a 400 for
    invalid JSON, and for text or numbers JSON does not have, naming the field.

    On the hot path this costs one regular-expression search of the raw bytes and a
    Python call per number with a fraction or exponent; the body is walked only when
    the search or the parser found something.
    """
    text, invalid_bytes, utf8 = _decode(raw)
    odd_numbers: list[_NonFinite] = []

    def non_finite(literal: str) -> _NonFinite:
        odd = _NonFinite(literal)
        odd_numbers.append(odd)
        return odd

    def number(literal: str) -> float | _NonFinite:
        value = float(literal)
        return value if value - value == 0 else non_finite(literal)  # inf - inf is NaN

    try:
        body = json.loads(text, parse_float=number, parse_constant=non_finite)
    except RecursionError:  # deep *and* unbalanced: left to the parser, which gave up
        raise too_deep() from None
    except ValueError as exc:
        also = "; it also holds bytes that are not UTF-8" if invalid_bytes else ""
        raise ClientRequestError(f"Invalid JSON body: {exc}{also}.") from None
    # The search reads UTF-8 only; the rare UTF-16 or UTF-32 body is always walked.
    suspect_text = invalid_bytes or not utf8 or _SURROGATE_ESCAPE.search(raw) is not None
    if suspect_text or odd_numbers:
        try:
            _scan(body, suspect_text, bool(odd_numbers), invalid_bytes)
        except _Mismatch as exc:
            where = _path(exc.steps)
            raise ClientRequestError(
                f"'{where}' {exc.problem}." if where else f"The body {exc.problem}."
            ) from None
    return body
