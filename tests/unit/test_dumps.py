"""daemon/dumps.py on its own: what a dump file holds, how it is cut to `dump_max_kb`,
what it never holds, and how the folder is kept within `dump_max_mb`."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

from argo_proxy.daemon.config import Config
from argo_proxy.daemon.dumps import DumpSettings, DumpWriter, RequestDump, render_dump
from argo_proxy.daemon.exchange import ClientRequest, JSONResult
from argo_proxy.daemon.records import RequestRecord

TOKEN = "ap-secret-token-0123456789"


def client_request(body: dict[str, Any]) -> ClientRequest:
    return ClientRequest(
        path="/v1/chat/completions",
        headers={"Authorization": f"Bearer {TOKEN}", "User-Agent": "curl/8", "X-Other": "kept"},
        query={"key": TOKEN},
        body=json.dumps(body).encode(),
    )


def a_dump(settings: DumpSettings, content: str = "hi") -> tuple[RequestRecord, RequestDump]:
    record = RequestRecord.open("/v1/chat/completions", "openai_chat", "curl/8")
    body = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": content}]}
    dump = RequestDump.open(client_request({**body, "user": "jdoe-laptop"}), settings)
    dump.sending(
        "http://argo/v1/chat/completions",
        {"Authorization": "Bearer jdoe", "Content-Type": "application/json"},
        json.dumps({**body, "user": "jdoe"}).encode(),
    )
    dump.answered(200, "text/event-stream")
    dump.received(b'data: {"choices": [{"delta": {"content": "he"}}]}\n\n')
    dump.received(b'data: {"choices": [{"delta": {"content": "llo"}}]}\n\ndata: [DONE]\n\n')
    dump.replied(JSONResult(200, {"answer": f"the key was {TOKEN}, user jdoe"}))
    record.status = 200
    record.close()
    return record, dump


def settings(tmp_path: Path, max_file: int = 1 << 20, max_folder: int = 1 << 30) -> DumpSettings:
    config = Config(user="jdoe", dump_requests=True, dump_dir=str(tmp_path / "dumps"))
    found = DumpSettings.of(config, [TOKEN, None])
    assert found.folder == tmp_path / "dumps" and found.secrets == (TOKEN, "jdoe")
    return DumpSettings(found.folder, max_file, max_folder, found.secrets)


def test_a_dump_holds_every_body_and_no_credential(tmp_path: Path) -> None:
    record, dump = a_dump(settings(tmp_path))
    raw = render_dump(record.to_json(), dump).decode()
    assert TOKEN not in raw and "jdoe" not in raw
    doc = json.loads(raw)
    assert doc["id"] == record.id and doc["truncated"] is False
    request = doc["request"]
    assert request["headers"] == {
        "authorization": "[redacted]",
        "user-agent": "curl/8",
        "x-other": "kept",
    }
    assert request["query"] == {"key": "[redacted]"} and request["body"]["user"] == "j***"
    (call,) = doc["upstream"]
    assert call["headers"]["Authorization"] == "[redacted]" and call["body"]["user"] == "j***"
    assert call["answer"] == [
        {"choices": [{"delta": {"content": "he"}}]},
        {"choices": [{"delta": {"content": "llo"}}]},
        "[DONE]",
    ]
    assert doc["response"] == {
        "status": 200,
        "content_type": "application/json",
        "body": {"answer": "the key was [redacted], user [redacted]"},
    }


def test_a_dump_is_cut_to_its_limit_with_markers(tmp_path: Path) -> None:
    record, dump = a_dump(settings(tmp_path, max_file=4096), content="word " * 20_000)
    raw = render_dump(record.to_json(), dump)
    assert len(raw) <= 4096
    doc = json.loads(raw)
    assert doc["truncated"] is True and doc["record"]["id"] == record.id
    content = doc["request"]["body"]["messages"][0]["content"]
    assert content.startswith("word word") and "more characters cut: dump_max_kb]" in content

    # A stream held in memory stops at the file's limit; the rest is only counted.
    record, dump = a_dump(settings(tmp_path, max_file=1024))
    for _ in range(100):
        dump.received(b'data: {"choices": [{"delta": {"content": "more"}}]}\n\n')
    assert len(dump.calls[0].answer.data) == 1024 and dump.calls[0].answer.cut > 4000
    assert len(render_dump(record.to_json(), dump)) <= 1024


def test_the_writer_keeps_files_private_and_the_folder_within_its_limit(tmp_path: Path) -> None:
    limits = settings(tmp_path, max_folder=6000)
    folder = limits.folder
    folder.mkdir(mode=0o755)
    (folder / "notes.txt").write_text("mine")  # not a dump: never deleted
    writer = DumpWriter()
    records = []
    for _ in range(6):
        record, dump = a_dump(limits)
        records.append(record)
        writer.submit(record, dump)
    writer.close()
    assert writer.written == 6 and writer.dropped == 0
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700  # made private
    dumps = sorted(p for p in folder.iterdir() if p.suffix == ".json")
    assert sum(p.stat().st_size for p in dumps) <= 6000
    assert 1 <= len(dumps) < 6
    # The newest stay, the oldest went.
    assert [p.name.split("_", 1)[1] for p in dumps] == [
        f"{r.id}.json" for r in records[-len(dumps) :]
    ]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in dumps)
    assert (folder / "notes.txt").read_text() == "mine"


def test_a_dump_keeps_text_that_is_not_unicode_as_its_escape(tmp_path: Path) -> None:
    # Refused with a 400 (validation.py), and dumped as the client sent it.
    request = ClientRequest(
        path="/v1/chat/completions",
        headers={"User-Agent": "curl/8"},
        query={},
        body=b'{"messages": [{"role": "user", "content": "hi \\ud83d"}]}',
    )
    dump = RequestDump.open(request, settings(tmp_path))
    dump.replied(JSONResult(400, {"error": {"message": "not valid text"}}))
    record = RequestRecord.open("/v1/chat/completions", "openai_chat", "curl/8")
    record.close()
    raw = render_dump(record.to_json(), dump)
    assert b'"hi \\ud83d"' in raw
    assert json.loads(raw)["request"]["body"]["messages"][0]["content"] == "hi \ud83d"
