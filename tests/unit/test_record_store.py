"""The SQLite record store (daemon/record_store.py) and the usage totals
(daemon/usage.py), one module at a time, in a temporary folder."""

from __future__ import annotations

import logging
import sqlite3
import stat
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from argo_proxy.daemon import record_store
from argo_proxy.daemon.record_store import (
    COLUMNS,
    RecordStore,
    StoreUnavailable,
    remove_store_files,
)
from argo_proxy.daemon.records import RECORD_FIELDS, RequestRecord
from argo_proxy.daemon.usage import UsageTable, local_day

DAY = 86_400.0
_serial = iter(range(1_000_000))


def record(**fields: Any) -> RequestRecord:
    """A finished record; `fields` override the defaults."""
    values: dict[str, Any] = {
        "id": f"req_{next(_serial):016x}",
        "started_at": time.time(),
        "endpoint": "/v1/chat/completions",
        "client_format": "openai_chat",
        "client": "openai-python",
        "client_version": "1.0",
        "model": "gpt-4o",
        "argo_model": "gpt4o",
        "upstream": "openai_chat",
        "status": 200,
        "latency_ms": 12.5,
        "input_tokens": 10,
        "output_tokens": 5,
    }
    values.update(fields)
    return RequestRecord(**values, _closed=True)


def store_at(tmp_path: Path, days: int = 30) -> RecordStore:
    return RecordStore.open(tmp_path / "state" / "requests.sqlite3", days)


def written(store: RecordStore, records: list[RequestRecord]) -> None:
    """Queue `records` and wait until the writer has them in the file."""
    for item in records:
        store.add(item)
    deadline = time.monotonic() + 30
    while store._queue:  # noqa: SLF001 - the test waits for the writer
        assert time.monotonic() < deadline, "the writer never emptied its queue"
        time.sleep(0.01)


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_the_columns_are_the_record_fields() -> None:
    assert tuple(name for name, _ in COLUMNS) == RECORD_FIELDS


