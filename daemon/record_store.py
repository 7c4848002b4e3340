"""The request records on disk: one SQLite file in the user state directory
(docs/observability.md#storage).

The request path never waits for the disk. The store listens to the RequestLog, and
its listener only appends the finished record to a queue; one writer thread takes
what is queued, in batches, and writes each batch with the day totals it adds to in
one transaction. A write that fails (a full disk, a read-only folder, a locked file)
is logged once per kind of failure and its records are dropped: no request fails for
it and the daemon keeps serving.

Tables: `requests`, one row per record with every field of RECORD_FIELDS (`error` as
JSON text), and `daily_totals`, per local day, model and client. Rows older than
`log_retention_days` are deleted when the writer starts and about daily after that.
Records hold no prompt or answer text, so neither does the file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import operator
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import FolderError
from .folders import private_folder
from .records import RequestRecord
from .usage import NO_MODEL, TOKEN_FIELDS, TOTAL_FIELDS, Totals, UsageTable, local_day

__all__ = ["COLUMNS", "RecordStore", "StoreUnavailable", "remove_store_files"]

log = logging.getLogger(__name__)

# What to do when the records' folder is not the user's own (daemon/folders.py).
_FOLDER_HINT = (
    "another user could read or change your request records there; set XDG_STATE_HOME "
    "to a folder of your own, or `log_retention_days: 0` (docs/security.md#private-folders)"
)

SCHEMA_VERSION = 3
# Every field of a record, with its SQLite type (tests/unit/test_record_store.py holds
# this to RECORD_FIELDS).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "TEXT NOT NULL"),  # random: no index (each insert would land anywhere in one)
    ("started_at", "REAL NOT NULL"),
    ("endpoint", "TEXT NOT NULL"),
    ("client_format", "TEXT NOT NULL"),
    ("client", "TEXT NOT NULL"),
    ("client_version", "TEXT NOT NULL"),
    ("model", "TEXT"),
    ("argo_model", "TEXT"),
    ("answered_model", "TEXT"),
    ("upstream", "TEXT"),
    ("converted", "INTEGER NOT NULL"),
    ("stream", "INTEGER NOT NULL"),
    ("status", "INTEGER NOT NULL"),
    ("error", "TEXT"),  # {"type", "message"} as JSON, or NULL
    ("latency_ms", "REAL NOT NULL"),
    ("ttft_ms", "REAL"),
    ("input_tokens", "INTEGER NOT NULL"),
    ("output_tokens", "INTEGER NOT NULL"),
    ("cached_tokens", "INTEGER NOT NULL"),
    ("cache_write_tokens", "INTEGER NOT NULL"),
    ("reasoning_tokens", "INTEGER NOT NULL"),
    ("estimated", "INTEGER NOT NULL"),
    ("retries", "INTEGER NOT NULL"),
    ("thinking_off", "INTEGER NOT NULL DEFAULT 0"),
    ("route", "TEXT"),
    ("attempts", "TEXT"),  # [{"model", "outcome"}, ...] as JSON, or NULL
)
# The columns each schema version added, for a file an older version wrote.
_ADDED: dict[int, tuple[tuple[str, str], ...]] = {
    2: (("answered_model", "TEXT"), ("thinking_off", "INTEGER NOT NULL DEFAULT 0")),
    3: (("route", "TEXT"), ("attempts", "TEXT")),
}
_NAMES = tuple(name for name, _ in COLUMNS)
_BOOLEANS = {"converted", "stream", "estimated", "thinking_off"}
_TOKEN_SUMS = ", ".join(f"SUM({name})" for name in TOKEN_FIELDS)

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS requests ({", ".join(f"{n} {t}" for n, t in COLUMNS)});
CREATE INDEX IF NOT EXISTS requests_started_at ON requests (started_at);
CREATE TABLE IF NOT EXISTS daily_totals (
    day TEXT NOT NULL,
    model TEXT NOT NULL,
    client TEXT NOT NULL,
    {", ".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in TOTAL_FIELDS)},
    PRIMARY KEY (day, model, client)
);
PRAGMA user_version = {SCHEMA_VERSION};
"""
# SQLite before 3.32 (still the system one on some clusters) takes 999 parameters at most
_ROWS_PER_INSERT = 999 // len(_NAMES)


