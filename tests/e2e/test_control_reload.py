"""Hot reload of the config file: applied whole between requests, refused whole when
broken, never cutting a stream in flight; and a graceful stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from . import api
from .conftest import StartDaemon, StartStdioDaemon, parse_frames
from .helpers import sent

SLOW = "[[sim:deltas=15]] [[sim:fault=latency,chunk_ms=100]] tell me a story"  # ~1.5 s


class SlowStream(threading.Thread):
    """A streamed chat completion of ~1.5 s; `started` is set at its first chunk."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.started = threading.Event()
        self.text = ""
        self.finish_reason: str | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        body = {
            "model": "argo:gpt-4o",
            "stream": True,
            "messages": [{"role": "user", "content": SLOW}],
        }
        try:
            with api.stream(
                "POST", f"{self.url}/v1/chat/completions", json=body, timeout=30
            ) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    self.started.set()
                    if line.startswith("data: {"):
                        chunk = httpx.Response(200, content=line[6:]).json()
                        for choice in chunk["choices"]:
                            self.text += choice["delta"].get("content") or ""
                            self.finish_reason = choice.get("finish_reason") or self.finish_reason
        except BaseException as exc:  # reported by the test, in its own thread
            self.error = exc
        finally:
            self.started.set()

    def result(self) -> str:
        self.join(30)
        assert self.error is None, self.error
        assert self.finish_reason == "stop"
        return self.text


def rewrite(path: Path, text: str) -> None:
    """Save as editors do: write a temporary file, then rename it over the config."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_text(text)
    os.replace(temporary, path)


def chat(url: str, content: str = "hello") -> dict[str, Any]:
    body = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": content}]}
    response = api.post(f"{url}/v1/chat/completions", json=body, timeout=10)
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


def test_edit_during_a_stream_applies_to_the_next_request_and_broken_files_are_refused(
    start_stdio_daemon: StartStdioDaemon, sim: httpx.Client
) -> None:
    daemon = start_stdio_daemon()
    daemon.notification("state.changed", lambda p: p["reason"] == "started")
    daemon.notification("models.refreshed")
    original = daemon.config.read_text()

    stream = SlowStream(daemon.url)
    stream.start()
    assert stream.started.wait(10)
    rewrite(daemon.config, original.replace("user: jdoe", "user: jane"))
    changed = daemon.notification("config.changed")
    assert changed["ok"] and changed["trigger"] == "watch"
    assert changed["changes"] == [{"key": "user", "old": "j***", "new": "j***"}]
    assert "refreshing the model list" in changed["actions"]
    assert "jane" not in str(changed)
    daemon.notification("models.refreshed")  # a new user may see other models

    # The stream in flight is whole, and went upstream as the user it started with.
    text = stream.result()
    assert text.startswith("Echo: tell me a story")
    streamed = [r for r in sent(sim, "/v1/chat/completions") if r["body"].get("stream")]
    assert streamed[-1]["body"]["user"] == "jdoe"
    chat(daemon.url)  # the next request has the new config
    assert sent(sim, "/v1/chat/completions")[-1]["body"]["user"] == "jane"

    # A bad value, then bad YAML: refused, with the reason; the last good config stays.
    daemon.config.write_text(original.replace("port: 0", "port: 99999"))  # truncate, write
    # (should the watcher catch the file empty between the two, that is refused too)
    refused = daemon.notification("config.error", lambda p: "`port`" in p["message"])
    assert "`port` must be a port number" in refused["message"]
    assert f"{daemon.config}:3" in refused["message"]
    assert refused["kept"] == "the last good config stays in effect"
    rewrite(daemon.config, original + "default_model: [unclosed\n")
    daemon.notification("config.error", lambda p: "not valid YAML" in p["message"])
    chat(daemon.url)
    assert sent(sim, "/v1/chat/completions")[-1]["body"]["user"] == "jane"
    status = daemon.call("status")
    assert status["last_reload"]["ok"] is False and status["listen_url"] == daemon.url

    # config.reload over RPC reports the same refusal, and then a good file.
    assert daemon.call("config.reload")["ok"] is False
    daemon.config.write_text(original)
    daemon.notification("config.changed")
    assert daemon.call("config.reload")["message"] == "no setting changed"
    assert daemon.call("shutdown") == {"stopping": True}
    assert daemon.wait() == 0
    parse_frames(bytes(daemon.raw))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_port_change_rebinds_without_cutting_the_stream(
    start_stdio_daemon: StartStdioDaemon,
) -> None:
    daemon = start_stdio_daemon()
    daemon.notification("state.changed", lambda p: p["reason"] == "started")
    old_url = daemon.url
    stream = SlowStream(old_url)
    stream.start()
    assert stream.started.wait(10)

    port = _free_port()
    rewrite(daemon.config, daemon.config.read_text().replace("port: 0", f"port: {port}"))
    changed = daemon.notification("config.changed")
    new_url = f"http://127.0.0.1:{port}"
    assert changed["changes"] == [{"key": "port", "old": 0, "new": port}]
    assert any(action.startswith(f"now listening on {new_url}") for action in changed["actions"])
    moved = daemon.notification("state.changed", lambda p: p["listen_url"] == new_url)
    assert moved["reason"] == "listen address changed"
    assert api.get(f"{new_url}/health").json()["status"] == "healthy"

    assert stream.result().startswith("Echo: tell me a story")  # the old listener finished it
    with pytest.raises(httpx.ConnectError):
        for _ in range(40):  # the old listener closes once its last stream is done
            api.get(f"{old_url}/health", timeout=1)
            threading.Event().wait(0.05)
    assert daemon.call("status")["listen_url"] == new_url
    daemon.stop()


def test_sigterm_lets_the_stream_in_flight_finish_then_exits_0(
    start_daemon: StartDaemon,
) -> None:
    daemon = start_daemon()
    stream = SlowStream(daemon.url)
    stream.start()
    assert stream.started.wait(10)
    daemon.popen.send_signal(signal.SIGTERM)
    assert stream.result().startswith("Echo: tell me a story")
    assert daemon.popen.wait(15) == 0
    assert "stopping (up to 10s for requests in flight)" in daemon.log
    assert "HTTP server stopped\n" in daemon.log  # and not "(1 request(s) cut)"
