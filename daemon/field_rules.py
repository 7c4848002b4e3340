"""What each client body may hold, as data: field → JSON type(s), nullability, and the
fields of nested objects and list items (`RULES`, one table per kind of body).

The tables follow each client API's own request shapes, as far as the daemon, llm-rosetta
or ARGO read them; fields not listed pass unchecked (clients send new fields all the
time). Mostly types: the fields a whole request must carry are the dispatcher's business
(`check_fields`), but inside it, fields without which ARGO or the library would fail (a
tool's name, a message's role) are required here. `validation.py` applies the tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from .models import MAX_MODEL_NAME

__all__ = ["MAX_TOOL_NAME", "RULES", "BodyKind", "Field"]

# The longest tool (function) name a client may send: Anthropic's and Vertex AI's limit,
# the most generous of the vendors' (OpenAI's and the Gemini API's is 64), so that
# nothing a vendor takes is refused (docs/translation.md#bad-requests).
MAX_TOOL_NAME = 128

JSONType = Literal["string", "integer", "number", "boolean", "object", "list"]
# How a null is taken: "absent" = as if the field were not sent; "value" = kept as is;
# "error" = refused (list items, where a null can only be a mistake).
Null = Literal["absent", "value", "error"]

# A request body's kind: the four client formats, and the other bodies the daemon reads.
BodyKind = Literal[
    "openai_chat",
    "openai_responses",
    "anthropic",
    "google",
    "embeddings",  # /v1/embeddings
    "completions",  # /v1/completions (legacy mode)
    "gateway_chat",  # /v1/chat, ARGO's legacy gateway API (legacy mode)
    "gateway_embed",  # /v1/embed (legacy mode)
]

_PY_TYPES: dict[JSONType, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),  # json.loads gives bool for true/false, never an int
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "list": (list,),
}
_NAMES: dict[JSONType, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "an object",
    "list": "a list",
}


@dataclass(frozen=True)
class Field:
    """The rule for one JSON value: its types, and what is inside it."""

    types: tuple[JSONType, ...]
    null: Null = "absent"
    fields: Mapping[str, Field] | None = None  # an object's known fields
    items: Field | None = None  # each item of a list
    required: tuple[str, ...] = ()  # an object's fields that must be there, not null or ""
    variants: Mapping[str, Field] | None = None  # more rules for an object, by its "type"
    minimum: int | None = None  # for numbers
    longest: int | None = None  # for strings: the most characters
    expect: str = ""  # how the error names what is expected, if not by the types
    accepts: frozenset[type] = field(init=False, repr=False, compare=False)
    leaf: bool = field(init=False, repr=False, compare=False)  # a type test is all there is

    def __post_init__(self) -> None:
        accepts = frozenset(t for name in self.types for t in _PY_TYPES[name])
        object.__setattr__(self, "accepts", accepts)
        inside = (self.fields, self.items, self.variants, self.minimum, self.longest)
        object.__setattr__(self, "leaf", all(v is None for v in inside) and not self.required)

    def describe(self) -> str:
        return self.expect or " or ".join(_NAMES[t] for t in self.types)


# ---------------------------------------------------------------- building blocks

STRING = Field(("string",))
INTEGER = Field(("integer",))
POSITIVE = Field(("integer",), minimum=1, expect="a positive integer")
NUMBER = Field(("number",))
BOOLEAN = Field(("boolean",))
OBJECT = Field(("object",))  # any object: a JSON schema, tool arguments, metadata
STRINGS = Field(("list",), items=Field(("string",), null="error"))
# Names the daemon (or llm-rosetta) looks up or compares: bounded, so that no work on
# one grows with what a client sends.
MODEL = Field(("string",), longest=MAX_MODEL_NAME)
TOOL_NAME = Field(("string",), longest=MAX_TOOL_NAME)
TOOL_NAMES = Field(("list",), items=Field(("string",), null="error", longest=MAX_TOOL_NAME))
STRING_OR_STRINGS = Field(("string", "list"), items=Field(("string",), null="error"))


def obj(
    required: tuple[str, ...] = (), variants: Mapping[str, Field] | None = None, **fields: Field
) -> Field:
    """An object whose listed fields are checked."""
    return Field(("object",), fields=fields, required=required, variants=variants)


def list_of(item: Field, null: Null = "absent") -> Field:
    """A list whose every item follows `item` (a null item is an error)."""
    return Field(("list",), null, items=replace(item, null="error"))


def text_or_list_of(item: Field, null: Null = "absent") -> Field:
    """A string, or a list of `item` (message content in most APIs)."""
    return Field(("string", "list"), null, items=replace(item, null="error"))


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def either_case(fields: Mapping[str, Field]) -> dict[str, Field]:
    """Google's JSON takes camelCase and snake_case names alike (proto3 JSON), at any depth."""

    def both_cases(rule: Field) -> Field:
        return replace(
            rule,
            fields=either_case(rule.fields) if rule.fields is not None else None,
            items=both_cases(rule.items) if rule.items is not None else None,
            variants={k: both_cases(v) for k, v in rule.variants.items()}
            if rule.variants is not None
            else None,
        )

    out: dict[str, Field] = {}
    for name, rule in fields.items():
        out[name] = out[_snake(name)] = both_cases(rule)
    return out