@functools.cache
def _insert(rows: int) -> str:
    """One INSERT of `rows` rows. SQLite then inserts them all in one step, with the GIL
    released; row by row, the writer thread took the GIL back from the event loop after
    every row, which cost a busy daemon more than the writing itself (bench/README.md)."""
    row = f"({', '.join('?' for _ in _NAMES)})"
    return f"INSERT INTO requests ({', '.join(_NAMES)}) VALUES {', '.join([row] * rows)}"


# The rows after a rowid added to their day totals, by SQLite itself (no Python per
# record, and the GIL released). The model is usage.py's model_key; the day, local time.
_ADD_TO_DAYS = (
    f"INSERT INTO daily_totals (day, model, client, {', '.join(TOTAL_FIELDS)}) "
    "SELECT date(started_at, 'unixepoch', 'localtime'), "
    f"COALESCE(NULLIF(argo_model, ''), NULLIF(model, ''), '{NO_MODEL}'), client, "
    f"COUNT(*), SUM(status >= 400), {_TOKEN_SUMS}, SUM(estimated) "
    "FROM requests WHERE rowid > ? GROUP BY 1, 2, 3 "
    "ON CONFLICT (day, model, client) DO UPDATE SET "
    + ", ".join(f"{name} = {name} + excluded.{name}" for name in TOTAL_FIELDS)
)
# Grouped by what a usage key is made of; usage.py makes the keys.
_USAGE = (
    "SELECT argo_model, model, client, date(started_at, 'unixepoch', 'localtime') AS day, "
    f"COUNT(*), SUM(status >= 400), {_TOKEN_SUMS}, SUM(estimated) "
    "FROM requests WHERE started_at BETWEEN ? AND ? GROUP BY argo_model, model, client, day"
)

_BATCH = 500  # records per transaction
_MAX_QUEUED = 100_000  # past this (the disk stalls) records are not queued: memory stays bounded
_PRUNE_EVERY = 86_400.0  # seconds between prunes
_GATHER_SECONDS = 1.0  # how long new records wait to be written with the next ones
_BUSY_WAIT_MS = 5000  # another daemon of the same user writing to the same file


class StoreUnavailable(Exception):
    """The file cannot be opened, set up or read. At start the daemon then runs
    without it; a `usage.get` says so."""


