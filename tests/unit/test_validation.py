"""The field type rules (validation.py): what a wrong type, a null, a deep body, and text
or numbers JSON does not have become."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argo_proxy.daemon import validation
from argo_proxy.daemon.errors import ClientRequestError
from argo_proxy.daemon.field_rules import MAX_TOOL_NAME, RULES, BodyKind
from argo_proxy.daemon.intake import pop_timeout
from argo_proxy.daemon.models import MAX_MODEL_NAME
from argo_proxy.daemon.validation import MAX_DEPTH, check_body, check_nesting, load_json

CHAT: dict[str, Any] = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}


def refusal(kind: BodyKind, body: dict[str, Any]) -> str:
    with pytest.raises(ClientRequestError) as caught:
        check_body(kind, body)
    assert caught.value.status == 400
    return caught.value.message


@pytest.mark.parametrize(
    ("kind", "body", "message"),
    [
        (
            "openai_chat",
            {**CHAT, "stream_options": 5},
            "'stream_options' must be an object; got 5.",
        ),
        (
            "openai_responses",
            {"input": "hi", "stream_options": "x"},
            """'stream_options' must be an object; got "x".""",
        ),
        (
            "anthropic",
            {"max_tokens": 5, "messages": [], "metadata": "x"},
            """'metadata' must be an object; got "x".""",
        ),
        (
            "openai_chat",
            {"messages": [{"role": "user", "content": [{"type": "text", "text": 5}]}]},
            "'messages[0].content[0].text' must be a string; got 5.",
        ),
        ("openai_chat", {"messages": [None]}, "'messages[0]' must be an object; got null."),
        ("openai_chat", {"max_tokens": 0}, "'max_tokens' must be a positive integer; got 0."),
        ("openai_chat", {"max_tokens": True}, "'max_tokens' must be a positive integer; got true."),
        ("openai_chat", {"temperature": "hot"}, """'temperature' must be a number; got "hot"."""),
        ("openai_chat", {"stream": "yes"}, """'stream' must be true or false; got "yes"."""),
        ("openai_chat", {"stop": 5}, "'stop' must be a string or a list; got 5."),
        ("openai_chat", {"messages": [{"content": "hi"}]}, "'messages[0].role' is required."),
        (
            "openai_chat",
            {"tools": [{"type": "function", "function": {"parameters": {}}}]},
            "'tools[0].function.name' is required.",
        ),
        (
            "openai_responses",
            {"tools": [{"type": "function", "parameters": {}}]},
            "'tools[0].name' is required.",
        ),
        (
            "anthropic",
            {"tools": [{"name": "", "input_schema": {}}]},
            "'tools[0].name' must not be empty.",
        ),
        (
            "google",
            {"generation_config": {"max_output_tokens": "many"}},
            """'generation_config.max_output_tokens' must be a positive integer; got "many".""",
        ),
        (
            "google",
            {"generateContentRequest": {"contents": [{"parts": [{"text": 1}]}]}},
            "'generateContentRequest.contents[0].parts[0].text' must be a string; got 1.",
        ),
        (
            "embeddings",
            {"input": {"a": 1}},
            """'input' must be a string or a list; got {"a": 1}.""",
        ),
        ("gateway_chat", {"prompt": 5}, "'prompt' must be a string or a list; got 5."),
    ],
)
def test_a_wrong_type_is_a_400_naming_the_field(
    kind: BodyKind, body: dict[str, Any], message: str
) -> None:
    assert refusal(kind, body) == message


def test_a_long_value_is_shortened_in_the_message() -> None:
    message = refusal("openai_chat", {**CHAT, "user": ["x" * 500]})
    assert len(message) < 150 and message.endswith("....")


def test_null_in_an_optional_field_is_as_if_not_sent() -> None:
    body = {**CHAT, "tools": None, "stream_options": {"include_usage": None}, "user": None}
    check_body("openai_chat", body)
    assert body == {**CHAT, "stream_options": {}}


def test_null_that_means_something_is_kept() -> None:
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    body = {**CHAT, "messages": [{"role": "assistant", "content": None, "tool_calls": calls}]}
    check_body("openai_chat", body)
    assert body["messages"][0]["content"] is None


def test_unknown_fields_pass_unchecked() -> None:
    body = {**CHAT, "some_new_option": {"any": ["thing", 1]}, "tools": [{"type": "web_search"}]}
    check_body("openai_chat", dict(body))
    check_body("openai_responses", {"input": "hi", "tools": [{"type": "web_search"}]})


def test_google_names_in_either_case() -> None:
    body = {"contents": [{"parts": [{"inline_data": {"mime_type": "image/png", "data": "x"}}]}]}
    check_body("google", body)
    assert refusal("google", {"tools": [{"function_declarations": [{}]}]}) == (
        "'tools[0].function_declarations[0].name' is required."
    )


# ---------------------------------------------------------------- names

# Every tool name the daemon or llm-rosetta looks up or compares, wherever a client may
# send one: (body kind, a body with "N" in its place, the field's path).
_CALL = {"id": "c1", "type": "function", "function": {"name": "N", "arguments": "{}"}}
NAMES: list[tuple[BodyKind, Any, str]] = [
    (
        "openai_chat",
        {"tools": [{"type": "function", "function": {"name": "N"}}]},
        "tools[0].function.name",
    ),
    (
        "openai_chat",
        {"tools": [{"type": "custom", "custom": {"name": "N"}}]},
        "tools[0].custom.name",
    ),
    (
        "openai_chat",
        {"tool_choice": {"type": "function", "function": {"name": "N"}}},
        "tool_choice.function.name",
    ),
    (
        "openai_chat",
        {"messages": [{"role": "assistant", "tool_calls": [_CALL]}]},
        "messages[0].tool_calls[0].function.name",
    ),
    (
        "openai_chat",
        {"messages": [{"role": "assistant", "function_call": {"name": "N"}}]},
        "messages[0].function_call.name",
    ),
    ("openai_chat", {"functions": [{"name": "N"}]}, "functions[0].name"),
    ("openai_chat", {"function_call": {"name": "N"}}, "function_call.name"),
    ("openai_responses", {"tools": [{"type": "function", "name": "N"}]}, "tools[0].name"),
    ("openai_responses", {"tool_choice": {"type": "function", "name": "N"}}, "tool_choice.name"),
    ("openai_responses", {"input": [{"type": "function_call", "name": "N"}]}, "input[0].name"),
    ("anthropic", {"tools": [{"name": "N"}]}, "tools[0].name"),
    ("anthropic", {"tool_choice": {"type": "tool", "name": "N"}}, "tool_choice.name"),
    (
        "anthropic",
        {"messages": [{"role": "assistant", "content": [{"type": "tool_use", "name": "N"}]}]},
        "messages[0].content[0].name",
    ),
    (
        "google",
        {"tools": [{"functionDeclarations": [{"name": "N"}]}]},
        "tools[0].functionDeclarations[0].name",
    ),
    (
        "google",
        {"contents": [{"parts": [{"functionCall": {"name": "N"}}]}]},
        "contents[0].parts[0].functionCall.name",
    ),
    (
        "google",
        {"contents": [{"parts": [{"function_response": {"name": "N"}}]}]},
        "contents[0].parts[0].function_response.name",
    ),
    (
        "google",
        {"toolConfig": {"functionCallingConfig": {"allowedFunctionNames": ["N"]}}},
        "toolConfig.functionCallingConfig.allowedFunctionNames[0]",
    ),
]


def _named(body: Any, name: str) -> Any:
    return json.loads(json.dumps(body).replace('"N"', json.dumps(name)))


@pytest.mark.parametrize(("kind", "body", "path"), NAMES, ids=[f"{k}:{p}" for k, _, p in NAMES])
def test_a_tool_name_over_the_limit_is_a_400_naming_the_field(
    kind: BodyKind, body: Any, path: str
) -> None:
    check_body(kind, _named(body, "t" * MAX_TOOL_NAME))
    assert refusal(kind, _named(body, "t" * (MAX_TOOL_NAME + 1))) == (
        f"'{path}' must be at most {MAX_TOOL_NAME} characters long; "
        f"got {MAX_TOOL_NAME + 1} characters."
    )


@pytest.mark.parametrize("kind", sorted(RULES))
def test_a_model_name_over_the_limit_is_a_400_in_every_body(kind: BodyKind) -> None:
    check_body(kind, {"model": "m" * MAX_MODEL_NAME})
    assert refusal(kind, {"model": "m" * 1_000_000}) == (
        f"'model' must be at most {MAX_MODEL_NAME} characters long; got 1000000 characters."
    )


def test_the_google_count_request_it_wraps_has_its_model_bounded_too() -> None:
    body = {"generateContentRequest": {"model": "m" * (MAX_MODEL_NAME + 1)}}
    assert refusal("google", body).startswith("'generateContentRequest.model' must be at most")


# ---------------------------------------------------------------- nesting


def nested(depth: int) -> bytes:
    return b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


def test_a_body_nested_deeper_than_the_limit_is_a_400_naming_it() -> None:
    with pytest.raises(ClientRequestError, match=f"more than {MAX_DEPTH} levels deep"):
        check_nesting(nested(100_000))
    with pytest.raises(ClientRequestError):
        check_nesting(nested(MAX_DEPTH + 1))
    check_nesting(nested(MAX_DEPTH))


def test_brackets_and_quotes_inside_strings_are_text() -> None:
    text = json.dumps({"a": ["[" * 300, '"]' * 300, "\\" * 7 + '"{', "\\"], "b": {}})
    check_nesting(text.encode(), limit=2)
    with pytest.raises(ClientRequestError):
        check_nesting(text.encode(), limit=1)


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


# Strings made of the characters that could fool a scan of the raw bytes.
_TRICKY = st.text(alphabet='[]{}"\\:, a\n', max_size=6)
_JSON = st.recursive(
    st.none() | st.integers() | _TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY, inner, max_size=3),
    max_leaves=30,
)


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(value=_JSON, limit=st.integers(min_value=0, max_value=8))
def test_nesting_is_measured_exactly(value: Any, limit: int) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    if _depth(value) > limit:
        with pytest.raises(ClientRequestError):
            check_nesting(raw, limit)
    else:
        check_nesting(raw, limit)


# ---------------------------------------------------------------- text and numbers


def load_refusal(raw: bytes) -> str:
    with pytest.raises(ClientRequestError) as caught:
        load_json(raw)
    assert caught.value.status == 400
    return caught.value.message


SURROGATE = (
    "it holds a lone UTF-16 surrogate (\\{}, at character {}), half of a character such as "
    "an emoji; send whole characters."
)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            rb'{"messages": [{"role": "user", "content": "hi \ud83d"}]}',
            "'messages[0].content' is not valid text: " + SURROGATE.format("ud83d", 3),
        ),
        (  # a low half alone, hex digits in capitals
            rb'{"input": [{"content": [{"text": "\uDE00 x"}]}]}',
            "'input[0].content[0].text' is not valid text: " + SURROGATE.format("ude00", 0),
        ),
        (  # the halves the wrong way round are two lone halves
            rb'{"system": "ab\ude00\ud83d"}',
            "'system' is not valid text: " + SURROGATE.format("ude00", 2),
        ),
        (  # in a field name, in a field nobody reads
            rb'{"metadata": {"k\ud800y": 1}}',
            "'metadata.k\\ud800y' is not valid text: the field name holds a lone UTF-16 "
            "surrogate (\\ud800, at character 1), half of a character such as an emoji; "
            "send whole characters.",
        ),
        (  # the UTF-8 encoding of a surrogate is not UTF-8
            b'{"prompt": ["ok", "hi \xed\xa0\x80!"]}',
            "'prompt[1]' is not valid text: it holds bytes that are not UTF-8 "
            "(\\xed\\xa0\\x80, at character 3); a JSON body must be UTF-8.",
        ),
        (
            b'{"contents": [{"parts": [{"text": "M\xfcller"}]}]}',
            "'contents[0].parts[0].text' is not valid text: it holds bytes that are not "
            "UTF-8 (\\xfc, at character 1); a JSON body must be UTF-8.",
        ),
        (
            b'{"model": "x", "temperature": NaN}',
            "'temperature' must be a finite number; got NaN, which JSON does not have.",
        ),
        (
            b'{"generationConfig": {"topP": Infinity}}',
            "'generationConfig.topP' must be a finite number; got Infinity, which JSON does "
            "not have.",
        ),
        (
            b'{"tools": [{"input_schema": {"minimum": -Infinity}}]}',
            "'tools[0].input_schema.minimum' must be a finite number; got -Infinity, which "
            "JSON does not have.",
        ),
        (
            b'{"timeout": 1e400}',
            "'timeout' must be a finite number; got 1e400, beyond the largest a number can "
            "be (~1.8e308).",
        ),
        (b"NaN", "The body must be a finite number; got NaN, which JSON does not have."),
    ],
)
def test_text_and_numbers_json_does_not_have_are_a_400_naming_the_field(
    raw: bytes, message: str
) -> None:
    assert load_refusal(raw) == message


def test_the_first_flaw_in_the_body_is_named() -> None:
    raw = b'{"a": "fine", "b": [1, NaN, "\\udfff"], "c": "\\ud800"}'
    assert load_refusal(raw).startswith("'b[1]' must be a finite number")


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (rb'{"t": "\ud83d\ude00 \uD83D\uDE00"}', {"t": "😀 😀"}),  # pairs are characters
        (rb'{"t": "\\ud83d"}', {"t": "\\ud83d"}),  # an escaped backslash, then text
        (b'{"t": "\xc3\xa9", "n": 1.5e308, "i": 1' + b"0" * 400 + b"}", None),
        ('{"t": "é \\ud83d\\ude00", "n": -2.5}'.encode("utf-16"), {"t": "é 😀", "n": -2.5}),
        (b'\xef\xbb\xbf{"t": "BOM"}', {"t": "BOM"}),
    ],
)
def test_valid_text_and_numbers_pass(raw: bytes, value: Any) -> None:
    loaded = load_json(raw)
    if value is not None:
        assert loaded == value


def test_invalid_json_says_so_and_names_bytes_that_are_not_utf8() -> None:
    assert load_refusal(b'{"a": 1,}').startswith("Invalid JSON body: Expecting property name")
    assert load_refusal(b'{"a": \xff}').endswith("; it also holds bytes that are not UTF-8.")
    assert load_refusal('{"a": "\ud800"}'.encode("utf-16-le", "surrogatepass")).startswith(
        "The request body is not valid UTF-16-LE"
    )


def test_a_clean_body_is_not_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    def walked(*args: Any) -> None:
        raise AssertionError("walked a body with nothing to find")

    monkeypatch.setattr(validation, "_scan", walked)
    # Escapes outside the surrogates' range (\u00fc, \ud55c), and text as UTF-8.
    load_json(json.dumps({**CHAT, "temperature": 0.5, "system": "Grüße, 한국어"}).encode())
    load_json(json.dumps({**CHAT, "system": "Grüße 😀"}, ensure_ascii=False).encode())


# Text as clients send it: any character, and often halves of one (UTF-16 surrogates,
# which JSON's escapes pair into one character again when they come in the right order).
_ANY_TEXT = st.text(max_size=6) | st.lists(
    st.characters() | st.characters(categories=["Cs"]), max_size=4
).map("".join)
_ANY_JSON = st.recursive(
    st.none() | st.integers() | st.floats() | _ANY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ANY_TEXT, inner, max_size=3),
    max_leaves=20,
)


def _writable(value: Any) -> bool:
    """Whether `value` could go to ARGO: valid Unicode, finite numbers."""
    try:
        json.dumps(value, ensure_ascii=False, allow_nan=False).encode()
    except (UnicodeEncodeError, ValueError):
        return False
    return True


@settings(derandomize=True, max_examples=500, deadline=None, database=None)
@given(value=_ANY_JSON, escaped=st.booleans())
def test_a_body_is_refused_exactly_when_argo_could_not_take_it(value: Any, escaped: bool) -> None:
    # Surrogates as JSON escapes, or as their (invalid) UTF-8 bytes.
    raw = json.dumps(value, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
    parsed = json.loads(raw)  # as Python's parser reads it, pairs joined, NaN kept
    if _writable(parsed):
        assert json.dumps(load_json(raw)) == json.dumps(parsed)
    else:
        load_refusal(raw)


@pytest.mark.parametrize("value", [10**400, 0, -1, "5", True])
def test_a_timeout_that_is_no_number_of_seconds_is_a_400(value: Any) -> None:
    with pytest.raises(ClientRequestError, match="'timeout' must be a positive number"):
        pop_timeout({"timeout": value})
    assert pop_timeout({"timeout": 1e300}) == 1e300
