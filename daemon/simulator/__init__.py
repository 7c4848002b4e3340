"""A simulated ARGO upstream: a real HTTP server built from spec/argo-upstream.md.

It is the upstream of the end-to-end tests, the benchmarks and a newcomer's first run
(`argo-proxy simulate`). Nothing in the daemon imports it; only the CLI and tests do.
See docs/simulator.md for what it serves and how to inject faults.
"""

from __future__ import annotations

from .app import create_simulator_app, run_simulator
from .settings import SimulatorSettings

__all__ = ["SimulatorSettings", "create_simulator_app", "run_simulator"]
