"""What `argo-proxy serve` prints once it listens: the commands that reach it, spelled
as the user can run them (docs/index.md)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from argo_proxy.control import cli
from argo_proxy.control.client_setup import next_steps


def test_the_address_really_listened_on_and_every_command() -> None:
    lines = next_steps("http://0.0.0.0:45001", "token")
    assert lines == [
        "argo-proxy is ready at http://127.0.0.1:45001; this terminal runs it (Ctrl-C stops "
        "it); in another:",
        "  argo-proxy run -- claude  # Claude Code wired to it; codex, opencode, python... alike",
        '  eval "$(argo-proxy env)"  # or: every client\'s URL and key, set in this shell',
        "  argo-proxy token          # the access token, which clients send as their API key",
        "  argo-proxy models         # the models it serves",
        "By hand: base URL http://127.0.0.1:45001/v1 (OpenAI), http://127.0.0.1:45001 "
        "(Anthropic, Google); key `argo-proxy token`",
    ]


def test_no_token_an_editor_and_another_socket() -> None:
    lines = next_steps(
        "http://127.0.0.1:45002",
        "none",
        socket_option=" --control-socket /tmp/x.sock",
        from_editor=True,
    )
    assert lines[0] == "argo-proxy is ready at http://127.0.0.1:45002; from a terminal:"
    assert not any(" token" in line for line in lines)
    assert lines[1].startswith("  argo-proxy run --control-socket /tmp/x.sock -- claude  # ")
    assert lines[2].startswith('  eval "$(argo-proxy env --control-socket /tmp/x.sock)"  # ')
    assert lines[-1].endswith("key any (auth: none)")


def _script(folder: Path) -> Path:
    folder.mkdir(parents=True)
    exe = folder / "argo-proxy"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(stat.S_IRWXU)
    (folder / "activate").write_text("")
    return exe


def test_argo_proxy_off_path_is_spelled_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exe = _script(tmp_path / "venv" / "bin")
    monkeypatch.setattr("sys.argv", [str(exe), "serve"])
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    lines = cli._next_steps(False, None)("http://127.0.0.1:45003", "token")
    assert lines[1] == f"  # argo-proxy is not on PATH: `. {exe.parent}/activate` puts it there"
    assert lines[2].startswith(f"  {exe} run -- claude  # ")

    monkeypatch.setenv("PATH", os.pathsep.join([str(exe.parent), "/usr/bin"]))
    lines = cli._next_steps(False, Path("/tmp/y.sock"))("http://127.0.0.1:45003", "token")
    assert lines[1].startswith("  argo-proxy run --control-socket /tmp/y.sock -- claude  # ")