def _sidecars(path: Path) -> list[Path]:
    """The database and the files SQLite keeps beside it in WAL mode."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def remove_store_files(path: Path) -> bool:
    """Delete the store's files (`log_retention_days: 0` keeps nothing on disk); whether
    there were any."""
    removed = False
    for file in _sidecars(path):
        try:
            file.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:  # the daemon runs on; the user learns why the file stays
            log.warning("cannot delete %s (log_retention_days is 0): %s", file, exc)
            continue
        removed = True
    return removed


_VALUES = operator.attrgetter(*_NAMES)  # a record's column values, in one C call
_JSON = frozenset(("error", "attempts"))  # columns that hold JSON text, or NULL


def _upgrade(db: sqlite3.Connection, version: int) -> None:
    """Add the columns of the newer schema versions to a file an older daemon wrote; its
    records keep their values, the new columns their defaults."""
    present = {row[1] for row in db.execute("PRAGMA table_info(requests)")}
    for newer in range(version + 1, SCHEMA_VERSION + 1):
        for name, kind in _ADDED.get(newer, ()):
            if present and name not in present:
                db.execute(f"ALTER TABLE requests ADD COLUMN {name} {kind}")


def _row(record: RequestRecord) -> tuple[Any, ...]:
    values: tuple[Any, ...] = _VALUES(record)
    if record.error is None and record.attempts is None:  # most records: as they are
        return values
    return tuple(
        json.dumps(value, ensure_ascii=False) if name in _JSON and value is not None else value
        for name, value in zip(_NAMES, values, strict=True)
    )


def _record(row: Sequence[Any]) -> RequestRecord:
    values = dict(zip(_NAMES, row, strict=True))
    for name in _BOOLEANS:
        values[name] = bool(values[name])
    for name in _JSON:
        if values[name] is not None:
            values[name] = json.loads(values[name])
    return RequestRecord(**values, _closed=True)


class RecordStore:
    """The SQLite file of request records, and the thread that writes it."""

    def __init__(self, path: Path, db: sqlite3.Connection, retention_days: int) -> None:
        self.path = path
        self.retention_days = retention_days
        self.lost = 0  # records dropped: a failed write, or a queue past its bound
        self._db = db
        # Held by the writer from a batch's first insert until the batch has left the
        # queue, and by readers from their query until they have copied the queue: a
        # reader sees each record once, in the table or in the queue.
        self._lock = threading.Lock()
        self._queue: deque[RequestRecord] = deque()
        self._wake = threading.Event()
        self._flush = threading.Event()  # stop gathering: the daemon stops
        self._stopping = False
        self._next_prune = 0.0  # at once, when the writer starts
        self._warned: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="record-store", daemon=True)

    # ------------------------------------------------------------------- opening

    @classmethod
    def open(cls, path: Path, retention_days: int) -> RecordStore:
        """Open (or create) the file, mode 0600 in a 0700 folder; StoreUnavailable if it
        cannot be used."""
        try:
            private_folder(path.parent, "the request records' folder", _FOLDER_HINT)
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # born private
            for file in _sidecars(path):
                with contextlib.suppress(FileNotFoundError):
                    file.chmod(0o600)
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except FolderError as exc:
            raise StoreUnavailable(exc.message) from exc
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"cannot open {path}: {exc}") from exc
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreUnavailable(
                    f"{path} was written by a newer argo-proxy (schema {version}); "
                    "this one leaves it alone"
                )
            db.execute(f"PRAGMA busy_timeout = {_BUSY_WAIT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")  # WAL: a power cut may lose the last batch
            if 0 < version < SCHEMA_VERSION:
                _upgrade(db, version)
            db.executescript(_SCHEMA)
        except (sqlite3.Error, StoreUnavailable) as exc:
            db.close()
            if isinstance(exc, StoreUnavailable):
                raise
            raise StoreUnavailable(f"cannot use {path}: {exc}") from exc
        return cls(path, db, retention_days)

    def history(self, limit: int) -> list[RequestRecord]:
        """The newest `limit` records within the retention period, oldest first."""
        if limit <= 0:
            return []
        query = (
            f"SELECT {', '.join(_NAMES)} FROM requests WHERE started_at >= ? "
            "ORDER BY rowid DESC LIMIT ?"
        )
        try:
            with self._lock:
                rows = self._db.execute(query, (self._cutoff(), limit)).fetchall()
            return [_record(row) for row in reversed(rows)]
        except (sqlite3.Error, ValueError, TypeError) as exc:
            raise StoreUnavailable(f"cannot read {self.path}: {exc}") from exc

    def start(self) -> None:
        """Start the writer (it prunes first)."""
        self._thread.start()

    # ------------------------------------------------------------ the request path

    def add(self, record: RequestRecord) -> None:
        """The RequestLog listener: queue the record, and nothing more."""
        if len(self._queue) >= _MAX_QUEUED:
            self.lost += 1
            self._warn("queue", f"more than {_MAX_QUEUED} records wait for the disk")
            return
        self._queue.append(record)
        if not self._wake.is_set():
            self._wake.set()

    # ------------------------------------------------------------------- reading

    def tally(self, table: UsageTable) -> None:
        """Add the records of `table`'s period to it: those written and those queued."""
        with self._lock:
            try:
                groups = self._db.execute(_USAGE, (table.since, table.until)).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"cannot read {self.path}: {exc}") from exc
            queued = list(self._queue)
        for argo_model, model, client, day, *sums in groups:
            table.add_group(argo_model, model, client, day, Totals(*sums))
        table.add_records(queued)

    # ------------------------------------------------------------------- settings

    def set_retention(self, days: int) -> None:
        """A reload changed `log_retention_days`: prune by it now."""
        self.retention_days = days
        self._next_prune = 0.0
        self._wake.set()

    def _cutoff(self) -> float:
        return time.time() - self.retention_days * 86_400.0

    # -------------------------------------------------------------------- writer

    def _run(self) -> None:
        while True:
            if time.time() >= self._next_prune:
                self._prune()
            self._write_queued()
            if self._stopping and not self._queue:
                return
            self._wake.wait(_PRUNE_EVERY)
            self._wake.clear()
            # Let a busy second's records gather into one transaction: a commit per
            # record cost a busy daemon a tenth of its throughput (bench/README.md).
            # Readers lose nothing by the wait: they count the queue too.
            self._flush.wait(_GATHER_SECONDS)

    def _write_queued(self) -> None:
        while self._queue:
            with self._lock:
                batch = [self._queue[i] for i in range(min(_BATCH, len(self._queue)))]
                try:
                    self._write(batch)
                except Exception as exc:  # noqa: BLE001 - nothing may stop the writer
                    self.lost += len(batch)
                    self._warn_failure("written", exc)
                for _ in batch:
                    self._queue.popleft()

    def _write(self, batch: list[RequestRecord]) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            (last,) = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM requests").fetchone()
            for start in range(0, len(batch), _ROWS_PER_INSERT):
                rows = batch[start : start + _ROWS_PER_INSERT]
                db.execute(_insert(len(rows)), [v for record in rows for v in _row(record)])
            db.execute(_ADD_TO_DAYS, (last,))
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise

    def _prune(self) -> None:
        self._next_prune = time.time() + _PRUNE_EVERY
        cutoff = self._cutoff()
        try:
            with self._lock:
                gone = self._db.execute("DELETE FROM requests WHERE started_at < ?", (cutoff,))
                self._db.execute("DELETE FROM daily_totals WHERE day < ?", (local_day(cutoff),))
        except Exception as exc:  # noqa: BLE001 - nothing may stop the writer
            self._warn_failure("pruned", exc)
            return
        if gone.rowcount > 0:
            log.info(
                "removed %d request records older than %d days (log_retention_days)",
                gone.rowcount,
                self.retention_days,
            )

    def _warn_failure(self, what: str, exc: Exception) -> None:
        kind = getattr(exc, "sqlite_errorname", None) or type(exc).__name__
        self._warn(f"{what}:{kind}", f"request records could not be {what} ({exc})")

    def _warn(self, kind: str, problem: str) -> None:
        """One warning per kind of failure: a full disk does not fill the log too."""
        if kind in self._warned:
            return
        self._warned.add(kind)
        log.warning(
            "%s in %s; requests are served as before, and this is said once "
            "(docs/observability.md#storage)",
            problem,
            self.path,
        )

    # ------------------------------------------------------------------- closing

    def close(self, wait: float) -> None:
        """Write what is queued (waiting up to `wait` seconds), then close the file."""
        self._stopping = True
        self._wake.set()
        self._flush.set()
        if self._thread.is_alive():
            self._thread.join(wait)
        if self._thread.is_alive():
            log.warning(
                "%d request records were not written to %s within %gs",
                len(self._queue),
                self.path,
                wait,
            )
            return  # the writer still holds the file; it ends with the process
        with self._lock:
            self._db.close()
