"""Model resolution and routing as a user sees them."""

from __future__ import annotations

import httpx
import openai
import pytest

from . import api
from .conftest import Process, StartDaemon
from .helpers import last_sent


@pytest.mark.parametrize(
    ("name", "internal"),
    [
        ("gpt-4o", "gpt4o"),
        ("argo/gpt-4o", "gpt4o"),
        ("GPT-4o", "gpt4o"),
        ("o3-mini", "gpto3mini"),
        ("argo:gpt-4.1-mini", "gpt41mini"),
        ("gemini-2.5-flash", "gemini25flash"),
    ],
)
def test_model_names_resolve_to_argo_ids(
    daemon: Process, sim: httpx.Client, name: str, internal: str
) -> None:
    response = api.post(
        f"{daemon.url}/v1/chat/completions",
        json={"model": name, "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 200
    assert last_sent(sim, "/v1/chat/completions")["body"]["model"] == internal


def test_claude_names_from_claude_code_resolve(daemon: Process, sim: httpx.Client) -> None:
    response = api.post(
        f"{daemon.url}/v1/messages",
        json={
            "model": "claude-sonnet-4-6-20250514",
            "max_tokens": 10,
            "messages": [{"role": "user", "content": "x"}],
        },
    )
    assert response.status_code == 200
    assert last_sent(sim, "/v1/messages")["body"]["model"] == "claudesonnet46"


def test_default_model_is_used_for_unknown_names(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("default_model: argo:gpt-4.1-nano\n")
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        reply = client.chat.completions.create(
            model="some-future-model", messages=[{"role": "user", "content": "hi"}]
        )
    assert reply.choices[0].message.content == "Echo: hi"
    assert last_sent(sim, "/v1/chat/completions")["body"]["model"] == "gpt41nano"
