"""A value is read by its field's real type, msgspec doing the typing (daemon/keys.py),
with the spellings of files, environment variables and options; a range says its bounds
as people write them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest

from argo_proxy.daemon.keys import Key, Names, Range, convert


class Refused(Exception):
    pass


SPEC = Key("a test key", ("read",), range=Range(0, 10))


def read(kind: Any, value: Any, spec: Key = SPEC) -> Any:
    return convert(kind, spec, value, Refused)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (int, "7", 7),
        (float, "2.5", 2.5),
        (int | None, "7", 7),  # a union with None is read as its other type, not as text
        (int | None, None, None),
        (float | None, 3, 3.0),
        (bool, "Yes", True),
        (bool | None, "off", False),
        (bool, 1, True),  # YAML's 1: read as its text, like an environment variable's
        (int, 7.0, 7),
        (int, "1e1", 10),  # as docs/configuration.md#what-each-value-accepts says
        (float, " 1e-1 ", 0.1),
        (Literal["a", "b"], " B ", "b"),
        (tuple[str, ...], "x, y,", ("x", "y")),
        (tuple[str, ...], [1, " a ", "", 2.5], ("1", "a", "2.5")),
        (tuple[str, ...], None, ()),  # `key:` with nothing after it
        (Mapping[str, str], {"h:443": 1}, {"h:443": "1"}),
        (Mapping[str, str], None, {}),
        (Mapping[str, Names], {" a ": ["b", "c"]}, {"a": ("b", "c")}),
        (str, 12, "12"),
        (str | None, None, None),
    ],
)
def test_each_type_is_read_by_its_kind(kind: Any, value: Any, expected: Any) -> None:
    assert read(kind, value) == expected
    assert type(read(kind, value)) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value", "accepted"),
    [
        (int | None, "seven", "a whole number from 0 to 10"),
        (int, "11", "a whole number from 0 to 10"),
        (Literal["a", "b"], "c", "one of a, b"),
        (str, ["a"], "a single value"),
        (str, b"AAAA", "a single value"),
        (bool, "maybe", "true or false"),
        (bool, 2, "true or false"),
        (bool, None, "true or false"),
        (int, True, "a whole number from 0 to 10"),
        (int, "2.5", "a whole number from 0 to 10"),
        (float, "nan", "a number from 0 to 10"),
        (float, "1e400", "a number from 0 to 10"),
        (tuple[str, ...], [["a"]], r"a list of names, like \[myhost.example.org\]"),
        (Mapping[str, str], {"a": [1]}, "a mapping like .*"),
        (Mapping[str, Names], {"a": []}, "a mapping of names to non-empty lists of names"),
        (Mapping[str, Names], {"a": "b"}, "a mapping of names to non-empty lists of names"),
        (str, "a\0b", "text without control characters"),
        (Mapping[str, str], {"a\nb": "c"}, "text without control characters"),
    ],
)
def test_a_bad_value_is_refused_with_what_is_accepted(kind: Any, value: Any, accepted: str) -> None:
    with pytest.raises(Refused, match=f"^{accepted}$"):
        read(kind, value)


@pytest.mark.parametrize("kind", [list[int], int | str, dict[str, int], bytes])
def test_a_type_without_words_for_what_it_accepts_is_a_type_error(kind: Any) -> None:
    with pytest.raises(TypeError, match="no words for what"):
        read(kind, "1")


def test_any_type_msgspec_reads_is_a_key_type_once_its_words_are_given() -> None:
    spec = Key("numbers", ("read",), accepts="a list of numbers")
    assert read(list[int], [1, "2"], spec) == [1, 2]
    with pytest.raises(Refused, match="^a list of numbers$"):
        read(list[int], ["two"], spec)
    with pytest.raises(TypeError, match="not supported"):
        read(int | str | bytes, "1", spec)


def test_a_number_key_without_a_range_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="declares its range"):
        read(int, "1", Key("no range", ("read",)))


def test_a_url_key_must_be_http_and_loses_its_trailing_slash() -> None:
    spec = Key("a URL", ("read",), url=True)
    assert read(str, "https://example.org/api/", spec) == "https://example.org/api"
    with pytest.raises(Refused, match="http"):
        read(str, "example.org", spec)


def test_a_restart_key_says_why_and_only_a_restart_key() -> None:
    with pytest.raises(ValueError, match="says why"):
        Key("no reason", ("restart",))
    with pytest.raises(ValueError, match="says why"):
        Key("a reason for nothing", ("read",), restart="because")


def test_range_bounds_are_written_in_full() -> None:
    assert Range(1, 1_048_576, unit="MiB").describe(True) == (
        "a whole number of MiB from 1 to 1048576"
    )
    assert Range(0, 0.5, above=True).describe(False) == "a number more than 0 and at most 0.5"
