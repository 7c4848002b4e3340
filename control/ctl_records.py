"""`argo-proxy ctl requests` and `argo-proxy ctl usage`: request records and usage
totals as tables for people, or JSON for scripts (docs/observability.md#commands).

`requests -f` stays connected and prints each record the daemon announces with
`request.finished`, until Ctrl-C (exit 0) or until the daemon goes away (exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argo_proxy.daemon.request_log import status_matches

from .client import ControlClient, RpcError

__all__ = ["RequestsQuery", "follow_requests", "print_usage", "show_requests"]

_CALL_TIMEOUT = 120.0
# `-f`: rows arrive after the header is printed, so columns get room to grow into.
_FOLLOW_WIDTHS = {"client": 16, "model": 36}
_USAGE_COLUMNS = (
    ("requests", "REQUESTS"),
    ("errors", "ERRORS"),
    ("input_tokens", "INPUT"),
    ("output_tokens", "OUTPUT"),
    ("cached_tokens", "CACHED"),
    ("cache_write_tokens", "CACHE WRITE"),
    ("reasoning_tokens", "REASONING"),
    ("estimated", "ESTIMATED"),
)
_LEGEND = "S: a stream; ~: token counts estimated offline (ARGO reported none)"
# What the first column of `ctl usage` holds, by grouping (daemon/usage.py: by model the
# key is the ARGO model, else the name the request asked for, else `(none)`).
_USAGE_KEYS = {"model": "ARGO MODEL", "client": "CLIENT", "day": "DAY"}
_USAGE_MODEL_NOTE = "ARGO MODEL: the ARGO model used, else the model asked for ((none): none named)"


@dataclass(frozen=True)
class RequestsQuery:
    """`ctl requests`' options, as requests.list's params."""

    limit: int
    model: str | None = None
    client: str | None = None
    status: str | None = None
    since: str | None = None

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": self.limit}
        for key in ("model", "client", "status", "since"):
            value = getattr(self, key)
            if value is not None:
                params[key] = value
        return params


def _out(text: str) -> None:
    print(text, flush=True)


def _fail(text: str) -> int:
    print(f"argo-proxy ctl: {text}", file=sys.stderr, flush=True)
    return 1


def _count(value: int) -> str:
    return f"{value:,}"


# ------------------------------------------------------------------- requests


def _model(record: dict[str, Any]) -> str:
    asked, argo = record.get("model"), record.get("argo_model")
    if asked and argo and asked != argo:
        return f"{asked} → {argo}"
    return asked or argo or "-"


def _cells(record: dict[str, Any]) -> list[str]:
    """One record as the table's cells: time, client, model, status, ms, in, out, marks."""
    guess = "~" if record.get("estimated") else ""
    return [
        time.strftime("%H:%M:%S", time.localtime(record["started_at"])),
        record["client"],
        _model(record),
        str(record["status"]),
        _count(round(record["latency_ms"])),
        guess + _count(record["input_tokens"]),
        guess + _count(record["output_tokens"]),
        "S" if record.get("stream") else "",
    ]


_REQUEST_HEADER = ["TIME", "CLIENT", "MODEL", "STATUS", "MS", "IN", "OUT", ""]
_RIGHT = {3, 4, 5, 6}  # numbers are right-aligned


def _widths(rows: Sequence[Sequence[str]], floors: Sequence[int] = ()) -> list[int]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [max(w, f) for w, f in zip(widths, [*floors, *[0] * len(widths)], strict=False)]