# ---------------------------------------------------------------- OpenAI Chat Completions

_OPENAI_PART = obj(
    type=STRING,
    text=STRING,
    image_url=obj(url=STRING, detail=STRING),
    input_audio=obj(data=STRING, format=STRING),
    file=obj(file_data=STRING, file_id=STRING, filename=STRING),
    refusal=STRING,
)
_OPENAI_TOOL_CALL = obj(
    id=STRING,
    type=STRING,
    function=obj(name=TOOL_NAME, arguments=STRING),
    custom=obj(name=TOOL_NAME, input=STRING),
)
_OPENAI_MESSAGE = obj(
    required=("role",),
    role=STRING,
    # null content is how an assistant turn with only tool calls is sent
    content=text_or_list_of(_OPENAI_PART, null="value"),
    name=STRING,
    tool_calls=list_of(_OPENAI_TOOL_CALL),
    tool_call_id=STRING,
    function_call=obj(name=TOOL_NAME, arguments=STRING),
    refusal=STRING,
    reasoning_content=STRING,
)
_OPENAI_TOOL = obj(
    type=STRING,
    function=obj(
        required=("name",), name=TOOL_NAME, description=STRING, parameters=OBJECT, strict=BOOLEAN
    ),
    custom=obj(required=("name",), name=TOOL_NAME, description=STRING, format=OBJECT),
)
_OPENAI_TOOL_CHOICE = Field(
    ("string", "object"),
    fields={"type": STRING, "function": obj(name=TOOL_NAME), "custom": obj(name=TOOL_NAME)},
)

OPENAI_CHAT: dict[str, Field] = {
    "model": MODEL,
    "messages": list_of(_OPENAI_MESSAGE),
    "stream": BOOLEAN,
    "stream_options": obj(include_usage=BOOLEAN, include_obfuscation=BOOLEAN),
    "max_tokens": POSITIVE,
    "max_completion_tokens": POSITIVE,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "frequency_penalty": NUMBER,
    "presence_penalty": NUMBER,
    "n": INTEGER,
    "seed": INTEGER,
    "stop": STRING_OR_STRINGS,
    "logprobs": BOOLEAN,
    "top_logprobs": INTEGER,
    "logit_bias": OBJECT,
    "tools": list_of(_OPENAI_TOOL),
    "tool_choice": _OPENAI_TOOL_CHOICE,
    "parallel_tool_calls": BOOLEAN,
    "functions": list_of(obj(name=TOOL_NAME, description=STRING, parameters=OBJECT)),
    "function_call": Field(("string", "object"), fields={"name": TOOL_NAME}),
    "response_format": obj(type=STRING, json_schema=OBJECT),
    "reasoning_effort": STRING,
    "verbosity": STRING,
    "modalities": STRINGS,
    "audio": OBJECT,
    "prediction": OBJECT,
    "web_search_options": OBJECT,
    "metadata": OBJECT,
    "store": BOOLEAN,
    "service_tier": STRING,
    "user": STRING,
    "prompt_cache_key": STRING,
    "safety_identifier": STRING,
    "timeout": Field(("number",), expect="a positive number of seconds"),  # ours
}

# ---------------------------------------------------------------- OpenAI Responses

_RESPONSES_PART = obj(
    type=STRING,
    text=STRING,
    image_url=STRING,
    file_id=STRING,
    file_data=STRING,
    filename=STRING,
    file_url=STRING,
    detail=STRING,
)
_RESPONSES_ITEM = obj(
    type=STRING,
    role=STRING,
    id=STRING,
    status=STRING,
    content=text_or_list_of(_RESPONSES_PART),
    call_id=STRING,
    name=TOOL_NAME,
    arguments=STRING,
    input=STRING,  # custom tool calls
    output=text_or_list_of(_RESPONSES_PART),
    summary=list_of(obj(type=STRING, text=STRING)),
    encrypted_content=STRING,
)
_NAMED = obj(required=("name",))
_RESPONSES_TOOL = obj(
    # built-in tools (web_search, ...) have no name; function and custom tools need one
    variants={"function": _NAMED, "custom": _NAMED},
    type=STRING,
    name=TOOL_NAME,
    description=STRING,
    parameters=OBJECT,
    strict=BOOLEAN,
    format=OBJECT,
)

