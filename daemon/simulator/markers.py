"""In-prompt `[[sim:key=value,...]]` markers: the header-free way to steer the simulator.

The proxy rebuilds every upstream request, so a test cannot smuggle headers through it;
text in the last message survives any format conversion
(docs/simulator.md#in-prompt-markers). A marker holding `fault=NAME` selects a fault and
its other keys are that fault's parameters; any other marker sets reply options
(`tools=2`, `deltas=5`).
Values are percent-decoded, so `text=a%2C%20b` carries a comma.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = ["NO_MARKERS", "Markers", "read_markers"]

# A marker plus the blanks in front of it, so "say [[sim:x]] hi" reads "say hi".
_MARKER = re.compile(r"[ \t]*\[\[sim:([^\]]*)\]\]")


@dataclass(frozen=True)
class Markers:
    """What the markers of one text asked for."""

    options: Mapping[str, str] = field(default_factory=dict)
    faults: tuple[Mapping[str, str], ...] = ()

    def option_int(self, key: str, default: int) -> int:
        """An integer reply option, `default` when absent or not a number."""
        raw = self.options.get(key)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            return default


NO_MARKERS = Markers()


def _pairs(body: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in body.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if key:
            pairs[key] = unquote(value.strip()) if sep else "1"
    return pairs


def read_markers(text: str) -> tuple[str, Markers]:
    """Split `text` into (text without markers, what the markers ask for)."""
    if "[[sim:" not in text:  # the common case stays one substring test
        return text, NO_MARKERS
    options: dict[str, str] = {}
    faults: list[dict[str, str]] = []
    for match in _MARKER.finditer(text):
        pairs = _pairs(match.group(1))
        if "fault" in pairs:
            faults.append(pairs)
        else:
            options.update(pairs)
    return _MARKER.sub("", text).strip(), Markers(options, tuple(faults))
