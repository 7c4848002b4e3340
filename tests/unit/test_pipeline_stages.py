"""A modern and a legacy request take the same stages (docs/architecture.md#the-request-path).

The same OpenAI chat request is sent through the request path twice, once to ARGO's
OpenAI API and once, with legacy mode on, to the legacy gateway, each against a
scripted upstream; the functions of the daemon each one calls are traced. Both must
pass through every shared stage, and differ only in their backend.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

from argo_proxy.daemon.config import Config
from argo_proxy.daemon.exchange import ClientRequest, JSONResult
from argo_proxy.daemon.pipeline import Pipeline
from argo_proxy.daemon.state import DaemonState
from argo_proxy.daemon.upstream import UpstreamReply

from .test_legacy import BASE, FakeUpstream

# The shared stages, by the function that is each one's entry (pipeline.py).
SHARED = {
    "_serve": "record",
    "parse_body": "intake",
    "model_name_of": "intake",
    "pop_timeout": "intake",
    "choose_model": "intake: choose the model",
    "inline_images": "intake: images",
    "resolve_identity": "intake: identity",
    "attempt": "attempt",
    "apply_model_rules": "backend: ARGO's rules",
}
BACKENDS = {"complete": "backend: ARGO chat", "_ask": "backend: legacy gateway"}
BODY = {
    "model": "argo:gpt-4o",
    "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "hi"}],
}


async def traced(call: Callable[[], Awaitable[Any]]) -> tuple[Any, list[str]]:
    """The result of `call`, and the stages its daemon functions show, in order."""
    seen: list[str] = []

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event != "call" or not frame.f_globals.get("__name__", "").startswith(
            "argo_proxy.daemon"
        ):
            return
        stage = SHARED.get(frame.f_code.co_name) or BACKENDS.get(frame.f_code.co_name)
        if stage is not None and stage not in seen:
            seen.append(stage)

    sys.setprofile(profile)
    try:
        result = await call()
    finally:
        sys.setprofile(None)
    return result, seen


async def test_a_modern_and_a_legacy_request_share_every_stage_but_the_backend() -> None:
    fake = FakeUpstream()
    config = Config(user="jdoe", argo_base_url=BASE, auth="none")
    pipeline = Pipeline(DaemonState(config, upstream=fake))  # type: ignore[arg-type]
    request = ClientRequest(json.dumps(BODY).encode(), {})
    completion = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"},
                     "finish_reason": "stop"}],
    }  # fmt: skip
    fake.reply = UpstreamReply("u", 200, "application/json", json.dumps(completion).encode())
    modern, modern_stages = await traced(lambda: pipeline.chat("openai_chat", request))

    pipeline.state.set_legacy(True, "test")
    request = ClientRequest(json.dumps(BODY).encode(), {})
    fake.reply = UpstreamReply("u", 200, "application/json", b'{"response": "hello"}')
    legacy, legacy_stages = await traced(lambda: pipeline.chat("openai_chat", request))

    for result in (modern, legacy):
        assert isinstance(result, JSONResult) and result.status == 200
        assert result.body["choices"][0]["message"]["content"] == "hello"
    shared = list(dict.fromkeys(SHARED.values()))
    assert [s for s in modern_stages if s in shared] == shared
    assert [s for s in legacy_stages if s in shared] == shared
    assert "backend: ARGO chat" in modern_stages and "backend: legacy gateway" in legacy_stages
    # ... and both sent ARGO what its rules ask: no `developer` role
    (_, modern_sent, _), (_, legacy_sent, _) = fake.sent
    for sent in (modern_sent, legacy_sent):
        assert [m["role"] for m in sent["messages"]] == ["system", "user"]
