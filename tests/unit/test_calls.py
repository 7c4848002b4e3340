"""The front half of the request path (daemon/calls.py) and the backend dispatch
(daemon/pipeline.py), without processes: what intake makes of each endpoint's request,
the errors it answers, the backend each call goes to, and the seam a fallback uses
(another model, from the client's body as sent)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from argo_proxy.daemon.calls import Call, Intake
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.errors import ClientRequestError, ModelNotFoundError
from argo_proxy.daemon.exchange import ClientRequest, JSONResult, Result
from argo_proxy.daemon.formats import FORMATS
from argo_proxy.daemon.legacy_requests import CHAT_ENDPOINTS
from argo_proxy.daemon.observer import Observer
from argo_proxy.daemon.pipeline import Pipeline
from argo_proxy.daemon.state import DaemonState
from argo_proxy.daemon.upstream import UpstreamReply

from .observed import Seen
from .test_legacy import BASE, FakeUpstream

HELLO = [{"role": "user", "content": "hello"}]


def state(**settings: Any) -> DaemonState:
    config = Config(user="jdoe", argo_base_url=BASE, auth="none", **settings)
    return DaemonState(config, upstream=FakeUpstream())  # type: ignore[arg-type]


def request(body: Any, **extra: Any) -> ClientRequest:
    return ClientRequest(json.dumps(body).encode(), {}, **extra)


async def chat_call(fmt: str, body: Any, daemon: DaemonState | None = None, **extra: Any) -> Call:
    daemon = daemon or state()
    req = request(body, **extra)
    return await Intake(daemon).chat(FORMATS[fmt], req, daemon.config, Seen())  # type: ignore[index]


# ------------------------------------------------------------------------- intake


async def test_a_chat_call_holds_what_the_rest_of_the_path_needs() -> None:
    daemon, seen = state(), Seen()
    body = {"model": "argo:gpt-4o", "messages": HELLO, "stream": True, "timeout": 30}
    req = request(body)
    call = await Intake(daemon).chat(FORMATS["openai_chat"], req, daemon.config, seen)
    assert (call.requested_model, call.model, call.rule) == ("argo:gpt-4o", "gpt4o", None)
    assert call.upstream == "openai_chat" and call.route is not None
    assert call.route.url.endswith("/chat/completions")
    assert call.user == "jdoe" and call.timeout == 30.0 and call.stream
    assert call.kind == "chat" and call.spec is FORMATS["openai_chat"] and call.endpoint is None
    assert "timeout" not in call.body and call.body["messages"] == HELLO
    assert req.body == b""  # parsed: the raw bytes are let go
    assert seen.events == [
        ("asked", ("argo:gpt-4o", True), {}),
        ("chose", ("gpt4o", "openai_chat", None), {}),
    ]


async def test_claude_goes_to_argos_anthropic_api_whatever_the_clients_format() -> None:
    for fmt in ("openai_chat", "anthropic"):
        body = {"model": "claude-sonnet-4-6", "messages": HELLO, "max_tokens": 10}
        call = await chat_call(fmt, body)
        assert call.model == "claudesonnet46" and call.upstream == "anthropic"
        assert call.route is not None and call.route.url.endswith("/v1/messages")
        assert call.spec.name == fmt


async def test_googles_model_and_stream_flag_come_from_the_url() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    call = await chat_call("google", body, path_model="gemini-2.5-flash", path_stream=True)
    assert (call.requested_model, call.model, call.stream) == (
        "gemini-2.5-flash",
        "gemini25flash",
        True,
    )


async def test_the_legacy_endpoints_and_embeddings_make_calls_of_their_kind() -> None:
    daemon = state(use_legacy_argo=True)
    intake, config = Intake(daemon), daemon.config
    chat = await intake.gateway_chat(
        "chat", request({"model": "gpt-4o", "messages": HELLO}), config, Seen()
    )
    assert chat.upstream == "gateway" and chat.endpoint is CHAT_ENDPOINTS["chat"]
    assert chat.route is None and chat.spec is FORMATS["openai_chat"]
    body = {"model": "text-embedding-3-small", "input": "x"}
    modern = await intake.embeddings("embeddings", request(body), config, Seen(), gateway=False)
    legacy = await intake.embeddings("embeddings", request(body), config, Seen(), gateway=True)
    embed = await intake.embeddings(
        "embed", request({"model": "v3small", "prompt": ["x"]}), config, Seen(), gateway=True
    )
    assert (modern.kind, modern.upstream, modern.model) == ("embeddings", "embeddings", "v3small")
    assert (legacy.kind, legacy.upstream) == ("embeddings", "gateway")
    assert (embed.kind, embed.upstream, embed.model) == ("embed", "gateway", "v3small")


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        ({"messages": HELLO}, ClientRequestError, "Missing 'model' field."),
        ({"model": "gpt-4o"}, ClientRequestError, "Missing 'messages' field."),
        ({"model": "gpt-4o", "messages": []}, ClientRequestError, "'messages' must not be empty."),
        (
            {"model": "gpt-4o", "messages": HELLO, "timeout": -1},
            ClientRequestError,
            "'timeout' must be a positive number of seconds; got -1.",
        ),
        (
            {"model": "gpt4", "messages": HELLO},
            ModelNotFoundError,
            "Model 'gpt4' is not available on ARGO. Closest matches: argo:gpt-4.1",
        ),
    ],
)
async def test_intake_refuses_what_cannot_be_served_with_its_reason(
    body: dict[str, Any], error: type[Exception], text: str
) -> None:
    with pytest.raises(error) as raised:
        await chat_call("openai_chat", body)
    assert str(raised.value).startswith(text)


async def test_an_unknown_model_goes_to_the_configured_default() -> None:
    call = await chat_call(
        "openai_chat", {"model": "nope", "messages": HELLO}, state(default_model="gpt-4o")
    )
    assert (call.requested_model, call.model, call.rule) == ("nope", "gpt4o", None)


async def test_embeddings_without_input_are_refused() -> None:
    daemon = state()
    with pytest.raises(ClientRequestError, match="Missing 'input' field"):
        await Intake(daemon).embeddings(
            "embeddings", request({"model": "v3small"}), daemon.config, Seen(), gateway=False
        )


async def test_a_call_for_another_model_follows_that_models_api() -> None:
    call = await chat_call("openai_chat", {"model": "argo:gpt-4o", "messages": HELLO})
    claude = call.for_model("claudesonnet46")
    assert claude.upstream == "anthropic" and claude.route is not None
    assert claude.route.model == "claudesonnet46" and claude.requested_model == "argo:gpt-4o"
    assert claude.body is call.body and call.model == "gpt4o"  # the original is unchanged
    assert call.for_model("gpt4o") is call


# ----------------------------------------------------------------- backend dispatch


class Recorded:
    """A backend that answers every call and remembers which ones it got."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[Call] = []

    async def send(self, call: Call, observer: Observer) -> Result:
        self.calls.append(call)
        observer.completed("openai_chat", {"usage": {"prompt_tokens": 3, "completion_tokens": 1}})
        return JSONResult(200, {"served_by": self.name})


