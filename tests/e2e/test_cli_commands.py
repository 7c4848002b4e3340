"""The everyday commands (docs/control.md#everyday-commands): models, config
show|validate|path|init|migrate, --version, and a mistyped command."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .conftest import _EXE, Process, clean_env

V1_CONFIG = """\
user: JDoe
port: 51234
argo_url: https://apps-dev.inside.anl.gov/argoapi/api/v1/resource/chat/
argo_stream_url: https://apps-dev.inside.anl.gov/argoapi/api/v1/resource/streamchat/
num_workers: 5
timeout: 600
verbose: true
"""


def run(home: Path, *args: str, stdin: str = "") -> tuple[int, str, str]:
    proc = subprocess.run(
        [_EXE, *args],
        cwd=home,
        env=clean_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture()
def home(tmp_path: Path) -> Path:
    return tmp_path


def test_a_reader_that_stops_early_gets_no_traceback(home: Path, simulator: Process) -> None:
    """`argo-proxy models | head -1`: the pipe closes before the list is written."""
    (home / "config.yaml").write_text(f"user: jdoe\nargo_base_url: {simulator.url}\n")
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes a byte
    try:
        proc = subprocess.run(
            [_EXE, "models"], cwd=home, env=clean_env(home), stdout=write,
            stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write)
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert proc.returncode == 141


def test_models_lists_argo_models_without_a_daemon(home: Path, simulator: Process) -> None:
    (home / "config.yaml").write_text(f"user: jdoe\nargo_base_url: {simulator.url}\n")
    code, out, err = run(home, "models", "--json")
    assert code == 0, err
    rows = json.loads(out)
    gpt4o = next(row for row in rows if row["upstream_id"] == "gpt4o")
    assert gpt4o["type"] == "chat" and gpt4o["family"] == "openai"
    assert "argo:gpt-4o" in gpt4o["aliases"]
    embed = [row for row in rows if row["type"] == "embedding"]
    assert embed and all(row["family"] == "openai" for row in embed)

    code, out, _ = run(home, "models")
    assert code == 0
    assert out.startswith(f"Available models: {len(rows)} models")
    assert "Chat: Anthropic" in out and "\nEmbedding\n" in out

    (home / "config.yaml").write_text("user: jdoe\nargo_base_url: http://127.0.0.1:9\n")
    code, out, err = run(home, "models")
    assert code == 1 and "Cannot reach ARGO" in err


def test_config_path_show_and_validate(home: Path) -> None:
    code, _, err = run(home, "config", "path")
    assert code == 1 and "argo-proxy config init" in err

    (home / "config.yaml").write_text("user: jdoe\nport: 45000\n")
    assert run(home, "config", "path")[1].strip() == str(home / "config.yaml")
    code, out, _ = run(home, "config", "show")
    shown = json.loads(out)
    assert shown["port"] == 45000 and shown["user"] == "j***" and "jdoe" not in out
    code, out, _ = run(home, "config", "validate")
    assert code == 0 and "Configuration validation successful" in out

    (home / "bad.yaml").write_text("user: jdoe\nport: 99999\n")
    code, _, err = run(home, "config", "validate", "bad.yaml")
    assert code == 1 and "bad.yaml:2: `port` must be a port number" in err


def test_config_migrate_rewrites_a_v1_file_with_a_backup(home: Path) -> None:
    path = home / "config.yaml"
    path.write_text(V1_CONFIG)
    code, out, err = run(home, "config", "migrate")
    assert code == 0, err
    assert "config_version: none -> 3" in out
    assert "removed: argo_url" in out and "removed: num_workers" in out
    assert "added: argo_base_url: https://apps-dev.inside.anl.gov/argoapi" in out
    assert (home / "config.yaml.bak").read_text() == V1_CONFIG
    text = path.read_text()
    assert text.startswith("# Core settings\nconfig_version: '3'\nuser: jdoe\nport: 51234\n")
    assert "argo_url" not in text and "timeout" not in text

    code, out, _ = run(home, "config", "migrate")  # the second time there is nothing to do
    assert (code, out.strip()) == (0, "Config is already in canonical v3 format. Nothing to do.")


def test_config_init_asks_and_writes_a_file_that_loads(home: Path) -> None:
    target = home / "new" / "config.yaml"
    answers = "JDoe\n8080\nftp://nope\nhttps://apps.inside.anl.gov/argoapi/\ny\n"
    code, out, err = run(home, "config", "init", str(target), stdin=answers)
    assert code == 0, err
    assert "must start with http" in out  # asked again after a bad answer
    text = target.read_text()
    assert "user: jdoe\n" in text and "port: 8080\n" in text and "verbose: true\n" in text
    assert "argo_base_url: https://apps.inside.anl.gov/argoapi\n" in text
    assert (target.stat().st_mode & 0o777) == 0o600

    code, out, err = run(home, "config", "init", str(target), stdin="")
    assert code == 1 and "nothing written" in err and text == target.read_text()


def test_version_and_a_mistyped_command(home: Path) -> None:
    code, out, _ = run(home, "--version")
    assert code == 0 and out.startswith("argo-proxy ")
    code, _, err = run(home, "server")
    assert code == 2 and "unknown command 'server'. Did you mean 'serve'?" in err
