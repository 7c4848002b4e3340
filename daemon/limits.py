"""What a client may cost before it has proved anything (docs/security.md#limits): the
policy; `serving.py` applies it to Sanic's connections, `web.py` to request bodies.

Anything that can reach the TCP port can open connections, and the daemon acts as its
owner's ARGO identity, so a neighbour on a shared login node must not be able to starve
the owner with connections that never finish a request:

- a fixed deadline for a request head (`head_timeout`), counted from its first byte and
  not restarted by each byte, as Sanic's own request timeout is;
- a cap on open connections (`max_connections`, and `max_connections_per_peer` per
  remote address). At the cap, the connection that has waited longest without a whole
  request head goes first (the owner's new connection pushes out a neighbour's
  trickle); only when every connection is busy with a request is the new one refused.
  Each shedding is logged, at most once every ten seconds;
- the process's soft limit of open files raised to its hard limit at start, and the
  cap kept below it, so the control socket and the Unix-socket listener (outside the
  cap: only the owner can reach them) always have descriptors left.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import OrderedDict
from typing import Any

__all__ = ["RESERVED_FILES", "BodyBudget", "ConnectionGuard", "raise_open_file_limit"]

log = logging.getLogger(__name__)

# Descriptors kept for everything that is not an API connection: the control socket and
# its clients, the Unix-socket listener, files, ARGO's connection pool.
RESERVED_FILES = 256
_LOG_EVERY = 10.0  # seconds between two log lines about shed connections


def raise_open_file_limit() -> int:
    """Raise the soft limit of open files to the hard limit; the soft limit after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft if soft != resource.RLIM_INFINITY else wanted
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError) as exc:  # a container may refuse it
        log.info("could not raise the open file limit from %d to %d: %s", soft, wanted, exc)
        return soft
    log.debug("open file limit raised from %d to %d", soft, wanted)
    return wanted


def _peer(protocol: Any) -> str:
    peer = protocol.transport.get_extra_info("peername") if protocol.transport else None
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


class ConnectionGuard:
    """The open connections of one TCP listener, oldest first, and its caps. A
    connection is an object with `transport`, `close()` and `handling()` (whether a
    request is being handled on it: Sanic's protocol, in serving.py)."""

    def __init__(self) -> None:
        self._open: OrderedDict[Any, str] = OrderedDict()  # protocol → peer address
        self._per_peer: dict[str, int] = {}
        self.shed = 0  # connections closed or refused to make room, ever
        self._unlogged = 0
        self._logged_at = 0.0

    def __len__(self) -> int:
        return len(self._open)

    def admit(self, protocol: Any, limit: int, per_peer: int) -> bool:
        """Count a new connection in; False if there is no room even after shedding."""
        peer = _peer(protocol)
        while len(self._open) >= limit or self._per_peer.get(peer, 0) >= per_peer:
            crowded = peer if self._per_peer.get(peer, 0) >= per_peer else None
            if not self._shed_one(crowded):
                self._note_shed(f"refused a connection from {peer or 'a client'}")
                return False
        self._open[protocol] = peer
        self._per_peer[peer] = self._per_peer.get(peer, 0) + 1
        return True

    def release(self, protocol: Any) -> None:
        peer = self._open.pop(protocol, None)
        if peer is not None:
            left = self._per_peer[peer] - 1
            if left:
                self._per_peer[peer] = left
            else:
                del self._per_peer[peer]

    def _shed_one(self, peer: str | None) -> bool:
        """Close the oldest connection (of `peer`, if given) with no request under way."""
        for protocol, address in self._open.items():
            if peer is not None and address != peer:
                continue
            if not protocol.handling():
                self.release(protocol)
                protocol.close()
                self._note_shed(
                    f"closed a connection from {address or 'a client'} without a request"
                )
                return True
        return False

    def _note_shed(self, what: str) -> None:
        self.shed += 1
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= _LOG_EVERY:
            log.warning(
                "too many connections: %s (%d shed since the last note; the cap is "
                "max_connections, docs/security.md#limits)",
                what,
                self._unlogged,
            )
            self._logged_at, self._unlogged = now, 0


class BodyBudget:
    """Request body bytes being read at once, across all requests (`body_in_flight_mb`):
    even clients with the token cannot make the daemon hold unbounded bodies in
    parallel. A request that would pass the budget is refused (503, Retry-After)."""

    def __init__(self) -> None:
        self.in_use = 0

    def take(self, size: int, capacity: int) -> bool:
        if size > 0 and self.in_use + size > capacity:
            return False
        self.in_use += size
        return True

    def give(self, size: int) -> None:
        self.in_use -= size
