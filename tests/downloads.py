"""Where the tests keep what they download (the coding assistants' CLIs; for the
extension's e2e run, Node 24 and code-server): a cache outside the clone, shared by
every clone and every run, so that a second run downloads nothing.

The cache is `$ARGO_PROXY_TEST_CACHE`, else `argo-proxy-tests` in the user cache folder
(`~/.cache/argo-proxy-tests` on Linux); editor-extension/e2e/setup.sh follows the same
rule. Each download has its own folder, named after what it pins (a version bump
installs afresh beside the old one), and counts only once its install has succeeded;
`NAME` links to the one installed last (the extension's tests find the CLIs there).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import platformdirs

__all__ = ["CACHE_ENV", "cache_root", "cached"]

CACHE_ENV = "ARGO_PROXY_TEST_CACHE"
_COMPLETE = ".complete"


def cache_root() -> Path:
    chosen = os.environ.get(CACHE_ENV)
    return Path(chosen) if chosen else Path(platformdirs.user_cache_dir("argo-proxy-tests"))


def _say(text: str) -> None:
    """A progress line on the terminal, past pytest's capture: the slow parts say what
    they are doing."""
    print(f"\ntest cache: {text}", file=sys.__stderr__, flush=True)


def cached(
    name: str, pins: list[str], what: str, size: str, install: Callable[[Path], None]
) -> Path:
    """The folder holding `name` at `pins`, made by `install(folder)` the first time (one
    process at a time: parallel runs wait for the first)."""
    digest = hashlib.sha256("\n".join(sorted(pins)).encode()).hexdigest()[:12]
    folder = cache_root() / f"{name}-{digest}"
    if not (folder / _COMPLETE).exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        with open(f"{folder}.lock", "w", encoding="utf-8") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (folder / _COMPLETE).exists():
                _say(f"installing {what} into {folder} (once, {size})")
                started = time.monotonic()
                shutil.rmtree(folder, ignore_errors=True)  # a run that died half-way
                folder.mkdir()
                install(folder)
                (folder / _COMPLETE).touch()
                _say(f"{what} installed in {time.monotonic() - started:.0f} s")
    latest = folder.parent / name
    if not latest.is_symlink() or os.readlink(latest) != folder.name:
        swap = folder.parent / f".{name}.{os.getpid()}"
        swap.unlink(missing_ok=True)
        swap.symlink_to(folder.name)
        swap.replace(latest)  # atomic: a reader sees the old link or the new one
    return folder