OPENAI_RESPONSES: dict[str, Field] = {
    "model": MODEL,
    "input": text_or_list_of(_RESPONSES_ITEM),
    "instructions": STRING,
    "stream": BOOLEAN,
    "stream_options": obj(include_obfuscation=BOOLEAN),
    "max_output_tokens": POSITIVE,
    "max_tool_calls": INTEGER,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "top_logprobs": INTEGER,
    "tools": list_of(_RESPONSES_TOOL),
    "tool_choice": Field(("string", "object"), fields={"type": STRING, "name": TOOL_NAME}),
    "parallel_tool_calls": BOOLEAN,
    "reasoning": obj(effort=STRING, summary=STRING),
    "text": obj(
        format=obj(type=STRING, name=STRING, schema=OBJECT, strict=BOOLEAN), verbosity=STRING
    ),
    "include": STRINGS,
    "previous_response_id": STRING,
    "conversation": Field(("string", "object")),
    "prompt": OBJECT,
    "metadata": OBJECT,
    "store": BOOLEAN,
    "background": BOOLEAN,
    "truncation": STRING,
    "service_tier": STRING,
    "user": STRING,
    "prompt_cache_key": STRING,
    "safety_identifier": STRING,
    "timeout": OPENAI_CHAT["timeout"],
}

# ---------------------------------------------------------------- Anthropic Messages

_ANTHROPIC_SOURCE = obj(type=STRING, media_type=STRING, data=STRING, url=STRING)
_ANTHROPIC_INNER_BLOCK = obj(  # what a tool_result holds
    type=STRING,
    text=STRING,
    source=_ANTHROPIC_SOURCE,
    cache_control=OBJECT,
)
_ANTHROPIC_BLOCK = obj(
    type=STRING,
    text=STRING,
    source=_ANTHROPIC_SOURCE,
    id=STRING,
    name=TOOL_NAME,
    input=OBJECT,
    tool_use_id=STRING,
    content=text_or_list_of(_ANTHROPIC_INNER_BLOCK),
    is_error=BOOLEAN,
    thinking=STRING,
    signature=STRING,
    data=STRING,
    title=STRING,
    context=STRING,
    cache_control=OBJECT,
)
_ANTHROPIC_SYSTEM_BLOCK = obj(type=STRING, text=STRING, cache_control=OBJECT)

ANTHROPIC: dict[str, Field] = {
    "model": MODEL,
    "max_tokens": POSITIVE,
    "messages": list_of(
        obj(required=("role",), role=STRING, content=text_or_list_of(_ANTHROPIC_BLOCK))
    ),
    "system": text_or_list_of(_ANTHROPIC_SYSTEM_BLOCK),
    "stream": BOOLEAN,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "top_k": INTEGER,
    "stop_sequences": STRINGS,
    "tools": list_of(
        obj(
            required=("name",),
            type=STRING,
            name=TOOL_NAME,
            description=STRING,
            input_schema=OBJECT,
            cache_control=OBJECT,
        )
    ),
    "tool_choice": obj(type=STRING, name=TOOL_NAME, disable_parallel_tool_use=BOOLEAN),
    "thinking": obj(type=STRING, budget_tokens=INTEGER),
    "metadata": obj(user_id=STRING),
    "output_config": obj(effort=STRING, format=OBJECT),
    "service_tier": STRING,
    "container": STRING,
    "context_management": OBJECT,
    "mcp_servers": list_of(OBJECT),
    "timeout": OPENAI_CHAT["timeout"],
}

# ---------------------------------------------------------------- Google GenAI

