"""A newcomer's first hour, as the README has it: `argo-proxy serve --simulate` from an
empty home, with argo-proxy not on PATH, then the commands it says to run next, in a
second terminal; `argo-proxy models` asks that daemon; `ctl reload` names the file it
read."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from argo_proxy.control.models_command import model_rows
from argo_proxy.daemon.models import catalog_from_upstream

from .conftest import _EXE, Process, _wait_for_models, clean_env, spawn

_BIN = str(Path(_EXE).parent)


@dataclass
class Newcomer:
    """The daemon a newcomer started, and the environment of their second terminal."""

    daemon: Process
    home: Path
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.shell([_EXE, *args])

    def shell(self, args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            args, env=self.env, cwd=self.home, capture_output=True, text=True, timeout=60
        )


def newcomer_env(home: Path) -> dict[str, str]:
    """An empty home, no config file, and the venv's bin folder not on PATH."""
    env = clean_env(home)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != _BIN)
    return env


def start_newcomer(home: Path) -> Newcomer:
    env = newcomer_env(home)
    daemon = spawn(["serve", "--simulate", "--port", "0"], cwd=home, env=env)
    _wait_for_models(daemon.url)
    return Newcomer(daemon, home, env)


@pytest.fixture(scope="module")
def newcomer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newcomer]:
    started = start_newcomer(tmp_path_factory.mktemp("newcomer"))
    yield started
    assert started.daemon.stop() == 0


def _next_steps(daemon: Process) -> list[str]:
    """The lines `serve` printed after `argo-proxy is ready at`, to the `By hand:` line."""
    daemon.wait_for_line("By hand: ")
    lines = [line.rstrip("\n") for line in daemon.lines]
    first = next(i for i, line in enumerate(lines) if line.startswith("argo-proxy is ready at"))
    last = next(i for i, line in enumerate(lines) if line.startswith("By hand: "))
    return lines[first : last + 1]


def test_serve_says_what_to_run_next_and_those_commands_work(newcomer: Newcomer) -> None:
    daemon, url = newcomer.daemon, newcomer.daemon.url
    steps = _next_steps(daemon)
    assert steps[0] == (
        f"argo-proxy is ready at {url}; this terminal runs it (Ctrl-C stops it); in another:"
    )
    # argo-proxy is not on PATH: every command is spelled with its full path
    if (Path(_BIN) / "activate").is_file():
        assert steps[1] == f"  # argo-proxy is not on PATH: `. {_BIN}/activate` puts it there"
    commands = {}  # subcommand → the command as printed
    for line in steps[1:-1]:
        command = line.split("  # ")[0].strip()
        if command:
            subcommand = re.search(rf"{re.escape(_EXE)} (\w+)", command)
            assert subcommand is not None, line
            commands[subcommand[1]] = command
    assert commands == {
        "run": f"{_EXE} run -- claude",
        "env": f'eval "$({_EXE} env)"',
        "token": f"{_EXE} token",
        "models": f"{_EXE} models",
    }
    assert steps[-1] == (
        f"By hand: base URL {url}/v1 (OpenAI), {url} (Anthropic, Google); key `{_EXE} token`"
    )
    token = (newcomer.home / ".config" / "argo-proxy" / "token").read_text().strip()
    assert token not in daemon.log
    assert "Traceback" not in daemon.log  # the simulated ARGO's connections too

    # Pasted into the second terminal, as printed, they reach this daemon.
    printed = newcomer.shell(["sh", "-c", commands["token"]])
    assert (printed.returncode, printed.stdout) == (0, f"{token}\n"), printed.stderr
    wired = newcomer.shell(["sh", "-c", commands["env"] + '\necho "$OPENAI_BASE_URL"'])
    assert wired.stdout == f"{url}/v1\n", wired.stderr
    reply = httpx.post(
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {token}"},
        json={"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "first"}]},
    )
    assert reply.json()["choices"][0]["message"]["content"] == "Echo: first"


def test_models_lists_the_running_daemons_models(newcomer: Newcomer) -> None:
    # No config file points at the simulator: only the daemon knows where it is.
    found = re.search(r"using the simulated ARGO at (http://\S+)", newcomer.daemon.log)
    assert found is not None
    served = model_rows(catalog_from_upstream(httpx.get(f"{found[1]}/v1/models").json()))

    listed = newcomer.cli("models", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == served
    table = newcomer.cli("models")
    assert table.returncode == 0 and table.stderr == ""
    aliases = sum(len(row["aliases"]) for row in served)
    assert table.stdout.startswith(f"Available models: {len(served)} models, {aliases} aliases")

    # A config named on the command line is asked about instead: its ARGO, not the daemon's.
    other = newcomer.home / "other.yaml"
    other.write_text("user: jdoe\nargo_base_url: http://127.0.0.1:9\n")
    named = newcomer.cli("models", str(other))
    assert named.returncode == 1 and "Cannot reach ARGO at http://127.0.0.1:9" in named.stderr


def test_ctl_reload_names_the_file_it_read(tmp_path: Path) -> None:
    started = start_newcomer(tmp_path)
    try:
        none = started.cli("ctl", "reload")
        assert none.returncode == 0, none.stderr
        assert none.stdout == (
            "config reloaded (no config file: the built-in defaults): no setting changed\n"
        )
        config = tmp_path / ".config" / "argo-proxy" / "config.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text("log_size: 321\n")
        found = started.cli("ctl", "reload")
        assert found.returncode == 0, found.stderr
        assert found.stdout.startswith(f"config reloaded from {config}:\n  log_size: ")
        assert "-> 321" in found.stdout
        status = json.loads(started.cli("ctl", "status", "--json").stdout)
        assert status["config_path"] == str(config)
    finally:
        assert started.daemon.stop() == 0
