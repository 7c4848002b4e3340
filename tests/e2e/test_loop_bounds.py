"""No request holds the event loop in proportion to what it sends (docs/security.md):
names are bounded, and big token estimates are made in a worker thread, so `/health`
answers while one big request is in flight.

Timings are asserted with a generous bound (SLOW), far below what the defects cost
(a 1 MB model name held the loop 10 s, a 20 MB count 2.6 s) and far above what a busy
2-core machine adds; the precise figures are bench/loop_bounds.py's.
"""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from argo_proxy.daemon.tokens import count_request_tokens

from . import api
from .conftest import Process, StartDaemon
from .helpers import WEATHER_TOOL_ANTHROPIC, WEATHER_TOOL_OPENAI
from .test_bad_input import google_error
from .test_errors import CHAT, MESSAGES, anthropic_error, openai_error, still_serving

SLOW = 1.0  # seconds: a loop held this long is a defect
MEGABYTE_NAME = "Z" * 1_000_000


@pytest.fixture(scope="module")
def verbose_daemon(start_daemon: StartDaemon) -> Process:
    """A daemon whose debug log says when a count has gone to the worker thread."""
    return start_daemon("", "--verbose")


# ------------------------------------------------------------------ raw HTTP/1.1


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=60)


def _request(url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}", "Connection: close"]
    head += [f"{k}: {v}" for k, v in {**api.headers(), **headers}.items()]
    head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def _answered(sock: socket.socket) -> bool:
    """Whether any of the answer has arrived (without waiting)."""
    return bool(select.select([sock], [], [], 0)[0])


def _response(sock: socket.socket) -> tuple[int, Any]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


@pytest.fixture()
def health(verbose_daemon: Process) -> Iterator[Any]:
    """Time one `GET /health` from a second client: seconds to its whole answer."""
    with httpx.Client(base_url=verbose_daemon.url, timeout=60) as client:

        def timed() -> float:
            start = time.perf_counter()
            response = client.get("/health")
            took = time.perf_counter() - start
            assert response.status_code == 200
            return took

        timed()  # the connection is open before anything is measured
        yield timed


# ------------------------------------------------------------------ names


@pytest.mark.parametrize(
    ("path", "body", "error"),
    [
        ("/v1/chat/completions", CHAT, openai_error),
        ("/v1/responses", {"model": "argo:gpt-4o", "input": "hi"}, openai_error),
        ("/v1/messages", MESSAGES, anthropic_error),
        ("/v1/messages/count_tokens", MESSAGES, anthropic_error),
        ("/v1/embeddings", {"model": "argo:text-embedding-3-small", "input": "hi"}, openai_error),
    ],
)
def test_a_1mb_model_name_is_a_quick_400_naming_the_limit(
    daemon: Process, path: str, body: dict[str, Any], error: Any
) -> None:
    start = time.perf_counter()
    response = api.post(f"{daemon.url}{path}", json={**body, "model": MEGABYTE_NAME}, timeout=60)
    took = time.perf_counter() - start
    assert response.status_code == 400
    assert error(response) == (
        "'model' must be at most 256 characters long; got 1000000 characters."
    )
    assert took < SLOW, f"{took:.2f} s"
    still_serving(daemon.url)


def test_a_model_name_of_256_characters_is_looked_up(daemon: Process) -> None:
    response = api.post(f"{daemon.url}/v1/chat/completions", json={**CHAT, "model": "z" * 256})
    assert response.status_code == 404
    assert "is not available on ARGO" in openai_error(response)


def test_a_long_model_name_in_googles_path_is_a_400_in_googles_envelope(daemon: Process) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    url = f"{daemon.url}/v1beta/models/{'g' * 300}:generateContent"
    response = api.post(url, json=body)
    assert response.status_code == 400
    assert google_error(response) == (
        "The model name in the URL path must be at most 256 characters long; got 300 characters."
    )


@pytest.mark.parametrize(
    ("path", "body", "error", "field"),
    [
        (
            "/v1/chat/completions",
            {**CHAT, "tools": [WEATHER_TOOL_OPENAI]},
            openai_error,
            "tools[0].function.name",
        ),
        (
            "/v1/messages",
            {**MESSAGES, "tools": [WEATHER_TOOL_ANTHROPIC]},
            anthropic_error,
            "tools[0].name",
        ),
    ],
)
def test_a_tool_name_over_128_characters_is_a_400_naming_the_field(
    daemon: Process, path: str, body: dict[str, Any], error: Any, field: str
) -> None:
    raw = json.dumps(body).replace('"get_weather"', json.dumps("t" * 129))
    response = api.post(f"{daemon.url}{path}", content=raw)
    assert response.status_code == 400
    assert error(response) == f"'{field}' must be at most 128 characters long; got 129 characters."


# ------------------------------------------------------------------ the loop


def test_health_answers_while_a_1mb_model_name_is_in_flight(
    verbose_daemon: Process, health: Any
) -> None:
    body = json.dumps({**CHAT, "model": MEGABYTE_NAME}).encode()
    big = _connect(verbose_daemon.url)
    big.sendall(_request(verbose_daemon.url, "/v1/chat/completions", body, {}))
    assert not _answered(big)  # sent whole, and in flight
    took = health()
    status, answer = _response(big)
    assert status == 400 and "'model' must be at most 256 characters" in str(answer)
    assert took < SLOW, f"/health took {took:.3f} s"


def test_health_answers_while_a_20mb_count_is_in_flight(
    verbose_daemon: Process, health: Any
) -> None:
    text = "The quick brown fox jumps over the lazy dog, 12345 times! " * 345_000
    body = {**MESSAGES, "messages": [{"role": "user", "content": text}]}
    raw = json.dumps(body).encode()
    assert len(raw) > 20_000_000
    big = _connect(verbose_daemon.url)
    big.sendall(_request(verbose_daemon.url, "/v1/messages/count_tokens", raw, {}))
    # ready: the daemon read it all and counts it in the worker thread
    verbose_daemon.wait_for_line(f"counting the tokens of a {len(raw)}-byte body")
    took = [health()]
    assert not _answered(big)  # /health was answered while the count was in flight
    while not _answered(big) and len(took) < 50:
        took.append(health())
    status, answer = _response(big)
    assert status == 200 and answer == {"input_tokens": count_request_tokens(body)}
    assert max(took) < SLOW, f"/health took up to {max(took):.3f} s ({len(took)} probes)"
