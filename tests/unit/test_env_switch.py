"""control/env_switch.py without processes: what an environment switch refuses, and the
reload it asks for."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from argo_proxy.control.env_switch import set_environment
from argo_proxy.control.reload import ReloadReport, Trigger
from argo_proxy.daemon.config import ENVIRONMENTS, Config, load_config
from argo_proxy.daemon.errors import ConfigError


class Reloads:
    """A stand-in for the runtime's reload: counts the calls, answers `ok` or not."""

    def __init__(self, ok: bool = True) -> None:
        self.calls: list[Trigger] = []
        self._ok = ok

    async def __call__(self, trigger: Trigger) -> ReloadReport:
        self.calls.append(trigger)
        message = "applied: argo_base_url" if self._ok else "`port` must be 1-65535; got 0"
        return ReloadReport(self._ok, trigger, 0.0, None, message)


def _config(tmp_path: Path, text: str = "user: jdoe\n") -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path, environ={})


async def test_without_a_config_file_there_is_nothing_to_switch() -> None:
    reloads = Reloads()
    with pytest.raises(ConfigError, match="runs on built-in defaults, without a config file"):
        await set_environment(Config(user="jdoe"), {}, "dev", asyncio.Lock(), reloads)
    assert reloads.calls == []


async def test_an_option_that_wins_over_the_file_is_named(tmp_path: Path) -> None:
    config, reloads = _config(tmp_path), Reloads()
    overrides = {"argo_base_url": "http://127.0.0.1:9"}
    with pytest.raises(ConfigError) as refused:
        await set_environment(config, overrides, "dev", asyncio.Lock(), reloads)
    assert "comes from its option --argo-base-url, which wins over the config file" in str(
        refused.value
    )
    assert reloads.calls == [] and "argo_base_url" not in (tmp_path / "config.yaml").read_text()


async def test_a_switch_edits_the_file_and_reloads_once(tmp_path: Path) -> None:
    config, reloads = _config(tmp_path), Reloads()
    switch = await set_environment(config, {}, "prod", asyncio.Lock(), reloads)
    assert switch.changed and switch.env == "prod" and reloads.calls == ["rpc"]
    assert f"argo_base_url: {ENVIRONMENTS['prod']}" in (tmp_path / "config.yaml").read_text()
    again = await set_environment(config, {}, "prod", asyncio.Lock(), reloads)
    assert not again.changed and reloads.calls == ["rpc"]  # nothing changed: no reload


async def test_a_file_the_daemon_refuses_after_the_edit_is_an_error(tmp_path: Path) -> None:
    config, reloads = _config(tmp_path), Reloads(ok=False)
    with pytest.raises(ConfigError) as refused:
        await set_environment(config, {}, "prod", asyncio.Lock(), reloads)
    assert str(refused.value).endswith(
        "now points at prod, but the daemon refused the file: `port` must be 1-65535; got 0"
    )
