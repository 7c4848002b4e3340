"""Request dumps (docs/observability.md#debug-dumps): with `dump_requests` on, each API
request through an official SDK leaves one private JSON file with the client's body,
what went to ARGO, ARGO's answer and the client's answer, and no credential; with it
off, nothing is written."""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from .conftest import Process, StdioDaemon, new_user, spawn
from .test_control_reload import rewrite

_users = iter(range(1, 1000))


def config_text(simulator: Process, extra: str = "") -> str:
    return (
        f"user: jdoe\nport: 0\nargo_base_url: {simulator.url}\n"
        f"pypi_url: http://127.0.0.1:9/pypi\n{extra}"
    )


class Dumper:
    """A daemon of a user of its own (own home, own token, own state dir), over stdio."""

    def __init__(self, workdir: Path, simulator: Process, extra: str, *args: str) -> None:
        self.home, env = new_user(workdir, f"dumper{next(_users)}", config_text(simulator, extra))
        self.config = self.home / "config.yaml"
        proc = spawn(
            ["serve", str(self.config), "--control", "stdio", *args],
            cwd=self.home,
            env=env,
            pipes=True,
        )
        self.daemon = StdioDaemon(proc, self.config)
        self.token = (self.home / ".config" / "argo-proxy" / "token").read_text().strip()
        self.default_dumps = self.home / ".local" / "state" / "argo-proxy" / "dumps"

    def openai(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.daemon.url}/v1", api_key=self.token, max_retries=0)

    def anthropic(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=self.daemon.url, api_key=self.token, max_retries=0)

    def finished(self, endpoint: str) -> dict[str, Any]:
        """The record of the next request to `endpoint` that finished."""
        record: dict[str, Any] = self.daemon.notification(
            "request.finished", lambda params: params["endpoint"] == endpoint
        )
        return record


@pytest.fixture()
def dumper(workdir: Path, simulator: Process) -> Iterator[Any]:
    started: list[Dumper] = []

    def start(extra: str = "", *args: str) -> Dumper:
        started.append(Dumper(workdir, simulator, extra, *args))
        return started[-1]

    yield start
    for one in started:
        one.daemon.stop()


