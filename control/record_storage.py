"""The request records on disk, for one run: the SQLite store opened as
`log_retention_days` says, the last run's records put back in the ring at start, and a
reload's change of retention applied (docs/observability.md#storage).

The store itself (daemon/record_store.py) writes off the request path; this module
decides when it is open, fed and closed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from argo_proxy.daemon.record_store import RecordStore, StoreUnavailable, remove_store_files
from argo_proxy.daemon.state import DaemonState

__all__ = ["STORE_FLUSH_WAIT", "RecordStorage"]

log = logging.getLogger(__name__)

# At a stop, the request records still queued get this long to reach the disk.
STORE_FLUSH_WAIT = 10.0


class RecordStorage:
    """Opens, feeds and closes the record store; `store` is None while records are not
    kept on disk (`log_retention_days: 0`, or the file is unusable)."""

    def __init__(self, state: DaemonState) -> None:
        self._state = state
        self.store: RecordStore | None = None
        self._unsubscribe: Callable[[], None] = lambda: None

    def start(self, *, restore: bool) -> str:
        """Keep request records on disk as `log_retention_days` says; with `restore`,
        put the newest `log_size` of them in the ring. Says what it did."""
        config = self._state.config
        path, days = config.records_path, config.log_retention_days
        if days == 0:
            if remove_store_files(path):
                log.info("removed %s: log_retention_days is 0, nothing is kept on disk", path)
            return "request records are not kept on disk"
        try:
            store = RecordStore.open(path, days)
        except StoreUnavailable as exc:
            log.warning("request records are kept in memory only: %s", exc)
            return f"request records are kept in memory only: {exc}"
        if restore:
            try:
                self._state.requests.restore(store.history(config.log_size))
            except StoreUnavailable as exc:  # new records are still written
                log.warning("the last run's request records are not shown: %s", exc)
        self._unsubscribe = self._state.requests.subscribe(store.add)
        store.start()
        self.store = store
        return f"request records are kept on disk for {days} days"

    async def stop(self) -> None:
        """Stop listening, write what is queued (bounded wait), close the file."""
        store, self.store = self.store, None
        if store is not None:
            self._unsubscribe()
            await asyncio.to_thread(store.close, STORE_FLUSH_WAIT)

    async def apply_retention(self, days: int) -> str:
        """A reload changed `log_retention_days`: a new number of days, or the store
        closed or opened."""
        if days and self.store is not None:
            self.store.set_retention(days)
            return f"request records are kept on disk for {days} days"
        await self.stop()
        return self.start(restore=False)
