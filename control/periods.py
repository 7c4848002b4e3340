"""Points in time as users write them for `since`/`until` (docs/observability.md#commands):
a Unix time, a span back from now (`90s`, `15m`, `24h`, `7d`, `2w`), `today`, or a
date or date-time (`2026-12-01`, `2026-12-01T09:30`), local time unless it says."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from argo_proxy.daemon.errors import ControlRequestError

__all__ = ["parse_time"]

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(value: Any, name: str, *, now: float | None = None) -> float:
    """`value` as Unix time; a ControlRequestError naming `name` if it is none of the forms."""
    now = time.time() if now is None else now
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        span = _SPAN.match(text)
        if span:
            return now - float(span.group(1)) * _SECONDS[span.group(2).lower()]
        if text.lower() == "today":
            midnight = dt.datetime.fromtimestamp(now).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            return midnight.timestamp()
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            return moment.timestamp()  # naive: local time
    raise ControlRequestError(
        f"`{name}` must be a Unix time, a span back from now like 15m, 24h or 7d, "
        f"`today`, or a date like 2026-12-01; got {value!r}"
    )
