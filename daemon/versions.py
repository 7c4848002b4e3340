"""`GET /version`: the installed versions and what PyPI offers, cached, never slow.

argo-proxy asked PyPI on every call (up to ~10 s offline) and claimed "latest" when
it could not ask. We cache answers, wait at most ~2 s, and say plainly when the check
could not be made (docs/compatibility.md#the-version-check).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from packaging.version import InvalidVersion, Version

from . import __version__

__all__ = ["VersionChecker"]

log = logging.getLogger(__name__)

_CACHE_OK = 6 * 3600.0  # a good answer is reused for 6 h
_CACHE_FAILED = 300.0  # a failed check is retried after 5 min
_WAIT = 2.0  # the longest a /version request waits for PyPI

FetchJSON = Callable[[str], Awaitable[Any]]


def _parse(v: str) -> Version | None:
    try:
        return Version(v)
    except InvalidVersion:
        return None


def _newer(candidate: str | None, than: str) -> str | None:
    """`candidate` when it is a newer release than `than` (PEP 440 order), else None.

    argo-proxy 4 succeeds argo-proxy 3.x on PyPI under the same name: comparing
    properly is what keeps `/version` from offering the older 3.x line as an update.
    """
    new, old = _parse(candidate or ""), _parse(than)
    if new is None or (old is not None and new <= old):
        return None
    return candidate


@dataclass(frozen=True)
class _Latest:
    stable: str | None
    pre: str | None
    error: str | None
    checked_at: float


def _latest_from_pypi(payload: Any) -> tuple[str | None, str | None]:
    """(the latest stable release, a pre-release newer than it), as PyPI lists them."""
    stable = str(payload.get("info", {}).get("version") or "") or None
    pres = [
        (parsed, v)
        for v in (payload.get("releases") or {})
        if (parsed := _parse(v)) is not None and parsed.is_prerelease
    ]
    newest = max(pres)[1] if pres else None
    return stable, _newer(newest, stable) if stable else newest


def _installed(package: str) -> str | None:
    try:
        return version(package)
    except PackageNotFoundError:
        return None


class VersionChecker:
    """Answers `GET /version`; PyPI lookups run in the background and are cached."""

    def __init__(self, fetch_json: FetchJSON, pypi_url: Callable[[], str]) -> None:
        self._fetch_json = fetch_json
        self._pypi_url = pypi_url
        self._cache: dict[str, _Latest] = {}
        self._inflight: dict[str, asyncio.Task[_Latest]] = {}

    async def _check(self, package: str) -> _Latest:
        try:
            payload = await self._fetch_json(f"{self._pypi_url()}/{package}/json")
            stable, pre = _latest_from_pypi(payload)
            return _Latest(stable, pre, None, time.time())
        except Exception as exc:  # any failure means "could not check": report, never raise
            return _Latest(None, None, str(exc) or type(exc).__name__, time.time())

    async def latest(self, package: str) -> _Latest | None:
        cached = self._cache.get(package)
        if cached is not None:
            age = time.time() - cached.checked_at
            if age < (_CACHE_FAILED if cached.error else _CACHE_OK):
                return cached
        task = self._inflight.get(package)
        if task is None:
            task = asyncio.create_task(self._check(package))
            self._inflight[package] = task
            task.add_done_callback(functools.partial(self._store, package))
        try:
            return await asyncio.wait_for(asyncio.shield(task), _WAIT)
        except asyncio.TimeoutError:
            return None  # still asking: answer now, the cache fills in the background

    def _store(self, package: str, task: asyncio.Task[_Latest]) -> None:
        self._inflight.pop(package, None)
        if not task.cancelled():
            self._cache[package] = task.result()

    async def report(self) -> dict[str, Any]:
        mine, rosetta = await asyncio.gather(self.latest("argo-proxy"), self.latest("llm-rosetta"))
        out = self._describe(__version__, mine, "argo-proxy")
        installed_rosetta = _installed("llm-rosetta")
        dep = self._describe(installed_rosetta or "", rosetta, "llm-rosetta")
        out["dependencies"] = {
            "llm-rosetta": {
                "installed": installed_rosetta,
                "latest_stable": dep["latest_stable"],
                "latest_pre": dep["latest_pre"],
                "up_to_date": dep["up_to_date"],
                "update_command": "pip install --upgrade llm-rosetta"
                if dep["up_to_date"] is False
                else None,
            }
        }
        out["pypi"] = "https://pypi.org/project/argo-proxy/"
        return out

    @staticmethod
    def _describe(installed: str, latest: _Latest | None, package: str) -> dict[str, Any]:
        if latest is None or latest.error:
            why = "the check is still running" if latest is None else latest.error
            return {
                "version": installed,
                "latest_stable": None,
                "latest_pre": None,
                "up_to_date": None,
                "message": f"Could not check PyPI for a newer {package} ({why}).",
                "update_commands": None,
            }
        newer_stable = _newer(latest.stable, installed)
        newer_pre = _newer(latest.pre, installed)
        if newer_stable and newer_pre:
            message = f"New stable ({newer_stable}) and pre-release ({newer_pre}) available"
        elif newer_stable:
            message = f"New stable version {newer_stable} available"
        elif newer_pre:
            message = f"New pre-release {newer_pre} available"
        else:
            message = "You're using the latest version"
        commands: dict[str, str] = {}
        if newer_stable:
            commands["pip"] = f"pip install --upgrade {package}"
        if newer_pre:
            commands["pip_pre"] = f"pip install --upgrade --pre {package}"
        return {
            "version": installed,
            "latest_stable": latest.stable,
            "latest_pre": latest.pre,
            "up_to_date": not (newer_stable or newer_pre),
            "message": message,
            "update_commands": commands or None,
        }
