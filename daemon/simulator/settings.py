"""Settings of one simulated ARGO server (the knobs a test or the CLI turns)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SimulatorSettings"]


@dataclass(frozen=True)
class SimulatorSettings:
    """How a simulator instance behaves; every default gives the fast, permissive server.

    prefix           served under this path (`/argoapi` makes `http://host:port/argoapi`
                     a drop-in `argo_base_url`); "" serves at the root.
    users            allow-list of ANL usernames; None lets every name in except the magic
                     `sim-denied` / `sim-unauthorized` (docs/simulator.md#authentication).
    chunk_delay_ms   pause between streamed events (0 = as fast as possible).
    seed             salts generated ids and drives probabilistic / `split` faults.
    policy_profile   which parameter-policy profile of catalogue.json applies
                     ("2026-05-21" rejects, "2026-09" strips; docs/argo.md#claude).
    """

    prefix: str = ""
    users: frozenset[str] | None = None
    chunk_delay_ms: float = 0.0
    seed: int = 0
    policy_profile: str = "2026-05-21"
