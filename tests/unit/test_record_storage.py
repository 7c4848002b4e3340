"""control/record_storage.py without processes: the record store opened, fed, closed
and changed by a reload as `log_retention_days` says."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from argo_proxy.control.record_storage import RecordStorage
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.records import RequestRecord
from argo_proxy.daemon.state import DaemonState


def _record(record_id: str) -> RequestRecord:
    return RequestRecord(
        id=record_id,
        started_at=time.time(),
        endpoint="/v1/chat/completions",
        client_format="openai_chat",
        client="openai-python",
        client_version="1.0",
        model="gpt-4o",
        status=200,
        _closed=True,
    )


async def test_records_kept_on_disk_come_back_at_the_next_start() -> None:
    state = DaemonState(Config(user="jdoe", log_retention_days=30))
    storage = RecordStorage(state)
    assert storage.start(restore=True) == "request records are kept on disk for 30 days"
    assert storage.store is not None and state.config.records_path.exists()
    state.requests.add(_record("req_1"))  # the store listens to the ring
    await storage.stop()  # writes what is queued
    assert storage.store is None

    again = DaemonState(Config(user="jdoe", log_retention_days=30))
    later = RecordStorage(again)
    later.start(restore=True)
    assert [r.id for r in again.requests.recent(10)] == ["req_1"]
    await later.stop()


async def test_a_reload_changes_the_days_closes_the_store_or_opens_it() -> None:
    state = DaemonState(Config(user="jdoe", log_retention_days=30))
    storage = RecordStorage(state)
    storage.start(restore=False)
    store = storage.store
    assert await storage.apply_retention(7) == "request records are kept on disk for 7 days"
    assert storage.store is store and store is not None and store.retention_days == 7

    path = state.config.records_path
    state.apply_config(dataclasses.replace(state.config, log_retention_days=0))
    assert await storage.apply_retention(0) == "request records are not kept on disk"
    assert storage.store is None and not path.exists()  # 0 keeps nothing on disk

    state.apply_config(dataclasses.replace(state.config, log_retention_days=3))
    assert await storage.apply_retention(3) == "request records are kept on disk for 3 days"
    assert storage.store is not None and path.exists()
    await storage.stop()


async def test_an_unusable_file_leaves_the_records_in_memory(tmp_path: Path) -> None:
    state = DaemonState(Config(user="jdoe", log_retention_days=30))
    path = state.config.records_path
    path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    path.mkdir()  # a folder where the file should be
    storage = RecordStorage(state)
    message = storage.start(restore=True)
    assert message.startswith("request records are kept in memory only: ")
    assert storage.store is None
    await storage.stop()  # nothing to close
