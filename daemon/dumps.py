"""Request dumps (docs/observability.md#debug-dumps): with `dump_requests` on, one JSON
file per API request with its bodies: what the client sent, what went to ARGO, what
ARGO answered (a stream's events), and what the client got.

The request path (`pipeline.py`) opens a `RequestDump` per request, one of the
request's observers (observer.py): the upstream client tells it what passes to and
from ARGO, the recording stage what the client got. The finished dump goes to one
worker thread that renders and writes it, so that a slow disk never holds up the
event loop.

Bounded and private: what is held in memory for a stream stops at the file's limit;
each file is at most `dump_max_kb` (the longest strings and lists are cut, with a
marker saying how much); the folder is at most `dump_max_mb` (the oldest dumps are
deleted first); files are mode 0600 in a 0700 folder. No credential is written:
credential headers and `?key=` are replaced, `user` fields are shortened to `j***`,
and every token the daemon knows (the access token, the username, the keys the client
sent) is replaced wherever it appears.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import Config, redact_user
from .errors import FolderError
from .exchange import ClientRequest, JSONResult
from .folders import private_folder
from .observer import Observer
from .records import RequestRecord
from .sse import SSEParser

__all__ = ["DumpSettings", "DumpWriter", "RequestDump", "render_dump"]

log = logging.getLogger(__name__)

# What to do when the dump folder is not the user's own (daemon/folders.py).
_FOLDER_HINT = (
    "another user could read your prompts there; set `dump_dir` to a folder of your own "
    "(docs/security.md#private-folders)"
)

_REDACTED = "[redacted]"
_CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "x-goog-api-key", "cookie"}
)
_USER_FIELDS = frozenset({"user", "user_id"})  # ARGO's credential is the username
_SHORTEST_SECRET = 4  # a shorter known value is not searched for in free text
_MOST_PENDING = 64  # dumps waiting for the writer; past that, new ones are dropped
_SHORTEST_CUT = 64  # strings are cut down to this at most, before lists are
# Our own files only: a `dump_dir` may hold other things, which are never deleted.
_DUMP_NAME = re.compile(r"^\d{8}-\d{6}\.\d{6}_req_[0-9a-f]{16}\.json$")


@dataclass(frozen=True)
class DumpSettings:
    """Where a dump goes, how big it may be, and the values no dump may contain."""

    folder: Path
    max_file_bytes: int
    max_folder_bytes: int
    secrets: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: Config, known_secrets: Iterable[str | None] = ()) -> DumpSettings:
        values = {s for s in (*known_secrets, config.user) if s and len(s) >= _SHORTEST_SECRET}
        # longest first: a token that contains the username is replaced whole
        ordered = tuple(sorted(values, key=len, reverse=True))
        return cls(
            config.dump_path, config.dump_max_kb * 1024, config.dump_max_mb * 1024 * 1024, ordered
        )


class _Capture:
    """Bytes as they arrive, up to `limit`; what did not fit is only counted."""

    __slots__ = ("cut", "data", "limit")

    def __init__(self, limit: int) -> None:
        self.data = bytearray()
        self.cut = 0
        self.limit = limit

    def add(self, data: bytes) -> None:
        room = self.limit - len(self.data)
        if room > 0:
            self.data += data[:room]
        self.cut += max(0, len(data) - max(room, 0))


@dataclass
class _Call:
    """One call to ARGO."""

    url: str
    headers: dict[str, str]
    body: bytes
    answer: _Capture
    status: int | None = None
    content_type: str = ""


@dataclass
class RequestDump(Observer):
    """What one request sent and received, collected while it is served: it observes
    the request (observer.py), the calls to ARGO and what the client got."""

    settings: DumpSettings
    endpoint: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    calls: list[_Call] = field(default_factory=list)
    status: int | None = None
    content_type: str = "application/json"
    answer: Any = None  # a JSON answer, as an object
    stream: _Capture | None = None  # a streamed answer, as bytes

    @classmethod
    def open(cls, req: ClientRequest, settings: DumpSettings) -> RequestDump:
        headers = {name.lower(): value for name, value in req.headers.items()}
        # The keys this client sent are secrets too, wherever else they appear.
        keys = [headers.get(name, "") for name in _CREDENTIAL_HEADERS]
        keys += [key[7:] for key in keys if key[:7].lower() == "bearer "]
        keys.append(req.query.get("key", ""))
        found = {key.strip() for key in keys if len(key.strip()) >= _SHORTEST_SECRET}
        ordered = sorted({*found, *settings.secrets}, key=len, reverse=True)
        return cls(
            DumpSettings(
                settings.folder,
                settings.max_file_bytes,
                settings.max_folder_bytes,
                tuple(ordered),
            ),
            req.path,
            dict(req.query),
            headers,
            req.body,
        )

    # ------------------------------------------------------------- the calls to ARGO

    def sending(self, url: str, headers: Mapping[str, str], body: bytes) -> None:
        answer = _Capture(self.settings.max_file_bytes)
        self.calls.append(_Call(url, dict(headers), body, answer))

    def answered(self, status: int, content_type: str) -> None:
        if self.calls:
            self.calls[-1].status = status
            self.calls[-1].content_type = content_type

    def received(self, data: bytes) -> None:
        if self.calls:
            self.calls[-1].answer.add(data)

    # ---------------------------------------------------------------- the client side

    def replied(self, result: JSONResult) -> None:
        self.status = result.status
        self.answer = result.body

    def streaming(self, content_type: str) -> None:
        self.status, self.content_type = 200, content_type
        self.stream = _Capture(self.settings.max_file_bytes)

    def streamed(self, chunk: bytes) -> None:
        if self.stream is not None:
            self.stream.add(chunk)

    def ended(self, answer: Any = None) -> None:
        if answer is not None:
            self.replied(answer)


# ----------------------------------------------------------------------- rendering


def _event(sse: Any) -> Any:
    try:
        data = sse.json()
    except ValueError:
        data = sse.data
    return {"event": sse.event, "data": data} if sse.event else data


def _decode(data: bytes | bytearray, content_type: str) -> Any:
    """Bytes as a reader wants them: a stream's events, JSON, or text."""
    if "event-stream" in content_type:
        parser = SSEParser()
        return [_event(sse) for sse in (*parser.feed(bytes(data)), *parser.close())]
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:  # not JSON, or a stream cut at the limit
        return bytes(data).decode("utf-8", errors="replace")


