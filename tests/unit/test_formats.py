"""Each client format's plugin (daemon/formats/): what differs between the APIs, tested
one spec at a time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from argo_proxy.daemon.errors import ClientRequestError
from argo_proxy.daemon.formats import FORMATS, format_for_path
from argo_proxy.daemon.formats.google import split_model_path

IMAGE_PARTS: dict[str, tuple[dict[str, Any], str]] = {
    # format: (an image part linking a URL, where the inlined data must end up)
    "openai_chat": ({"type": "image_url", "image_url": {"url": "https://x/a.png"}}, "image_url"),
    "openai_responses": ({"type": "input_image", "image_url": "https://x/a.png"}, "image_url"),
    "anthropic": (
        {"type": "image", "source": {"type": "url", "url": "https://x/a.png"}},
        "source",
    ),
    "google": ({"fileData": {"fileUri": "https://x/a.png", "mimeType": "image/png"}}, "inlineData"),
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_finds_and_inlines_its_own_image_parts(name: str) -> None:
    spec = FORMATS[name]
    part, field = IMAGE_PARTS[name]
    assert spec.image_url(part) == "https://x/a.png"
    inlined = spec.inline_image(part, "image/png", "AAAA")
    assert "AAAA" in json.dumps(inlined[field]) and "https://x/a.png" not in json.dumps(inlined)
    others = [p for n, (p, _) in IMAGE_PARTS.items() if n != name]
    assert all(spec.image_url(p) is None for p in others)
    assert spec.image_url("text") is None and spec.image_url({"type": "text"}) is None


def test_error_envelopes_are_each_apis_own() -> None:
    assert FORMATS["openai_chat"].error(404, "m", "model_not_found") == {
        "error": {"message": "m", "type": "invalid_request_error", "param": None,
                  "code": "model_not_found"}
    }  # fmt: skip
    assert FORMATS["anthropic"].error(429, "m") == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": "m"},
    }
    assert FORMATS["google"].error(401, "m") == {
        "error": {"code": 401, "message": "m", "status": "UNAUTHENTICATED"}
    }
    failed = FORMATS["openai_responses"].stream_error(503, "m").decode()
    assert failed.startswith("event: response.failed\n") and '"status":"failed"' in failed


def test_what_each_format_refuses() -> None:
    with pytest.raises(ClientRequestError, match="max_tokens"):
        FORMATS["anthropic"].refuse({"messages": []})
    with pytest.raises(ClientRequestError, match="previous_response_id"):
        FORMATS["openai_responses"].refuse({"previous_response_id": "resp_1"})
    FORMATS["openai_chat"].refuse({"anything": 1})  # nothing to refuse


def test_google_takes_model_and_method_from_the_path() -> None:
    assert split_model_path("models/argo:gpt-4o:streamGenerateContent") == (
        "argo:gpt-4o",
        "streamGenerateContent",
    )
    with pytest.raises(ClientRequestError, match="Unknown method"):
        split_model_path("argo:gpt-4o:embedContent")
    google = FORMATS["google"]
    assert google.json_array_stream({}) and not google.json_array_stream({"alt": "sse"})
    inner = {"contents": [{"parts": [{"text": "hi"}]}]}
    assert google.counted({"generateContentRequest": inner}) == inner


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/v1/chat/completions", "openai_chat"),
        ("/v1/responses/input_tokens", "openai_responses"),
        ("/v1/messages/count_tokens", "anthropic"),
        ("/v1beta/models/x:generateContent", "google"),
        ("/v1/models/x:countTokens", "google"),
        ("/v1/models", "openai_chat"),
        ("/nothing", "openai_chat"),
    ],
)
def test_errors_before_routing_take_the_envelope_the_path_suggests(path: str, name: str) -> None:
    assert format_for_path(path).name == name
