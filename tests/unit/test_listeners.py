"""daemon/listeners.py: every listener is told, a failing one is logged, unsubscribing works."""

from __future__ import annotations

import logging

import pytest

from argo_proxy.daemon.listeners import Listeners


def test_a_failing_listener_is_logged_and_the_others_are_still_told(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[int] = []

    def broken(item: int) -> None:
        raise RuntimeError("boom")

    listeners: Listeners[int] = Listeners("state event")
    listeners.subscribe(broken)
    listeners.subscribe(heard.append)
    with caplog.at_level(logging.ERROR):
        listeners.notify(1)
    assert heard == [1]
    assert "a state event listener failed" in caplog.text


def test_an_unsubscribed_listener_hears_nothing_more() -> None:
    heard: list[int] = []
    listeners: Listeners[int] = Listeners("request record")
    unsubscribe = listeners.subscribe(heard.append)
    listeners.notify(1)
    unsubscribe()
    unsubscribe()  # twice is harmless
    listeners.notify(2)
    assert heard == [1]
