"""`argo-proxy setup`'s writers (control/assistant_files.py) and what they rest on: the
JSONC editor, the atomic write with its backup, and undo (control/jsonc.py,
control/file_edits.py). Real files in a temporary home."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
import tomlkit
from ruamel.yaml import YAML

from argo_proxy.control import file_edits, jsonc
from argo_proxy.control.assistant_files import (
    WIRINGS,
    Places,
    SetupError,
    Target,
    with_env_variables,
)
from argo_proxy.daemon.model_cards import chat_cards
from argo_proxy.daemon.models import builtin_catalog

MODELS = [c for c in chat_cards(builtin_catalog()) if c.internal_id in ("claudesonnet46", "gpt4o")]
TARGET = Target("http://127.0.0.1:44497", "ap-first-token", MODELS, "/opt/bin/argo-proxy token")
KEY_FREE = ("claude", "codex", "opencode")  # no secret goes into their files

# What a user already has in each file: settings of their own, and comments.
EXISTING = {
    ".claude/settings.json": (
        '{\n  // mine\n  "permissions": {"allow": ["Read"]},\n  "env": {"FOO": "1"}\n}\n'
    ),
    ".codex/config.toml": '# mine\nmodel = "o3"\n\n[profiles.fast]\nmodel = "gpt-4o-mini"\n',
    ".gemini/settings.json": (
        '{\n  // mine\n  "ui": { "theme": "GitHub" },\n'
        '  "security": { "folderTrust": { "enabled": true } }\n}\n'
    ),
    ".gemini/.env": "# my keys\nOTHER_KEY=1\nGEMINI_API_KEY=old\n",
    ".aider.conf.yml": "# my aider settings\ndark-mode: true  # mine\nmodel: openai/argo:gpt-4o\n",
    ".config/opencode/opencode.json": (
        '{\n  "$schema": "https://opencode.ai/config.json",\n  // my providers\n'
        '  "provider": { "mine": { "npm": "x" } },\n  "theme": "tokyonight"\n}\n'
    ),
    ".continue/config.yaml": (
        "name: My Config\nversion: 0.0.1\nschema: v1\nmodels:\n  # my local model\n"
        "  - name: Llama\n    provider: ollama\n    model: llama3\n"
        "  - name: old ARGO\n    provider: openai\n    model: argo:gpt-4o\n"
        "    apiBase: http://127.0.0.1:1234/v1\n"
    ),
    ".cline/data/globalState.json": (
        '{"mode":"act","actModeApiProvider":"anthropic","favoritedModelIds":["x"]}'
    ),
    ".cline/data/secrets.json": '{"apiKey":"sk-ant-mine"}',
}


def _yaml(text: str) -> dict:
    return YAML(typ="safe").load(text)


def _check(tool: str, home: Path) -> None:
    """What each tool's files say after setup: ours set, the user's kept."""
    read = lambda rel: (home / rel).read_text()  # noqa: E731
    if tool == "claude":
        text = read(".claude/settings.json")
        assert "// mine" in text
        data = jsonc.loads(text)
        assert data["permissions"] == {"allow": ["Read"]}
        assert data["env"] == {"FOO": "1", "ANTHROPIC_BASE_URL": TARGET.url}
        assert data["apiKeyHelper"] == TARGET.token_command
    elif tool == "codex":
        text = read(".codex/config.toml")
        assert text.startswith("# mine\n")
        data = tomlkit.parse(text).unwrap()
        assert data["model"] == "o3"  # the user's choice stays
        assert data["profiles"] == {"fast": {"model": "gpt-4o-mini"}}
        assert data["model_provider"] == "argo"
        assert data["model_providers"]["argo"] == {
            "name": "ARGO via argo-proxy",
            "base_url": f"{TARGET.url}/v1",
            "env_key": "ARGO_PROXY_TOKEN",
            "wire_api": "responses",
        }
    elif tool == "gemini":
        text = read(".gemini/settings.json")
        assert "// mine" in text
        data = jsonc.loads(text)
        assert data["ui"] == {"theme": "GitHub"}
        assert data["security"] == {
            "folderTrust": {"enabled": True},
            "auth": {"selectedType": "gemini-api-key"},
        }
        assert data["model"] == {"name": "argo:gemini-2.5-pro"} or data["model"]["name"]
        assert read(".gemini/.env") == (
            f"# my keys\nOTHER_KEY=1\nGEMINI_API_KEY={TARGET.key}\n"
            f"GOOGLE_GEMINI_BASE_URL={TARGET.url}\n"
        )
    elif tool == "aider":
        text = read(".aider.conf.yml")
        assert text.startswith("# my aider settings\ndark-mode: true  # mine\n")
        assert _yaml(text) == {
            "dark-mode": True,
            "model": "openai/argo:gpt-4o",
            "openai-api-base": f"{TARGET.url}/v1",
            "openai-api-key": TARGET.key,
        }
    elif tool == "opencode":
        text = read(".config/opencode/opencode.json")
        assert "// my providers" in text
        data = jsonc.loads(text)
        assert data["theme"] == "tokyonight"
        assert data["provider"]["mine"] == {"npm": "x"}
        argo = data["provider"]["argo"]
        assert argo["options"] == {
            "baseURL": f"{TARGET.url}/v1",
            "apiKey": "{env:ARGO_PROXY_TOKEN}",
        }
        assert list(argo["models"]) == ["argo:claude-sonnet-4.6", "argo:gpt-4o"]
        assert data["model"] == "argo/argo:claude-sonnet-4.6"
    elif tool == "continue":
        text = read(".continue/config.yaml")
        assert "# my local model" in text
        data = _yaml(text)
        assert data["name"] == "My Config"
        # the old ARGO entry replaced, the user's own kept
        assert [m["model"] for m in data["models"]] == [
            "llama3",
            "argo:claude-sonnet-4.6",
            "argo:gpt-4o",
        ]
        assert all(m["apiKey"] == TARGET.key for m in data["models"][1:])
    elif tool == "cline":
        state = json.loads(read(".cline/data/globalState.json"))
        assert state["mode"] == "act" and state["favoritedModelIds"] == ["x"]
        assert state["actModeApiProvider"] == state["planModeApiProvider"] == "openai"
        assert state["openAiBaseUrl"] == f"{TARGET.url}/v1"
        assert state["actModeOpenAiModelId"] == "argo:claude-sonnet-4.6"
        secrets = json.loads(read(".cline/data/secrets.json"))
        assert secrets == {"apiKey": "sk-ant-mine", "openAiApiKey": TARGET.key}


def _home(tmp_path: Path) -> tuple[Places, Path]:
    home = tmp_path / "home"
    home.mkdir()
    return Places(home, {}), tmp_path / "state" / "record.json"


@pytest.mark.parametrize("tool", list(WIRINGS))
def test_setup_keeps_the_users_settings_and_undo_restores_them(tmp_path: Path, tool: str) -> None:
    places, record = _home(tmp_path)
    wiring = WIRINGS[tool]
    files = wiring.files(places)
    originals = {}
    for path in files:
        rel = str(path.relative_to(places.home))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(EXISTING[rel])
        path.chmod(0o644)
        originals[path] = EXISTING[rel]

    changes = wiring.changes(places, TARGET)
    assert sorted(c.path for c in changes) == sorted(files)
    shown = "".join(
        file_edits.diff(c, lambda line: line.replace(TARGET.key, "ap-…")) for c in changes
    )
    assert shown.startswith("--- ") and "\n+" in shown
    assert TARGET.key not in shown
    written = file_edits.apply(changes, record)
    assert sorted(written) == sorted(files)
    _check(tool, places.home)
    for change in changes:
        mode = stat.S_IMODE(change.path.stat().st_mode)
        assert mode == (0o600 if change.private else 0o644), change.path
        if tool in KEY_FREE:
            assert TARGET.key not in change.path.read_text()
    # a second setup changes nothing
    assert not any(c.changed for c in wiring.changes(places, TARGET))

    undone = file_edits.undo(record)
    assert undone is not None and sorted(undone.restored) == sorted(files)
    for path, text in originals.items():
        assert path.read_bytes() == text.encode(), path
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert not record.exists()
    assert file_edits.undo(record) is None


@pytest.mark.parametrize("tool", list(WIRINGS))
def test_setup_into_an_empty_home_and_undo_removes_what_it_made(tmp_path: Path, tool: str) -> None:
    places, record = _home(tmp_path)
    wiring = WIRINGS[tool]
    file_edits.apply(wiring.changes(places, TARGET), record)
    for path in wiring.files(places):
        assert path.exists(), path
    undone = file_edits.undo(record)
    assert undone is not None and sorted(undone.removed) == sorted(wiring.files(places))
    assert not any(path.exists() for path in wiring.files(places))


def test_undo_leaves_a_file_the_user_changed_since(tmp_path: Path) -> None:
    places, record = _home(tmp_path)
    config = places.home / ".aider.conf.yml"
    config.write_text("dark-mode: true\n")
    file_edits.apply(WIRINGS["aider"].changes(places, TARGET), record)
    with config.open("a") as out:
        out.write("# mine too\n")
    undone = file_edits.undo(record)
    assert undone is not None and undone.kept == [config] and not undone.restored
    assert config.read_text().endswith("# mine too\n")


def test_changed_since_names_the_files_the_user_changed_after_setup(tmp_path: Path) -> None:
    places, record = _home(tmp_path)
    assert file_edits.changed_since(record) == []  # nothing set up
    file_edits.apply(WIRINGS["gemini"].changes(places, TARGET), record)
    assert file_edits.changed_since(record) == []
    env = places.home / ".gemini" / ".env"
    with env.open("a") as out:
        out.write("MINE=1\n")
    assert file_edits.changed_since(record) == [env]
    env.unlink()  # a file removed since is not what was written either
    assert file_edits.changed_since(record) == [env]


def test_a_second_setup_keeps_the_first_backup(tmp_path: Path) -> None:
    """Undo goes back to before argo-proxy ever touched the file, after several setups."""
    places, record = _home(tmp_path)
    config = places.home / ".aider.conf.yml"
    config.write_text("# first\n")
    file_edits.apply(WIRINGS["aider"].changes(places, TARGET), record)
    moved = Target("http://127.0.0.1:45000", "ap-second", MODELS, TARGET.token_command)
    file_edits.apply(WIRINGS["aider"].changes(places, moved), record)
    assert "45000" in config.read_text()
    file_edits.undo(record)
    assert config.read_text() == "# first\n"


def test_the_backup_record_is_private(tmp_path: Path) -> None:
    places, record = _home(tmp_path)
    (places.home / ".aider.conf.yml").write_text("openai-api-key: sk-mine\n")
    file_edits.apply(WIRINGS["aider"].changes(places, TARGET), record)
    assert stat.S_IMODE(record.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"a": 1}\n')

    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError):
        file_edits.write_atomic(path, '{"a": 2}\n')
    assert path.read_text() == '{"a": 1}\n'
    assert os.listdir(tmp_path) == ["settings.json"]  # no temporary file left


@pytest.mark.parametrize(
    ("rel", "text", "tool"),
    [
        (".continue/config.yaml", "models: [unclosed\n", "continue"),
        (".cline/data/globalState.json", "{not json", "cline"),
        (".codex/config.toml", "model = \n", "codex"),
        (".gemini/settings.json", "[1, 2]", "gemini"),
    ],
)
def test_a_file_that_does_not_parse_is_refused_not_mangled(
    tmp_path: Path, rel: str, text: str, tool: str
) -> None:
    places, _ = _home(tmp_path)
    path = places.home / rel
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(SetupError, match=path.name):
        WIRINGS[tool].changes(places, TARGET)


def test_variables_move_the_files() -> None:
    places = Places(
        Path("/home/u"),
        {
            "CODEX_HOME": "/c",
            "GEMINI_CLI_HOME": "/g",
            "XDG_CONFIG_HOME": "/x",
            "CLAUDE_CONFIG_DIR": "/cl",
        },
    )
    assert WIRINGS["codex"].files(places) == [Path("/c/config.toml")]
    assert WIRINGS["gemini"].files(places)[0] == Path("/g/.gemini/settings.json")
    assert WIRINGS["opencode"].files(places) == [Path("/x/opencode/opencode.json")]
    assert WIRINGS["claude"].files(places) == [Path("/cl/settings.json")]


def test_env_file_lines_replaced_in_place() -> None:
    assert with_env_variables("export A=1\nB=2", {"A": "x", "C": "y"}) == "A=x\nB=2\nC=y\n"
    assert with_env_variables(None, {"A": "x"}) == "A=x\n"


# ------------------------------------------------------------------ JSONC


def test_jsonc_sets_a_value_and_keeps_comments_and_layout() -> None:
    text = '{\n  // mine\n  "a": 1, /* inline */\n  "b": {"c": [1, 2]},\n}\n'
    out = jsonc.set_value(text, ["b", "d"], True)
    assert out == '{\n  // mine\n  "a": 1, /* inline */\n  "b": {"c": [1, 2], "d": true},\n}\n'
    out = jsonc.set_value(out, ["a"], {"x": "y"})
    assert out.startswith('{\n  // mine\n  "a": {\n    "x": "y"\n  }, /* inline */')
    assert jsonc.loads(out) == {"a": {"x": "y"}, "b": {"c": [1, 2], "d": True}}
    out = jsonc.set_value(out, ["e", "f"], "g")
    assert jsonc.loads(out)["e"] == {"f": "g"}
    assert out.endswith('  "e": {\n    "f": "g"\n  },\n}\n')  # after the trailing comma


def test_jsonc_reads_strings_that_look_like_comments() -> None:
    text = '{"url": "http://x//y", "s": "/* no */"}'
    assert jsonc.loads(text) == {"url": "http://x//y", "s": "/* no */"}
    assert jsonc.loads(jsonc.set_value(text, ["url"], "z"))["s"] == "/* no */"


@pytest.mark.parametrize("text", ["{", '{"a" 1}', '{"a": 1} x', "{'a': 1}", '{"a": tru}'])
def test_jsonc_refuses_what_is_not_json(text: str) -> None:
    with pytest.raises(jsonc.JsoncError):
        jsonc.loads(text)


def test_jsonc_refuses_to_go_through_a_value_that_is_not_an_object() -> None:
    with pytest.raises(jsonc.JsoncError):
        jsonc.set_value('{"a": 1}', ["a", "b"], 2)


def test_claude_code_with_auth_none_gets_the_username_as_key(tmp_path: Path) -> None:
    """No token to print with `auth: none`: the key (the username) goes in its place."""
    places, _ = _home(tmp_path)
    target = Target(TARGET.url, "jdoe", MODELS, None)
    (change,) = WIRINGS["claude"].changes(places, target)
    settings = jsonc.loads(change.after)
    assert settings["env"] == {"ANTHROPIC_BASE_URL": TARGET.url, "ANTHROPIC_API_KEY": "jdoe"}
    assert "apiKeyHelper" not in settings
