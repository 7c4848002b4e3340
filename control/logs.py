"""Where the daemon's log goes, and how a line is written so that it cannot be forged.

Everything goes to stderr: stdout may belong to JSON-RPC (`--control stdio`). Values
in a log line come from clients (a model name, a path, a header): their control
characters are escaped, so a newline in a model name cannot start a line that looks
like one the daemon wrote (docs/security.md).
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from argo_proxy.daemon.folders import private_folder

__all__ = ["EscapingFormatter", "escape_controls", "setup_logging"]

# C0 and C1 control characters and DEL; tabs included (they can hide text in a terminal).
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """`a\\nb` → `a\\\\nb`: control characters become visible escapes."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class EscapingFormatter(logging.Formatter):
    """Escapes control characters in the message; a traceback keeps its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = escape_controls(record.message)
        return super().formatMessage(record)


class _PrivateRotatingFileHandler(RotatingFileHandler):
    """A log file (and each rotated one) readable by its owner only: it may name models,
    paths and clients."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, "a", encoding=self.encoding or "utf-8")  # noqa: SIM115 - the handler owns it


_LOG_FILE_BYTES = 10 * 1024 * 1024


def setup_logging(verbose: bool, log_file: Path | None = None, backups: int = 3) -> None:
    """Everything to stderr and, with `log_file`, to that file too (rotated at 10 MiB,
    `backups` old files kept: `log_to_file` and `max_log_history`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        EscapingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    handlers: list[logging.Handler] = [handler]
    if log_file is not None:
        private_folder(
            log_file.parent,
            "the log folder",
            "another user could read or change your log there; set XDG_STATE_HOME to a "
            "folder of your own, or turn `log_to_file` off (docs/security.md#private-folders)",
        )
        to_file = _PrivateRotatingFileHandler(
            log_file, maxBytes=_LOG_FILE_BYTES, backupCount=backups, encoding="utf-8"
        )
        to_file.setFormatter(EscapingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
        handlers.append(to_file)
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("httpx", "httpcore", "sanic.access", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # pygls logs every frame it sends at INFO, and a warning per unknown method; the
    # control plane logs what matters itself (control/rpc.py).
    logging.getLogger("pygls").setLevel(logging.ERROR)
    # llm-rosetta reports dropped fields as warnings; route them to the log.
    logging.captureWarnings(True)
