"""Token counting (an offline estimate) and Google's model list, as the SDKs call them."""

from __future__ import annotations

import anthropic
import pytest
from google import genai
from google.genai import types

from . import api
from .conftest import Process

LONG = "Argonne runs many large scientific computing facilities. " * 20


def test_anthropic_count_tokens_is_a_real_estimate(daemon: Process) -> None:
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as client:
        short = client.messages.count_tokens(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": "hi"}]
        )
        long = client.messages.count_tokens(
            model="claude-sonnet-4-6", messages=[{"role": "user", "content": LONG}]
        )
    assert 0 < short.input_tokens < 20
    # 20 × 8 words ≈ 160–200 tokens with any real tokenizer
    assert 120 <= long.input_tokens <= 260


@pytest.mark.parametrize("api_version", [None, "v1beta"])
def test_google_count_tokens(daemon: Process, api_version: str | None) -> None:
    options = (
        types.HttpOptions(base_url=daemon.url, api_version=api_version)
        if api_version
        else types.HttpOptions(base_url=daemon.url)
    )
    client = genai.Client(api_key=api.TOKEN, http_options=options)
    try:
        result = client.models.count_tokens(model="gemini-2.5-flash", contents=LONG)
    finally:
        client.close()
    assert 120 <= (result.total_tokens or 0) <= 260


def test_google_model_list(daemon: Process) -> None:
    client = genai.Client(
        api_key=api.TOKEN, http_options=types.HttpOptions(base_url=daemon.url, api_version="v1beta")
    )
    try:
        names = {model.name for model in client.models.list()}
        one = client.models.get(model="argo:gemini-2.5-pro")
    finally:
        client.close()
    assert {
        "models/argo:gemini-2.5-pro",
        "models/argo:gpt-4o",
        "models/argo:claude-opus-4.6",
    } <= names
    assert "generateContent" in (one.supported_actions or [])


def test_count_tokens_bad_input_uses_the_anthropic_envelope(daemon: Process) -> None:
    response = api.post(f"{daemon.url}/v1/messages/count_tokens", json={"model": "x"})
    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert "'messages'" in response.json()["error"]["message"]


def test_unknown_google_method_is_a_clear_400(daemon: Process) -> None:
    response = api.post(f"{daemon.url}/v1beta/models/argo:gpt-4o:embedContent", json={})
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert "countTokens" in response.json()["error"]["message"]
