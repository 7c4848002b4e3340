"""Request records (daemon/records.py) and the in-memory log (daemon/request_log.py)."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest

from argo_proxy.daemon import records
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.exchange import ClientRequest, JSONResult, Result
from argo_proxy.daemon.pipeline import Pipeline
from argo_proxy.daemon.records import RECORD_FIELDS, RequestRecord, Usage, client_of
from argo_proxy.daemon.relay import _Monitor
from argo_proxy.daemon.request_log import RequestLog
from argo_proxy.daemon.sse import SSEEvent
from argo_proxy.daemon.state import DaemonState
from argo_proxy.daemon.tokens import INLINE_LIMIT, count_request_tokens, estimate_text_tokens
from argo_proxy.daemon.upstream import UpstreamReply

from .test_legacy import BASE, FakeUpstream


@pytest.mark.parametrize(
    ("user_agent", "client"),
    [
        ("claude-cli/2.1.197 (external, sdk-cli)", ("claude-code", "2.1.197")),
        ("codex_cli_rs/0.169.0 (Ubuntu 24.4.0; x86_64) xterm", ("codex", "0.169.0")),
        (
            "GeminiCLI-tui/0.61.0/gemini-2.5-flash (linux; x64) google-genai-sdk/1.30.0",
            ("gemini-cli", "0.61.0"),
        ),
        ("OpenAI/Python 1.109.1", ("openai-python", "1.109.1")),
        ("Anthropic/Python 0.69.0", ("anthropic-python", "0.69.0")),
        ("google-genai-sdk/1.41.0 gl-python/3.11.2", ("google-genai", "1.41.0")),
        ("ai-sdk/openai-compatible/1.0.19 runtime/node.js/20", ("ai-sdk", "1.0.19")),
        ("curl/8.5.0", ("curl", "8.5.0")),
        ("python-httpx/0.28.1", ("httpx", "0.28.1")),
        ("MyTool/3.1 (+https://example.org)", ("mytool", "3.1")),
        ("", ("unknown", "")),
        (None, ("unknown", "")),
    ],
)
def test_the_client_is_named_from_its_user_agent(
    user_agent: str | None, client: tuple[str, str]
) -> None:
    assert client_of(user_agent) == client


def test_anthropic_usage_counts_cache_reads_and_writes_as_input() -> None:
    usage = Usage()
    usage.see(
        {
            "type": "message_start",
            "message": {
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 1,
                    "cache_read_input_tokens": 30,
                    "cache_creation_input_tokens": 5,
                }
            },
        }
    )
    usage.see({"type": "message_delta", "usage": {"output_tokens": 12}})
    assert (usage.input_tokens, usage.output_tokens) == (45, 12)
    assert (usage.cached_tokens, usage.cache_write_tokens) == (30, 5)
    assert usage.reported and not usage.estimated


def test_openai_usage_keeps_cached_and_reasoning_details() -> None:
    usage = Usage()
    usage.take(
        "openai_chat",
        {
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 20,
                "prompt_tokens_details": {"cached_tokens": 64},
                "completion_tokens_details": {"reasoning_tokens": 8},
            }
        },
    )
    assert (usage.input_tokens, usage.output_tokens) == (100, 20)
    assert (usage.cached_tokens, usage.reasoning_tokens) == (64, 8)


def test_a_record_without_reported_usage_carries_the_estimate() -> None:
    record = RequestRecord.open("/v1/chat/completions", "openai_chat", "curl/8")
    record.sent = {"messages": [{"role": "user", "content": "hello there"}]}
    record.output_text.append("one two three")
    record.close()
    assert record.estimated and record.input_tokens == 5 and record.output_tokens == 3
    assert record.sent is None and record.output_text == []  # let go once counted
    assert record.status == 200 and record.latency_ms >= 0
    assert set(record.to_json()) == set(RECORD_FIELDS)
    assert "output_text" not in RECORD_FIELDS and "usage" not in RECORD_FIELDS


def test_the_first_failure_is_kept_and_none_after_the_record_closed() -> None:
    record = RequestRecord.open("/v1/messages", "anthropic", None)
    record.fail(502, "UpstreamStreamError", "ARGO reported an error")
    record.fail(499, "Cancelled", "later")
    record.close()
    record.fail(503, "Late", "after the end")
    assert record.status == 502 and record.error == {
        "type": "UpstreamStreamError",
        "message": "ARGO reported an error",
    }


def _record(model: str, client: str, status: int, started: float) -> RequestRecord:
    record = RequestRecord.open("/v1/messages", "anthropic", f"{client}/1")
    record.model, record.status, record.started_at = model, status, started
    return record


def test_the_log_keeps_the_newest_and_filters() -> None:
    log = RequestLog(3)
    heard: list[str] = []
    log.subscribe(lambda r: heard.append(r.id))
    records = [
        _record("gpt-4o", "curl", 200, 1.0),
        _record("claude", "curl", 429, 2.0),
        _record("claude", "aider", 200, 3.0),
        _record("gpt-4o", "aider", 503, 4.0),
    ]
    for record in records:
        log.add(record)
    assert heard == [r.id for r in records]
    assert log.get(records[0].id) is None  # dropped: the ring holds 3
    assert [r.id for r in log.recent(10)] == [r.id for r in reversed(records[1:])]
    assert [r.id for r in log.recent(10, status="error")] == [records[3].id, records[1].id]
    assert [r.id for r in log.recent(10, status="4xx")] == [records[1].id]
    assert [r.id for r in log.recent(10, model="claude", client="aider")] == [records[2].id]
    assert [r.id for r in log.recent(1, since=2.5)] == [records[3].id]
    log.resize(1)
    assert [r.id for r in log.recent(10)] == [records[3].id]


def test_a_failing_listener_does_not_stop_the_others() -> None:
    log = RequestLog(5)
    heard: list[str] = []

    def broken(record: RequestRecord) -> None:
        raise RuntimeError("boom")

    log.subscribe(broken)
    log.subscribe(lambda r: heard.append(r.id))
    record = _record("m", "curl", 200, 1.0)
    log.add(record)
    assert heard == [record.id]


THOUGHT = "The user wrote five tokens; echo them."


def test_claudes_thinking_is_recorded_as_an_estimate_of_reasoning_tokens() -> None:
    """Claude counts thinking inside output_tokens only (docs/observability.md#tokens)."""
    record = RequestRecord.open("/v1/messages", "anthropic", None)
    record.usage.take(
        "anthropic",
        {
            "content": [
                {"type": "thinking", "thinking": THOUGHT, "signature": "s"},
                {"type": "text", "text": "hi"},
            ],
            "usage": {"input_tokens": 5, "output_tokens": 30},
        },
    )
    record.close()
    assert record.reasoning_tokens == estimate_text_tokens(THOUGHT) > 0
    assert record.output_tokens == 30 and not record.estimated
    assert record.usage.thinking == []  # the text is not kept


def test_the_relay_hands_claudes_streamed_thinking_to_the_record() -> None:
    record = RequestRecord.open("/v1/messages", "anthropic", None)
    monitor = _Monitor(record)
    events = [
        {"type": "message_start", "message": {"id": "m", "usage": {"input_tokens": 5}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking"}},
        *(
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": piece}}
            for piece in ("The user wrote five ", "tokens; echo them.")
        ),
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "x"}},
        {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 3}},
    ]  # fmt: skip
    for event in events:
        assert monitor.see(SSEEvent("", json.dumps(event)), [])
    record.close()
    # never more than the output count ARGO reported
    assert record.reasoning_tokens == min(estimate_text_tokens(THOUGHT), 3) == 3