_GOOGLE_PART = obj(
    text=STRING,
    thought=BOOLEAN,
    thoughtSignature=STRING,
    inlineData=obj(mimeType=STRING, data=STRING),
    fileData=obj(mimeType=STRING, fileUri=STRING),
    functionCall=obj(id=STRING, name=TOOL_NAME, args=OBJECT),
    functionResponse=obj(id=STRING, name=TOOL_NAME, response=OBJECT),
    executableCode=OBJECT,
    codeExecutionResult=OBJECT,
)
_GOOGLE_CONTENT = obj(role=STRING, parts=list_of(_GOOGLE_PART))
_GOOGLE_DECLARATION = obj(
    required=("name",),
    name=TOOL_NAME,
    description=STRING,
    parameters=OBJECT,
    parametersJsonSchema=OBJECT,
    response=OBJECT,
)
_GOOGLE_FIELDS: dict[str, Field] = {
    "model": MODEL,
    "contents": list_of(_GOOGLE_CONTENT),
    "systemInstruction": _GOOGLE_CONTENT,
    "tools": list_of(
        obj(
            functionDeclarations=list_of(_GOOGLE_DECLARATION),
            googleSearch=OBJECT,
            codeExecution=OBJECT,
        )
    ),
    "toolConfig": obj(
        functionCallingConfig=obj(mode=STRING, allowedFunctionNames=TOOL_NAMES),
    ),
    "generationConfig": obj(
        temperature=NUMBER,
        topP=NUMBER,
        topK=NUMBER,
        candidateCount=INTEGER,
        maxOutputTokens=POSITIVE,
        stopSequences=STRINGS,
        seed=INTEGER,
        presencePenalty=NUMBER,
        frequencyPenalty=NUMBER,
        responseMimeType=STRING,
        responseSchema=OBJECT,
        responseJsonSchema=OBJECT,
        responseModalities=STRINGS,
        thinkingConfig=obj(thinkingBudget=INTEGER, includeThoughts=BOOLEAN, thinkingLevel=STRING),
    ),
    "safetySettings": list_of(obj(category=STRING, threshold=STRING)),
    "cachedContent": STRING,
    "labels": OBJECT,
    "timeout": OPENAI_CHAT["timeout"],
}
GOOGLE: dict[str, Field] = either_case(
    # countTokens may wrap the request it counts
    {**_GOOGLE_FIELDS, "generateContentRequest": Field(("object",), fields=_GOOGLE_FIELDS)}
)

# ---------------------------------------------------------------- embeddings and legacy

# A text, or token ids: an input is a string, a list of strings, of ids, or of id lists.
_TEXTS_OR_TOKENS = Field(
    ("string", "list"),
    items=Field(("string", "integer", "list"), "error", items=Field(("integer",), "error")),
)
EMBEDDINGS: dict[str, Field] = {
    "model": MODEL,
    "input": _TEXTS_OR_TOKENS,
    "encoding_format": STRING,
    "dimensions": POSITIVE,
    "user": STRING,
    "timeout": OPENAI_CHAT["timeout"],
}
COMPLETIONS: dict[str, Field] = {
    "model": MODEL,
    "prompt": _TEXTS_OR_TOKENS,
    "stream": BOOLEAN,
    "stream_options": obj(include_usage=BOOLEAN),
    "max_tokens": POSITIVE,
    "temperature": NUMBER,
    "top_p": NUMBER,
    "frequency_penalty": NUMBER,
    "presence_penalty": NUMBER,
    "n": INTEGER,
    "best_of": INTEGER,
    "seed": INTEGER,
    "stop": STRING_OR_STRINGS,
    "logprobs": Field(("integer", "boolean")),
    "echo": BOOLEAN,
    "suffix": STRING,
    "logit_bias": OBJECT,
    "user": STRING,
    "timeout": OPENAI_CHAT["timeout"],
}
# ARGO's gateway API (argo-proxy's /v1/chat): `messages` in the model vendor's shape, or
# `system` + `prompt`.
GATEWAY_CHAT: dict[str, Field] = {
    **{k: v for k, v in OPENAI_CHAT.items() if k not in ("messages", "tools", "tool_choice")},
    "messages": list_of(obj(role=STRING, content=Field(("string", "list"), null="value"))),
    "tools": list_of(OBJECT),
    "tool_choice": Field(("string", "object")),
    "system": Field(("string", "list")),
    "prompt": STRING_OR_STRINGS,
}
GATEWAY_EMBED: dict[str, Field] = {**EMBEDDINGS, "prompt": EMBEDDINGS["input"]}

RULES: dict[BodyKind, dict[str, Field]] = {
    "openai_chat": OPENAI_CHAT,
    "openai_responses": OPENAI_RESPONSES,
    "anthropic": ANTHROPIC,
    "google": GOOGLE,
    "embeddings": EMBEDDINGS,
    "completions": COMPLETIONS,
    "gateway_chat": GATEWAY_CHAT,
    "gateway_embed": GATEWAY_EMBED,
}
