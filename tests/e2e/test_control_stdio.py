"""The control plane over stdio, as an editor drives it: every method, the
notifications, errors for malformed input, and a stdout that carries frames only."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from . import api
from .conftest import StartStdioDaemon, parse_frames


def test_every_method_over_stdio_and_stdout_is_frames_only(
    start_stdio_daemon: StartStdioDaemon,
) -> None:
    daemon = start_stdio_daemon()
    started = daemon.notification("state.changed", lambda p: p["reason"] == "started")
    assert started["listen_url"] == daemon.url and started["phase"] == "running"

    status = daemon.call("status")
    assert status["pid"] == daemon.proc.popen.pid
    assert status["listen_url"] == daemon.url
    assert status["config_path"] == str(daemon.config)
    assert status["legacy"] is False and status["phase"] == "running"
    assert set(status["counters"]) == {"requests", "active_streams", "errors"}
    assert {"version", "uptime_s", "models", "last_reload"} <= set(status)

    refreshed = daemon.call("refresh")
    assert refreshed["status"] == "ok" and refreshed["current"]["chat_models"] > 20
    note = daemon.notification("models.refreshed")
    assert note["status"] == "ok" and note["source"] == "upstream"

    assert daemon.call("legacy.get") == {"enabled": False}
    assert daemon.call("legacy.set", {"enabled": True}) == {"enabled": True, "changed": True}
    assert daemon.notification("state.changed", lambda p: p["legacy"])["reason"].endswith(
        "legacy.set"
    )
    assert daemon.call("legacy.get") == {"enabled": True}
    assert daemon.call("legacy.set", {"enabled": True})["changed"] is False
    daemon.call("legacy.set", {"enabled": False})
    daemon.notification("state.changed", lambda p: p["legacy"] is False)

    config = daemon.call("config.get")
    assert config["path"] == str(daemon.config)
    assert config["config"]["user"] == "j***"
    assert "jdoe" not in json.dumps(config)

    reload = daemon.call("config.reload")
    assert reload["ok"] is True and reload["changes"] == []
    assert reload["message"] == "no setting changed"

    catalog = daemon.call("models.catalog")  # what `argo-proxy models` prints
    assert catalog["source"] == "upstream"
    rows = {row["upstream_id"]: row for row in catalog["models"]}
    assert rows["gpt4o"] == {
        "upstream_id": "gpt4o",
        "type": "chat",
        "family": "openai",
        "aliases": rows["gpt4o"]["aliases"],
    }
    assert "argo:gpt-4o" in rows["gpt4o"]["aliases"]
    assert any(row["type"] == "embedding" for row in rows.values())

    # What to run next went to stderr, for a person: stdout stays the editor's.
    ready = daemon.proc.wait_for_line("argo-proxy is ready at")
    assert f"{daemon.url}; from a terminal:" in ready

    # The HTTP side is up all along.
    assert api.get(f"{daemon.url}/health").json()["status"] == "healthy"

    assert daemon.call("shutdown") == {"stopping": True}
    daemon.notification("state.changed", lambda p: p["phase"] == "stopped")
    assert daemon.wait() == 0
    messages = parse_frames(bytes(daemon.raw))  # stdout: frames and nothing else
    assert len(messages) >= 15


def test_malformed_input_gets_json_rpc_errors_and_the_daemon_lives_on(
    start_stdio_daemon: StartStdioDaemon,
) -> None:
    daemon = start_stdio_daemon()

    def error_for(data: bytes) -> dict[str, object]:
        daemon.send_raw(data)
        error: dict[str, object] = daemon.response(None)["error"]  # unreadable: id null
        return error

    bad_json = error_for(b"Content-Length: 9\r\n\r\n{not json")
    assert bad_json["code"] == -32700 and "not valid JSON" in str(bad_json["message"])
    no_length = error_for(b"Content-Type: x\r\n\r\n")
    assert no_length["code"] == -32700 and "Content-Length" in str(no_length["message"])
    batch = error_for(b"Content-Length: 2\r\n\r\n[]")
    assert batch["code"] == -32600 and "batch" in str(batch["message"])

    unknown = daemon.request("no.such.method")["error"]
    assert unknown["code"] == -32601 and "no.such.method" in unknown["message"]
    bad_params = daemon.request("legacy.set", {"enabled": "yes"})["error"]
    assert bad_params["code"] == -32602 and '{"enabled": true}' in bad_params["message"]
    assert daemon.request("legacy.set", [True])["error"]["code"] == -32602
    assert daemon.request("status", {"verbose": True})["error"]["code"] == -32602
    daemon.send({"jsonrpc": "1.0", "id": 77, "method": "status"})
    assert daemon.response(77)["error"]["code"] == -32600

    assert daemon.call("status")["phase"] == "running"  # still serving
    daemon.close_stdin()  # the editor went away
    assert daemon.wait() == 0
    parse_frames(bytes(daemon.raw))


def test_the_token_over_the_control_plane_and_its_changes_announced(
    start_stdio_daemon: StartStdioDaemon, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    daemon = start_stdio_daemon(f"token_file: {token_file}\n")
    first = daemon.call("token.get")
    assert first == {
        "auth": "token",
        "token": token_file.read_text().strip(),
        "token_file": str(token_file),
    }
    status = daemon.call("status")
    assert status["auth"] == "token" and status["token_file"] == str(token_file)
    assert first["token"] not in json.dumps(status)  # status never carries the secret

    rotated = daemon.call("token.rotate")
    assert rotated["token"] != first["token"]
    assert daemon.notification("token.changed")["reason"] == "rotated"
    chat = f"{daemon.url}/v1/chat/completions"
    body = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(chat, json=body, headers={"x-api-key": rotated["token"]}).status_code == 200

    # A reload that turns the token off is announced too, and takes effect at once.
    daemon.config.write_text(daemon.config.read_text() + "auth: none\n")
    assert daemon.notification("token.changed", timeout=30)["reason"] == "config"
    assert daemon.call("token.get")["auth"] == "none"
    assert httpx.post(chat, json=body).status_code == 200
    daemon.stop()