def _line(cells: Sequence[str], widths: Sequence[int], right: set[int]) -> str:
    parts = [
        cell.rjust(width) if i in right else cell.ljust(width)
        for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(parts).rstrip()


async def _list(client: ControlClient, query: RequestsQuery) -> list[dict[str, Any]]:
    """The newest records, oldest first (the daemon sends them newest first)."""
    result = await client.call("requests.list", query.params(), timeout=_CALL_TIMEOUT)
    return list(reversed(result["requests"]))


async def show_requests(client: ControlClient, query: RequestsQuery, *, as_json: bool) -> int:
    """Print the newest records, newest last."""
    try:
        records = await _list(client, query)
    except RpcError as exc:
        return _fail(f"the daemon refused requests.list: {exc.message}")
    if as_json:
        for record in records:
            _out(json.dumps(record))
        return 0
    if not records:
        _out("no requests recorded" + (" that match" if len(query.params()) > 1 else ""))
        return 0
    rows = [_REQUEST_HEADER, *(_cells(record) for record in records)]
    widths = _widths(rows)
    for row in rows:
        _out(_line(row, widths, _RIGHT))
    if any(record.get("estimated") or record.get("stream") for record in records):
        _out(_LEGEND)
    return 0


async def follow_requests(client: ControlClient, query: RequestsQuery, *, as_json: bool) -> int:
    """Print the newest records, then each new one as it finishes, until Ctrl-C."""
    # Connected before the list is asked for, so nothing finishes unseen in between;
    # a record both listed and announced is printed once.
    try:
        records = await _list(client, query)
    except RpcError as exc:
        return _fail(f"the daemon refused requests.list: {exc.message}")
    seen = {record["id"] for record in records}
    rows = [_REQUEST_HEADER, *(_cells(record) for record in records)]
    widths = _widths(rows, [0, _FOLLOW_WIDTHS["client"], _FOLLOW_WIDTHS["model"]])
    if as_json:
        for record in records:
            _out(json.dumps(record))
    else:
        _out(f"new requests are added as they finish; Ctrl-C to stop. {_LEGEND}")
        for row in rows:
            _out(_line(row, widths, _RIGHT))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    try:
        while not stop.is_set():
            got = await _next_record(client, stop)
            if got is None:
                break
            if got["id"] in seen or not _matches(got, query):
                continue
            seen.add(got["id"])
            _out(json.dumps(got) if as_json else _line(_cells(got), widths, _RIGHT))
    finally:
        loop.remove_signal_handler(signal.SIGINT)
    if stop.is_set():
        return 0
    return _fail("the daemon closed the connection (it stopped?)")


async def _next_record(client: ControlClient, stop: asyncio.Event) -> dict[str, Any] | None:
    """The next `request.finished` record; None on Ctrl-C or when the daemon went away."""
    while True:
        note = asyncio.ensure_future(client.notification(timeout=None))
        stopped = asyncio.ensure_future(stop.wait())
        waits: set[asyncio.Future[Any]] = {note, stopped, client.disconnected}
        done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in (note, stopped):
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if note not in done:
            return None
        method, params = note.result()
        if method == "request.finished" and isinstance(params, dict):
            return params


def _matches(record: dict[str, Any], query: RequestsQuery) -> bool:
    """The filters requests.list applied to the listed records, for announced ones."""
    if query.model is not None and query.model not in (record["model"], record["argo_model"]):
        return False
    if query.client is not None and record["client"] != query.client:
        return False
    return query.status is None or status_matches(record["status"], query.status)


# ----------------------------------------------------------------------- usage


def _moment(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at))


def print_usage(result: dict[str, Any]) -> int:
    """usage.get's result as a table, with a TOTAL line."""
    names = [name for name, _ in _USAGE_COLUMNS]
    by = str(result["by"])
    header = [_USAGE_KEYS.get(by, by.upper()), *(title for _, title in _USAGE_COLUMNS)]
    rows = [
        header,
        *([row["key"], *(_count(row[name]) for name in names)] for row in result["rows"]),
        ["TOTAL", *(_count(result["total"][name]) for name in names)],
    ]
    widths = _widths(rows)
    right = set(range(1, len(header)))
    _out(f"usage from {_moment(result['since'])} to {_moment(result['until'])}, by {result['by']}")
    for row in rows:
        _out(_line(row, widths, right))
    if by == "model":
        _out(_USAGE_MODEL_NOTE)
    return 0
