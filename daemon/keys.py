"""How a config key is declared, and how its value is read: the vocabulary of daemon/config.py.

Each `Config` field is declared once, with `setting(default, doc, ...)`: its type is the
field's annotation, and the rest (environment variable, range, what a reload of it
needs) rides in the field's metadata as one `Key`. `convert` reads a value from YAML,
an environment variable or an option by the field's real type (docs/configuration.md).
"""

from __future__ import annotations

import dataclasses
import datetime
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

__all__ = ["Effect", "Key", "Range", "convert", "setting", "spec_of"]

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


# ------------------------------------------------------------------------- conversion

_TRUE = {"true", "1", "t", "yes", "y", "on"}
_FALSE = {"false", "0", "f", "no", "n", "off"}


def convert(kind: Any, spec: Key, value: Any, refuse: Refuse) -> Any:
    """`value` (from YAML, or text from an environment variable or option) as a `kind`,
    the field's resolved type (typing.get_type_hints); `refuse(accepted)` for a bad one.
    A type no branch reads is a TypeError: daemon/config.py checks every key at import."""
    origin, args = get_origin(kind), get_args(kind)
    if origin in (Union, types.UnionType):
        if type(None) not in args or len(args) != 2:
            raise TypeError(f"no conversion to {kind!r}")
        if value is None:
            return None
        inner = next(arg for arg in args if arg is not type(None))
        return convert(inner, spec, value, refuse)
    if kind is bool:
        return _boolean(value, spec, refuse)
    if kind in (int, float):
        return _number(value, spec, refuse, whole=kind is int)
    if origin is Literal:
        return _choice(value, spec, refuse, tuple(str(arg) for arg in args))
    if origin is tuple and args == (str, ...):
        return _names(value, spec, refuse)
    if origin is tuple and len(args) == 2 and args[1] is ... and hasattr(args[0], "from_config"):
        return _objects(value, args[0], spec, refuse)
    if origin is Mapping and args == (str, str):
        return _mapping(value, spec, refuse)
    if origin is Mapping and args == (str, tuple[str, ...]):
        return _lists(value, spec, refuse)
    if kind is str:
        return _text(value, spec, refuse)
    raise TypeError(f"no conversion to {kind!r}")


def _boolean(value: Any, spec: Key, refuse: Refuse) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise refuse(spec.accepts or "true or false")


def _number(value: Any, spec: Key, refuse: Refuse, *, whole: bool) -> int | float:
    """A number setting, from YAML (an int or a float already) or from text (an
    environment variable): finite and within its range, or refused."""
    if spec.range is None:
        raise TypeError(f"{spec.doc!r}: a number key declares its range")
    expected = spec.accepts or spec.range.describe(whole)
    if isinstance(value, bool) or isinstance(value, (dict, list)) or value is None:
        raise refuse(expected)
    text = str(value).strip()
    try:
        number: int | float = int(text) if whole else float(text)
    except ValueError:
        raise refuse(expected) from None
    if not spec.range.admits(number):  # `.nan`, `.inf`, and anything out of range
        raise refuse(expected)
    return number


def _choice(value: Any, spec: Key, refuse: Refuse, choices: tuple[str, ...]) -> str:
    text = str(value).strip().lower()
    if text not in choices:
        raise refuse(spec.accepts or "one of " + ", ".join(choices))
    return text


def _names(value: Any, spec: Key, refuse: Refuse) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(map(_is_scalar, items)):
        raise refuse(spec.accepts or "a list of names, like [myhost.example.org]")
    names = tuple(str(i).strip() for i in items if str(i).strip())
    if any(map(_has_control_characters, names)):
        raise refuse("a list of names without control characters")
    return names


def _mapping(value: Any, spec: Key, refuse: Refuse) -> dict[str, str]:
    if value is None:
        return {}
    pairs = value.items() if isinstance(value, Mapping) else None
    if pairs is None or not all(_is_scalar(k) and _is_scalar(v) for k, v in pairs):
        raise refuse(spec.accepts or 'a mapping like {"host:443": "127.0.0.1"}')
    mapping = {str(k): str(v) for k, v in pairs}
    if any(map(_has_control_characters, [*mapping, *mapping.values()])):
        raise refuse("a mapping of names without control characters")
    return mapping


def _objects(value: Any, kind: Any, spec: Key, refuse: Refuse) -> tuple[Any, ...]:
    """A list of mappings, each read by `kind.from_config(item, position)` (1-based),
    which raises ValueError naming the item and its field (`routes:`, routes.py)."""
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)):
        raise refuse(spec.accepts or "a list")
    try:
        return tuple(kind.from_config(item, position) for position, item in enumerate(value, 1))
    except ValueError as exc:
        raise refuse(f"{spec.accepts or 'a list'}: {exc}") from None


def _lists(value: Any, spec: Key, refuse: Refuse) -> dict[str, tuple[str, ...]]:
    """A mapping of names to lists of names (`fallbacks:`)."""
    if value is None:
        return {}
    expected = spec.accepts or "a mapping of names to lists of names"
    if not isinstance(value, Mapping):
        raise refuse(expected)
    mapping: dict[str, tuple[str, ...]] = {}
    for key, items in value.items():
        if not _is_scalar(key) or not isinstance(items, (list, tuple)):
            raise refuse(f"{expected}; `{key}` is not followed by a list")
        names = _names(
            items, spec, _refuse_list(refuse, f"{expected}; `{key}` lists something else")
        )
        if not names or _has_control_characters(str(key)):
            raise refuse(f"{expected}; the list of `{key}` is empty")
        mapping[str(key).strip()] = names
    return mapping


def _refuse_list(refuse: Refuse, message: str) -> Refuse:
    return lambda _: refuse(message)


def _text(value: Any, spec: Key, refuse: Refuse) -> str:
    if value is None:
        return ""
    if not _is_scalar(value):
        raise refuse("a single value")
    text = str(value).strip()
    if _has_control_characters(text):
        # A NUL in a path fails deep in the os module; a line break in `user` would
        # reach ARGO's headers and logs.
        raise refuse("a value without control characters")
    if spec.url and text:
        if not text.startswith(("http://", "https://")):
            raise refuse("an http(s) URL")
        return text.rstrip("/")
    return text


def _is_scalar(value: Any) -> bool:
    """A YAML value that reads as one piece of text (not a list, mapping, bytes, null)."""
    return isinstance(value, (str, int, float, datetime.date))


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)
