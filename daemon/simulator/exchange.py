"""The state one simulator instance keeps, and one request as the endpoint modules see it."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .catalogue import Catalogue, load_catalogue
from .faults import FaultBook, FaultSet, Kind
from .identity import denial_variant
from .policy import Policy
from .replies import Conversation, ident
from .settings import SimulatorSettings

__all__ = ["CREATED", "LOG_SIZE", "Exchange", "RequestLog", "SimState"]

CREATED = 1760000000  # every `created` the simulator reports: answers stay byte-identical
LOG_SIZE = 1000


class RequestLog:
    """The last `LOG_SIZE` requests received, for tests that assert what the proxy sent."""

    def __init__(self, size: int = LOG_SIZE) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = 0

    def record(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: Any
    ) -> None:
        """Remember one request (the body as parsed JSON, or text when not JSON)."""
        self._seq += 1
        self._entries.append(
            {
                "seq": self._seq,
                "method": method,
                "path": path,
                "query": query,
                "headers": dict(headers),
                "body": body,
            }
        )

    def note_usage(self, usage: list[dict[str, Any]]) -> None:
        """The usage objects the answer to the last request carried, in order."""
        if self._entries:
            self._entries[-1]["usage"] = usage

    def entries(self, path: str | None = None) -> list[dict[str, Any]]:
        """Logged requests, oldest first, optionally only those whose path contains `path`."""
        if path is None:
            return list(self._entries)
        return [e for e in self._entries if path in e["path"]]

    def clear(self) -> None:
        """Forget every logged request."""
        self._entries.clear()


@dataclass
class SimState:
    """Everything one simulator instance owns."""

    settings: SimulatorSettings
    catalogue: Catalogue = field(default_factory=load_catalogue)
    book: FaultBook = field(init=False)
    log: RequestLog = field(default_factory=RequestLog)
    policy: Policy = field(init=False)

    def __post_init__(self) -> None:
        profiles = self.catalogue.policy_profiles
        if self.settings.policy_profile not in profiles:
            known = ", ".join(sorted(profiles))
            raise ValueError(
                f"unknown policy profile {self.settings.policy_profile!r}; known: {known}"
            )
        self.policy = Policy(profiles[self.settings.policy_profile])
        self.book = FaultBook(self.settings.seed)


@dataclass(frozen=True)
class Exchange:
    """One parsed request, with the faults chosen for it."""

    kind: Kind
    body: Mapping[str, Any]
    headers: Mapping[str, str]
    digest: bytes
    stream: bool
    conversation: Conversation
    faults: FaultSet
    state: SimState

    @property
    def catalogue(self) -> Catalogue:
        return self.state.catalogue

    def ident(self, salt: str, length: int, *, url_safe: bool = False) -> str:
        """A stable id fragment for this request (same body, same id)."""
        return ident(self.digest, salt, length, url_safe=url_safe)

    def notice_variant(self, user: str) -> int:
        """0 to answer normally, else the auth-notice variant this request gets."""
        forced = self.faults.get("auth_notice")
        if forced is not None:
            return 2 if forced.integer("variant", 1) == 2 else 1
        return denial_variant(user, self.state.settings)

    @property
    def notice_later(self) -> bool:
        """`auth_notice later=1`: keep the notice out of the first network write."""
        forced = self.faults.get("auth_notice")
        return forced is not None and forced.integer("later", 0) == 1

    @property
    def override_text(self) -> str | None:
        """The exact reply text a `reply` fault asks for."""
        forced = self.faults.get("reply")
        return None if forced is None else forced.text("text")
