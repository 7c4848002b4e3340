"""B4, B15 and B16 (llm-rosetta 0.13): a Google request loses `topP`/`topK`, empties tool
results without an `output` key, drops `parametersJsonSchema` tool parameters, and is
refused when its `thinkingLevel` is in capitals (docs/workarounds.md#b4-google-request-fields,
#b15-google-parametersjsonschema, #b16-google-thinking-level-in-capitals).
Fixed before the library reads the request, by a source shim."""

from __future__ import annotations

from typing import Any

from llm_rosetta import ProviderShim

__all__ = ["GOOGLE_SOURCE_SHIM"]


def _fix_google_request(body: dict[str, Any]) -> dict[str, Any]:
    """B4: camelCase `topP`/`topK` are ignored, and a `functionResponse.response` without
    an `output`/`error` key becomes an empty tool result. Found here (call it B15):
    `parametersJsonSchema`, which google-genai and Gemini CLI send instead of
    `parameters`, is dropped, so ARGO would get tools without arguments.
    Copies; never mutates."""
    body = _with_parameters(body)
    config = body.get("generationConfig")
    if isinstance(config, dict):
        config = dict(config)
        for camel, snake in (("topP", "top_p"), ("topK", "top_k")):
            if camel in config and snake not in config:
                config[snake] = config.pop(camel)
        _lower_thinking_level(config)
        body = {**body, "generationConfig": config}
    contents = body.get("contents")
    if not isinstance(contents, list):
        return body
    fixed = []
    for content in contents:
        parts = content.get("parts") if isinstance(content, dict) else None
        if isinstance(parts, list):
            content = {**content, "parts": [_wrap_function_response(p) for p in parts]}
        fixed.append(content)
    return {**body, "contents": fixed}


def _lower_thinking_level(config: dict[str, Any]) -> None:
    """B16: google-genai sends `thinkingLevel` as its enum's name (`"HIGH"`), which the
    library refuses (a 400); Google takes any case. `THINKING_LEVEL_UNSPECIFIED` is no
    level at all. Changes `config` (a copy) only, and a copy of its thinkingConfig."""
    for key in ("thinkingConfig", "thinking_config"):
        thinking = config.get(key)
        if not isinstance(thinking, dict):
            continue
        thinking = dict(thinking)
        for name in ("thinkingLevel", "thinking_level"):
            level = thinking.get(name)
            if isinstance(level, str):
                if level.upper() == "THINKING_LEVEL_UNSPECIFIED":
                    del thinking[name]
                else:
                    thinking[name] = level.lower()
        config[key] = thinking


def _with_parameters(body: dict[str, Any]) -> dict[str, Any]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return body
    fixed_tools = []
    for tool in tools:
        if isinstance(tool, dict):
            key = (
                "functionDeclarations"
                if "functionDeclarations" in tool
                else "function_declarations"
            )
            declarations = tool.get(key)
            if isinstance(declarations, list):
                tool = {**tool, key: [_declaration_parameters(d) for d in declarations]}
        fixed_tools.append(tool)
    return {**body, "tools": fixed_tools}


def _declaration_parameters(declaration: Any) -> Any:
    if not isinstance(declaration, dict) or "parameters" in declaration:
        return declaration
    for key in ("parametersJsonSchema", "parameters_json_schema"):
        if key in declaration:
            rest = {k: v for k, v in declaration.items() if k != key}
            return {**rest, "parameters": declaration[key]}
    return declaration


def _wrap_function_response(part: Any) -> Any:
    reply = part.get("functionResponse") if isinstance(part, dict) else None
    if not isinstance(reply, dict):
        return part
    response = reply.get("response")
    if isinstance(response, dict) and ("output" in response or "error" in response):
        return part
    wrapped = {"output": response if response is not None else ""}
    return {**part, "functionResponse": {**reply, "response": wrapped}}


GOOGLE_SOURCE_SHIM = ProviderShim(
    name="argo-proxy--google-source",
    base="google",
    pre_ir_transforms=(_fix_google_request,),
)