def _redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {
        name: _REDACTED if name.lower() in _CREDENTIAL_HEADERS else value
        for name, value in headers.items()
    }


def _scrub(value: Any, secret_values: tuple[str, ...]) -> Any:
    """`value` with every known secret replaced and `user` fields shortened."""
    if isinstance(value, str):
        for secret in secret_values:
            if secret in value:
                value = value.replace(secret, _REDACTED)
        return value
    if isinstance(value, dict):
        return {
            key: (
                redact_user(item)
                if key in _USER_FIELDS and isinstance(item, str)
                else _scrub(item, secret_values)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item, secret_values) for item in value]
    return value


def _cut(value: Any, longest: int, most_items: int | None) -> Any:
    """`value` with strings over `longest` characters and lists over `most_items`
    items cut (a list keeps its first and last items), each with a marker."""
    if isinstance(value, str) and len(value) > longest:
        return value[:longest] + f"…[{len(value) - longest} more characters cut: dump_max_kb]"
    if isinstance(value, dict):
        return {key: _cut(item, longest, most_items) for key, item in value.items()}
    if isinstance(value, list):
        items = value
        if most_items is not None and len(items) > most_items:
            head = max(most_items // 2, 1)
            tail = most_items - head
            marker = f"…[{len(items) - most_items} more items cut: dump_max_kb]"
            items = [*items[:head], marker, *(items[-tail:] if tail else [])]
        return [_cut(item, longest, most_items) for item in items]
    return value


def _extent(value: Any) -> tuple[int, int]:
    """(longest string, longest list) in `value`."""
    if isinstance(value, str):
        return len(value), 0
    children: Iterable[Any] = ()
    own = 0
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children, own = value, len(value)
    longest, most = 0, own
    for child in children:
        text, items = _extent(child)
        longest, most = max(longest, text), max(most, items)
    return longest, most


def _serialise(doc: Mapping[str, Any]) -> bytes:
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate a client sent (refused): kept as its escape
        return json.dumps(doc, indent=2).encode()


def _fit(doc: dict[str, Any], limit: int, parts: tuple[str, ...]) -> bytes:
    """`doc` serialised in at most `limit` bytes: the `parts` are cut down, longest
    strings first, then longest lists, until it fits; at worst only its head is kept."""
    text = _serialise(doc)
    if len(text) <= limit:
        return text
    doc = {**doc, "truncated": True}
    longest, most = _extent([doc[part] for part in parts])
    longest = min(longest // 2, limit)
    while longest >= _SHORTEST_CUT:
        text = _serialise({**doc, **{p: _cut(doc[p], longest, None) for p in parts}})
        if len(text) <= limit:
            return text
        longest //= 2
    while most >= 2:
        most //= 2
        cut = {p: _cut(doc[p], _SHORTEST_CUT, most) for p in parts}
        text = _serialise({**doc, **cut})
        if len(text) <= limit:
            return text
    # Still too big (a very small dump_max_kb): the start of it, as a string.
    head = {key: doc[key] for key in doc if key not in parts}
    room = max(limit - len(_serialise(head)) - 200, 0)
    return _serialise({**head, "head": _serialise(doc)[:room].decode(errors="ignore")})


def render_dump(record: Mapping[str, Any], dump: RequestDump) -> bytes:
    """The dump file's bytes: JSON, credentials removed, at most `max_file_bytes`."""
    request_type = dump.headers.get("content-type", "application/json")
    response: Any = dump.answer
    response_cut = 0
    if dump.stream is not None:
        response = _decode(dump.stream.data, dump.content_type)
        response_cut = dump.stream.cut
    calls = []
    for call in dump.calls:
        entry: dict[str, Any] = {
            "url": call.url,
            "headers": _redact_headers(call.headers),
            "body": _decode(call.body, "application/json"),
            "status": call.status,
            "content_type": call.content_type,
            "answer": _decode(call.answer.data, call.content_type),
        }
        if call.answer.cut:
            entry["answer_cut_bytes"] = call.answer.cut
        calls.append(entry)
    started = datetime.fromtimestamp(record["started_at"], timezone.utc)
    doc: dict[str, Any] = {
        "id": record["id"],
        "time": started.isoformat(),
        "truncated": False,
        "record": dict(record),
        "request": {
            "endpoint": dump.endpoint,
            "query": {k: _REDACTED if k == "key" else v for k, v in dump.query.items()},
            "headers": _redact_headers(dump.headers),
            "body": _decode(dump.body, request_type),
        },
        "upstream": calls,
        "response": {
            "status": dump.status,
            "content_type": dump.content_type,
            "body": response,
            **({"body_cut_bytes": response_cut} if response_cut else {}),
        },
    }
    secret_values = dump.settings.secrets
    for part in ("request", "upstream", "response"):
        doc[part] = _scrub(doc[part], secret_values)
    # the record holds no body, but an error message may quote one
    doc["record"] = _scrub(doc["record"], secret_values)
    return _fit(doc, dump.settings.max_file_bytes, ("request", "upstream", "response"))


# ------------------------------------------------------------------------- writing


def dump_name(record: Mapping[str, Any]) -> str:
    """`YYYYmmdd-HHMMSS.ffffff_<request id>.json` (UTC): unique, and sorted by time."""
    started = datetime.fromtimestamp(record["started_at"], timezone.utc)
    return f"{started:%Y%m%d-%H%M%S.%f}_{record['id']}.json"


class _Folder:
    """The dumps in one folder, oldest first, and their total size."""

    def __init__(self, path: Path) -> None:
        found = sorted(
            (entry.name, entry.stat().st_size)
            for entry in os.scandir(path)
            if _DUMP_NAME.match(entry.name) and entry.is_file()
        )
        self.files: deque[tuple[str, int]] = deque(found)
        self.total = sum(size for _, size in found)

    def add(self, name: str, size: int) -> None:
        self.files.append((name, size))
        self.total += size

    def prune(self, path: Path, most_bytes: int) -> int:
        """Delete the oldest dumps until the folder is within `most_bytes` (the newest
        one stays, however big); return how many were deleted."""
        deleted = 0
        while self.total > most_bytes and len(self.files) > 1:
            name, size = self.files.popleft()
            self.total -= size
            try:
                (path / name).unlink()
            except FileNotFoundError:  # someone else tidied up
                continue
            deleted += 1
        return deleted


def _write_private(path: Path, data: bytes) -> None:
    """Write `path` whole (mode 0600): a reader never sees half a dump."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


class DumpWriter:
    """Writes finished dumps on one worker thread, in the order they finished."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._room = threading.BoundedSemaphore(_MOST_PENDING)
        self._folders: dict[Path, _Folder] = {}
        self._warned: set[tuple[Path, int]] = set()
        self.written = 0
        self.dropped = 0

    def open(self, config: Config, req: ClientRequest, *known_secrets: str | None) -> RequestDump:
        return RequestDump.open(req, DumpSettings.of(config, known_secrets))

    def submit(self, record: RequestRecord, dump: RequestDump) -> None:
        """Queue `dump` for writing; a request never waits for it."""
        if not self._room.acquire(blocking=False):
            self.dropped += 1
            log.warning(
                "request dump of %s dropped: %d dumps wait to be written", record.id, _MOST_PENDING
            )
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="argo-proxy-dumps")
        self._executor.submit(self._write, record.to_json(), dump)

    def _write(self, record: dict[str, Any], dump: RequestDump) -> None:
        folder = dump.settings.folder
        try:
            data = render_dump(record, dump)
            private_folder(folder, "the dump folder", _FOLDER_HINT)
            path = folder / dump_name(record)
            _write_private(path, data)
            index = self._folders.get(folder)
            if index is None:
                index = self._folders[folder] = _Folder(folder)
            else:
                index.add(path.name, len(data))
            deleted = index.prune(folder, dump.settings.max_folder_bytes)
            self.written += 1
            log.debug(
                "dumped %s to %s (%d bytes%s)",
                record["id"],
                path,
                len(data),
                f"; {deleted} old dump(s) deleted" if deleted else "",
            )
        except FolderError as exc:  # another user's folder: nothing is written there
            if (folder, 0) not in self._warned:
                self._warned.add((folder, 0))
                log.warning("request dumps are not written: %s", exc.message)
        except OSError as exc:
            key = (folder, exc.errno or errno.EIO)
            if key not in self._warned:  # once per folder and cause, not per request
                self._warned.add(key)
                log.warning("cannot write request dumps to %s: %s", folder, exc.strerror or exc)
        except Exception:  # the worker's top-level guard: the next dump is still written
            log.exception("request dump of %s failed", record.get("id"))
        finally:
            self._room.release()

    def close(self) -> None:
        """Write what is queued, then stop the worker (blocking: call from a thread)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
