"""The legacy gateway (daemon/backends/gateway.py), through the request path, against
a scripted upstream: streamchat bytes split anywhere (inside multi-byte characters
too), refusals that arrive as answer text, broken streams, and the answers' shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from argo_proxy.daemon.config import Config
from argo_proxy.daemon.errors import UpstreamError
from argo_proxy.daemon.exchange import ClientRequest, JSONResult, StreamResult
from argo_proxy.daemon.pipeline import Pipeline
from argo_proxy.daemon.state import DaemonState
from argo_proxy.daemon.upstream import UpstreamReply

BASE = "http://argo.test/argoapi"
TEXT = "Grüße 世界 🌍 naïve ✓"
NOTICE = "\n\n⚠️ **IMPORTANT AUTHENTICATION NOTICE FROM ARGO** ⚠️\n\nThe username 'x' ..."
COMPLAINT = (
    "You passed a messages field along with a system and or prompt field. Please only pass "
    "messages with any system and user prompts included, or only pass system and prompt alone."
)


@dataclass
class _Stream:
    parts: list[bytes]
    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    fail_after: int | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        for index, part in enumerate(self.parts):
            if index == self.fail_after:
                raise UpstreamError("The connection to ARGO failed: reset")
            yield part

    async def read(self) -> UpstreamReply:
        return UpstreamReply("u", self.status, self.content_type, b"".join(self.parts))


@dataclass
class FakeUpstream:
    """Answers `post` with `reply` and `stream` with `stream`; records what was sent."""

    reply: UpstreamReply | None = None
    stream_reply: _Stream | None = None
    sent: list[tuple[str, Any, Mapping[str, str]]] = field(default_factory=list)

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], **_: Any
    ) -> UpstreamReply:
        self.sent.append((url, json.loads(body), headers))
        assert self.reply is not None
        return self.reply

    @asynccontextmanager
    async def stream(
        self, url: str, body: bytes, headers: Mapping[str, str], **_: Any
    ) -> AsyncIterator[_Stream]:
        self.sent.append((url, json.loads(body), headers))
        assert self.stream_reply is not None
        yield self.stream_reply

    async def fetch(self, url: str, max_bytes: int, timeout: float) -> bytes:
        raise AssertionError("no images here")


@pytest.fixture()
async def gateway() -> AsyncIterator[tuple[Pipeline, FakeUpstream]]:
    """The request path in legacy mode, its upstream client a scripted one."""
    fake = FakeUpstream()
    config = Config(user="jdoe", argo_base_url=BASE, use_legacy_argo=True, auth="none")
    yield Pipeline(DaemonState(config, upstream=fake)), fake  # type: ignore[arg-type]


def request(body: dict[str, Any]) -> ClientRequest:
    return ClientRequest(json.dumps(body).encode(), {})


def json_reply(body: Any, status: int = 200) -> UpstreamReply:
    return UpstreamReply("u", status, "application/json", json.dumps(body).encode())


async def drain(result: Any) -> bytes:
    assert isinstance(result, StreamResult), result
    out = b""
    async for piece in result.chunks:
        out += piece
    await result.chunks.aclose()
    return out


def sse_data(raw: bytes) -> list[Any]:
    lines = [line[6:] for line in raw.decode().split("\n") if line.startswith("data: ")]
    return [line if line == "[DONE]" else json.loads(line) for line in lines]


def splits(data: bytes) -> Iterator[list[bytes]]:
    """`data` cut in two at every byte, then one byte at a time."""
    for cut in range(1, len(data)):
        yield [data[:cut], data[cut:]]
    yield [data[i : i + 1] for i in range(len(data))]


STREAM_BODY = {"model": "gpt4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


async def test_raw_stream_is_exact_however_the_bytes_are_cut(
    gateway: tuple[Pipeline, FakeUpstream],
) -> None:
    legacy, fake = gateway
    for parts in splits(TEXT.encode()):
        fake.stream_reply = _Stream(parts)
        raw = await drain(await legacy.direct("chat", request(STREAM_BODY)))
        assert raw.decode("utf-8") == TEXT, parts
    url, body, headers = fake.sent[-1]
    assert url == f"{BASE}/api/v1/resource/streamchat/"
    assert body["user"] == "jdoe" and "authorization" not in {k.lower() for k in headers}


async def test_chat_chunks_carry_exact_text_and_end_properly(
    gateway: tuple[Pipeline, FakeUpstream],
) -> None:
    legacy, fake = gateway
    for parts in splits(TEXT.encode()):
        fake.stream_reply = _Stream(parts)
        events = sse_data(await drain(await legacy.chat("openai_chat", request(STREAM_BODY))))
        assert events[-1] == "[DONE]"
        chunks = events[:-1]
        deltas = [c["choices"][0]["delta"] for c in chunks]
        assert "".join(d.get("content", "") for d in deltas) == TEXT
        assert all("\ufffd" not in d.get("content", "") for d in deltas)
        assert deltas[0]["role"] == "assistant"
        assert [c["choices"][0]["finish_reason"] for c in chunks][-1] == "stop"


@pytest.mark.parametrize("opening", [NOTICE, COMPLAINT])
async def test_refusals_in_a_stream_become_errors_before_any_byte(
    gateway: tuple[Pipeline, FakeUpstream], opening: str
) -> None:
    legacy, fake = gateway
    data = opening.encode()
    fake.stream_reply = _Stream([data[i : i + 5] for i in range(0, len(data), 5)])
    result = await legacy.direct("chat", request(STREAM_BODY))
    assert isinstance(result, JSONResult)
    if opening is NOTICE:
        assert result.status == 403
    else:
        assert result.status == 400
        assert result.body["error"]["message"].endswith(COMPLAINT)  # reported whole


async def test_text_that_only_starts_like_a_complaint_is_an_answer(
    gateway: tuple[Pipeline, FakeUpstream],
) -> None:
    legacy, fake = gateway
    fake.stream_reply = _Stream([b"You", b" passed", b" the test."])
    assert await drain(await legacy.direct("chat", request(STREAM_BODY))) == b"You passed the test."


async def test_a_broken_stream_says_so(gateway: tuple[Pipeline, FakeUpstream]) -> None:
    legacy, fake = gateway
    fake.stream_reply = _Stream([b"Hello ", b"wor", b"ld"], fail_after=2)
    raw = await drain(await legacy.direct("chat", request(STREAM_BODY)))
    assert raw.startswith(b"Hello wor") and b"[argo-proxy: error 502: The stream from ARGO" in raw
    events = sse_data(await drain(await legacy.chat("openai_chat", request(STREAM_BODY))))
    assert "broke off" in events[-1]["error"]["message"] and "[DONE]" not in events
    fake.stream_reply = _Stream([b"Hello"], fail_after=0)  # before any byte: a JSON error
    failed = await legacy.direct("chat", request(STREAM_BODY))
    assert isinstance(failed, JSONResult) and failed.status == 502


@pytest.mark.parametrize(
    ("reply", "status", "words"),
    [
        (json_reply({"response": NOTICE}), 403, "not registered"),
        (json_reply({"response": COMPLAINT}), 400, "You passed a messages field"),
        (json_reply({"answer": "?"}), 502, "without a response"),
        (json_reply({"response": None}), 502, "without a response"),
        (json_reply({"detail": [{"msg": "Field required"}]}, 422), 422, "Field required"),
        (json_reply({"detail": NOTICE}, 403), 403, "not registered"),
    ],
)
async def test_non_streamed_refusals_and_errors(
    gateway: tuple[Pipeline, FakeUpstream], reply: UpstreamReply, status: int, words: str
) -> None:
    legacy, fake = gateway
    fake.reply = reply
    body = {"model": "gpt4o", "messages": [{"role": "user", "content": "hi"}]}
    for answer in (
        await legacy.direct("chat", request(body)),
        await legacy.chat("openai_chat", request(body)),
    ):
        assert isinstance(answer, JSONResult)
        assert answer.status == status and words in answer.body["error"]["message"]


async def test_v1_chat_returns_argos_bytes_untouched(
    gateway: tuple[Pipeline, FakeUpstream],
) -> None:
    legacy, fake = gateway
    raw = b'{"response":"Hi \\u00e9"}'
    fake.reply = UpstreamReply("u", 200, "application/json", raw)
    result = await legacy.direct("chat", request({"model": "gpt4o", "prompt": "hi"}))
    assert isinstance(result, JSONResult) and result.raw == raw
    assert fake.sent[-1][1]["prompt"] == ["hi"]
    assert fake.sent[-1][0] == f"{BASE}/api/v1/resource/chat/"


async def test_legacy_off_is_a_404(gateway: tuple[Pipeline, FakeUpstream]) -> None:
    legacy, fake = gateway
    legacy.state.set_legacy(False, "test")
    for endpoint in ("chat", "embed", "completions"):
        result = await legacy.direct(endpoint, request({"model": "gpt4o"}))  # type: ignore[arg-type]
        assert isinstance(result, JSONResult) and result.status == 404
        assert "legacy mode is off" in result.body["error"]["message"]
    assert fake.sent == []


async def test_embeddings_in_openai_shape(gateway: tuple[Pipeline, FakeUpstream]) -> None:
    legacy, fake = gateway
    fake.reply = json_reply({"embedding": [[0.5, -0.25], [1.0, 0.0]]})
    result = await legacy.embeddings(request({"model": "v3small", "input": ["a b", "c"]}))
    assert isinstance(result, JSONResult) and result.status == 200
    assert [d["embedding"] for d in result.body["data"]] == [[0.5, -0.25], [1.0, 0.0]]
    assert result.body["usage"]["prompt_tokens"] > 0
    assert fake.sent[-1][1] == {"model": "v3small", "prompt": ["a b", "c"], "user": "jdoe"}
    fake.reply = json_reply({"embedding": [[0.5, -0.25]]})
    shaped = await legacy.embeddings(
        request({"model": "v3small", "input": "a", "encoding_format": "base64"})
    )
    assert isinstance(shaped, JSONResult)
    assert shaped.body["data"][0]["embedding"] == "AAAAPwAAgL4="  # float32 LE of 0.5, -0.25
    refused = await legacy.embeddings(request({"model": "v3small", "input": [1, 2]}))
    assert isinstance(refused, JSONResult) and refused.status == 400


async def test_claude_too_long_for_chat_is_asked_through_streamchat(
    gateway: tuple[Pipeline, FakeUpstream],
) -> None:
    legacy, fake = gateway
    fake.reply = json_reply(
        {"detail": "Streaming is required for operations that may take longer"}, 500
    )
    fake.stream_reply = _Stream([b"Long ", b"answer"])
    body = {
        "model": "claudeopus46",
        "max_tokens": 30000,
        "messages": [{"role": "user", "content": "x"}],
    }
    result = await legacy.chat("openai_chat", request(body))
    assert isinstance(result, JSONResult) and result.status == 200, result
    assert result.body["choices"][0]["message"]["content"] == "Long answer"
    assert [url.rsplit("/", 2)[-2] for url, _, _ in fake.sent] == ["chat", "streamchat"]
