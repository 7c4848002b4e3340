"""A stop whose grace period runs out never truncates an answer silently
(docs/security.md, "Stopping"): each stream still open gets its format's error event,
each request still waiting for ARGO a 503 in its format, then the daemon exits 0."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import threading
from typing import Any

import httpx
import pytest

from . import api
from .conftest import Process, StartDaemon
from .helpers import inject

# About 20 s of stream: far longer than the 1 s grace these daemons get.
SLOW = "[[sim:deltas=40]] [[sim:fault=latency,chunk_ms=500]] a long story"
TEXT = [{"role": "user", "content": SLOW}]
STREAMS: dict[str, tuple[str, dict[str, Any], str]] = {
    # client format: path, body, what the last event must carry
    "openai_chat (GPT, passthrough)": (
        "/v1/chat/completions",
        {"model": "argo:gpt-4o", "messages": TEXT, "stream": True},
        'data: {"error":',
    ),
    "openai_chat (Claude, converted)": (
        "/v1/chat/completions",
        {"model": "claude-sonnet-4-6", "messages": TEXT, "stream": True},
        'data: {"error":',
    ),
    "anthropic (Claude, passthrough)": (
        "/v1/messages",
        {"model": "claude-sonnet-4-6", "max_tokens": 500, "messages": TEXT, "stream": True},
        "event: error",
    ),
    "anthropic (GPT, converted)": (
        "/v1/messages",
        {"model": "argo:gpt-4o", "max_tokens": 500, "messages": TEXT, "stream": True},
        "event: error",
    ),
    "openai_responses": (
        "/v1/responses",
        {"model": "argo:gpt-4o", "input": SLOW, "stream": True},
        "event: response.failed",
    ),
    "google": (
        "/v1beta/models/argo:gpt-4o:streamGenerateContent?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": SLOW}]}]},
        'data: {"error":',
    ),
}


class Reader(threading.Thread):
    """Reads a streamed answer to its end; `started` is set at its first bytes."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        super().__init__(daemon=True)
        self.url, self.body = url, body
        self.started = threading.Event()
        self.text = ""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with api.stream("POST", self.url, json=self.body, timeout=60) as response:
                assert response.status_code == 200, response.read()
                for piece in response.iter_text():
                    self.text += piece
                    self.started.set()
        except BaseException as exc:  # reported by the test
            self.error = exc
        finally:
            self.started.set()


def _recorded(daemon: Process) -> list[tuple[int, str | None]]:
    """(status, error type) of each record in a stopped daemon's store."""
    store = daemon.control_socket.parent / "state" / "argo-proxy" / "requests.sqlite3"
    with contextlib.closing(sqlite3.connect(store)) as db:
        rows = db.execute("SELECT status, error FROM requests").fetchall()
    return [(status, error and json.loads(error)["type"]) for status, error in rows]


def _stop_with_sigterm(daemon: Process) -> None:
    daemon.popen.send_signal(signal.SIGTERM)
    assert daemon.popen.wait(30) == 0


@pytest.mark.parametrize("fmt", list(STREAMS))
def test_a_stream_longer_than_the_grace_ends_with_its_error_event(
    start_daemon: StartDaemon, fmt: str
) -> None:
    daemon = start_daemon("shutdown_grace: 1\n")
    path, body, last_event = STREAMS[fmt]
    reader = Reader(daemon.url + path, body)
    reader.start()
    assert reader.started.wait(30)
    _stop_with_sigterm(daemon)
    reader.join(30)
    assert reader.error is None, reader.error
    events = [e for e in reader.text.split("\n\n") if e.strip()]
    assert last_event in events[-1], reader.text[-500:]
    assert "argo-proxy stopped serving" in events[-1]
    assert "ending 1 request(s) still running after 1.0s" in daemon.log
    # its record: cut by the stop, neither ARGO's failure nor a client that hung up
    assert _recorded(daemon) == [(503, "Interrupted")]


def test_a_request_still_waiting_for_argo_gets_a_503(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("shutdown_grace: 1\n")
    inject(sim, fault="latency", ms=20_000, path="/v1/messages")
    answer: dict[str, httpx.Response] = {}
    body = {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": TEXT}

    def ask() -> None:
        answer["r"] = api.post(f"{daemon.url}/v1/messages", json=body, timeout=60)

    asking = threading.Thread(target=ask, daemon=True)
    asking.start()
    while not sim.get("/__sim/log", params={"path": "/v1/messages"}).json()["requests"]:
        threading.Event().wait(0.02)  # until the daemon's call reached ARGO
    _stop_with_sigterm(daemon)
    asking.join(30)
    response = answer["r"]
    assert response.status_code == 503
    error = response.json()
    assert error["type"] == "error" and "argo-proxy stopped serving" in error["error"]["message"]
    assert _recorded(daemon) == [(503, "Interrupted")]  # as the client got it
