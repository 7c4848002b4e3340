"""Deterministic answer content: read the conversation, decide the reply, count tokens.

Everything here is a pure function of the request (docs/simulator.md#answers): the same
body always gives the same text, tool calls, ids and token counts. Endpoint modules only
dress a `Reply` in their wire shape.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .markers import NO_MARKERS, Markers, read_markers
from .tools import ToolSpec, build_arguments, read_tool_choice

__all__ = [
    "Conversation",
    "Finish",
    "Reply",
    "ToolCall",
    "content_text",
    "count_tokens",
    "fragments",
    "ident",
    "plan_reply",
    "read_messages",
    "read_prompt",
    "split_deltas",
]

Finish = Literal["stop", "length", "tool_calls"]

_TOKEN = re.compile(r"\w+|[^\w\s]")
# A "word" delta keeps its leading blanks, so the deltas concatenate back to the text.
_WORD = re.compile(r"\s*\S+|\s+$")
_FILLER = ("lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit")
_TEXT_PARTS = frozenset(("text", "input_text", "output_text"))
_ALNUM = bytes.maketrans(b"-_", b"xZ")
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def count_tokens(text: str) -> int:
    """Tokens by the simulator's tokenizer: words and punctuation marks."""
    return len(_TOKEN.findall(text)) if text else 0


def ident(digest: bytes, salt: str, length: int, *, url_safe: bool = False) -> str:
    """A stable id fragment from the request digest: alphanumeric, or base64url."""
    raw = hashlib.blake2b(digest + salt.encode(), digest_size=48).digest()
    encoded = base64.urlsafe_b64encode(raw)
    if not url_safe:
        encoded = encoded.translate(_ALNUM)
    return encoded[:length].decode()


# Context coding assistants inject into user turns (Claude Code's reminders, Gemini CLI's
# session context); not the user's words.
_REMINDER = re.compile(r"<(system-reminder|session_context)>.*?</\1>", re.DOTALL)


def _is_tool_results(content: Any) -> bool:
    """A user turn that only hands back tool results (injected reminders aside)."""
    if not isinstance(content, list) or not content:
        return False
    results = [b for b in content if isinstance(b, Mapping) and b.get("type") == "tool_result"]
    others = [b for b in content if not (isinstance(b, Mapping) and b.get("type") == "tool_result")]
    return bool(results) and not content_text(others).strip()


