"""The probes: is the process serving (`/health/live`), and is it ready to serve
requests with ARGO's models (`/health/ready`)? docs/observability.md#health.

Ready means the model list came from ARGO and ARGO answered at the last check (the
last model list refresh). Until the first fetch lands the daemon already serves from
its built-in list, and after a failed check it keeps the last good list: both work,
but a request may name a model ARGO no longer has, or ARGO may be down, so a probe
hears "not ready" and why.
"""

from __future__ import annotations

from typing import Any

from .state import DaemonState

__all__ = ["LIVE", "readiness"]

# argo-proxy 3.x's `/health` answer; the process answering is all liveness says.
LIVE = {"status": "healthy"}


def readiness(state: DaemonState) -> tuple[bool, dict[str, Any]]:
    """(ready, the probe's JSON body): the reason when not ready."""
    catalog = state.registry.catalog
    refreshed = state.last_refresh
    body: dict[str, Any] = {
        "models": catalog.source,  # "upstream" once ARGO's list landed, else "builtin"
        "unique_models": catalog.stats().unique_models,
        "last_refresh": (
            {"ok": refreshed.ok, "message": refreshed.message, "at": state.last_refresh_at}
            if refreshed is not None
            else None
        ),
    }
    if refreshed is None:
        reason = "ARGO's model list has not been fetched yet (the first fetch is under way)"
    elif not refreshed.ok and catalog.source == "upstream":
        reason = "ARGO did not answer the last model list check; the last good list is served"
    elif not refreshed.ok:
        reason = "ARGO's model list could not be fetched; the built-in list is served"
    else:  # a refresh that landed: the list is ARGO's
        return True, {"status": "ready", **body}
    return False, {"status": "not_ready", "reason": reason, **body}
