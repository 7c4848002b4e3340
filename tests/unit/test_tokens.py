"""The offline token estimate (tokens.py): a long text counted a slice at a time counts
the same as in one go, and a big estimate is made off the event loop."""

from __future__ import annotations

import re
import threading
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from argo_proxy.daemon import tokens
from argo_proxy.daemon.tokens import (
    INLINE_LIMIT,
    count_request_tokens,
    estimate,
    estimate_text_tokens,
    weighs_more_than,
)

PROSE = "The quick brown fox jumps over the lazy dog, 12345 times; snake_case too!\n"

# A run of one kind of character (after its spaces): only inside one longer than a
# slice may a cut differ from the one-go count.
_RUN = re.compile(r"\s*(?:[^\W\d_]+|\d+|[^\s\w]+|_+)|\s+")


def in_one_go(text: str) -> int:
    return tokens._charge(tokens._PIECES.findall(text))


def test_a_long_text_counts_the_same_a_slice_at_a_time() -> None:
    text = PROSE * (3 * tokens._SLICE // len(PROSE))
    assert len(text) > 2 * tokens._SLICE
    assert estimate_text_tokens(text) == in_one_go(text)


@given(st.text(alphabet="ab cd_1 2.,\n\t漢字  __é-", max_size=120))
def test_slices_are_cut_where_no_piece_is_split(text: str) -> None:
    slice_ = 9
    if max((len(m.group()) for m in _RUN.finditer(text)), default=0) >= slice_:
        return  # a run longer than a slice: cut inside it (below)
    with patch.object(tokens, "_SLICE", slice_):
        assert estimate_text_tokens(text) == in_one_go(text)


def test_a_run_longer_than_a_slice_is_cut_inside_it() -> None:
    with patch.object(tokens, "_SLICE", 9):
        # one piece of 30 letters in one go (6 tokens), four pieces cut (9+9+9+3 letters)
        assert abs(estimate_text_tokens("a" * 30) - in_one_go("a" * 30)) <= 3


def test_what_weighs_more_than_the_limit() -> None:
    assert not weighs_more_than({"messages": [{"content": "x" * 10}]}, 100)
    assert weighs_more_than({"messages": [{"content": "x" * 101}]}, 100)
    assert weighs_more_than({"k" * 101: 1}, 100)  # keys are text too
    assert weighs_more_than([[]] * 101, 100)  # empty values count
    assert not weighs_more_than([1, None, True, 2.5], 100)


def test_the_weight_is_found_in_bounded_steps() -> None:
    """Each value is paid for before it is looked at: a million of them are found
    too heavy at the first look, not after a walk over them."""
    steps = 0

    class Counted(list[int]):
        def __len__(self) -> int:
            nonlocal steps
            steps += 1
            return super().__len__()

    assert weighs_more_than([0, Counted([0] * 1_000_000)], INLINE_LIMIT)
    assert steps == 1


async def test_a_light_estimate_is_made_on_the_loop_a_heavy_one_in_the_worker() -> None:
    threads: list[str] = []

    def count(body: dict[str, str]) -> int:
        threads.append(threading.current_thread().name)
        return count_request_tokens(body)

    light = {"input": "hello"}
    heavy = {"input": PROSE * (INLINE_LIMIT // len(PROSE) + 1)}
    assert await estimate(count, light) == count_request_tokens(light)
    assert await estimate(count, heavy) == count_request_tokens(heavy)
    assert threads[0] == threading.current_thread().name
    assert threads[1].startswith("argo-proxy-estimate")