def dispatching(daemon: DaemonState) -> Pipeline:
    pipeline = Pipeline(daemon)
    pipeline.backends = {name: Recorded(name) for name in pipeline.backends}  # type: ignore[misc]
    return pipeline


async def served_by(result: Result) -> str:
    assert isinstance(result, JSONResult) and result.status == 200, result
    return str(result.body["served_by"])


async def test_the_pipeline_picks_each_calls_backend_in_one_place() -> None:
    pipeline = dispatching(state())
    gpt = {"model": "gpt-4o", "messages": HELLO}
    claude = {"model": "claude-sonnet-4-6", "messages": HELLO, "max_tokens": 5}
    embed = {"model": "v3small", "input": "x"}
    assert await served_by(await pipeline.chat("openai_chat", request(gpt))) == "openai_chat"
    assert await served_by(await pipeline.chat("openai_chat", request(claude))) == "anthropic"
    assert await served_by(await pipeline.chat("anthropic", request(claude))) == "anthropic"
    assert await served_by(await pipeline.embeddings(request(embed))) == "embeddings"
    pipeline.state.set_legacy(True, "test")
    assert await served_by(await pipeline.chat("openai_chat", request(gpt))) == "gateway"
    assert await served_by(await pipeline.chat("anthropic", request(claude))) == "anthropic"
    assert await served_by(await pipeline.embeddings(request(embed))) == "gateway"
    direct = request({"model": "v3small", "prompt": ["x"]}, path="/v1/embed")
    assert await served_by(await pipeline.direct("embed", direct)) == "gateway"
    records = pipeline.state.requests.recent(20)
    assert [r.upstream for r in records][::-1] == [
        "openai_chat", "anthropic", "anthropic", "embeddings",
        "gateway", "anthropic", "gateway", "gateway",
    ]  # fmt: skip
    assert all(r.status == 200 and r.input_tokens == 3 for r in records)