def test_records_round_trip_in_a_private_file(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    failed = record(
        status=429,
        error={"type": "UpstreamError", "message": "ARGO said “slow down”"},
        stream=True,
        converted=True,
        ttft_ms=3.25,
        estimated=True,
        cached_tokens=4,
        cache_write_tokens=2,
        reasoning_tokens=1,
        retries=2,
    )
    plain = record(model=None, argo_model=None, upstream=None)
    store.start()
    written(store, [failed, plain])
    store.close(10)

    path = tmp_path / "state" / "requests.sqlite3"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    again = store_at(tmp_path)
    try:
        history = again.history(10)
    finally:
        again.close(10)
    assert [r.to_json() for r in history] == [failed.to_json(), plain.to_json()]


def test_history_is_the_newest_records_oldest_first(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    records = [record() for _ in range(5)]
    store.start()
    written(store, records)
    assert [r.id for r in store.history(3)] == [r.id for r in records[2:]]
    assert store.history(0) == []
    store.close(10)


def test_day_totals_are_kept_per_day_model_and_client(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    yesterday = time.time() - DAY
    store.start()
    written(
        store,
        [
            record(input_tokens=100, output_tokens=10, cached_tokens=30),
            record(input_tokens=1, output_tokens=2, status=500, estimated=True),
            record(client="claude-code", argo_model="claudesonnet45", model="claude"),
            record(argo_model=None, model="no-such-model", status=404, input_tokens=0),
            record(started_at=yesterday),
        ],
    )
    store.close(10)

    found = rows(
        tmp_path / "state" / "requests.sqlite3",
        "SELECT day, model, client, requests, errors, input_tokens, output_tokens, "
        "cached_tokens, estimated FROM daily_totals ORDER BY day, model, client",
    )
    today = local_day(time.time())
    assert found == sorted(
        [
            (local_day(yesterday), "gpt4o", "openai-python", 1, 0, 10, 5, 0, 0),
            (today, "claudesonnet45", "claude-code", 1, 0, 10, 5, 0, 0),
            (today, "gpt4o", "openai-python", 2, 1, 101, 12, 30, 1),
            (today, "no-such-model", "openai-python", 1, 1, 0, 5, 0, 0),
        ]
    )


def test_usage_counts_what_is_written_and_what_is_still_queued(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.start()
    written(store, [record(input_tokens=100, output_tokens=50)])
    store.close(10)

    again = store_at(tmp_path)  # its writer not started: what it is given stays queued
    again.add(record(input_tokens=7, output_tokens=3, status=502, client="curl"))
    table = UsageTable(time.time() - 60, time.time() + 60, "client")
    again.tally(table)
    result = table.result()
    assert [(row["key"], row["requests"], row["errors"]) for row in result["rows"]] == [
        ("openai-python", 1, 0),
        ("curl", 1, 1),
    ]
    assert result["total"]["input_tokens"] == 107
    assert result["total"]["output_tokens"] == 53
    again.start()
    again.close(10)


def test_old_rows_are_pruned_at_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    store = store_at(tmp_path, days=30)
    old, recent = record(started_at=time.time() - 40 * DAY), record()
    store.start()
    written(store, [old, recent])
    store.close(10)

    caplog.set_level(logging.INFO, logger=record_store.__name__)
    shorter = store_at(tmp_path, days=7)
    shorter.start()
    shorter.close(10)
    path = tmp_path / "state" / "requests.sqlite3"
    assert rows(path, "SELECT id FROM requests") == [(recent.id,)]
    assert rows(path, "SELECT day FROM daily_totals") == [(local_day(recent.started_at),)]
    assert "removed 1 request records older than 7 days" in caplog.text


def test_a_lower_retention_prunes_a_running_store(tmp_path: Path) -> None:
    store = store_at(tmp_path, days=30)
    store.start()
    written(store, [record(started_at=time.time() - 3 * DAY), record()])
    store.set_retention(1)
    path = tmp_path / "state" / "requests.sqlite3"
    deadline = time.monotonic() + 30
    while len(rows(path, "SELECT id FROM requests")) != 1:
        assert time.monotonic() < deadline, "the store never pruned"
        time.sleep(0.02)
    store.close(10)


def test_a_failing_write_never_raises_and_the_writer_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = store_at(tmp_path)
    real_write = store._write  # noqa: SLF001
    failures = 2

    def full_disk(batch: list[RequestRecord]) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        real_write(batch)

    monkeypatch.setattr(store, "_write", full_disk)
    caplog.set_level(logging.WARNING, logger=record_store.__name__)
    store.start()
    lost = [record(), record()]
    written(store, lost[:1])
    written(store, lost[1:])  # a second failure of the same kind: no second warning
    kept = record()
    written(store, [kept])
    store.close(10)

    assert store.lost == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "could not be written (database or disk is full)" in warnings[0].getMessage()
    assert rows(tmp_path / "state" / "requests.sqlite3", "SELECT id FROM requests") == [(kept.id,)]


def test_a_path_that_cannot_hold_a_file_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(StoreUnavailable, match="the request records' folder .* is not a folder"):
        RecordStore.open(blocker / "requests.sqlite3", 30)


def test_a_file_from_a_newer_schema_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "requests.sqlite3"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(StoreUnavailable, match="newer argo-proxy"):
        RecordStore.open(path, 30)
    assert rows(path, "PRAGMA user_version") == [(99,)]


def test_the_queue_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_store, "_MAX_QUEUED", 3)
    store = store_at(tmp_path)  # not started: nothing leaves the queue
    for _ in range(5):
        store.add(record())
    assert store.lost == 2
    store.start()
    store.close(10)
    assert len(rows(tmp_path / "state" / "requests.sqlite3", "SELECT id FROM requests")) == 3


def test_close_writes_what_is_queued(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    started = threading.Event()
    real_write = store._write  # noqa: SLF001

    def slow_write(batch: list[RequestRecord]) -> None:
        started.set()
        real_write(batch)

    store._write = slow_write  # type: ignore[method-assign]  # noqa: SLF001
    records = [record() for _ in range(1200)]  # more than one batch
    for item in records:
        store.add(item)
    store.start()
    store.close(30)
    assert started.is_set()
    assert len(rows(tmp_path / "state" / "requests.sqlite3", "SELECT id FROM requests")) == 1200


def test_removing_the_files_removes_the_wal_and_shm_too(tmp_path: Path) -> None:
    store = store_at(tmp_path)
    store.start()
    written(store, [record()])
    folder = tmp_path / "state"
    assert (folder / "requests.sqlite3-wal").exists()
    store.close(10)
    (folder / "requests.sqlite3-wal").touch()
    (folder / "requests.sqlite3-shm").touch()
    assert remove_store_files(folder / "requests.sqlite3")
    assert list(folder.iterdir()) == []
    assert not remove_store_files(folder / "requests.sqlite3")


# ---------------------------------------------------------------- usage totals


def test_usage_rows_sort_by_tokens_and_days_by_date() -> None:
    now = time.time()
    records = [
        record(argo_model="small", input_tokens=1, output_tokens=1),
        record(argo_model="big", input_tokens=900, output_tokens=100, estimated=True),
        record(argo_model="big", input_tokens=5, output_tokens=5, status=503),
        record(argo_model=None, model=None, status=400, input_tokens=0, output_tokens=0),
        record(started_at=now - 2 * DAY, argo_model="old"),
        record(started_at=now - 30 * DAY, argo_model="too-old"),
    ]
    by_model = UsageTable(now - 3 * DAY, now + 1, "model")
    by_model.add_records(records)
    result = by_model.result()
    assert [row["key"] for row in result["rows"]] == ["big", "old", "small", "(none)"]
    assert result["rows"][0] == {
        "key": "big",
        "requests": 2,
        "errors": 1,
        "input_tokens": 905,
        "output_tokens": 105,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "reasoning_tokens": 0,
        "estimated": 1,
    }
    assert result["total"]["requests"] == 5
    assert "key" not in result["total"]
    assert (result["since"], result["until"], result["by"]) == (now - 3 * DAY, now + 1, "model")

    by_day = UsageTable(now - 3 * DAY, now + 1, "day")
    by_day.add_records(records)
    assert [row["key"] for row in by_day.result()["rows"]] == [
        local_day(now - 2 * DAY),
        local_day(now),
    ]


def old_file(tmp_path: Path, schema: int, newer: tuple[str, ...], model: str) -> Path:
    """A record file as schema `schema` wrote it (without the `newer` columns), holding
    one Claude Code request for `model`."""
    path = tmp_path / "state" / "requests.sqlite3"
    path.parent.mkdir(mode=0o700)
    old = [(name, kind) for name, kind in COLUMNS if name not in newer]
    db = sqlite3.connect(path)
    db.execute(f"CREATE TABLE requests ({', '.join(f'{n} {t}' for n, t in old)})")
    values = {name: 0 for name, _ in old} | {
        "id": f"req_000000000000000{schema}",
        "started_at": time.time(),
        "endpoint": "/v1/messages",
        "client_format": "anthropic",
        "client": "claude-code",
        "client_version": "2.1",
        "model": model,
        "status": 200,
    }
    db.execute(
        f"INSERT INTO requests ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
        tuple(values.values()),
    )
    db.execute(f"PRAGMA user_version = {schema}")
    db.commit()
    db.close()
    return path


def test_a_file_from_schema_1_gains_the_new_columns_and_keeps_its_records(
    tmp_path: Path,
) -> None:
    newer = ("answered_model", "thinking_off", "route", "attempts")
    path = old_file(tmp_path, 1, newer, "claude-sonnet-4-5")
    store = RecordStore.open(path, 30)
    store.start()
    try:
        (kept,) = store.history(10)
        assert (kept.model, kept.answered_model, kept.thinking_off) == (
            "claude-sonnet-4-5",
            None,
            False,
        )
        written(store, [record(answered_model="claude-sonnet-4-5-20250929", thinking_off=True)])
        newest = store.history(10)[-1]
        assert (newest.answered_model, newest.thinking_off) == ("claude-sonnet-4-5-20250929", True)
    finally:
        store.close(30)


def test_a_file_from_schema_2_gains_the_route_and_the_models_tried(tmp_path: Path) -> None:
    path = old_file(tmp_path, 2, ("route", "attempts"), "claude-opus-4-6")
    store = RecordStore.open(path, 30)
    store.start()
    try:
        (kept,) = store.history(10)
        assert (kept.model, kept.route, kept.attempts) == ("claude-opus-4-6", None, None)
        tried = [
            {"model": "claudeopus46", "outcome": "HTTP 429"},
            {"model": "gpt5", "outcome": "ok"},
        ]
        written(store, [record(route="background", attempts=tried)])
        newest = store.history(10)[-1]
        assert (newest.route, newest.attempts) == ("background", tried)
        assert newest.to_json()["attempts"] == tried
    finally:
        store.close(30)
    assert rows(path, "PRAGMA user_version") == [(3,)]
