"""How a config key is declared, and how its value is read: the vocabulary of daemon/config.py.

Each `Config` field is declared once, with `setting(default, doc, ...)`: its type is the
field's annotation, and the rest (environment variable, range, what a reload of it
needs) rides in the field's metadata as one `Key`. `convert` reads a value from YAML,
an environment variable or an option by the field's real type: msgspec does the typing
(`msgspec.convert`, lax), and what stays ours is the words of a refusal, the ranges, the
text rules (no control characters, http(s) URLs) and a few spellings msgspec does not
read (docs/configuration.md#what-each-value-accepts).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

import msgspec

__all__ = ["Effect", "Key", "Names", "Range", "convert", "setting", "spec_of"]

T = TypeVar("T")

Effect = Literal[
    "read",  # read where it is used, per request or per use: the swap is all it takes
    "checked",  # only checked when the config loads (the check itself is the effect)
    "access",  # a new access guard (token file read first: a reload may fail on it)
    "rebind",  # a new listener at the new address; the old one drains
    "models",  # ARGO or the user changed: the model list is fetched again
    "upstream",  # the upstream client's timeouts and retries are updated
    "legacy",  # the legacy flag follows the file's value
    "log_level",  # the root logger's level
    "records",  # the in-memory request log is resized
    "store",  # the SQLite record store prunes by the new age, opens, or closes
    "restart",  # fixed when the daemon starts: applied at the next start
]

# The error callback: given what the key accepts, the ConfigError to raise.
Refuse = Callable[[str], Exception]


@dataclass(frozen=True)
class Range:
    """The values a number setting accepts: finite, from `low` (or more than `low`, with
    `above`) to `high`; `unit` and `note` go into the message that refuses one."""

    low: float
    high: float
    above: bool = False  # `low` itself is refused: a timeout of 0 would fail every call
    unit: str = ""
    note: str = ""

    def admits(self, number: float) -> bool:
        # Written so that NaN, which compares false with everything, is refused too.
        return (number > self.low if self.above else number >= self.low) and number <= self.high

    def describe(self, whole: bool) -> str:
        kind = "a whole number" if whole else "a number"
        kind += f" of {self.unit}" if self.unit else ""
        low, high = _plain(self.low), _plain(self.high)
        bounds = f"more than {low} and at most {high}" if self.above else f"from {low} to {high}"
        return f"{kind} {bounds}" + (f" ({self.note})" if self.note else "")


def _plain(number: float) -> str:
    """`1048576`, not `%g`'s rounded `1.04858e+06`; `0.5` stays `0.5`."""
    return str(int(number)) if float(number).is_integer() else f"{number:g}"


@dataclass(frozen=True)
class Key:
    """Everything about one config key but its name, type and default (the field's own)."""

    doc: str  # one line: what the key is for
    effects: tuple[Effect, ...]  # what a reload that changes it does (control/runtime.py)
    env: str | None = None  # the environment variable that sets it, if any
    range: Range | None = None  # what a number key accepts (every number key has one)
    restart: str = ""  # why a "restart" key waits for the next start (a reload says so)
    accepts: str = ""  # what the refusal of a bad value says it accepts, if not the usual
    url: bool = False  # an http(s) URL, kept without its trailing slash
    shown: str = ""  # the default as docs/configuration.md#keys writes it, when "" is derived

    def __post_init__(self) -> None:
        if not self.effects:
            raise ValueError(f"{self.doc!r}: a key says what a reload of it does")
        if ("restart" in self.effects) != bool(self.restart):
            raise ValueError(f"{self.doc!r}: a key that waits for a restart says why, only then")


def setting(
    default: T,
    doc: str,
    *,
    effects: tuple[Effect, ...],
    env: str | None = None,
    range: Range | None = None,
    restart: str = "",
    accepts: str = "",
    url: bool = False,
    shown: str = "",
) -> T:
    """A `Config` field: its default, and its `Key` in the field's metadata."""
    spec = Key(doc, effects, env, range, restart, accepts, url, shown)
    metadata = {"key": spec}
    if isinstance(default, Mapping):  # a fresh dict each time: no shared mutable default
        frozen = dict(default)
        made: Any = dataclasses.field(default_factory=lambda: dict(frozen), metadata=metadata)
    else:
        made = dataclasses.field(default=default, metadata=metadata)
    return made  # type: ignore[no-any-return]


def spec_of(field: dataclasses.Field[Any]) -> Key | None:
    """The `Key` of a field declared with `setting()`; None for any other field."""
    spec = field.metadata.get("key")
    return spec if isinstance(spec, Key) else None


# ------------------------------------------------------------------------- reading

Names = Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
"""A list of one or more names (a `fallbacks:` chain): msgspec refuses an empty one."""

# What a key of each type accepts, in the words that refuse a bad value; numbers say
# their range and choices their words. Another type reads only with `accepts=`.
_ACCEPTS: Mapping[Any, str] = {
    bool: "true or false",
    str: "a single value",
    tuple[str, ...]: "a list of names, like [myhost.example.org]",
    Mapping[str, str]: 'a mapping like {"host:443": "127.0.0.1"}',
    Mapping[str, Names]: "a mapping of names to non-empty lists of names",
}

