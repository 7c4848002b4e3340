"""Switching ARGO's environment (docs/control.md#switching-environment): `argo-proxy config
env` edits the config file and a running daemon follows it through its watcher;
`config.setEnvironment` edits the daemon's own file and applies it at once."""

from __future__ import annotations

import subprocess
from pathlib import Path

from argo_proxy.daemon.config import ENVIRONMENTS

from .conftest import _EXE, Process, StartStdioDaemon, StdioDaemon, clean_env, spawn

PROD, DEV, TEST = ENVIRONMENTS["prod"], ENVIRONMENTS["dev"], ENVIRONMENTS["test"]
# The real ARGO hosts resolve to loopback, where nothing answers on 443: the model
# refresh a switch starts fails at once, and no packet leaves the machine.
NO_REAL_ARGO = (
    "resolve_overrides:\n"
    "  apps.inside.anl.gov: 127.0.0.1\n"
    "  apps-dev.inside.anl.gov: 127.0.0.1\n"
    "  apps-test.inside.anl.gov: 127.0.0.1\n"
)


def run(cwd: Path, *args: str) -> tuple[int, str, str]:
    proc = subprocess.run(
        [_EXE, *args],
        cwd=cwd,
        env=clean_env(cwd),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    return proc.returncode, proc.stdout, proc.stderr


def commented(simulator_url: str) -> str:
    return (
        "# Upstream, by hand\n"
        f"native_anthropic_base_url: {simulator_url}  # the simulator's Anthropic root\n"
        + NO_REAL_ARGO
        + "verbose: false   # keep it quiet\n"
    )


def test_config_env_switches_the_file_and_a_running_daemon_follows(
    start_stdio_daemon: StartStdioDaemon, simulator: Process, tmp_path: Path
) -> None:
    daemon = start_stdio_daemon(commented(simulator.url))
    before = daemon.config.read_text()
    code, out, err = run(tmp_path, "config", "env", "-c", str(daemon.config))
    assert code == 0, err
    assert out.startswith(f"Current environment: custom\n  argo_base_url: {simulator.url}\n")
    assert f"  dev   {DEV} (active)" not in out and f"  prod  {PROD}\n" in out

    code, out, err = run(tmp_path, "config", "env", "dev", "--config", str(daemon.config))
    assert code == 0, err
    assert out.startswith("Switched to 'dev' environment (was custom).\n")
    assert "removed: native_anthropic_base_url" in out
    # One line changed, one removed; every other byte as it was.
    assert daemon.config.read_text() == before.replace(
        f"argo_base_url: {simulator.url}\n", f"argo_base_url: {DEV}\n"
    ).replace(f"native_anthropic_base_url: {simulator.url}  # the simulator's Anthropic root\n", "")

    # The daemon sees the file change and applies it: no call needed.
    report = daemon.notification("config.changed")
    assert report["trigger"] == "watch"
    assert {c["key"] for c in report["changes"]} >= {"argo_base_url", "native_anthropic_base_url"}
    assert daemon.call("status")["argo_base_url"] == DEV
    config = daemon.call("config.get")["config"]
    assert (config["argo_base_url"], config["native_anthropic_base_url"]) == (DEV, DEV)

    code, out, _ = run(tmp_path, "config", "env", "-c", str(daemon.config))
    assert out.startswith(f"Current environment: dev\n  argo_base_url: {DEV}\n")
    assert f"  dev   {DEV} (active)\n" in out
    after = daemon.config.read_text()
    code, out, _ = run(tmp_path, "config", "env", "dev", "-c", str(daemon.config))
    assert (code, out) == (0, "Already on 'dev' environment. Nothing to do.\n")
    assert daemon.config.read_text() == after


def test_config_env_without_a_config_file_or_with_a_bad_name(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, "config", "env", "prod")
    assert (code, out) == (1, "")
    assert "no config file found" in err and "argo-proxy config init" in err
    (tmp_path / "config.yaml").write_text("user: jdoe\n")
    code, _, err = run(tmp_path, "config", "env", "staging")
    assert code == 2 and "unknown environment 'staging'" in err
    assert (tmp_path / "config.yaml").read_text() == "user: jdoe\n"


def test_set_environment_edits_the_daemons_file_and_applies_it_at_once(
    start_stdio_daemon: StartStdioDaemon, simulator: Process
) -> None:
    daemon = start_stdio_daemon(commented(simulator.url))
    result = daemon.call("config.setEnvironment", {"env": "test"})
    assert result == {
        "env": "test",
        "argo_base_url": TEST,
        "path": str(daemon.config.absolute()),
        "changed": True,
    }
    # Applied before the answer: no watcher delay.
    assert daemon.call("status")["argo_base_url"] == TEST
    assert daemon.call("config.get")["config"]["native_anthropic_base_url"] == TEST
    text = daemon.config.read_text()
    assert f"argo_base_url: {TEST}\n" in text and "# Upstream, by hand\n" in text
    assert "native_anthropic_base_url" not in text and "# keep it quiet\n" in text

    assert daemon.call("config.setEnvironment", {"env": "test"})["changed"] is False
    assert daemon.config.read_text() == text

    for params in ({"env": "staging"}, {}, ["prod"], {"env": "prod", "save": True}):
        error = daemon.request("config.setEnvironment", params)["error"]
        assert error["code"] == -32602 and '{"env": "prod"|"dev"|"test"}' in error["message"]
    assert daemon.call("status")["argo_base_url"] == TEST  # still running, unchanged


def test_set_environment_refuses_when_the_file_would_not_decide(
    start_stdio_daemon: StartStdioDaemon, simulator: Process, tmp_path: Path
) -> None:
    daemon = start_stdio_daemon(NO_REAL_ARGO, "--argo-base-url", simulator.url)
    before = daemon.config.read_text()
    error = daemon.request("config.setEnvironment", {"env": "prod"})["error"]
    assert error["code"] == -32002
    assert "option --argo-base-url" in error["message"]
    assert daemon.config.read_text() == before

    # No config file at all: built-in defaults, with ARGO's URL from the environment.
    env = clean_env(tmp_path)
    env.update(ARGO_BASE_URL=simulator.url, ARGO_PROXY_CONTROL_SOCKET=str(tmp_path / "c.sock"))
    proc = spawn(["serve", "--port", "0", "--control", "stdio"], cwd=tmp_path, env=env, pipes=True)
    bare = StdioDaemon(proc, tmp_path / "config.yaml")
    try:
        assert bare.call("status")["config_path"] is None
        error = bare.request("config.setEnvironment", {"env": "prod"})["error"]
        assert error["code"] == -32002 and "without a config file" in error["message"]
        assert bare.call("status")["argo_base_url"] == simulator.url
    finally:
        bare.stop()
    assert not (tmp_path / "config.yaml").exists()
