"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

from typing import Any

import httpx


def sent(sim: httpx.Client, path: str) -> list[dict[str, Any]]:
    """What the daemon sent to the simulated ARGO on `path`, oldest first."""
    return sim.get("/__sim/log", params={"path": path}).json()["requests"]


def last_sent(sim: httpx.Client, path: str) -> dict[str, Any]:
    requests = sent(sim, path)
    assert requests, f"the daemon sent nothing to {path}"
    return requests[-1]


def inject(sim: httpx.Client, **rule: Any) -> None:
    """Queue one fault in the simulator (see docs/simulator.md)."""
    sim.post("/__sim/faults", json={"rules": [rule]}).raise_for_status()


WEATHER_TOOL_OPENAI = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
WEATHER_TOOL_ANTHROPIC = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": WEATHER_TOOL_OPENAI["function"]["parameters"],
}
