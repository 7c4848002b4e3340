"""A simulated ARGO upstream: a real HTTP server built from docs/argo.md.

It is the upstream of the end-to-end tests, the benchmarks and a newcomer's first run
(`argo-proxy simulate`). Nothing in the daemon imports it; only the CLI and tests do.
See docs/simulator.md for what it serves and how to inject faults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .foreground import StopSignals, serve_until_stopped
from .settings import SimulatorSettings

if TYPE_CHECKING:
    from .app import create_simulator_app, run_simulator

__all__ = [
    "SimulatorSettings",
    "StopSignals",
    "create_simulator_app",
    "run_simulator",
    "serve_until_stopped",
]


def __getattr__(name: str) -> Any:
    # Sanic loads on first use rather than with the package: `python -m` imports this
    # package before __main__ can catch Ctrl+C, and Sanic's import is the slow part.
    if name in ("create_simulator_app", "run_simulator"):
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