async def test_a_legacy_endpoint_is_refused_while_legacy_mode_is_off() -> None:
    pipeline = dispatching(state())
    result = await pipeline.direct("chat", request({"model": "gpt-4o", "messages": HELLO}))
    assert isinstance(result, JSONResult) and result.status == 404
    assert "served only in legacy mode" in result.body["error"]["message"]
    assert all(not b.calls for b in pipeline.backends.values())  # type: ignore[attr-defined]


async def test_an_attempt_at_another_model_converts_the_clients_body_as_sent() -> None:
    """The fallback seam: a second `attempt` of the same call at a model of another
    family sends that family's API a body converted from what the client sent; the
    attempt before it was not the final one, so it kept the client's body."""
    daemon = state(anthropic_stream_mode="retry")  # Claude's answer not asked as a stream
    fake: FakeUpstream = daemon.upstream  # type: ignore[assignment]
    pipeline = Pipeline(daemon)
    body = {"model": "argo:gpt-4o", "messages": HELLO, "max_tokens": 20}
    seen = Seen()
    call = await pipeline.intake.chat(FORMATS["openai_chat"], request(body), daemon.config, seen)
    completion = {
        "id": "c", "object": "chat.completion", "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "from gpt"},
                     "finish_reason": "stop"}],
    }  # fmt: skip
    fake.reply = UpstreamReply("u", 200, "application/json", json.dumps(completion).encode())
    first = await pipeline.attempt(dataclasses.replace(call, final=False), call.model, seen)
    assert call.body == body  # the client's body, as sent, for the next attempt
    message = {
        "id": "m", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
        "content": [{"type": "text", "text": "from claude"}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 4, "output_tokens": 2},
    }  # fmt: skip
    fake.reply = UpstreamReply("u", 200, "application/json", json.dumps(message).encode())
    second = await pipeline.attempt(call, "claudesonnet46", seen)
    assert isinstance(first, JSONResult) and isinstance(second, JSONResult)
    assert first.body["choices"][0]["message"]["content"] == "from gpt"
    # the answer is in the client's format, named as the client asked
    assert second.body["choices"][0]["message"]["content"] == "from claude"
    assert second.body["model"] == "argo:gpt-4o"
    (gpt_url, gpt_sent, _), (claude_url, claude_sent, headers) = fake.sent
    assert gpt_url.endswith("/chat/completions") and claude_url.endswith("/v1/messages")
    assert gpt_sent["model"] == "gpt4o" and claude_sent["model"] == "claudesonnet46"
    (turn,) = claude_sent["messages"]
    assert turn["role"] == "user" and turn["content"][0]["text"] == "hello"
    assert claude_sent["metadata"] == {"user_id": "jdoe"} and headers["x-api-key"] == "jdoe"
    assert call.body == {}  # the final attempt let go of it once converted
    prepared = [kw for name, _, kw in seen.events if name == "prepared"]
    assert [p["converted"] for p in prepared] == [False, True]
