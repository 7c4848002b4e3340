"""`argo-proxy` of this tree with request recording taken out, for bench/recording.py's
"without" arm: the same code, the same run, less only what recording does.

    python bench/without_recording.py serve CONFIG ...    # any argo-proxy arguments

Taken out, by patching the daemon's modules before it starts (nothing here is part of
the product):

* the usage chunk asked of ARGO on an OpenAI-style stream whose client did not ask for
  it (a converted stream still asks, as it did before records: its tail needs it);
* what the relay tells the request's record of each streamed event (ARGO's usage, the
  answer's text for an estimate, an in-band error): the relay watches only for the auth
  notice and the end, as before records;
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
from argo_proxy.daemon.argo_replies import event_error, event_text
from argo_proxy.daemon.backends.argo import ArgoChat, Leg
from argo_proxy.daemon.records import RequestRecord
from argo_proxy.daemon.request_log import RequestLog
from argo_proxy.daemon.sse import SSEEvent

_stream = ArgoChat.stream


def _stream_without_usage(
    self: ArgoChat, leg: Leg, shaper: relay.Shaper, record: RequestRecord
) -> AsyncGenerator[bytes, None]:
    if isinstance(shaper, relay.SameFormatShaper):  # asked for the record only
        leg.body.pop("stream_options", None)
    return _stream(self, leg, shaper, record)


class _MonitorWithoutRecord(relay._Monitor):  # noqa: SLF001 (a bench's patch)
    """The relay's watch as it was before records: notice, end, in-band errors."""

    def see(self, sse: SSEEvent, parsed: list[Any]) -> bool:
        if sse.data.strip() == "[DONE]":
            self.ended = True
            parsed.append(None)
            return True
        try:
            event: Any = sse.json()
        except ValueError:
            return False
        if not isinstance(event, dict):
            return False
        parsed.append(event)
        kind = event.get("type")
        if kind == "message_stop" or event_error(event) is not None:
            self.ended = True
            self.notice.decided = True
            return True
        if kind == "message_start":
            if str((event.get("message") or {}).get("id", "")).startswith("msg_blocked_"):
                self.notice.decided = self.notice.is_notice = True
            return True
        if self.notice.decided:
            return True
        text = event_text(event)
        if text:
            self.notice.feed(text)
        elif relay._carries_other_content(event):  # noqa: SLF001
            self.notice.decided = True
        return True


def _drop(self: RequestLog, record: RequestRecord) -> None:
    """No ring, no listeners: nothing hears of the record."""


if __name__ == "__main__":
    ArgoChat.stream = _stream_without_usage
    relay._Monitor = _MonitorWithoutRecord  # noqa: SLF001
    RequestLog.add = _drop
    sys.argv[0] = "argo-proxy"
    sys.exit(main())
