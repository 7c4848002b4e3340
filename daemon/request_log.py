"""The recent request records, in memory, and whoever listens for new ones.

A bounded ring (`log_size` records, oldest dropped first) answers `requests.list`
and `requests.get`; listeners (the control plane's `request.finished`
notification, the SQLite store, the metrics) hear of each record as it is added.
A listener that fails is logged and the request it was told about is not affected
(docs/observability.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from .listeners import Listeners
from .records import RequestRecord

__all__ = ["MAX_LIST_LIMIT", "RecordListener", "RequestLog"]

# The most records one `requests.list` answers (`ctl requests -n`): more than any ring or
# store holds, and small enough for SQLite's integers.
MAX_LIST_LIMIT = 1_000_000

RecordListener = Callable[[RequestRecord], None]


class RequestLog:
    def __init__(self, size: int) -> None:
        self._ring: deque[RequestRecord] = deque(maxlen=max(size, 0))
        self._listeners: Listeners[RequestRecord] = Listeners("request record")

    @property
    def size(self) -> int:
        return self._ring.maxlen or 0

    def resize(self, size: int) -> None:
        """Keep the newest `size` records from now on (a reload of `log_size`)."""
        if size != self.size:
            self._ring = deque(self._ring, maxlen=max(size, 0))

    def restore(self, records: Iterable[RequestRecord]) -> None:
        """Records from an earlier run (the SQLite store's newest), oldest first; put
        before anything this run added, and no listener is told: they are not news."""
        self._ring = deque([*records, *self._ring], maxlen=self._ring.maxlen)

    def subscribe(self, listener: RecordListener) -> Callable[[], None]:
        return self._listeners.subscribe(listener)

    def add(self, record: RequestRecord) -> None:
        self._ring.append(record)
        self._listeners.notify(record)

    def get(self, record_id: str) -> RequestRecord | None:
        return next((r for r in reversed(self._ring) if r.id == record_id), None)

    def recent(
        self,
        limit: int,
        *,
        since: float | None = None,
        model: str | None = None,
        client: str | None = None,
        status: str | None = None,
    ) -> list[RequestRecord]:
        """Newest first; `status` is a code ("429"), a class ("4xx"), "ok" or "error"."""
        out: list[RequestRecord] = []
        for record in reversed(self._ring):  # newest finished first
            if since is not None and record.started_at < since:
                continue
            if model is not None and model not in (record.model, record.argo_model):
                continue
            if client is not None and record.client != client:
                continue
            if status is not None and not status_matches(record.status, status):
                continue
            out.append(record)
            if len(out) >= limit:
                break
        return out


def status_matches(code: int, wanted: str) -> bool:
    """`wanted` is a code ("429"), a class ("4xx"), "ok" (< 400) or "error" (>= 400)."""
    wanted = wanted.strip().lower()
    if wanted == "ok":
        return code < 400
    if wanted == "error":
        return code >= 400
    if len(wanted) == 3 and wanted.endswith("xx") and wanted[0].isdigit():
        return code // 100 == int(wanted[0])
    return wanted.isdigit() and code == int(wanted)
