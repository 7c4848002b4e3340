"""The cost of keeping request records on disk (daemon/record_store.py), in one process.

    python bench/record_store.py                 # 100,000 records, 3 rounds
    python bench/record_store.py -n 20000 -r 5

Two figures, for docs/observability.md#storage's promise that the request path only
queues:

- on the request path: what `RequestLog.add` costs per record with the store's
  listener attached, against the same ring with no listener (the store's writer runs
  meanwhile, in its own thread, as in the daemon);
- the writer: records per second written to SQLite (WAL, batches of 500, the day
  totals in the same transaction), from a full queue to an empty one.

A micro-benchmark of one module in a temporary folder: no daemon, no HTTP. It prints
its figures and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from argo_proxy.daemon.record_store import RecordStore
from argo_proxy.daemon.records import RequestRecord
from argo_proxy.daemon.request_log import RequestLog


def records(count: int) -> list[RequestRecord]:
    now = time.time()
    models = [("gpt-4o", "gpt4o"), ("claude-sonnet-4-6", "claudesonnet46"), ("gpt-5", "gpt5")]
    clients = ["claude-code", "openai-python", "codex", "curl"]
    out = []
    for i in range(count):
        model, argo = models[i % len(models)]
        out.append(
            RequestRecord(
                id=f"req_{i:016x}",
                started_at=now - (count - i) * 0.01,
                endpoint="/v1/chat/completions",
                client_format="openai_chat",
                client=clients[i % len(clients)],
                client_version="1.0.0",
                model=model,
                argo_model=argo,
                upstream="openai_chat",
                stream=bool(i % 2),
                status=200 if i % 50 else 429,
                error=None if i % 50 else {"type": "UpstreamStatusError", "message": "busy"},
                latency_ms=812.5,
                ttft_ms=120.25 if i % 2 else None,
                input_tokens=1200 + i % 700,
                output_tokens=300 + i % 90,
                cached_tokens=i % 400,
                _closed=True,
            )
        )
    return out


def wait_written(store: RecordStore, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while store._queue:  # noqa: SLF001 - the benchmark waits for the writer
        if time.monotonic() > deadline:
            raise SystemExit("the writer did not empty its queue")
        time.sleep(0.001)


def request_path_cost(folder: Path, batch: list[RequestRecord]) -> tuple[float, float]:
    """µs per record of RequestLog.add: bare ring, then with the store listening."""
    bare = RequestLog(1000)
    started = time.perf_counter()
    for record in batch:
        bare.add(record)
    bare_us = (time.perf_counter() - started) / len(batch) * 1e6

    store = RecordStore.open(folder / "path.sqlite3", 30)
    store.start()
    ring = RequestLog(1000)
    ring.subscribe(store.add)
    started = time.perf_counter()
    for record in batch:
        ring.add(record)
    with_store_us = (time.perf_counter() - started) / len(batch) * 1e6
    wait_written(store)
    store.close(60)
    return bare_us, with_store_us


def writer_throughput(folder: Path, batch: list[RequestRecord]) -> float:
    """Records per second, from a full queue to an empty one."""
    store = RecordStore.open(folder / "writer.sqlite3", 30)
    for record in batch:
        store.add(record)  # the writer is not started yet: all wait in the queue
    started = time.perf_counter()
    store.start()
    wait_written(store)
    elapsed = time.perf_counter() - started
    store.close(60)
    return len(batch) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100_000, help="records per round")
    parser.add_argument("-r", "--rounds", type=int, default=3)
    args = parser.parse_args()
    batch = records(args.n)
    costs: list[tuple[float, float]] = []
    rates: list[float] = []
    for round_number in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            costs.append(request_path_cost(Path(tmp), batch))
            rates.append(writer_throughput(Path(tmp), batch))
        bare, attached = costs[-1]
        print(
            f"round {round_number + 1}: RequestLog.add {bare:.2f} µs bare, "
            f"{attached:.2f} µs with the store listening; writer {rates[-1]:,.0f} records/s",
            flush=True,
        )
    bare = statistics.median(c[0] for c in costs)
    attached = statistics.median(c[1] for c in costs)
    print(
        f"median of {args.rounds} rounds of {args.n:,} records: the store adds "
        f"{attached - bare:.2f} µs per record on the request path "
        f"({bare:.2f} → {attached:.2f} µs); the writer writes "
        f"{statistics.median(rates):,.0f} records/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