def test_a_reported_reasoning_count_is_not_replaced_by_an_estimate() -> None:
    usage = Usage()
    details = {"reasoning_tokens": 7}
    usage.take(
        "openai_chat", {"usage": {"completion_tokens": 9, "completion_tokens_details": details}}
    )
    usage.thinking.append(THOUGHT)
    usage.settle()
    assert usage.reasoning_tokens == 7 and usage.thinking == []


# ------------------------------------------------------------- a big request's estimate


async def _failed_chat(content: str) -> tuple[Pipeline, Result]:
    """A chat request ARGO answers with a 500, so with no usage: the record estimates."""
    fake = FakeUpstream(reply=UpstreamReply("u", 500, "application/json", b'{"error": "down"}'))
    config = Config(user="jdoe", argo_base_url=BASE, auth="none", retries=0)
    pipeline = Pipeline(DaemonState(config, upstream=fake))  # type: ignore[arg-type]
    body = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": content}]}
    result = await pipeline.chat("openai_chat", ClientRequest(json.dumps(body).encode(), {}))
    return pipeline, result


async def test_a_small_requests_record_is_handed_on_with_its_answer() -> None:
    pipeline, result = await _failed_chat("hello there")
    assert isinstance(result, JSONResult) and result.status == 502
    (record,) = pipeline.state.requests.recent(10)
    assert record.estimated and record.input_tokens == 5


async def test_a_big_requests_estimate_is_made_in_the_worker_then_its_record_handed_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On the event loop, the estimate of a 20 MB request held every other request for
    seconds: it is made in the worker thread, the answer goes out meanwhile, and the
    record is handed on (ring, metrics, store) once it is done."""
    threads: list[str] = []

    def count(body: dict[str, Any]) -> int:
        threads.append(threading.current_thread().name)
        return count_request_tokens(body)

    monkeypatch.setattr(records, "count_request_tokens", count)
    content = "word " * INLINE_LIMIT
    pipeline, result = await _failed_chat(content)
    assert isinstance(result, JSONResult) and result.status == 502
    assert pipeline.state.requests.recent(10) == []  # the estimate is under way
    handed_on = asyncio.Event()
    pipeline.state.requests.subscribe(lambda _: handed_on.set())
    await asyncio.wait_for(handed_on.wait(), 30)
    (record,) = pipeline.state.requests.recent(10)
    assert threads and all(name.startswith("argo-proxy-estimate") for name in threads)
    expected = count_request_tokens({"messages": [{"role": "user", "content": content}]})
    assert record.estimated and record.input_tokens == expected
    assert record.status == 502 and record.latency_ms > 0
