"""Usage totals: requests, errors and tokens added up by model, client or day
(docs/observability.md#usage).

One place says which key a record counts under and what a total holds, whether the
records come from the SQLite store (`record_store.py`), from its write queue, or from
the in-memory ring. The result is the shape of the `usage.get` method
(docs/control.md#usage), which the editor extension reads: its names do not change.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, Literal, get_args

from .records import RequestRecord

__all__ = [
    "GROUPINGS",
    "NO_MODEL",
    "TOKEN_FIELDS",
    "TOTAL_FIELDS",
    "Grouping",
    "Totals",
    "UsageTable",
    "local_day",
    "model_key",
]

Grouping = Literal["model", "client", "day"]
GROUPINGS: tuple[Grouping, ...] = get_args(Grouping)
NO_MODEL = "(none)"  # a request refused before its body named a model


def model_key(argo_model: str | None, model: str | None) -> str:
    """The ARGO model a request went to; the model it asked for if it never resolved."""
    return argo_model or model or NO_MODEL


def local_day(at: float) -> str:
    """`YYYY-MM-DD` of a Unix time, in local time."""
    return time.strftime("%Y-%m-%d", time.localtime(at))


TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
)
# `estimated` counts the requests whose token counts are the offline estimate.
TOTAL_FIELDS = ("requests", "errors", *TOKEN_FIELDS, "estimated")


class Totals:
    """What a set of requests added up to: one count per TOTAL_FIELDS name, in order."""

    __slots__ = ("counts",)

    def __init__(self, *counts: int) -> None:
        self.counts = list(counts) if counts else [0] * len(TOTAL_FIELDS)

    def add_record(self, record: RequestRecord) -> None:
        tokens = (getattr(record, name) for name in TOKEN_FIELDS)
        values = (1, record.status >= 400, *tokens, record.estimated)
        self.counts = [int(a + b) for a, b in zip(self.counts, values, strict=True)]

    def add(self, other: Totals) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]

    @property
    def tokens(self) -> int:
        """Input and output tokens: what rows are sorted by."""
        return self.counts[2] + self.counts[3]

    def to_json(self) -> dict[str, int]:
        return dict(zip(TOTAL_FIELDS, self.counts, strict=True))


class UsageTable:
    """Totals between `since` and `until` (Unix times, both included), one per key."""

    def __init__(self, since: float, until: float, by: Grouping) -> None:
        self.since, self.until, self.by = since, until, by
        self.rows: dict[str, Totals] = {}

    def key(self, argo_model: str | None, model: str | None, client: str, day: str) -> str:
        if self.by == "model":
            return model_key(argo_model, model)
        return client if self.by == "client" else day

    def add_group(
        self, argo_model: str | None, model: str | None, client: str, day: str, totals: Totals
    ) -> None:
        """Totals already added up for one (model, client, day): the store's answer."""
        key = self.key(argo_model, model, client, day)
        self.rows.setdefault(key, Totals()).add(totals)

    def add_records(self, records: Iterable[RequestRecord]) -> None:
        """Records one by one (the write queue, the ring); those outside the period skip."""
        for record in records:
            if self.since <= record.started_at <= self.until:
                day = local_day(record.started_at)
                key = self.key(record.argo_model, record.model, record.client, day)
                self.rows.setdefault(key, Totals()).add_record(record)

    def result(self) -> dict[str, Any]:
        """`usage.get`'s result: rows by input+output tokens, most first (by day: oldest
        day first), and their total."""
        if self.by == "day":
            keys = sorted(self.rows)
        else:
            keys = sorted(self.rows, key=lambda k: (-self.rows[k].tokens, k))
        total = Totals()
        for totals in self.rows.values():
            total.add(totals)
        return {
            "since": self.since,
            "until": self.until,
            "by": self.by,
            "rows": [{"key": key, **self.rows[key].to_json()} for key in keys],
            "total": total.to_json(),
        }