# msgspec reads `true`/`false` and `1`/`0` in any case; these are the switch spellings
# environment variables and argo-proxy's files also use (docs/configuration.md).
_SWITCH_WORDS = dict.fromkeys(("t", "yes", "y", "on"), "true") | dict.fromkeys(
    ("f", "no", "n", "off"), "false"
)

# What an empty YAML value (`key:`) stands for, by the type's origin; others refuse it.
_EMPTY: Mapping[Any, Any] = {str: "", tuple: (), Mapping: {}}


def convert(kind: Any, spec: Key, value: Any, refuse: Refuse) -> Any:
    """`value` (from YAML, or text from an environment variable or option) as a `kind`,
    the field's resolved type (`get_type_hints(..., include_extras=True)`); `refuse(accepted)`
    for a bad one. A type that msgspec cannot read, or whose accepted values have no words,
    is a TypeError: daemon/config.py checks every key at import."""
    inner, optional, rule = _reading(kind)
    accepted = spec.accepts or _accepts(inner, spec)
    if rule is not None:
        return _rules(rule, value, accepted, refuse)
    written = _as_text(value)
    if written is None and not optional:
        written = _EMPTY.get(get_origin(inner) or inner)
    elif isinstance(written, str):
        written = _spelled(inner, written)
    try:
        result = msgspec.convert(written, type=kind, strict=False)
    except msgspec.ValidationError:
        raise refuse(accepted) from None
    return _checked(result, spec, accepted, refuse)


@functools.cache
def _reading(kind: Any) -> tuple[Any, bool, Any]:
    """The type whose words and spellings a value follows (X for `X | None`), whether None
    is a value of `kind`, and the rule class of a list of rules (or None)."""
    args = get_args(kind)
    if get_origin(kind) in (Union, types.UnionType) and len(args) == 2 and type(None) in args:
        inner = next(arg for arg in args if arg is not type(None))
        return inner, True, _rule_class(inner)
    return kind, False, _rule_class(kind)


@functools.cache  # Key is frozen: one look-up per key and type after the first
def _accepts(inner: Any, spec: Key) -> str:
    if inner in (int, float):
        if spec.range is None:
            raise TypeError(f"{spec.doc!r}: a number key declares its range")
        return spec.range.describe(whole=inner is int)
    if get_origin(inner) is Literal:
        return "one of " + ", ".join(map(str, get_args(inner)))
    if _rule_class(inner) is not None:
        return "a list"
    try:
        return _ACCEPTS[inner]
    except (KeyError, TypeError):  # TypeError: an unhashable annotation
        raise TypeError(f"no words for what {inner!r} accepts: declare `accepts=`") from None


def _rule_class(inner: Any) -> Any:
    """The rule class of a `tuple[Rule, ...]` whose items `Rule.from_config` reads."""
    args = get_args(inner)
    if get_origin(inner) is tuple and len(args) == 2 and args[1] is ...:
        return args[0] if hasattr(args[0], "from_config") else None
    return None


def _as_text(value: Any) -> Any:
    """YAML's scalars (numbers, booleans, dates) as text, and all text stripped, so that a
    file is read as an environment variable or option is; empty items of a list dropped.
    Anything else (None, bytes) stays as it is, for msgspec to take or refuse."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float, datetime.date)):  # bool is an int
        return str(value)
    if isinstance(value, (list, tuple)):
        return [text for item in value if (text := _as_text(item)) != ""]
    if isinstance(value, Mapping):
        return {_as_text(key): _as_text(item) for key, item in value.items()}
    return value


def _spelled(inner: Any, text: str) -> Any:
    """Text as msgspec reads it for `inner`: a switch's other words, a choice in any case,
    a list written `a, b` (as environment variables and options write one)."""
    if inner is bool:
        return _SWITCH_WORDS.get(text.lower(), text)
    if get_origin(inner) is Literal:
        return text.lower()
    if get_origin(inner) is tuple:
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _checked(result: Any, spec: Key, accepted: str, refuse: Refuse) -> Any:
    """The rules msgspec's types do not carry: a number's range, text's characters, URLs."""
    if isinstance(result, (int, float)) and not isinstance(result, bool):
        if spec.range is not None and not spec.range.admits(result):  # NaN too
            raise refuse(accepted)
        return result
    if any(map(_has_control_characters, _texts(result))):
        # A NUL in a path fails deep in the os module; a line break in `user` would
        # reach ARGO's headers and logs.
        raise refuse("text without control characters")
    if spec.url and isinstance(result, str) and result:
        if not result.startswith(("http://", "https://")):
            raise refuse("an http(s) URL")
        return result.rstrip("/")
    return result


def _rules(rule: Any, value: Any, accepted: str, refuse: Refuse) -> tuple[Any, ...]:
    """A list of mappings, each read by `rule.from_config(item, position)` (1-based),
    which raises ValueError naming the item and its field (`routes:`, routes.py)."""
    try:
        items = () if value is None else msgspec.convert(value, type=tuple[Any, ...])
    except msgspec.ValidationError:
        raise refuse(accepted) from None
    try:
        return tuple(rule.from_config(item, position) for position, item in enumerate(items, 1))
    except ValueError as exc:
        raise refuse(f"{accepted}: {exc}") from None


def _texts(value: Any) -> Iterator[str]:
    """Every text in a read value: itself, a list's items, a mapping's keys and values."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, tuple):
        for item in value:
            yield from _texts(item)


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)
