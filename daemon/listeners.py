"""Who listens for one kind of news (state events, request records), and telling them.

A listener that fails is logged and the others are still told: the news comes from a
request or a reload, which must not fail because someone listening did.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Listeners"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Listeners(Generic[T]):
    def __init__(self, what: str) -> None:
        self._what = what  # for the log: "a <what> listener failed"
        self._listeners: list[Callable[[T], None]] = []

    def subscribe(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Tell `listener` of each item from now on; returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def notify(self, item: T) -> None:
        for listener in list(self._listeners):  # a listener may unsubscribe meanwhile
            try:
                listener(item)
            except Exception:
                log.exception("a %s listener failed", self._what)
