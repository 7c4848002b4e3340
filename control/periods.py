"""Points in time as users write them for `since`/`until` (docs/observability.md#commands):
a Unix time, a span back from now (`90s`, `15m`, `24h`, `7d`, `2w`), `today`, or a
date or date-time (`2026-12-01`, `2026-12-01T09:30`), local time unless it says."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from typing import Any

from argo_proxy.daemon.errors import ControlRequestError

__all__ = ["parse_time"]

_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(value: Any, name: str, *, now: float | None = None) -> float:
    """`value` as Unix time; a ControlRequestError naming `name` if it is none of the forms,
    or not a finite time (JSON's NaN, `1e400`, a span of 10^400 days)."""
    now = time.time() if now is None else now
    moment = _moment(value, now)
    if moment is None or not math.isfinite(moment):
        raise ControlRequestError(
            f"`{name}` must be a Unix time, a span back from now like 15m, 24h or 7d, "
            f"`today`, or a date like 2026-12-01; got {value!r}"
        )
    return moment


def _moment(value: Any, now: float) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    span = _SPAN.match(text)
    if span:
        return now - float(span.group(1)) * _SECONDS[span.group(2).lower()]
    try:
        if text.lower() == "today":
            midnight = dt.datetime.fromtimestamp(now).replace(
                hour=0, minute=0, second=0, microsecond=0
            )
            return midnight.timestamp()
        return dt.datetime.fromisoformat(text).timestamp()  # naive: local time
    except (ValueError, OverflowError, OSError):
        return None
