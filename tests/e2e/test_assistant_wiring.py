"""Every assistant we name, from an EMPTY home, against the daemon on the simulated ARGO
(docs/clients.md):

- `argo-proxy run -- TOOL ...` alone: Claude Code, Codex, OpenCode and Aider, and a
  program of the user's own on the three SDKs; Gemini CLI, which takes its auth method
  only from a settings file, is told the file and `argo-proxy setup gemini`, and runs
  after it. Each completes a tool loop: the model (docs/simulator.md#tool-calls) calls a
  tool the prompt names, the tool runs, and the model answers `Tool result received: …`.
  Aider calls no tools (it edits through its answers): it prints the model's answer.
  `run` writes none of the tools' files.
- `argo-proxy setup TOOL` for each of the seven: the dry run prints a diff and changes
  nothing; the write keeps the user's other settings and comments; the tool (where it
  is installed) then reaches the daemon from its files; `--undo` puts every file back
  byte for byte, and removes what did not exist.

The CLIs are the pinned ones of test_assistants.py (npm); Aider comes from PyPI into
its own virtual environment in the test cache (tests/downloads.py), where the editor
extension's tests find it too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from ..downloads import cache_root
from .conftest import _EXE, Process
from .helpers import sent
from .test_assistants import assistants

__all__ = ["assistants"]  # the fixture

ANSWER = "Tool result received:"
AIDER_VERSION = "0.86.2"
# The same folder and stamp as the extension's tests (src/test/assistantFiles.test.ts):
# installed once into the test cache, for both.
AIDER_VENV = Path(os.environ.get("ARGO_PROXY_AIDER_DIR", cache_root() / f"aider-{AIDER_VERSION}"))
# Everything that could tell a tool where a service is, or carry a user's settings.
_NOT_THE_USERS = (
    "ANTHROPIC_",
    "OPENAI_",
    "GEMINI_",
    "GOOGLE_",
    "ARGO_PROXY_",
    "CODEX_",
    "OPENCODE_",
    "CLAUDE_",
    "XDG_",
    "LITELLM_",
    "AIDER_",
)
QUIET = {  # what keeps the CLIs off the internet and their prompts off a test
    "NO_COLOR": "1",
    "CI": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "GEMINI_CLI_TRUST_WORKSPACE": "true",
    "OPENCODE_DISABLE_AUTOUPDATE": "1",
}


@pytest.fixture(scope="session")
def aider() -> Path:
    """Aider's executable, installed once from PyPI into its own environment."""
    exe = AIDER_VENV / "bin" / "aider"
    stamp = AIDER_VENV / "installed"
    if exe.exists() and stamp.exists() and stamp.read_text() == AIDER_VERSION:
        return exe
    print(f"\ntest cache: installing Aider {AIDER_VERSION} into {AIDER_VENV} (once, ~690 MB)",
          file=sys.__stderr__, flush=True)  # fmt: skip
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(AIDER_VENV)], check=True)
    subprocess.run(
        [str(AIDER_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", f"aider-chat=={AIDER_VERSION}"],
        check=True,
        timeout=1800,
    )  # fmt: skip
    stamp.write_text(AIDER_VERSION)
    return exe


class User:
    """Someone with an empty home and no argo-proxy variables, whose daemon runs."""

    def __init__(self, home: Path, daemon: Process) -> None:
        self.home = home
        self.daemon = daemon
        env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_THE_USERS)}
        # PWD too: OpenCode takes it, not the real working folder, as the project's
        self.env = {**env, **QUIET, "HOME": str(home), "PWD": str(home)}

    def argo(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`argo-proxy COMMAND --control-socket S ARGS...`, as this user."""
        command, *rest = args
        socket = ["--control-socket", str(self.daemon.control_socket)]
        return self.call([_EXE, command, *socket, *rest], timeout)

    def call(self, command: list[str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=self.home,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,  # Codex reads more prompt from an open one
        )

    def run(self, *command: str | Path) -> str:
        """`argo-proxy run -- COMMAND`: its output, after checking it succeeded."""
        done = self.argo("run", "--", *map(str, command), timeout=240)
        assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def files(self) -> dict[str, bytes]:
        """Every file in the home, for before-and-after comparisons."""
        return {
            str(p.relative_to(self.home)): p.read_bytes()
            for p in sorted(self.home.rglob("*"))
            if p.is_file()
        }


@pytest.fixture()
def user(tmp_path: Path, daemon: Process) -> User:
    home = tmp_path / "home"
    home.mkdir()
    return User(home, daemon)


def _requests(sim: httpx.Client) -> list[dict]:
    return [r["body"] for r in sent(sim, "/") if isinstance(r["body"], dict)]


# ------------------------------------------------------------------ run, from an empty home


def test_claude_code_reads_a_file(assistants: Path, user: User, sim: httpx.Client) -> None:
    (user.home / "Read").write_text("words from the file\n")
    prompt = str(user.home / "Read")  # the simulator calls `Read` with the prompt
    output = user.run(
        assistants / "claude", "-p", prompt, "--model", "claude-sonnet-4-6",
        "--allowedTools", "Read",
    )  # fmt: skip
    assert ANSWER in output and "words from the file" in output
    assert not (user.home / ".claude" / "settings.json").exists()


def test_codex_runs_a_command(assistants: Path, user: User, sim: httpx.Client) -> None:
    output = user.run(
        assistants / "codex", "exec", "--skip-git-repo-check", "echo exec_command ran"
    )
    assert ANSWER in output and "exec_command ran" in output
    # the model `run` chose (Codex's own default is not on ARGO), the provider from -c
    assert {body["model"] for body in _requests(sim)} == {"claudesonnet46"}
    assert not (user.home / ".codex" / "config.toml").exists()


def test_codex_keeps_the_users_own_model(assistants: Path, user: User, sim: httpx.Client) -> None:
    (user.home / ".codex").mkdir()
    config = user.home / ".codex" / "config.toml"
    config.write_text('# mine\nmodel = "gpt-4o"\n')
    output = user.run(
        assistants / "codex", "exec", "--skip-git-repo-check", "echo exec_command mine"
    )
    assert ANSWER in output and "exec_command mine" in output
    assert {body["model"] for body in _requests(sim)} == {"gpt4o"}
    assert config.read_text() == '# mine\nmodel = "gpt-4o"\n'


def test_gemini_cli_is_told_the_next_command_then_globs(
    assistants: Path, user: User, sim: httpx.Client
) -> None:
    (user.home / "notes.glob").write_text("notes\n")
    refused = user.argo("run", "--", str(assistants / "gemini"), "-p", "*.glob")
    settings = user.home / ".gemini" / "settings.json"
    assert refused.returncode == 1
    assert str(settings) in refused.stderr and "argo-proxy setup gemini" in refused.stderr
    assert "Invalid auth method" in refused.stderr  # what it saves the user from
    assert _requests(sim) == []

    done = user.argo("setup", "gemini", "--yes")
    assert done.returncode == 0, done.stderr
    output = user.run(assistants / "gemini", "-p", "*.glob")  # glob's pattern: the prompt
    assert ANSWER in output and "notes.glob" in output


def test_opencode_reads_a_file(assistants: Path, user: User, sim: httpx.Client) -> None:
    (user.home / "read").write_text("words for opencode\n")
    output = user.run(assistants / "opencode", "run", str(user.home / "read"))
    assert ANSWER in output and "words for opencode" in output
    assert not (user.home / ".config" / "opencode" / "opencode.json").exists()
    assert {body["model"] for body in _requests(sim)} == {"claudesonnet46"}


def test_aider_answers(aider: Path, user: User, sim: httpx.Client) -> None:
    project = user.home / "project"
    project.mkdir()
    output = user.run(
        aider, "--message", "hello from aider", "--no-git", "--yes-always", "--no-check-update",
        "--analytics-disable", "--no-show-model-warnings", "--no-pretty",
    )  # fmt: skip
    assert "Echo: hello from aider" in output
    assert _requests(sim), "the daemon sent ARGO nothing"


SDK_PROGRAM = '''
"""A user's own program: the three SDKs configured by nothing but the environment,
each calling the tool the model asks for and sending its result back."""
import anthropic
import openai
from google import genai
from google.genai import types

SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
PROMPT = "use lookup for the answer"

chat = openai.OpenAI()
tools = [{"type": "function", "function": {"name": "lookup", "parameters": SCHEMA}}]
messages = [{"role": "user", "content": PROMPT}]
first = chat.chat.completions.create(model="argo:gpt-4o", messages=messages, tools=tools)
call = first.choices[0].message.tool_calls[0]
messages += [
    first.choices[0].message.model_dump(exclude_none=True),
    {"role": "tool", "tool_call_id": call.id, "content": "openai-42"},
]
final = chat.chat.completions.create(model="argo:gpt-4o", messages=messages, tools=tools)
print("openai:", final.choices[0].message.content)

claude = anthropic.Anthropic()
tools = [{"name": "lookup", "input_schema": SCHEMA}]
messages = [{"role": "user", "content": PROMPT}]
first = claude.messages.create(
    model="claude-sonnet-4-6", max_tokens=256, messages=messages, tools=tools
)
use = next(b for b in first.content if b.type == "tool_use")
result = {"type": "tool_result", "tool_use_id": use.id, "content": "anthropic-42"}
messages += [
    {"role": "assistant", "content": first.content},
    {"role": "user", "content": [result]},
]
final = claude.messages.create(
    model="claude-sonnet-4-6", max_tokens=256, messages=messages, tools=tools
)
print("anthropic:", final.content[0].text)

google = genai.Client()
lookup = types.FunctionDeclaration(name="lookup", parameters_json_schema=SCHEMA)
config = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[lookup])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
)
contents = [types.Content(role="user", parts=[types.Part(text=PROMPT)])]
first = google.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
reply = types.Part.from_function_response(name="lookup", response={"result": "google-42"})
contents += [first.candidates[0].content, types.Content(role="user", parts=[reply])]
final = google.models.generate_content(model="gemini-2.5-flash", contents=contents, config=config)
print("google:", final.text)
'''


def test_env_json_lists_what_each_assistant_reads(user: User) -> None:
    """The one list the editor extension reads (docs/clients.md#the-variables)."""
    done = user.argo("env", "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    codex = payload["assistants"]["codex"]
    assert codex["executables"] == ["codex"] and codex["setup"] is True
    assert "ARGO_PROXY_TOKEN" in codex["variables"]
    for assistant in payload["assistants"].values():
        assert set(assistant["variables"]) <= set(payload["variables"])


def test_a_program_on_the_three_sdks(user: User, sim: httpx.Client) -> None:
    (user.home / "sdks.py").write_text(SDK_PROGRAM)
    output = user.run(sys.executable, "sdks.py")
    assert f"openai: {ANSWER} openai-42" in output
    assert f"anthropic: {ANSWER} anthropic-42" in output
    assert "google: " + ANSWER in output and "google-42" in output


# ------------------------------------------------------------------ setup

# What the user already has: settings of their own, and comments.
EXISTING = {
    # plain JSON: Claude Code takes no comments
    ".claude/settings.json": '{\n  "env": {"FOO": "1"}\n}\n',
    ".codex/config.toml": '# mine\napproval_policy = "never"\n\n[profiles.fast]\nmodel = "x"\n',
    ".gemini/settings.json": '{\n  // mine\n  "ui": {"theme": "GitHub"}\n}\n',
    ".gemini/.env": "# my keys\nOTHER_KEY=1\n",
    ".aider.conf.yml": "# my aider settings\ndark-mode: true\n",
    ".config/opencode/opencode.json": '{\n  // mine\n  "theme": "tokyonight"\n}\n',
    ".continue/config.yaml": "name: Mine\n# my models\nmodels: []\n",
    ".cline/data/globalState.json": '{"mode": "act"}',
}
# What each keeps: a line of the user's in the file after setup.
KEPT = {
    ".claude/settings.json": '"FOO": "1"',
    ".codex/config.toml": '[profiles.fast]\nmodel = "x"',
    ".gemini/settings.json": '"theme": "GitHub"',
    ".gemini/.env": "OTHER_KEY=1",
    ".aider.conf.yml": "dark-mode: true",
    ".config/opencode/opencode.json": '"theme": "tokyonight"',
    ".continue/config.yaml": "name: Mine",
    ".cline/data/globalState.json": '"mode": "act"',
}
COMMENTS = ("// mine", "# mine", "# my keys", "# my aider settings", "# my models")


def _tool_runs(tool: str, user: User, bin_dir: Path, aider: Path | None) -> str:
    """The tool, started as the user starts it after setup: Claude Code, Gemini CLI and
    Aider straight (their files hold all they need), Codex and OpenCode through `run`
    (their files name the variable that holds the token)."""
    prompt = f"hello from {tool} after setup"
    if tool == "claude":
        done = user.call([str(bin_dir / "claude"), "-p", prompt])
    elif tool == "gemini":
        done = user.call([str(bin_dir / "gemini"), "-p", prompt])
    elif tool == "aider":
        assert aider is not None
        args = ["--message", prompt, "--no-git", "--yes-always", "--no-check-update"]
        more = ["--analytics-disable", "--no-show-model-warnings", "--no-pretty"]
        done = user.call([str(aider), *args, *more])
    elif tool == "codex":
        return user.run(bin_dir / "codex", "exec", "--skip-git-repo-check", prompt)
    else:
        return user.run(bin_dir / "opencode", "run", prompt)
    assert done.returncode == 0, f"{tool} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.parametrize(
    "tool", ["claude", "codex", "gemini", "aider", "opencode", "continue", "cline"]
)
def test_setup_dry_run_write_use_and_undo(
    tool: str, user: User, sim: httpx.Client, request: pytest.FixtureRequest
) -> None:
    for rel, text in EXISTING.items():
        path = user.home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    before = user.files()

    dry = user.argo("setup", tool, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "\n+++ " in "\n" + dry.stdout and "\n+" in dry.stdout
    assert user.files() == before, "a dry run changes nothing"
    plan = json.loads(user.argo("setup", tool, "--dry-run", "--json").stdout)
    (entry,) = plan["plans"]
    token = user.argo("token").stdout.strip()
    assert token and token not in dry.stdout and token not in json.dumps(plan)

    done = user.argo("setup", tool, "--yes")
    assert done.returncode == 0, done.stderr
    written = {str(Path(f["path"]).relative_to(user.home)) for f in entry["files"]}
    after = user.files()
    for rel in written:
        assert after[rel] != before.get(rel), f"{rel} not written"
        text = after[rel].decode()
        if rel in KEPT:
            assert KEPT[rel] in text, f"{rel} lost the user's settings:\n{text}"
            plain_json = rel.endswith(("globalState.json", ".claude/settings.json"))
            assert plain_json or any(c in text for c in COMMENTS), text
    for f in entry["files"]:
        if f["private"]:
            assert (Path(f["path"]).stat().st_mode & 0o777) == 0o600
    again = json.loads(user.argo("setup", tool, "--dry-run", "--json").stdout)
    assert not any(f["changes"] for f in again["plans"][0]["files"]), "set up once is enough"

    if tool in ("claude", "codex", "gemini", "opencode", "aider"):
        bin_dir = request.getfixturevalue("assistants")
        aider = request.getfixturevalue("aider") if tool == "aider" else None
        output = _tool_runs(tool, user, bin_dir, aider)
        assert "Echo: " in output and f"hello from {tool} after setup" in output
        assert _requests(sim), "the daemon sent ARGO nothing"

    user_files_now = user.files()
    undone = user.argo("setup", tool, "--undo")
    assert undone.returncode == 0, undone.stderr
    restored = user.files()
    for rel in written:
        assert restored.get(rel) == before.get(rel), f"{rel} not back byte for byte"
    # what the tool itself made meanwhile (its history, caches) is left alone
    for rel in set(user_files_now) - written:
        assert restored.get(rel) == user_files_now[rel] or rel.startswith(".local/state")


def test_setup_without_a_daemon_uses_the_config(tmp_path: Path) -> None:
    """No daemon running: the config's address (the default here) and the token file."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_THE_USERS)}
    env.update(HOME=str(home), ARGO_PROXY_CONTROL_SOCKET=str(tmp_path / "none.sock"))

    def setup(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_EXE, "setup", *args], env=env, capture_output=True, text=True, timeout=60
        )

    done = setup("codex", "--yes")
    assert done.returncode == 0, done.stderr
    assert "no daemon is running" in done.stderr
    config = (home / ".codex" / "config.toml").read_text()
    assert 'base_url = "http://127.0.0.1:44497/v1"' in config
    assert (home / ".config" / "argo-proxy" / "token").exists()
    unknown = setup("vim")
    assert unknown.returncode == 2 and "no such tool: vim" in unknown.stderr
    listed = json.loads(setup("--json").stdout)
    codex = {"tool": "codex", "label": "Codex CLI", "set_up": True, "changed_since": []}
    assert codex in listed["tools"]
    assert setup("--undo").returncode == 0
    assert not (home / ".codex" / "config.toml").exists()
