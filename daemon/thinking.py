"""Claude's signed thinking, carried through client formats that have no place for it
(docs/translation.md#thinking).

With thinking on, Claude refuses a tool loop whose last tool turn comes back without
the signed thinking block it began with. Anthropic clients send the blocks back
themselves; the other formats have no field for a signed block, and most agents keep
only the standard fields of a turn. So, on requests converted for a Claude model:

- each answer's thinking blocks ride in a field the client's format sends back
  unchanged, a *carrier*: the `encrypted_content` of a Responses reasoning item, the
  `thinking_blocks` of a Chat message (LiteLLM's convention), the `thoughtSignature` of
  a Google function call part;
- the blocks of every tool turn the daemon relayed are also kept in memory, in a
  bounded `ThinkingStore` keyed by (ARGO user, tool call id), for the agents that drop
  unknown fields;
- on the way back to ARGO each assistant tool turn gets its blocks again, from its
  carrier or else from the store. If the turn Claude checks still has none (the daemon
  restarted, the history was edited, the store let it go), the request goes with
  thinking off instead of failing (`thinking_off_if_lost`, on every request for
  Claude, whatever its format).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .formats import ClientFormat

__all__ = [
    "CARRIER_FORMATS",
    "StreamThinking",
    "ThinkingStore",
    "UserThinking",
    "annotate_answer",
    "blocks_of",
    "decode",
    "encode",
    "restore",
    "take_carriers",
    "thinking_off_if_lost",
    "tool_ids_of",
]

log = logging.getLogger(__name__)

Block = dict[str, Any]
Blocks = tuple[Block, ...]
Event = dict[str, Any]
Body = dict[str, Any]

THINKING_TYPES = frozenset(("thinking", "redacted_thinking"))
# The client formats that get carriers (an Anthropic client sends the blocks itself).
CARRIER_FORMATS: frozenset[ClientFormat] = frozenset(("openai_chat", "openai_responses", "google"))

# --------------------------------------------------------------------------- carrier
# base64 of a fixed 24-byte prefix and the blocks as JSON: valid wherever the format
# wants base64 (google-genai decodes `thoughtSignature` into bytes and encodes it back,
# maybe with the URL-safe alphabet), recognisable by its first 32 characters.
_MAGIC = b"argo-proxy:thinking:v01:"
_PREFIXES = (
    base64.b64encode(_MAGIC).decode(),
    base64.urlsafe_b64encode(_MAGIC).decode(),
)


def encode(blocks: Iterable[Block]) -> str:
    """The carrier of a turn's thinking blocks."""
    data = json.dumps(list(blocks), ensure_ascii=False, separators=(",", ":")).encode()
    return base64.b64encode(_MAGIC + data).decode()


