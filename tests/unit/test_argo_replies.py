"""Reading ARGO's answers: 200s that are errors, the auth notice, forced-stream folding."""

from __future__ import annotations

import json

import pytest

from argo_proxy.daemon.argo_replies import (
    NoticeWatch,
    aggregate_anthropic_stream,
    check_reply,
    error_from_status,
    is_streaming_required,
)
from argo_proxy.daemon.errors import UpstreamAuthError, UpstreamError
from argo_proxy.daemon.sse import SSEEvent

NOTICE_1 = (
    "\n\n⚠️ **IMPORTANT AUTHENTICATION NOTICE FROM ARGO** ⚠️\n\n🚫 **ACCESS DENIED** 🚫\n\n"
    "The username 'x' could not be validated."
)
NOTICE_2 = "\n\n IMPORTANT AUTHENTICATION NOTICE FROM ARGO \n\n ACCESS DENIED \n\n"


@pytest.mark.parametrize("notice", [NOTICE_1, NOTICE_2])
def test_notice_is_found_even_when_split_into_small_deltas(notice: str) -> None:
    watch = NoticeWatch()
    for i in range(0, len(notice), 3):
        watch.feed(notice[i : i + 3])
        if watch.decided:
            break
    assert watch.is_notice


@pytest.mark.parametrize("first", ["Hello", "\n\nSure", "I ", "**Bold**"])
def test_ordinary_text_releases_at_once(first: str) -> None:
    watch = NoticeWatch()
    watch.feed(first)
    assert watch.decided and not watch.is_notice


def test_text_that_could_still_be_the_notice_waits() -> None:
    watch = NoticeWatch()
    watch.feed("\n\n⚠️ **IMPORT")
    assert not watch.decided


def test_check_reply_spots_errors_and_notices() -> None:
    with pytest.raises(UpstreamError, match="Internal server error"):
        check_reply(
            {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}},
            "anthropic",
        )
    with pytest.raises(UpstreamAuthError):
        check_reply({"choices": [{"message": {"content": NOTICE_1}}]}, "openai_chat")
    with pytest.raises(UpstreamAuthError):
        check_reply(
            {"id": "msg_blocked_jdoe_1", "content": [{"type": "text", "text": "x"}]}, "anthropic"
        )
    ok = {"choices": [{"message": {"content": "quoting AUTHENTICATION NOT..."}}]}
    assert check_reply(ok, "openai_chat") is ok


def test_error_from_status_keeps_4xx_and_maps_500_to_bad_gateway() -> None:
    body = {"error": {"message": "Unsupported value: 'temperature'", "code": "internal_error"}}
    err = error_from_status(400, json.dumps(body).encode())
    assert (err.status, err.upstream_status) == (400, 400)
    assert "Unsupported value" in err.message
    err = error_from_status(
        500,
        b'{"type":"error","error":{"type":"api_error","message":'
        b'"Streaming is required for operations that may take longer"}}',
    )
    assert err.status == 502 and is_streaming_required(err)
    html = error_from_status(502, b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert "502 Bad Gateway" in html.message and "<h1>" not in html.message
    missing = error_from_status(400, b'{"error":{"message":"no","code":"model_not_found"}}')
    assert missing.status == 404


def _events(*events: dict) -> list[SSEEvent]:
    return [SSEEvent(e["type"], json.dumps(e)) for e in events]


def test_forced_stream_folds_into_one_message() -> None:
    message = aggregate_anthropic_stream(
        _events(
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-opus-4-6",
                    "content": [],
                    "usage": {"input_tokens": 5, "output_tokens": 1},
                },
            },
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "thinking", "thinking": ""},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "thinking_delta", "thinking": "hm"},
            },
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "signature_delta", "signature": "sig"},
            },
            {"type": "content_block_stop", "index": 0},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "text", "text": ""},
            },
            {"type": "ping"},
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "Hi "},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "text_delta", "text": "there"},
            },
            {
                "type": "content_block_start",
                "index": 2,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
            },
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": '{"a"'},
            },
            {
                "type": "content_block_delta",
                "index": 2,
                "delta": {"type": "input_json_delta", "partial_json": ": 1}"},
            },
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use"},
                "usage": {"output_tokens": 9},
            },
            {"type": "message_stop"},
        )
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "hm", "signature": "sig"},
        {"type": "text", "text": "Hi there"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
    ]
    assert message["stop_reason"] == "tool_use"
    assert message["usage"] == {"input_tokens": 5, "output_tokens": 9}


def test_error_event_in_a_forced_stream_is_an_error_not_a_message() -> None:
    with pytest.raises(UpstreamError, match="Overloaded"):
        aggregate_anthropic_stream(
            _events(
                {"type": "message_start", "message": {"id": "m", "content": []}},
                {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            )
        )
