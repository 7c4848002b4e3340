"""The llm-rosetta boundary (convert.py): whatever the library raises becomes our error."""

from __future__ import annotations

from typing import Any

import pytest

from argo_proxy.daemon.convert import Conversion
from argo_proxy.daemon.errors import ClientRequestError, UpstreamError

CRASHES = [
    AttributeError("'int' object has no attribute 'get'"),
    IndexError("list index out of range"),
    TypeError("'NoneType' object is not iterable"),
    KeyError("name"),
]


def crashing(exc: Exception) -> Any:
    def step(body: Any) -> Any:
        raise exc

    return step


@pytest.mark.parametrize("exc", CRASHES, ids=lambda e: type(e).__name__)
def test_a_crash_on_the_clients_body_is_a_400(
    monkeypatch: pytest.MonkeyPatch, exc: Exception
) -> None:
    conversion = Conversion("anthropic", "openai_chat", "gpt4o", "openai")
    monkeypatch.setattr(conversion._pipeline, "convert_request", crashing(exc))
    with pytest.raises(ClientRequestError) as caught:
        conversion.request({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 5})
    assert caught.value.status == 400
    assert caught.value.message.startswith("Cannot convert this request for ARGO:")
    assert caught.value.__cause__ is exc


@pytest.mark.parametrize("exc", CRASHES, ids=lambda e: type(e).__name__)
def test_a_crash_on_argos_answer_is_a_502(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    conversion = Conversion("anthropic", "openai_chat", "gpt4o", "openai")
    monkeypatch.setattr(conversion._pipeline, "convert_response", crashing(exc))
    with pytest.raises(UpstreamError) as caught:
        conversion.response({"choices": []})
    assert caught.value.status == 502