def _valid(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    if block.get("type") == "thinking":
        return isinstance(block.get("thinking"), str) and isinstance(block.get("signature"), str)
    return block.get("type") == "redacted_thinking" and isinstance(block.get("data"), str)


def _clean(blocks: Any) -> Blocks | None:
    """Thinking blocks as Claude takes them back, or None if `blocks` is not a list of
    them (a client's own field of that name, an edited history)."""
    if not isinstance(blocks, list) or not blocks or not all(_valid(b) for b in blocks):
        return None
    keys = {"thinking": ("type", "thinking", "signature"), "redacted_thinking": ("type", "data")}
    return tuple({k: b[k] for k in keys[b["type"]]} for b in blocks)


def decode(value: Any) -> Blocks | None:
    """The blocks in a carrier; None if `value` is not one of ours."""
    if not isinstance(value, str) or not value.startswith(_PREFIXES):
        return None
    try:
        raw = base64.b64decode(value.replace("-", "+").replace("_", "/"), validate=True)
        blocks = json.loads(raw[len(_MAGIC) :])
    except (binascii.Error, ValueError):
        return None
    return _clean(blocks)


# ----------------------------------------------------------------------------- store
class ThinkingStore:
    """The thinking blocks of the tool turns the daemon relayed, in memory only, keyed
    by (ARGO user, tool call id): one user's thinking never goes into another user's
    request. Bounded by size (the oldest go first) and by age."""

    def __init__(
        self,
        max_bytes: int = 64 * 1024 * 1024,
        max_age: float = 24 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[Blocks, int, float]] = OrderedDict()
        self.size = 0

    def __len__(self) -> int:
        return len(self._entries)

    def keep(self, user: str, tool_ids: Iterable[str], blocks: Blocks) -> None:
        """Remember `blocks` as the thinking of the turn that made these tool calls."""
        size = sum(len(str(v)) for b in blocks for v in b.values())
        expires = self._clock() + self.max_age
        for tool_id in tool_ids:
            key = (user, tool_id)
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= old[1]
            self._entries[key] = (blocks, size, expires)
            self.size += size
        while self.size > self.max_bytes and self._entries:
            _, (_, dropped, _) = self._entries.popitem(last=False)
            self.size -= dropped

    def get(self, user: str, tool_id: str) -> Blocks | None:
        entry = self._entries.get((user, tool_id))
        if entry is None:
            return None
        blocks, size, expires = entry
        if expires < self._clock():
            del self._entries[(user, tool_id)]
            self.size -= size
            return None
        return blocks


class UserThinking:
    """The store as one ARGO user's requests see it."""

    __slots__ = ("_store", "_user")

    def __init__(self, store: ThinkingStore, user: str) -> None:
        self._store = store
        self._user = user

    def keep(self, tool_ids: Iterable[str], blocks: Blocks) -> None:
        self._store.keep(self._user, tool_ids, blocks)

    def get(self, tool_id: str) -> Blocks | None:
        return self._store.get(self._user, tool_id)


# ----------------------------------------------------------------- the way to ARGO
Carried = dict[str, Blocks]  # tool call id → the thinking of its turn


def _responses_carriers(body: Body) -> Carried:
    """Reasoning items carrying our blocks are taken out (llm-rosetta would make a
    thinking block signed with the carrier itself); their blocks go to the function
    calls that follow them in the same turn."""
    items = body.get("input")
    if not isinstance(items, list):
        return {}
    carried: Carried = {}
    kept: list[Any] = []
    pending: Blocks | None = None
    for item in items:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "reasoning":
            blocks = decode(item.get("encrypted_content"))
            if blocks is not None:
                pending = blocks  # the last carrier of a turn holds all of its blocks
                continue
        elif kind == "function_call":
            if pending is not None and isinstance(item.get("call_id"), str):
                carried[item["call_id"]] = pending
        elif kind == "function_call_output" or (
            isinstance(item, dict) and item.get("role") in ("user", "system", "developer")
        ):
            pending = None
        kept.append(item)
    if len(kept) != len(items):
        body["input"] = kept
    return carried


def _chat_carriers(body: Body) -> Carried:
    carried: Carried = {}
    for message in body.get("messages") or ():
        if not isinstance(message, dict) or "thinking_blocks" not in message:
            continue
        blocks = _clean(message.pop("thinking_blocks"))
        if blocks is None:
            continue
        for call in message.get("tool_calls") or ():
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                carried[call["id"]] = blocks
    return carried


def _google_carriers(body: Body) -> Carried:
    carried: Carried = {}
    for turn in body.get("contents") or ():
        if not isinstance(turn, dict) or turn.get("role") != "model":
            continue
        parts = [p for p in turn.get("parts") or () if isinstance(p, dict)]
        blocks: Blocks | None = None
        for part in parts:
            found = decode(part.get("thoughtSignature"))
            if found is not None:
                del part["thoughtSignature"]
                blocks = found
        if blocks is None:
            continue
        for part in parts:
            call = part.get("functionCall")
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                carried[call["id"]] = blocks
    return carried


_TAKE: dict[ClientFormat, Callable[[Body], Carried]] = {
    "openai_responses": _responses_carriers,
    "openai_chat": _chat_carriers,
    "google": _google_carriers,
}


def take_carriers(fmt: ClientFormat, body: Body) -> Carried:
    """Take our carriers out of a client's request (ours to change) before it is
    converted: the blocks they hold, by the tool call ids of their turns."""
    take = _TAKE.get(fmt)
    return take(body) if take is not None else {}


def tool_ids_of(content: Any) -> list[str]:
    """The ids of the tool_use blocks in an Anthropic message content."""
    if not isinstance(content, list):
        return []
    return [
        b["id"]
        for b in content
        if isinstance(b, dict) and b.get("type") == "tool_use" and isinstance(b.get("id"), str)
    ]


def blocks_of(content: Any) -> Blocks:
    """The signed thinking blocks of an Anthropic message content, in order."""
    if not isinstance(content, list):
        return ()
    return tuple(dict(b) for b in content if _valid(b) and (b.get("signature") or b.get("data")))


def _starts_with_thinking(content: Any) -> bool:
    return (
        isinstance(content, list)
        and bool(content)
        and isinstance(content[0], dict)
        and content[0].get("type") in THINKING_TYPES
    )


def _final_tool_turn(messages: list[Any]) -> dict[str, Any] | None:
    """The assistant turn Claude checks: the last one, if it used tools and only its
    tool results follow it."""
    if len(messages) < 2:
        return None
    last, turn = messages[-1], messages[-2]
    if not (isinstance(last, dict) and isinstance(turn, dict)):
        return None
    if last.get("role") != "user" or turn.get("role") != "assistant":
        return None
    return turn if tool_ids_of(turn.get("content")) else None


def restore(body: Body, carried: Carried, stored: Callable[[str], Blocks | None]) -> int:
    """Give each assistant tool turn of an Anthropic request its thinking blocks back,
    from the client's carriers or from the store (`stored(tool_id)`); how many turns
    got theirs."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    restored = 0
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        content = message.get("content")
        ids = tool_ids_of(content)
        if not ids or not isinstance(content, list) or _starts_with_thinking(content):
            continue
        blocks = next(
            (b for b in (carried.get(i) or stored(i) for i in ids) if b is not None), None
        )
        if blocks is None:
            continue
        rest = [b for b in content if not (isinstance(b, dict) and b.get("type") in THINKING_TYPES)]
        messages[index] = {**message, "content": [*(dict(b) for b in blocks), *rest]}
        restored += 1
    return restored


def thinking_off_if_lost(body: Body) -> bool:
    """A request for Claude, as it will be sent: when thinking is on and the tool turn
    Claude checks has no thinking (the daemon restarted, the history was edited, the
    store let it go), turn thinking off for this request rather than have it refused
    with a 400 the client cannot fix. Whether it did."""
    thinking = body.get("thinking")
    if not (isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive")):
        return False
    messages = body.get("messages")
    final = _final_tool_turn(messages) if isinstance(messages, list) else None
    if final is None or _starts_with_thinking(final.get("content")):
        return False
    del body["thinking"]
    log.info(
        "thinking off for this request: the thinking of tool call(s) %s could not be "
        "restored (the daemon restarted, the history was edited, or it was let go)",
        ", ".join(tool_ids_of(final.get("content"))),
    )
    return True


# --------------------------------------------------------------- the way to the client
def _responses_annotate(answer: Body, blocks: Blocks) -> None:
    carrier = encode(blocks)
    output = answer.get("output")
    if not isinstance(output, list):
        return
    reasoning = [i for i in output if isinstance(i, dict) and i.get("type") == "reasoning"]
    for item in reasoning:
        item["encrypted_content"] = carrier
        if not _wants_summaries(answer):
            item["summary"] = []
    if not reasoning:  # only redacted thinking: llm-rosetta made no item for it
        output.insert(
            0,
            {
                "type": "reasoning",
                "id": "rs_" + str(answer.get("id", "")).removeprefix("resp_"),
                "summary": [],
                "encrypted_content": carrier,
                "status": "completed",
            },
        )


def _chat_annotate(answer: Body, blocks: Blocks) -> None:
    for choice in answer.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict):
            message["thinking_blocks"] = [dict(b) for b in blocks]


def _google_parts(candidate: Any) -> list[Any]:
    content = candidate.get("content") if isinstance(candidate, dict) else None
    parts = content.get("parts") if isinstance(content, dict) else None
    return parts if isinstance(parts, list) else []


def _google_annotate(answer: Body, blocks: Blocks) -> None:
    """On the turn's first function call part, where Gemini puts its own signature."""
    for candidate in answer.get("candidates") or ():
        for part in _google_parts(candidate):
            if isinstance(part, dict) and "functionCall" in part:
                part["thoughtSignature"] = encode(blocks)
                return


def _wants_summaries(answer: Body) -> bool:
    """Responses: reasoning summaries only when the client asked for them, as OpenAI
    has it (llm-rosetta echoes the request's `reasoning` into the answer)."""
    reasoning = answer.get("reasoning")
    return isinstance(reasoning, dict) and bool(reasoning.get("summary"))


_ANNOTATE: dict[ClientFormat, Callable[[Body, Blocks], None]] = {
    "openai_responses": _responses_annotate,
    "openai_chat": _chat_annotate,
    "google": _google_annotate,
}


def annotate_answer(fmt: ClientFormat, answer: Any, blocks: Blocks) -> None:
    """Put the carrier of `blocks` into a converted answer, in place."""
    annotate = _ANNOTATE.get(fmt)
    if annotate is not None and blocks and isinstance(answer, dict):
        annotate(answer, blocks)


class StreamThinking:
    """The thinking of one streamed Claude answer, read from ARGO's events as they pass,
    and its carriers put into the client's events."""

    def __init__(
        self, fmt: ClientFormat, keep: Callable[[list[str], Blocks], None], model: str
    ) -> None:
        self._fmt = fmt
        self._keep = keep
        self._model = model
        self._open: dict[int, tuple[Block, list[str]]] = {}  # index → (block, text pieces)
        self.blocks: list[Block] = []
        self._finished: list[Block] = []  # blocks completed by the last upstream event
        self._tool_ids: list[str] = []
        self._message_id = ""
        self._kept = False
        self._signed = False  # Google: the turn's first function call part got it
        self._summaries = True  # Responses: the client asked for reasoning summaries

    def upstream(self, event: Event) -> None:
        """Read one ARGO (Anthropic) event."""
        kind = event.get("type")
        self._finished = []
        if kind == "content_block_delta":
            delta = event.get("delta") or {}
            entry = self._open.get(event.get("index", -1))
            if entry is None:
                return
            if delta.get("type") == "thinking_delta":
                entry[1].append(str(delta.get("thinking", "")))
            elif delta.get("type") == "signature_delta":
                entry[0]["signature"] = str(delta.get("signature", ""))
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            index = event.get("index", -1)
            if block.get("type") == "thinking":
                self._open[index] = ({"type": "thinking", "thinking": "", "signature": ""}, [])
            elif block.get("type") == "redacted_thinking":
                self._open[index] = ({"type": "redacted_thinking", "data": block.get("data")}, [])
            elif block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                self._tool_ids.append(block["id"])
        elif kind == "content_block_stop":
            entry = self._open.pop(event.get("index", -1), None)
            if entry is not None:
                block, pieces = entry
                if block["type"] == "thinking":
                    block["thinking"] = "".join(pieces)
                if _valid(block) and (block.get("signature") or block.get("data")):
                    self.blocks.append(block)
                    self._finished.append(block)
        elif kind == "message_start":
            self._message_id = str((event.get("message") or {}).get("id", ""))
        elif kind in ("message_delta", "message_stop") and not self._kept:
            self._kept = True
            if self.blocks and self._tool_ids:
                self._keep(self._tool_ids, tuple(self.blocks))

    def client(self, events: list[Event]) -> list[Event]:
        """The client's events for the last upstream event, with carriers added."""
        if not self.blocks and self._fmt != "openai_responses":  # (summaries are hidden early)
            return events
        return list(_PATCH[self._fmt](self, events))

    def _chat(self, events: list[Event]) -> Iterator[Event]:
        yield from events
        for block in self._finished:  # one chunk per finished block, as it finishes
            yield {
                "id": self._message_id,
                "object": "chat.completion.chunk",
                "created": 0,
                "model": self._model,
                "choices": [
                    {"index": 0, "delta": {"thinking_blocks": [dict(block)]}, "finish_reason": None}
                ],
            }

    def _responses(self, events: list[Event]) -> Iterator[Event]:
        carrier = encode(self.blocks) if self.blocks else None
        for event in events:
            kind = str(event.get("type", ""))
            if kind == "response.created":
                self._summaries = _wants_summaries(event.get("response") or {})
            elif kind.startswith("response.reasoning_summary") and not self._summaries:
                continue
            items = [event.get("item")]
            if kind == "response.completed":
                items = list((event.get("response") or {}).get("output") or ())
            for item in items:
                if isinstance(item, dict) and item.get("type") == "reasoning":
                    if not self._summaries:
                        item["summary"] = []
                    if carrier is not None and kind != "response.output_item.added":
                        item["encrypted_content"] = carrier
            yield event

    def _google(self, events: list[Event]) -> Iterator[Event]:
        for event in events:
            if not self._signed:
                for candidate in event.get("candidates") or ():
                    for part in _google_parts(candidate):
                        if isinstance(part, dict) and "functionCall" in part:
                            part["thoughtSignature"] = encode(self.blocks)
                            self._signed = True
                            break
            yield event


_PATCH: dict[ClientFormat, Callable[[StreamThinking, list[Event]], Iterator[Event]]] = {
    "openai_chat": StreamThinking._chat,
    "openai_responses": StreamThinking._responses,
    "google": StreamThinking._google,
}
