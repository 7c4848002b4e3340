"""What `argo-proxy run -- TOOL` adds for each tool (control/run_wiring.py), and where
the user's own settings win; the variables' one list (control/assistants.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from argo_proxy.control.assistants import ASSISTANTS, assistants_payload, client_variables
from argo_proxy.control.run_wiring import CannotRun, tool_of, wire
from argo_proxy.daemon.model_cards import chat_cards
from argo_proxy.daemon.models import builtin_catalog

MODELS = chat_cards(builtin_catalog())
BASE = "http://127.0.0.1:44497"
PROVIDER = (
    'model_providers.argo={name = "ARGO via argo-proxy", base_url = "http://127.0.0.1:44497/v1", '
    'env_key = "ARGO_PROXY_TOKEN", wire_api = "responses"}'
)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    return home


def _env(home: Path, **more: str) -> dict[str, str]:
    return {"HOME": str(home), "PATH": "/usr/bin", **more}


@pytest.mark.parametrize(
    ("command", "tool"),
    [
        (["codex"], "codex"),
        (["/opt/node_modules/.bin/codex", "exec"], "codex"),
        (["gemini.cmd"], "gemini"),
        (["claude"], "claude"),
        (["opencode", "run"], "opencode"),
        (["aider"], "aider"),
        (["python", "x.py"], None),
    ],
)
def test_the_tool_is_known_by_its_executable(command: list[str], tool: str | None) -> None:
    assert tool_of(command) == tool


def test_codex_gets_a_provider_right_after_its_executable(home: Path) -> None:
    wired = wire(["/bin/codex", "exec", "hi"], _env(home), BASE, MODELS)
    assert wired.command == [
        "/bin/codex",
        "-c",
        PROVIDER,
        "-c",
        'model_provider="argo"',
        "-c",
        'model="argo:claude-sonnet-4.6"',
        "exec",
        "hi",
    ]


def test_codex_keeps_the_users_own_model_and_provider(home: Path) -> None:
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text('model = "o3"\n')
    wired = wire(["codex", "exec", "hi"], _env(home), BASE, MODELS)
    assert wired.command == ["codex", "-c", PROVIDER, "-c", 'model_provider="argo"', "exec", "hi"]
    # on the command line
    wired = wire(["codex", "exec", "-m", "gpt-5", "hi"], _env(home), BASE, MODELS)
    assert 'model="argo:claude-sonnet-4.6"' not in wired.command
    wired = wire(["codex", "-c", "model_provider=mine", "exec"], _env(home), BASE, MODELS)
    assert wired.command == ["codex", "-c", PROVIDER, "-c", "model_provider=mine", "exec"]


def test_codex_keeps_a_provider_chosen_in_config_or_profile(home: Path) -> None:
    codex_home = home / "elsewhere"
    codex_home.mkdir()
    (codex_home / "config.toml").write_text(
        'profile = "work"\n[profiles.work]\nmodel_provider = "azure"\n'
        '[model_providers.argo]\nbase_url = "http://127.0.0.1:1/v1"\n'
    )
    wired = wire(["codex", "exec"], _env(home, CODEX_HOME=str(codex_home)), BASE, MODELS)
    assert wired.command == ["codex", "exec"]


def test_codex_with_an_unreadable_config_gets_the_overrides(home: Path) -> None:
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text("model = \n")
    wired = wire(["codex"], _env(home), BASE, MODELS)
    assert 'model_provider="argo"' in wired.command


def test_opencode_gets_its_provider_in_the_environment(home: Path) -> None:
    wired = wire(["opencode", "run", "hi"], _env(home), BASE, MODELS)
    assert wired.command == ["opencode", "run", "hi"]
    content = json.loads(wired.env["OPENCODE_CONFIG_CONTENT"])
    assert content["model"] == "argo/argo:claude-sonnet-4.6"
    argo = content["provider"]["argo"]
    assert argo["options"] == {"baseURL": f"{BASE}/v1", "apiKey": "{env:ARGO_PROXY_TOKEN}"}
    assert "argo:gpt-4o" in argo["models"]


def test_opencode_keeps_the_users_model_and_content(home: Path) -> None:
    folder = home / ".config" / "opencode"
    folder.mkdir(parents=True)
    (folder / "opencode.jsonc").write_text('{\n  // mine\n  "model": "argo/argo:gpt-4o"\n}\n')
    content = json.loads(
        wire(["opencode"], _env(home), BASE, MODELS).env["OPENCODE_CONFIG_CONTENT"]
    )
    assert "model" not in content and "argo" in content["provider"]
    mine = _env(home, OPENCODE_CONFIG_CONTENT='{"model": "x"}')
    assert wire(["opencode"], mine, BASE, MODELS).env["OPENCODE_CONFIG_CONTENT"] == '{"model": "x"}'


def test_gemini_without_a_settings_file_is_told_the_next_command(home: Path) -> None:
    with pytest.raises(CannotRun) as caught:
        wire(["gemini", "-p", "hi"], _env(home), BASE, MODELS)
    message = str(caught.value)
    assert str(home / ".gemini" / "settings.json") in message
    assert "argo-proxy setup gemini" in message
    assert "Invalid auth method selected." in message


def test_gemini_with_its_auth_chosen_gets_a_model_argo_has(home: Path) -> None:
    (home / ".gemini").mkdir()
    (home / ".gemini" / "settings.json").write_text(
        '{ // mine\n "security": {"auth": {"selectedType": "gemini-api-key"}}}'
    )
    wired = wire(["gemini", "-p", "hi"], _env(home), BASE, MODELS)
    assert wired.command == ["gemini", "-p", "hi"]
    assert wired.env["GEMINI_MODEL"] == "argo:gemini-2.5-pro"
    assert "GEMINI_MODEL" not in wire(["gemini", "-m", "x"], _env(home), BASE, MODELS).env
    chosen = _env(home, GEMINI_MODEL="gemini-2.5-flash")
    assert wire(["gemini"], chosen, BASE, MODELS).env["GEMINI_MODEL"] == "gemini-2.5-flash"


def test_aider_uses_litellms_own_price_list(home: Path) -> None:
    assert wire(["aider"], _env(home), BASE, MODELS).env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"


def test_claude_code_gets_a_model_argo_has_unless_the_user_chose_one(home: Path) -> None:
    wired = wire(["claude", "-p", "hi"], _env(home), BASE, MODELS)
    assert wired.command == ["claude", "-p", "hi"]
    assert wired.env == {**_env(home), "ANTHROPIC_MODEL": "claude-sonnet-4-6"}
    assert (
        "ANTHROPIC_MODEL" not in wire(["claude", "--model", "opus"], _env(home), BASE, MODELS).env
    )
    (home / ".claude").mkdir()
    (home / ".claude" / "settings.json").write_text('{"model": "claude-opus-4-6"}')
    assert "ANTHROPIC_MODEL" not in wire(["claude"], _env(home), BASE, MODELS).env


def test_other_commands_run_as_given(home: Path) -> None:
    wired = wire(["python", "script.py"], _env(home), BASE, MODELS)
    assert wired.command == ["python", "script.py"] and wired.env == _env(home)


def test_the_variables_have_one_list() -> None:
    everything = client_variables(BASE, "ap-key")
    assert everything["OPENAI_BASE_URL"] == f"{BASE}/v1"
    assert everything["ANTHROPIC_BASE_URL"] == everything["GOOGLE_GEMINI_BASE_URL"] == BASE
    assert everything["ARGO_PROXY_TOKEN"] == everything["GEMINI_API_KEY"] == "ap-key"
    assert list(client_variables(BASE, "k", ["claude"])) == [
        "ARGO_PROXY_URL",
        "ARGO_PROXY_TOKEN",
        "ANTHROPIC_BASE_URL",
        "ANTHROPIC_API_KEY",
        "CLAUDE_CODE_SKIP_ANTHROPIC_AUTH",
    ]
    table = assistants_payload()
    assert set(table) == set(ASSISTANTS)
    for row in table.values():
        assert set(row["variables"]) <= set(everything)  # type: ignore[arg-type]


def test_the_provider_setup_wrote_follows_the_daemons_address(home: Path) -> None:
    """After `setup`, the daemon moved (`--port auto`): `run` gives the new address."""
    (home / ".codex").mkdir()
    (home / ".codex" / "config.toml").write_text(
        'model_provider = "argo"\nmodel = "argo:gpt-4o"\n[model_providers.argo]\n'
        'name = "ARGO via argo-proxy"\nbase_url = "http://127.0.0.1:1/v1"\n'
    )
    assert wire(["codex"], _env(home), BASE, MODELS).command == ["codex", "-c", PROVIDER]
    folder = home / ".config" / "opencode"
    folder.mkdir(parents=True)
    (folder / "opencode.json").write_text(
        '{"model": "argo/argo:gpt-4o", "provider": {"argo": {"name": "ARGO (argo-proxy)",'
        ' "options": {"baseURL": "http://127.0.0.1:1/v1"}}}}'
    )
    content = json.loads(
        wire(["opencode"], _env(home), BASE, MODELS).env["OPENCODE_CONFIG_CONTENT"]
    )
    assert content["provider"]["argo"]["options"]["baseURL"] == f"{BASE}/v1"
    assert "model" not in content
