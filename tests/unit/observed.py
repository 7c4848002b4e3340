"""An in-memory observer (daemon/observer.py) for unit tests: every event a request
tells, in order, with its arguments."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from argo_proxy.daemon.observer import Observer

# Every event an observer hears: the public methods of the base class.
EVENTS = tuple(name for name, value in vars(Observer).items() if callable(value))


class Seen(Observer):
    """Keeps each event as (name, positional arguments, keyword arguments)."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def names(self) -> list[str]:
        return [name for name, _, _ in self.events]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        """The positional arguments of each `name` event, in order."""
        return [args for seen, args, _ in self.events if seen == name]


def _keeping(name: str) -> Callable[..., None]:
    def event(self: Seen, *args: Any, **kwargs: Any) -> None:
        self.events.append((name, args, kwargs))

    return event


for _name in EVENTS:
    setattr(Seen, _name, _keeping(_name))
