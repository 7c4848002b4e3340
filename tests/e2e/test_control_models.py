"""`models.list` over the control plane: what an editor lists as chat models, each one
answering when asked for by the id the list gives."""

from __future__ import annotations

from . import api
from .conftest import StartStdioDaemon


def test_models_list_gives_every_chat_model_with_limits_and_each_id_works(
    start_stdio_daemon: StartStdioDaemon,
) -> None:
    daemon = start_stdio_daemon()
    daemon.notification("models.refreshed")
    listed = daemon.call("models.list")
    assert listed["source"] == "upstream"
    models = listed["models"]
    assert len(models) == daemon.call("status")["models"]["chat_models"]
    sonnet = next(m for m in models if m["internal_id"] == "claudesonnet46")
    assert sonnet == {
        "id": "argo:claude-sonnet-4.6",
        "internal_id": "claudesonnet46",
        "name": "Claude Sonnet 4.6",
        "family": "anthropic",
        "max_input_tokens": 200_000,
        "max_output_tokens": 64_000,
        "tool_calling": True,
        "image_input": True,
    }
    assert not any("embedding" in m["id"] for m in models)
    for model in (sonnet, next(m for m in models if m["internal_id"] == "gpt4o")):
        reply = api.post(
            f"{daemon.url}/v1/messages",
            json={
                "model": model["id"],
                "max_tokens": 50,
                "messages": [{"role": "user", "content": "hello"}],
            },
        )
        assert reply.status_code == 200, reply.text
    assert daemon.request("models.list", {"x": 1})["error"]["code"] == -32602
