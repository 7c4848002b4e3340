"""Watch the config file and call back when it may have changed (watchfiles).

The folder is watched, not the file: editors often save by writing a temporary file
and renaming it over the original, which replaces the inode a file watch would hold.
Events are filtered down to the config file's own name. watchfiles groups the events
of one save (`step` ms of quiet ends a group), so a save is one reload, and a half-
written file is rarely seen; the runtime refuses one that is (empty or invalid).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from watchfiles import Change, awatch

__all__ = ["ConfigWatcher"]

log = logging.getLogger(__name__)

_STEP_MS = 100  # quiet time that ends one save's burst of events
_DEBOUNCE_MS = 1000  # the longest a burst is collected before a reload anyway


class ConfigWatcher:
    """Calls `on_change()` after each (debounced) change of `path`, until stopped."""

    def __init__(self, path: Path, on_change: Callable[[], Awaitable[object]]) -> None:
        self.path = path.absolute()
        # A symlinked config (dotfiles) changes where the link points, so watch both.
        self._targets = {str(self.path), str(self.path.resolve())}
        self._on_change = on_change
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    def _is_config(self, change: Change, path: str) -> bool:
        return path in self._targets

    async def _run(self) -> None:
        folders = sorted({str(Path(target).parent) for target in self._targets})
        log.debug("watching %s for changes", self.path)
        while not self._stop.is_set():
            try:
                async for _changes in awatch(
                    *folders,
                    watch_filter=self._is_config,
                    step=_STEP_MS,
                    debounce=_DEBOUNCE_MS,
                    stop_event=self._stop,
                    recursive=False,
                ):
                    await self._on_change()
            except FileNotFoundError:
                # The folder itself went away; a reload then reports the missing file.
                await self._on_change()
                await asyncio.sleep(2)
            except Exception:
                # The watcher's top-level guard: a failed reload must not end watching.
                log.exception("config watcher failed; watching again")
                await asyncio.sleep(1)

    async def stop(self) -> None:
        # Setting the event ends watchfiles' thread at its next step; cancelling alone
        # would leave it blocked in the thread until its 5 s timeout.
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 2)
            except asyncio.TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
