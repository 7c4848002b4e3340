"""The control plane's config helpers: where the socket lives, the canonical file."""

from __future__ import annotations

from pathlib import Path

import pytest

from argo_proxy.control.config_commands import render_config
from argo_proxy.daemon.config import control_socket_path, file_settings, load_config


def test_socket_path_flag_beats_environment_beats_runtime_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))  # platformdirs reads it
    env: dict[str, str] = {}
    assert control_socket_path(environ=env) == tmp_path / "run" / "argo-proxy" / "control.sock"
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(tmp_path / "env.sock")
    assert control_socket_path(environ=env) == tmp_path / "env.sock"
    assert control_socket_path(tmp_path / "flag.sock", environ=env) == tmp_path / "flag.sock"


def test_socket_path_without_a_runtime_dir_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    assert control_socket_path(environ={}).name == "control.sock"  # filterwarnings = error


def test_render_groups_known_keys_and_round_trips(tmp_path: Path) -> None:
    settings = {
        "config_version": "3",
        "user": "jdoe",
        "port": 51234,
        "argo_base_url": "https://apps.inside.anl.gov/argoapi",
        "model_refresh_interval_hours": 12.0,
        "resolve_overrides": {"apps.inside.anl.gov:443": "10.0.0.1"},
    }
    text = render_config(settings)
    assert text == (
        "# Core settings\nconfig_version: '3'\nuser: jdoe\nport: 51234\n\n"
        "# Upstream\nargo_base_url: https://apps.inside.anl.gov/argoapi\n"
        "model_refresh_interval_hours: 12\n\n"
        "# Network & validation\nresolve_overrides:\n  apps.inside.anl.gov:443: 10.0.0.1\n"
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert file_settings(path)[1] == settings
    assert load_config(path, environ={}).resolve_overrides == settings["resolve_overrides"]


def test_routes_and_fallbacks_are_written_back_as_the_file_had_them(tmp_path: Path) -> None:
    """`config migrate` rewrites a file with `routes:` and `fallbacks:` it can read again."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "config_version: '3'\n"
        "routes:\n  - {name: background, background: true, to: gpt5mini}\n"
        "  - {model: 'claude-*', tokens_over: 1000, to: claudesonnet46}\n"
        "fallbacks:\n  claudeopus46: [claudesonnet46, gpt5]\n"
    )
    path.chmod(0o600)
    settings = file_settings(path)[1]
    text = render_config(settings)
    assert "- name: background\n  background: true\n  to: gpt5mini\n" in text
    path.write_text(text)
    assert file_settings(path)[1] == settings
