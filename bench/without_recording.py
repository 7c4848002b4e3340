"""`argo-proxy` of this tree with request recording taken out, for bench/recording.py's
"without" arm: the same code, the same run, less only what recording does.

    python bench/without_recording.py serve CONFIG ...    # any argo-proxy arguments

Taken out, by patching the daemon's modules before it starts (nothing here is part of
the product):

* the usage chunk asked of ARGO on an OpenAI-style stream whose client did not ask for
  it (a converted stream still asks, as it did before records: its tail needs it);
* what the relay tells the request's record of each streamed event (ARGO's usage, the
  answer's text for an estimate): the relay watches for the auth notice, the end and
  in-band errors, as before records;
* everything that hears of a finished record: the request log's ring, the Prometheus
  tallies, the SQLite store, `request.finished`.

Left in, because the request path cannot run without them: opening and closing the
record object itself (a few microseconds, bench/README.md).
"""

from __future__ import annotations

import sys
from collections.abc import AsyncGenerator
from typing import Any

from argo_proxy.control.cli import main
from argo_proxy.daemon import relay
from argo_proxy.daemon.backends.argo import ArgoChat, Leg
from argo_proxy.daemon.records import RequestRecord
from argo_proxy.daemon.request_log import RequestLog

_stream = ArgoChat.stream


def _stream_without_usage(
    self: ArgoChat, leg: Leg, shaper: relay.Shaper
) -> AsyncGenerator[bytes, None]:
    if isinstance(shaper, relay.SameFormatShaper):  # asked for the record only
        leg.body.pop("stream_options", None)
    return _stream(self, leg, shaper)


def _event_ignored(self: RequestRecord, event: dict[str, Any]) -> None:
    """The record hears of no streamed event (observer.py): the relay's per-event work
    for the record is gone; the relay still watches the notice, the end, errors."""


def _drop(self: RequestLog, record: RequestRecord) -> None:
    """No ring, no listeners: nothing hears of the record."""


if __name__ == "__main__":
    ArgoChat.stream = _stream_without_usage
    RequestRecord.event = _event_ignored
    RequestLog.add = _drop
    sys.argv[0] = "argo-proxy"
    sys.exit(main())
