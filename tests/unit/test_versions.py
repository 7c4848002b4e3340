"""`GET /version` never offers an older release (daemon/versions.py): this daemon is
argo-proxy 4, and PyPI's argo-proxy 3.x is its predecessor under the same name."""

from __future__ import annotations

from typing import Any

import pytest

from argo_proxy.daemon import __version__
from argo_proxy.daemon.versions import VersionChecker


def pypi(stable: str, *releases: str) -> dict[str, Any]:
    return {"info": {"version": stable}, "releases": {v: [] for v in (stable, *releases)}}


async def report(payload: dict[str, Any]) -> dict[str, Any]:
    async def fetch(url: str) -> Any:
        return payload if "/argo-proxy/" in url else pypi("0.13.0")

    return await VersionChecker(fetch, lambda: "https://pypi.example/pypi").report()


def test_this_daemon_is_the_successor_of_argo_proxy_3() -> None:
    assert __version__.startswith("4.")


async def test_the_older_3x_line_is_never_offered() -> None:
    body = await report(pypi("3.3.3", "3.4.0rc1", "3.2.0"))
    assert body["up_to_date"] is True
    assert body["update_commands"] is None
    assert body["message"] == "You're using the latest version"


@pytest.mark.parametrize(
    ("payload", "message", "command"),
    [
        (pypi("4.0.0"), "New stable version 4.0.0 available", "pip"),
        # PEP 440: 4.0.0a1 comes after 4.0.0.dev0 (plain string order would say otherwise)
        (pypi("3.3.3", "4.0.0a1"), "New pre-release 4.0.0a1 available", "pip_pre"),
    ],
)
async def test_a_newer_release_is_offered(
    payload: dict[str, Any], message: str, command: str
) -> None:
    body = await report(payload)
    assert body["message"] == message
    assert body["up_to_date"] is False and command in body["update_commands"]
