"""The real coding assistants, installed from npm, run non-interactively against the
daemon: Claude Code (Anthropic Messages), Codex CLI (OpenAI Responses) and Gemini CLI
(Google GenAI), each on a Claude, a GPT and a Gemini model on the simulated ARGO.

Each is started the way docs/security.md tells users to: `argo-proxy run -- CLI ...`,
which hands it the daemon's real URL and access token in the variables it reads.

The CLIs (pinned versions) are installed once into the test cache, outside the clone
(tests/downloads.py; `ARGO_PROXY_ASSISTANTS_DIR` names another folder). The tests skip
only when npm itself is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ..downloads import cached
from .conftest import _EXE, Process, StartStdioDaemon

PACKAGES = {  # versions these tests were written against
    "claude": "@anthropic-ai/claude-code@2.1.197",
    "codex": "@openai/codex@0.169.0",
    "gemini": "@google/gemini-cli@0.61.0",
    "opencode": "opencode-ai@1.18.33",  # tests/e2e/test_assistant_wiring.py
}
MODELS = ["claude-sonnet-4-6", "argo:gpt-4o", "gemini-2.5-flash"]


@pytest.fixture(scope="session")
def assistants() -> Path:
    """The folder holding the CLIs' executables, installing them on first use."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the coding assistants come from npm")

    def install(folder: Path) -> None:
        command = [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund"]
        subprocess.run([*command, "--loglevel=error", *PACKAGES.values()], check=True, timeout=900)

    chosen = os.environ.get("ARGO_PROXY_ASSISTANTS_DIR")
    if chosen:  # a folder of the developer's: installed into when a CLI is missing
        bin_dir = Path(chosen) / "node_modules" / ".bin"
        if not all((bin_dir / name).exists() for name in PACKAGES):
            install(Path(chosen))
        return bin_dir
    pins = list(PACKAGES.values())
    folder = cached(
        "assistants", pins, "Claude Code, Codex, Gemini CLI and OpenCode", "~1.1 GB", install
    )
    return folder / "node_modules" / ".bin"


def _run(
    command: list[str], daemon: Process, home: Path, env: dict[str, str], timeout: float = 180
) -> str:
    """Run `argo-proxy run -- COMMAND` against `daemon`, as a user would."""
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("ANTHROPIC_", "OPENAI_", "GEMINI_", "GOOGLE_", "ARGO_PROXY_"))
    }
    base.update(HOME=str(home), NO_COLOR="1", CI="1", **env)
    done = subprocess.run(
        [_EXE, "run", "--control-socket", str(daemon.control_socket), "--", *command],
        cwd=home,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, (
        f"{command[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def claude_code(
    bin_dir: Path, daemon: Process, home: Path, model: str, prompt: str, *args: str
) -> str:
    """Claude Code in print mode; `args` are more of its options (`--allowedTools ...`)."""
    return _run(
        [str(bin_dir / "claude"), "-p", prompt, "--model", model, *args],
        daemon,
        home,
        {
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_AUTOUPDATER": "1",
            "DISABLE_TELEMETRY": "1",
        },
    )


def codex(
    bin_dir: Path, daemon: Process, home: Path, model: str, prompt: str, *settings: str
) -> str:
    """`codex exec`; `settings` are more top-level config.toml lines."""
    config = home / ".codex"
    config.mkdir(exist_ok=True)
    (config / "config.toml").write_text(
        'model_provider = "argo"\n'
        f'model = "{model}"\n'
        + "".join(f"{line}\n" for line in settings)
        + "[model_providers.argo]\n"
        'name = "ARGO via argo-proxy"\n'
        f'base_url = "{daemon.url}/v1"\n'
        'env_key = "ARGO_PROXY_TOKEN"\n'
        'wire_api = "responses"\n',
    )
    return _run(
        [str(bin_dir / "codex"), "exec", "--skip-git-repo-check", prompt],
        daemon,
        home,
        {"CODEX_HOME": str(config)},
    )


def gemini_cli(bin_dir: Path, daemon: Process, home: Path, model: str, prompt: str) -> str:
    settings = home / ".gemini"
    settings.mkdir(exist_ok=True)
    (settings / "settings.json").write_text(
        json.dumps(
            {
                "security": {"auth": {"selectedType": "gemini-api-key"}},
                "general": {"disableAutoUpdate": True},
                "privacy": {"usageStatisticsEnabled": False},
            }
        )
    )
    return _run(
        [str(bin_dir / "gemini"), "-p", prompt, "-m", model],
        daemon,
        home,
        {"GEMINI_CLI_TRUST_WORKSPACE": "true"},
    )


ASSISTANTS: dict[str, Callable[[Path, Process, Path, str, str], str]] = {
    "claude-code": claude_code,
    "codex": codex,
    "gemini-cli": gemini_cli,
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("assistant", list(ASSISTANTS))
def test_assistant_prints_the_models_answer(
    assistants: Path, daemon: Process, tmp_path: Path, assistant: str, model: str
) -> None:
    prompt = f"Say hello from {assistant} to {model}"
    output = ASSISTANTS[assistant](assistants, daemon, tmp_path, model, prompt)
    assert f"Echo: {prompt}" in output


# The product name each assistant's requests are recorded under, and the API it speaks.
RECORDED_AS = {
    "claude-code": ("claude-code", "anthropic"),
    "codex": ("codex", "openai_responses"),
    "gemini-cli": ("gemini-cli", "google"),
}


def test_each_assistants_requests_are_recorded_under_its_name(
    assistants: Path, start_stdio_daemon: StartStdioDaemon, tmp_path: Path
) -> None:
    """docs/observability.md#clients: a user sees which assistant called which model."""
    daemon = start_stdio_daemon()
    daemon.notification("models.refreshed")
    for assistant, run in ASSISTANTS.items():
        home = tmp_path / assistant
        home.mkdir()
        run(assistants, daemon.proc, home, "claude-sonnet-4-6", f"Say hi for {assistant}")
        client, client_format = RECORDED_AS[assistant]
        record = daemon.notification(
            "request.finished",
            lambda p, client=client: p["client"] == client and p["status"] == 200,
            timeout=30,
        )
        assert record["client_format"] == client_format
        assert record["client_version"]
        assert record["argo_model"] == "claudesonnet46" and record["upstream"] == "anthropic"
        assert record["input_tokens"] > 0 and record["output_tokens"] > 0
