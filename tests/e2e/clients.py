"""One small adapter per official SDK, so the translation matrix reads as one test.

Each adapter asks a question (streamed or not), asks for a tool call, sends the tool's
result back, and sends an image — the way a user of that SDK would — and reports what
the user sees: text, finish reason, usage, tool call.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Protocol

import anthropic
import openai
from google import genai
from google.genai import types

from . import api

# A 1×1 red PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"}},
    "required": ["city"],
}


@dataclass
class Answer:
    text: str
    finish: str  # normalised: "stop", "tool", "length" or what the SDK said
    usage_total: int


@dataclass
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]


class Adapter(Protocol):
    def ask(self, model: str, prompt: str, stream: bool) -> Answer: ...
    def ask_tool(self, model: str, prompt: str, stream: bool) -> tuple[ToolCall, Any]: ...
    def answer_tool(
        self, model: str, state: Any, call: ToolCall, result: str, stream: bool
    ) -> Answer: ...
    def ask_image(self, model: str, prompt: str) -> Answer: ...
    def close(self) -> None: ...


class OpenAIChat:
    def __init__(self, url: str) -> None:
        self.client = openai.OpenAI(base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0)

    def close(self) -> None:
        self.client.close()

    def _run(
        self, model: str, messages: list[dict[str, Any]], stream: bool, **kw: Any
    ) -> tuple[Answer, list[ToolCall]]:
        if not stream:
            reply = self.client.chat.completions.create(model=model, messages=messages, **kw)
            choice = reply.choices[0]
            calls = [
                ToolCall(c.id, c.function.name, json.loads(c.function.arguments))
                for c in choice.message.tool_calls or []
            ]
            finish = {"tool_calls": "tool"}.get(choice.finish_reason, choice.finish_reason)
            return Answer(choice.message.content or "", finish, reply.usage.total_tokens), calls
        text, finish, usage, parts = "", "", 0, {}
        for chunk in self.client.chat.completions.create(
            model=model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **kw,
        ):
            if chunk.usage:
                usage = chunk.usage.total_tokens
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
                for call in choice.delta.tool_calls or []:
                    entry = parts.setdefault(call.index, ["", "", ""])
                    entry[0] += call.id or ""
                    if call.function:
                        entry[1] += call.function.name or ""
                        entry[2] += call.function.arguments or ""
        calls = [ToolCall(i, n, json.loads(a)) for i, n, a in parts.values()]
        return Answer(text, {"tool_calls": "tool"}.get(finish, finish), usage), calls

    def ask(self, model: str, prompt: str, stream: bool) -> Answer:
        return self._run(model, [{"role": "user", "content": prompt}], stream)[0]

    def _tools(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "function",
                "function": {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": WEATHER_SCHEMA,
                },
            }
        ]

    def ask_tool(self, model: str, prompt: str, stream: bool) -> tuple[ToolCall, Any]:
        messages = [{"role": "user", "content": prompt}]
        answer, calls = self._run(model, messages, stream, tools=self._tools())
        assert answer.finish == "tool", answer
        return calls[0], messages

    def answer_tool(
        self, model: str, state: Any, call: ToolCall, result: str, stream: bool
    ) -> Answer:
        messages = state + [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": result},
        ]
        return self._run(model, messages, stream, tools=self._tools())[0]

    def ask_image(self, model: str, prompt: str) -> Answer:
        content = [
            {"type": "text", "text": prompt},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG_B64}"}},
        ]
        return self._run(model, [{"role": "user", "content": content}], False)[0]


class OpenAIResponses:
    def __init__(self, url: str) -> None:
        self.client = openai.OpenAI(base_url=f"{url}/v1", api_key=api.TOKEN, max_retries=0)

    def close(self) -> None:
        self.client.close()

    def _run(
        self, model: str, items: Any, stream: bool, **kw: Any
    ) -> tuple[Answer, list[ToolCall], Any]:
        if stream:
            final = None
            with self.client.responses.stream(model=model, input=items, **kw) as events:
                for _ in events:
                    pass
                final = events.get_final_response()
            reply = final
        else:
            reply = self.client.responses.create(model=model, input=items, store=False, **kw)
        calls = [
            ToolCall(item.call_id, item.name, json.loads(item.arguments))
            for item in reply.output
            if item.type == "function_call"
        ]
        finish = "tool" if calls else ("stop" if reply.status == "completed" else reply.status)
        usage = reply.usage.total_tokens if reply.usage else 0
        return Answer(reply.output_text, finish, usage), calls, reply

    def ask(self, model: str, prompt: str, stream: bool) -> Answer:
        return self._run(model, prompt, stream)[0]

    def _tools(self) -> list[dict[str, Any]]:
        return [
            {
                "type": "function",
                "name": "get_weather",
                "description": "Weather",
                "parameters": WEATHER_SCHEMA,
            }
        ]

    def ask_tool(self, model: str, prompt: str, stream: bool) -> tuple[ToolCall, Any]:
        items = [{"role": "user", "content": prompt}]
        answer, calls, _ = self._run(model, items, stream, tools=self._tools())
        assert answer.finish == "tool", answer
        return calls[0], items

    def answer_tool(
        self, model: str, state: Any, call: ToolCall, result: str, stream: bool
    ) -> Answer:
        items = state + [
            {
                "type": "function_call",
                "call_id": call.id,
                "name": call.name,
                "arguments": json.dumps(call.arguments),
            },
            {"type": "function_call_output", "call_id": call.id, "output": result},
        ]
        return self._run(model, items, stream, tools=self._tools())[0]

    def ask_image(self, model: str, prompt: str) -> Answer:
        items = [
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": prompt},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{PNG_B64}"},
                ],
            }
        ]
        return self._run(model, items, False)[0]


class Anthropic:
    def __init__(self, url: str) -> None:
        self.client = anthropic.Anthropic(base_url=url, api_key=api.TOKEN, max_retries=0)

    def close(self) -> None:
        self.client.close()

    def _run(
        self, model: str, messages: list[dict[str, Any]], stream: bool, **kw: Any
    ) -> tuple[Answer, Any]:
        if stream:
            with self.client.messages.stream(
                model=model, max_tokens=500, messages=messages, **kw
            ) as events:
                reply = events.get_final_message()
        else:
            reply = self.client.messages.create(
                model=model, max_tokens=500, messages=messages, **kw
            )
        text = "".join(b.text for b in reply.content if b.type == "text")
        finish = {"end_turn": "stop", "tool_use": "tool", "max_tokens": "length"}.get(
            reply.stop_reason or "", reply.stop_reason or ""
        )
        return Answer(text, finish, reply.usage.input_tokens + reply.usage.output_tokens), reply

    def ask(self, model: str, prompt: str, stream: bool) -> Answer:
        return self._run(model, [{"role": "user", "content": prompt}], stream)[0]

    def _tools(self) -> list[dict[str, Any]]:
        return [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]

    def ask_tool(self, model: str, prompt: str, stream: bool) -> tuple[ToolCall, Any]:
        messages = [{"role": "user", "content": prompt}]
        answer, reply = self._run(model, messages, stream, tools=self._tools())
        assert answer.finish == "tool", answer
        use = next(b for b in reply.content if b.type == "tool_use")
        return ToolCall(use.id, use.name, dict(use.input)), (messages, reply)

    def answer_tool(
        self, model: str, state: Any, call: ToolCall, result: str, stream: bool
    ) -> Answer:
        messages, reply = state
        messages = messages + [
            {
                "role": "assistant",
                "content": [b.model_dump(exclude_none=True) for b in reply.content],
            },
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": result}],
            },
        ]
        return self._run(model, messages, stream, tools=self._tools())[0]

    def ask_image(self, model: str, prompt: str) -> Answer:
        content = [
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
            },
            {"type": "text", "text": prompt},
        ]
        return self._run(model, [{"role": "user", "content": content}], False)[0]


class Google:
    def __init__(self, url: str, api_version: str | None) -> None:
        options = (
            types.HttpOptions(base_url=url, api_version=api_version)
            if api_version
            else types.HttpOptions(base_url=url)
        )
        self.client = genai.Client(api_key=api.TOKEN, http_options=options)

    def close(self) -> None:
        self.client.close()

    def _run(
        self, model: str, contents: Any, stream: bool, config: Any = None
    ) -> tuple[Answer, list[ToolCall], Any]:
        if stream:
            text, finish, usage, calls, last = "", "", 0, [], None
            for chunk in self.client.models.generate_content_stream(
                model=model, contents=contents, config=config
            ):
                last = chunk
                for cand in chunk.candidates or []:
                    for part in (cand.content.parts if cand.content else None) or []:
                        text += part.text or ""
                        if part.function_call:
                            calls.append(
                                ToolCall(
                                    part.function_call.id or "",
                                    part.function_call.name,
                                    dict(part.function_call.args or {}),
                                )
                            )
                    if cand.finish_reason:
                        finish = cand.finish_reason.name
                if chunk.usage_metadata and chunk.usage_metadata.total_token_count:
                    usage = chunk.usage_metadata.total_token_count
            reply = last
        else:
            reply = self.client.models.generate_content(
                model=model, contents=contents, config=config
            )
            parts = reply.candidates[0].content.parts or []
            text = "".join(p.text or "" for p in parts)
            calls = [
                ToolCall(
                    p.function_call.id or "", p.function_call.name, dict(p.function_call.args or {})
                )
                for p in parts
                if p.function_call
            ]
            finish = (
                reply.candidates[0].finish_reason.name if reply.candidates[0].finish_reason else ""
            )
            usage = reply.usage_metadata.total_token_count or 0 if reply.usage_metadata else 0
        finish = "tool" if calls else {"STOP": "stop", "MAX_TOKENS": "length"}.get(finish, finish)
        return Answer(text, finish, usage), calls, reply

    def ask(self, model: str, prompt: str, stream: bool) -> Answer:
        return self._run(model, prompt, stream)[0]

    def _config(self) -> Any:
        declaration = types.FunctionDeclaration(
            name="get_weather", description="Weather", parameters_json_schema=WEATHER_SCHEMA
        )
        return types.GenerateContentConfig(
            tools=[types.Tool(function_declarations=[declaration])],
            automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        )

    def ask_tool(self, model: str, prompt: str, stream: bool) -> tuple[ToolCall, Any]:
        contents = [types.Content(role="user", parts=[types.Part(text=prompt)])]
        answer, calls, _ = self._run(model, contents, stream, self._config())
        assert answer.finish == "tool", answer
        return calls[0], contents

    def answer_tool(
        self, model: str, state: Any, call: ToolCall, result: str, stream: bool
    ) -> Answer:
        contents = state + [
            types.Content(
                role="model",
                parts=[
                    types.Part(
                        function_call=types.FunctionCall(
                            id=call.id or None, name=call.name, args=call.arguments
                        )
                    )
                ],
            ),
            types.Content(
                role="user",
                parts=[
                    types.Part(
                        function_response=types.FunctionResponse(
                            id=call.id or None, name=call.name, response={"result": result}
                        )
                    )
                ],
            ),
        ]
        return self._run(model, contents, stream, self._config())[0]

    def ask_image(self, model: str, prompt: str) -> Answer:
        contents = [
            types.Content(
                role="user",
                parts=[
                    types.Part(text=prompt),
                    types.Part.from_bytes(data=PNG, mime_type="image/png"),
                ],
            )
        ]
        return self._run(model, contents, False)[0]


def make(kind: str, url: str) -> Adapter:
    return {
        "openai_chat": lambda: OpenAIChat(url),
        "openai_responses": lambda: OpenAIResponses(url),
        "anthropic": lambda: Anthropic(url),
        "google_v1": lambda: Google(url, None),  # the SDK's default API version
        "google_v1beta": lambda: Google(url, "v1beta"),
    }[kind]()
