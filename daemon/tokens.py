"""Offline token estimates for `count_tokens` endpoints (no tokenizer download).

ARGO has no counting endpoint and its vendors' tokenizers are not available offline,
so this is an estimate, labelled as such in the docs: text is split the way BPE
tokenizers pre-split it (words with their leading space, digit runs, punctuation
runs) and each piece is charged what such tokenizers typically charge — a common word
of up to ten letters is one token, longer ones one per five letters, three digits a
token, one token per punctuation mark — plus a few
tokens per message and a flat charge per image. It lands within ~15% of real counts on
English prose and code, enough for the context-window decisions clients use it for.

An estimate takes time in proportion to the text (60 to 240 ns a character: over a
second for 20 MB), so a big one is made off the event loop (`estimate`, `in_worker`;
docs/security.md#big-requests): in one worker thread, its text split a slice at a
time, so that no single call holds the GIL for long and the loop gets its turn between
two (the figures: bench/loop_bounds.py, in bench/README.md).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = [
    "INLINE_LIMIT",
    "count_request_tokens",
    "estimate",
    "estimate_text_tokens",
    "in_worker",
    "weighs_more_than",
]

log = logging.getLogger(__name__)
T = TypeVar("T")

_PIECES = re.compile(r" ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+", re.UNICODE)
# Where a text can be cut without changing its pieces: after a character that is no
# space, where the kind of character changes (letters, digits, other marks), and after
# an underscore (no piece takes one). A piece has a space only at its start, so no
# piece spans such a place.
_CUT = re.compile(r"(?<=[^\W\d_])(?![^\W\d_])|(?<=\d)(?!\d)|(?<=[^\s\w])(?![^\s\w])|(?<=_)")
# Characters of text split by one regex call: at most ~2 ms of GIL each (a piece per
# character, the costliest text; one call over 20 MB held it 0.94 s).
_SLICE = 16_384
# An estimate of more than this (characters of text, plus one a JSON value) is made in
# the worker thread rather than on the event loop, where it costs at most ~16 ms (4 ms
# for prose); the hop to the thread costs ~0.1 ms.
INLINE_LIMIT = 65_536
_PER_MESSAGE = 3
_PER_IMAGE = 1000  # a mid-sized image on Claude/GPT vision models
_TEXT_KEYS = (
    "text",
    "content",
    "input",
    "instructions",
    "system",
    "thinking",
    "arguments",
    "output",
    "description",
    "name",
)
_IMAGE_KINDS = ("image", "image_url", "input_image")


def estimate_text_tokens(text: str) -> int:
    """The estimate of one text; a long one a slice at a time, cut where no piece is
    split, so the count is the same as in one go (only inside a run of one kind of
    character longer than a slice can it differ, by a token)."""
    end_of_text = len(text)
    if end_of_text <= _SLICE:
        return _charge(_PIECES.findall(text))
    tokens = start = 0
    while start < end_of_text:
        end = start + _SLICE
        if end >= end_of_text:
            end = end_of_text
        else:
            window = min(end + _SLICE, end_of_text)
            cut = _CUT.search(text, end, window)
            if window == end_of_text:  # the slice takes the rest, up to its first cut
                end = end_of_text if cut is None else cut.start()
            elif cut is not None and cut.start() < window:  # a lookahead at `window`
                end = cut.start()  # sees the end of the text: no cut there
            # else a run of one kind longer than a slice: cut inside it
        tokens += _charge(_PIECES.findall(text, start, end))
        start = end
    return tokens


def _charge(pieces: list[str]) -> int:
    tokens = 0
    for piece in pieces:
        body = piece.strip()
        if not body:
            tokens += 1 if len(piece) > 1 else 0  # a lone space joins the next word
        elif body[0].isdigit():
            tokens += -(-len(body) // 3)
        elif body[0].isalpha():
            tokens += 1 if len(body) <= 10 else -(-len(body) // 5)
        else:
            tokens += len(body)
    return tokens


def _walk(value: Any) -> tuple[int, int]:
    """(text tokens, images) in any client format's request structure."""
    if isinstance(value, str):
        return estimate_text_tokens(value), 0
    if isinstance(value, list):
        totals = [_walk(item) for item in value]
        return sum(t for t, _ in totals), sum(i for _, i in totals)
    if not isinstance(value, dict):
        return 0, 0
    kind = value.get("type")  # any JSON value: a list would not hash
    if kind in _IMAGE_KINDS or "inlineData" in value or "inline_data" in value:
        return 0, 1
    tokens = images = 0
    for key, item in value.items():
        if key in _TEXT_KEYS or key in (
            "messages",
            "contents",
            "parts",
            "tools",
            "functionCall",
            "functionResponse",
            "tool_calls",
        ):
            more, pictures = _walk(item)
            tokens, images = tokens + more, images + pictures
        elif key in ("input_schema", "parameters", "parametersJsonSchema", "args", "response"):
            tokens += estimate_text_tokens(json.dumps(item, ensure_ascii=False))
    return tokens, images


def count_request_tokens(body: dict[str, Any]) -> int:
    """Estimated input tokens of a chat request in any client format (never 0)."""
    messages = body.get("messages") or body.get("contents") or []
    turns = len(messages) if isinstance(messages, list) else 1
    scope = {
        k: body[k]
        for k in (
            "system",
            "instructions",
            "messages",
            "contents",
            "input",
            "tools",
            "systemInstruction",
        )
        if k in body
    }
    text, images = _walk(scope)
    return max(1, text + images * _PER_IMAGE + turns * _PER_MESSAGE)


# --------------------------------------------------------------------- off the loop


def weighs_more_than(value: Any, limit: int) -> bool:
    """Whether `value` (JSON values, as parsed) holds more than `limit` characters of
    text and values; found in at most about `limit` steps, whatever its size."""
    left = limit
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            left -= len(item)
        elif isinstance(item, dict):
            left -= len(item)  # each value's step, paid before it is looked at
            if left >= 0:
                left -= sum(map(len, item))  # the keys: a JSON schema's can be text too
                stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            left -= len(item)
            if left >= 0:
                stack.extend(item)
        if left < 0:
            return True
    return False


@functools.cache
def _worker() -> ThreadPoolExecutor:
    # One thread: a second would take the GIL from the event loop as often again.
    return ThreadPoolExecutor(1, thread_name_prefix="argo-proxy-estimate")


def in_worker(work: Callable[[], T]) -> asyncio.Future[T]:
    """`work()` in the estimates' worker thread; its result on the running loop. The
    work must touch nothing the loop may change meanwhile."""
    return asyncio.get_running_loop().run_in_executor(_worker(), work)


async def estimate(count: Callable[[T], int], value: T) -> int:
    """`count(value)`: on the event loop if `value` is light, else in the worker thread."""
    if not weighs_more_than(value, INLINE_LIMIT):
        return count(value)
    log.debug("estimating tokens in the worker thread")
    return await in_worker(functools.partial(count, value))