def wait_for_dump(folder: Path, record_id: str, timeout: float = 20) -> Path:
    """The dump of `record_id`, once the daemon's writer has put it in `folder`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = list(folder.glob(f"*_{record_id}.json")) if folder.is_dir() else []
        if found:
            return found[0]
        time.sleep(0.02)
    raise AssertionError(f"no dump of {record_id} in {folder}")


def test_dumps_hold_each_requests_bodies_and_no_credential(dumper: Any) -> None:
    one = dumper("", "--dump-requests")  # the option alone: the default folder
    with one.openai() as client:
        reply = client.chat.completions.create(
            model="argo:gpt-4o",
            messages=[{"role": "user", "content": "dump marker one"}],
            user="jdoe-laptop",
        )
    chat = wait_for_dump(one.default_dumps, one.finished("/v1/chat/completions")["id"])
    with one.anthropic() as client:
        text = ""
        with client.messages.stream(
            model="argo:gpt-4o",  # converted: Anthropic in, OpenAI chat at ARGO
            max_tokens=100,
            messages=[{"role": "user", "content": "dump marker two [[sim:deltas=6]]"}],
        ) as stream:
            for piece in stream.text_stream:
                text += piece
    streamed = wait_for_dump(one.default_dumps, one.finished("/v1/messages")["id"])

    folder_mode = stat.S_IMODE(one.default_dumps.stat().st_mode)
    assert folder_mode == 0o700
    files = sorted(one.default_dumps.iterdir())
    assert files == sorted([chat, streamed])  # one file per API request, nothing else
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        raw = path.read_text()
        assert one.token not in raw  # the access token, as key and in the header
        assert "jdoe" not in raw  # the username: ARGO's only credential

    doc = json.loads(chat.read_text())
    assert doc["truncated"] is False and doc["record"]["status"] == 200
    request = doc["request"]
    assert request["endpoint"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "[redacted]"
    assert request["body"]["messages"] == [{"role": "user", "content": "dump marker one"}]
    assert request["body"]["user"] == "j***"  # a client's `user` may be a credential
    (call,) = doc["upstream"]
    assert call["url"].endswith("/v1/chat/completions") and call["status"] == 200
    assert call["body"]["model"] == "gpt4o" and call["body"]["user"] == "j***"
    assert call["body"]["messages"][-1]["content"] == "dump marker one"
    assert call["answer"]["choices"][0]["message"]["content"] == reply.choices[0].message.content
    response = doc["response"]
    assert response["status"] == 200
    assert response["body"]["choices"][0]["message"]["content"] == reply.choices[0].message.content

    doc = json.loads(streamed.read_text())
    assert doc["request"]["body"]["stream"] is True
    sent = doc["request"]["headers"]
    assert "[redacted]" in (sent.get("x-api-key"), sent.get("authorization"))
    (call,) = doc["upstream"]
    assert call["body"]["model"] == "gpt4o" and call["body"]["stream"] is True
    assert "event-stream" in call["content_type"]
    argo_text = "".join(
        choice["delta"].get("content") or ""
        for event in call["answer"]
        if isinstance(event, dict)
        for choice in event.get("choices", [])
    )
    assert argo_text == text  # ARGO's events, as they came
    events = doc["response"]["body"]
    assert [e["event"] for e in events][:1] == ["message_start"]
    assert events[-1]["event"] == "message_stop"
    client_text = "".join(
        e["data"]["delta"].get("text", "") for e in events if e["event"] == "content_block_delta"
    )
    assert client_text == text  # what the client got, in its own format


def test_dumps_off_write_nothing_and_a_reload_turns_them_on(
    dumper: Any, simulator: Process, tmp_path: Path
) -> None:
    one = dumper()
    with one.openai() as client:
        client.chat.completions.create(
            model="argo:gpt-4o", messages=[{"role": "user", "content": "not dumped"}]
        )
        one.finished("/v1/chat/completions")
        folder = tmp_path / "dumps"
        rewrite(one.config, config_text(simulator, f"dump_requests: true\ndump_dir: {folder}\n"))
        one.daemon.notification("config.changed")
        client.chat.completions.create(
            model="argo:gpt-4o", messages=[{"role": "user", "content": "dumped"}]
        )
        dumped = wait_for_dump(folder, one.finished("/v1/chat/completions")["id"])
    # One writer, in order: had the first request been dumped, its file would be here.
    assert list(folder.iterdir()) == [dumped]
    assert not one.default_dumps.exists()  # the default folder was never made
    assert "not dumped" not in dumped.read_text()


def test_a_long_stream_is_cut_to_dump_max_kb_with_a_marker(dumper: Any, tmp_path: Path) -> None:
    one = dumper(f"dump_requests: true\ndump_dir: {tmp_path}\ndump_max_kb: 8\n")
    with one.openai() as client:
        text = "".join(
            chunk.choices[0].delta.content or ""
            for chunk in client.chat.completions.create(
                model="argo:gpt-4o",
                messages=[{"role": "user", "content": "a long one [[sim:deltas=600]]"}],
                stream=True,
            )
            if chunk.choices
        )
    assert len(text.split()) >= 600  # the client got the whole stream
    path = wait_for_dump(tmp_path, one.finished("/v1/chat/completions")["id"])
    raw = path.read_text()
    assert len(raw.encode()) <= 8 * 1024
    doc = json.loads(raw)
    assert doc["truncated"] is True and doc["record"]["status"] == 200
    assert "cut: dump_max_kb]" in raw
    assert doc["request"]["body"]["messages"][0]["content"].startswith("a long one")