def content_text(content: Any) -> str:
    """The text of a message content: a string, or text parts joined with a space.

    Anthropic `tool_result` blocks contribute their own content's text.
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return _REMINDER.sub("", content).strip() if "</" in content else content
    if isinstance(content, Mapping):
        return str(content.get("text", ""))
    if not isinstance(content, list):
        return str(content)
    parts: list[str] = []
    for part in content:
        if isinstance(part, str):
            parts.append(part)
        elif isinstance(part, Mapping):
            kind = part.get("type")
            if kind in _TEXT_PARTS or (kind is None and "text" in part):
                parts.append(_REMINDER.sub("", str(part.get("text", ""))).strip())
            elif kind == "tool_result":
                parts.append(content_text(part.get("content")))
    return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class Conversation:
    """What the reply depends on, read once from a request."""

    user_text: str  # the last user text, markers removed
    tool_results: tuple[str, ...] | None  # set when the last turn hands back tool results
    user_turn: bool  # the last message is a user's own turn (not results, not assistant)
    markers: Markers
    prompt_tokens: int


EMPTY_CONVERSATION = Conversation("", None, False, NO_MARKERS, 1)


def read_messages(messages: Any, system: Any = None) -> Conversation:
    """Read OpenAI- or Anthropic-shaped `messages` (both appear on ARGO's endpoints)."""
    if not isinstance(messages, list) or not messages:
        return EMPTY_CONVERSATION
    tokens = count_tokens(content_text(system))
    for message in messages:
        if isinstance(message, Mapping):
            tokens += 3 + count_tokens(content_text(message.get("content")))
    last = messages[-1] if isinstance(messages[-1], Mapping) else {}
    role = last.get("role")
    results: tuple[str, ...] | None = None
    if role == "tool":
        trailing: list[str] = []
        for message in reversed(messages):
            if not isinstance(message, Mapping) or message.get("role") != "tool":
                break
            trailing.append(content_text(message.get("content")))
        results = tuple(reversed(trailing))
    elif role == "user" and _is_tool_results(last.get("content")):
        results = tuple(
            content_text(block.get("content"))
            for block in last["content"]
            if isinstance(block, Mapping) and block.get("type") == "tool_result"
        )
    user_raw = ""
    for message in reversed(messages):
        if (
            isinstance(message, Mapping)
            and message.get("role") == "user"
            and not _is_tool_results(message.get("content"))
        ):
            user_raw = content_text(message.get("content"))
            break
    user_text, user_markers = read_markers(user_raw)
    markers = NO_MARKERS
    if results is not None:
        cleaned = [read_markers(r) for r in results]
        results = tuple(text for text, _ in cleaned)
        markers = next((m for _, m in cleaned if m is not NO_MARKERS), NO_MARKERS)
    elif role == "user":
        markers = user_markers
    return Conversation(
        user_text=user_text,
        tool_results=results,
        user_turn=role == "user" and results is None,
        markers=markers,
        prompt_tokens=max(tokens, 1),
    )


def read_prompt(system: Any, prompt: Any) -> Conversation:
    """Read the legacy `system` + `prompt` style; the last prompt is the user text."""
    prompts = [prompt] if isinstance(prompt, str) else list(prompt or [])
    texts = [content_text(p) for p in prompts]
    user_text, markers = read_markers(texts[-1] if texts else "")
    tokens = count_tokens(content_text(system)) + sum(count_tokens(t) for t in texts)
    return Conversation(user_text, None, bool(texts), markers, max(tokens, 1))


@dataclass(frozen=True)
class ToolCall:
    """One call the simulated model makes."""

    name: str
    arguments: Mapping[str, Any]
    arguments_json: str


@dataclass(frozen=True)
class Reply:
    """The answer to one request, before any wire shape."""

    text: str
    tool_calls: tuple[ToolCall, ...]
    finish: Finish
    completion_tokens: int
    reasoning_tokens: int
    thinking: str | None
    delta_count: int  # 0 = one delta per word

    def deltas(self) -> list[str]:
        """The text split into stream deltas."""
        return split_deltas(self.text, self.delta_count)


def split_deltas(text: str, count: int = 0) -> list[str]:
    """Word-by-word deltas, or exactly `count` contiguous groups of words."""
    words = _WORD.findall(text)
    if count <= 0 or count >= len(words):
        return words
    size, extra = divmod(len(words), count)
    out: list[str] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        out.append("".join(words[start:end]))
        start = end
    return out


def fragments(text: str) -> list[str]:
    """Split a JSON argument string into 2-4 pieces, as vendors stream tool arguments."""
    count = max(2, min(4, len(text) // 12))
    size = max(1, -(-len(text) // count))
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _pad(text: str, count: int) -> str:
    # `[[sim:deltas=N]]` on a short text: deterministic filler until there are N words.
    index = 0
    while (missing := count - len(_WORD.findall(text))) > 0:
        # Each " word" adds one delta, except the first when the text ends in blanks.
        for _ in range(missing):
            text += " " + _FILLER[index % len(_FILLER)]
            index += 1
    return text


def _truncate(text: str, limit: int) -> str:
    for number, match in enumerate(_TOKEN.finditer(text), start=1):
        if number == limit:
            return text[: match.end()]
    return text


def _mentions(text: str, name: str) -> bool:
    # A whole-word mention, so a tool called "a" is not picked by "call".
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def _seed_text(text: str) -> str:
    return text[:100] if text else "sim"


def _wants_tool(
    conv: Conversation, tools: Sequence[ToolSpec], tool_choice: Any, forced: str | None
) -> bool:
    """Call a tool only when asked to: a tool named in the prompt, a tool_choice that
    requires one, or a `[[sim:tools=N]]` marker. Coding assistants send dozens of tools
    with every prompt; answering each with a call would loop them forever."""
    required = tool_choice == "required" or (
        isinstance(tool_choice, dict) and tool_choice.get("type") == "any"
    )
    return bool(
        forced
        or required
        or conv.markers.option_int("tools", 0) > 0
        or any(_mentions(conv.user_text, t.name) for t in tools)
    )


def _tool_calls(
    conv: Conversation, tools: Sequence[ToolSpec], forced: str | None
) -> tuple[ToolCall, ...]:
    names = [t.name for t in tools]
    if forced in names:
        first = names.index(forced)
    else:
        first = next((i for i, n in enumerate(names) if _mentions(conv.user_text, n)), 0)
    wanted = max(1, conv.markers.option_int("tools", 1))
    calls = []
    for offset in range(wanted):
        tool = tools[(first + offset) % len(tools)]
        seed = (
            _seed_text(conv.user_text)
            if offset == 0
            else f"{_seed_text(conv.user_text)} {offset + 1}"
        )
        arguments = build_arguments(tool.schema, seed)
        calls.append(ToolCall(tool.name, arguments, _compact(arguments)))
    return tuple(calls)


def plan_reply(
    conv: Conversation,
    *,
    tools: Sequence[ToolSpec] = (),
    tool_choice: Any = None,
    limit: int | None = None,
    override: str | None = None,
    verbatim: bool = False,
    reasoning_floor: int | None = None,
    reasoning: int = 0,
    thinking: bool = False,
) -> Reply:
    """Decide the answer.

    override         exact text (a `reply` fault, or the auth notice with verbatim=True:
                     ARGO answers it before any model runs, so no limits apply).
    limit            the request's token limit; a longer text is cut (finish "length").
    reasoning_floor  for reasoning models: a limit below it is eaten by reasoning and the
                     text comes back empty with finish "length".
    reasoning        the tokens a reasoning model spends before it answers: counted in the
                     completion, and taken from the limit first.
    thinking         add a thinking text (adaptive/enabled thinking on Claude).
    """
    delta_count = conv.markers.option_int("deltas", 0)
    allowed, forced = read_tool_choice(tool_choice)
    calls: tuple[ToolCall, ...] = ()
    # `[[sim:tools=N]]` in a tool result: the model calls a tool again (a longer loop)
    again = conv.tool_results is not None and conv.markers.option_int("tools", 0) > 0
    if override is not None:
        text = override
    elif again and tools and allowed:
        calls = _tool_calls(conv, tools, forced)
        text = ""
    elif conv.tool_results is not None:
        text = "Tool result received: " + " ".join(conv.tool_results)
    elif tools and allowed and conv.user_turn and _wants_tool(conv, tools, tool_choice, forced):
        calls = _tool_calls(conv, tools, forced)
        text = ""
    else:
        text = "Echo: " + conv.user_text
    if verbatim:
        # A canned gateway text arrives whole, in one delta (unless a marker says otherwise).
        return Reply(text, (), "stop", 0, 0, None, delta_count or 1)
    if delta_count > 0 and not calls:
        text = _pad(text, delta_count)
    thought = (
        f"The user wrote {count_tokens(conv.user_text)} tokens; echo them." if thinking else None
    )
    finish: Finish = "tool_calls" if calls else "stop"
    if reasoning_floor is not None and limit is not None and limit < reasoning_floor:
        return Reply("", (), "length", limit, limit, thought, delta_count)
    if limit is not None and limit > 0 and reasoning >= limit:
        return Reply("", (), "length", limit, limit, thought, delta_count)
    room = None if limit is None or limit <= 0 else limit - reasoning
    if room is not None and not calls and count_tokens(text) > room:
        text, finish = _truncate(text, room), "length"
    tokens = reasoning + count_tokens(text)
    tokens += sum(count_tokens(c.name) + count_tokens(c.arguments_json) for c in calls)
    if thought is not None:
        tokens += count_tokens(thought)
    return Reply(text, calls, finish, max(tokens, 1), reasoning, thought, delta_count)
