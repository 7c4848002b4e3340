#!/usr/bin/env python3
"""The daemon's memory on a ~100 MB request body, and with 200 streams held open.

    python bench/memory.py                        # both parts, every body case
    python bench/memory.py --part body --case image --size-mb 50
    python bench/memory.py --part streams --streams 200

Part `body`: for each case (a chat request made ~100 MB by its user text or by an inline
base64 image; same-format and converted), a fresh daemon in front of the simulator
(`argo-proxy simulate --port 0`, real processes) gets a few small requests of the same
shape to warm up; then its RSS (baseline), its peak RSS while it handles the one big
request (VmHWM, reset to the baseline just before, and a 2 ms sampler as a cross-check),
and its RSS once that has settled: first with the client's keep-alive connection still
open, then after one more small request.

Part `streams`: a fresh daemon; STREAMS (200) streamed chats that the simulator keeps
open (one event a second, `[[sim:fault=latency,chunk_ms=1000]]`), the RSS with all of
them open, then one more request: what it got (status, body) and how long it waited.

Prints the figures; nothing is asserted (exit 1 only if the harness itself failed).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import random
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from procs import (
    Memory,
    ServerProcess,
    Stack,
    log,
    memory,
    mib,
    reset_peak,
    run_report,
    start_simulator,
)

SIM_BODY_LIMIT = 100_000_000  # the simulator's (Sanic's default) request size limit
PLACEHOLDER = "@@PAYLOAD@@"
SENTENCE = "The quick brown fox jumps over the lazy dog while the model reads on. "
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    anthropic: bool  # the client speaks Anthropic Messages (x-api-key)
    model: str
    image: bool  # the bulk is an inline base64 image (else text)
    about: str


CASES = {
    c.name: c
    for c in (
        Case("text", "/v1/chat/completions", False, "argo:gpt-4o", False, "OpenAI chat → GPT"),
        Case("image", "/v1/chat/completions", False, "argo:gpt-4o", True, "OpenAI chat → GPT"),
        Case(
            "ant-gpt-image",
            "/v1/messages",
            True,
            "argo:gpt-4o",
            True,
            "Anthropic messages → GPT (converted)",
        ),
        Case(
            "oai-claude-image",
            "/v1/chat/completions",
            False,
            "claude-sonnet-4-6",
            True,
            "OpenAI chat → Claude (converted)",
        ),
    )
}


def request_body(case: Case, size: int, last: str = "what is in it?") -> bytes:
    """A chat request of `size` bytes: the bulk sits in the first user turn, the last one
    is short, so the simulator's echo (of the last user text) stays small."""
    if case.image and case.anthropic:
        bulk: Any = {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": PLACEHOLDER},
        }
    elif case.image:
        url = f"data:image/png;base64,{PLACEHOLDER}"
        bulk = {"type": "image_url", "image_url": {"url": url}}
    else:
        bulk = {"type": "text", "text": PLACEHOLDER}
    body = {
        "model": case.model,
        "max_tokens": 256,
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Look at this."}, bulk]},
            {"role": "assistant", "content": "I have it."},
            {"role": "user", "content": last},
        ],
    }
    skeleton = json.dumps(body, separators=(",", ":"))
    room = max(0, size - (len(skeleton) - len(PLACEHOLDER)))
    if case.image:
        raw = PNG_HEAD + random.Random(0).randbytes(max(0, room // 4 * 3 - len(PNG_HEAD)))
        payload = base64.b64encode(raw)
    else:
        payload = (SENTENCE.encode() * (room // len(SENTENCE) + 1))[:room]
    head, tail = skeleton.encode().split(PLACEHOLDER.encode())
    return head + payload + tail


def answer_text(case: Case, body: bytes) -> str:
    reply = json.loads(body)
    if case.anthropic:
        return str((reply.get("content") or [{}])[0].get("text", ""))
    return str(((reply.get("choices") or [{}])[0].get("message") or {}).get("content", ""))


class Sampler:
    """Reads the daemon's VmRSS every `interval` s in a thread (the loop may be busy)."""

    def __init__(self, pid: int, interval: float = 0.002) -> None:
        self.pid, self.interval = pid, interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, KeyError):
                self.peak = max(self.peak, memory(self.pid).rss)
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(2)
        return self.peak


async def settled(pid: int, *, quiet: float = 1.0, timeout: float = 30.0) -> Memory:
    """The daemon's memory once its RSS has stayed within 1 MiB for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last = memory(pid)
    since = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = memory(pid)
        if abs(now.rss - last.rss) > 1048576:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    return memory(pid)


# ---------------------------------------------------------------------------------------
# Part `body`


@dataclass
class BodyResult:
    case: Case
    size: int
    status: int
    seconds: float
    cpu: float | None  # the daemon's CPU seconds for the big request
    sim_cpu: float | None  # the simulator's
    answer: str
    baseline: int
    peak_hwm: int | None  # None: VmHWM could not be reset, the sampled peak is all there is
    peak_sampled: int
    after_open: int  # settled, the client's connection still open
    after_next: int  # settled, after one more small request on that connection


async def measure_body(
    tmp: str, sim: ServerProcess, sim_url: str, case: Case, size: int, warmup: int
) -> BodyResult:
    stack = Stack(tmp, sim_url=sim_url, name=f"body-{case.name}")
    try:
        url = stack.url + case.path
        headers = stack.headers(anthropic=case.anthropic)
        timeout = aiohttp.ClientTimeout(total=600)
        connector = aiohttp.TCPConnector(limit=1)  # one keep-alive connection throughout
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await stack.wait_health(session)
            small = request_body(case, 4096)
            for _ in range(warmup):
                async with session.post(url, data=small, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{case.name} warm-up: HTTP {response.status}")
            big = request_body(case, size)
            baseline = (await settled(stack.pid)).rss
            hwm_reset = reset_peak(stack.pid)
            sampler = Sampler(stack.pid)
            assert stack.daemon is not None
            cpu0, sim0 = stack.daemon.cpu_seconds(), sim.cpu_seconds()
            t0 = time.perf_counter()
            async with session.post(url, data=big, headers=headers) as response:
                reply = await response.read()
                status = response.status
            seconds = time.perf_counter() - t0
            cpu1, sim1 = stack.daemon.cpu_seconds(), sim.cpu_seconds()
            cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
            sim_cpu = sim1 - sim0 if sim0 is not None and sim1 is not None else None
            del big
            peak_sampled = sampler.stop()
            peak_hwm = memory(stack.pid).hwm if hwm_reset else None
            text = answer_text(case, reply) if status == 200 else reply[:300].decode("latin-1")
            after_open = (await settled(stack.pid)).rss
            async with session.post(url, data=small, headers=headers) as response:
                await response.read()
            after_next = (await settled(stack.pid)).rss
        return BodyResult(
            case,
            size,
            status,
            seconds,
            cpu,
            sim_cpu,
            text,
            baseline,
            peak_hwm,
            peak_sampled,
            after_open,
            after_next,
        )
    finally:
        stack.stop()


def body_report(results: list[BodyResult]) -> list[str]:
    head = (
        f"  {'case':<17} {'body':>8} {'status':>6} {'time':>7} {'cpu':>6} {'sim':>6} "
        f"{'baseline':>8} {'peak':>8} {'peak/body':>9} {'growth':>6} {'after':>8} "
        f"{'after+1':>8} {'held':>7}"
    )
    out = [
        "Part body: one big request to a fresh, warmed-up daemon (its RSS; MiB = 2^20 bytes)",
        head,
    ]
    for r in results:
        peak = r.peak_hwm if r.peak_hwm is not None else r.peak_sampled
        cpu = " ".join(f"{x:>5.1f}s" if x is not None else f"{'-':>6}" for x in (r.cpu, r.sim_cpu))
        out.append(
            f"  {r.case.name:<17} {r.size / 1e6:>5.1f} MB {r.status:>6} {r.seconds:>6.2f}s {cpu} "
            f"{mib(r.baseline):>8} {mib(peak):>8} {peak / r.size:>8.1f}x "
            f"{(peak - r.baseline) / r.size:>5.1f}x {mib(r.after_open):>8} "
            f"{mib(r.after_next):>8} {mib(r.after_next - r.baseline):>7}"
        )
    out += [
        "  body: the request's size (MB = 10^6 bytes); time: until the whole answer was read;",
        "  cpu, sim: the daemon's and the simulator's CPU time meanwhile; peak: VmHWM, reset",
        "  to the baseline just before the big request; peak/body: peak / body size; growth:",
        "  (peak - baseline) / body size; after: settled RSS, the client's keep-alive",
        "  connection still open; after+1: settled RSS after one more small request on it;",
        "  held: after+1 - baseline.",
    ]
    for r in results:
        sampled = f"sampled peak {mib(r.peak_sampled)}"
        if r.peak_hwm is None:
            sampled += " (VmHWM could not be reset: peak column is the sampled one)"
        out.append(f"  {r.case.name}: {r.case.about}; {sampled}; answer {r.answer[:40]!r}")
    return out


# ---------------------------------------------------------------------------------------
# Part `streams`


@dataclass
class StreamsResult:
    streams: int
    opened: int  # streams that answered 200 and sent their first bytes
    open_failures: list[str]
    baseline: int
    with_streams: int
    active_streams: Any  # the daemon's /health counter
    extra_status: int | None
    extra_body: str
    extra_seconds: float
    after_close: int


async def measure_streams(tmp: str, sim_url: str, n: int) -> StreamsResult:
    stack = Stack(tmp, sim_url=sim_url, name="streams")  # the daemon's defaults
    url = f"{stack.url}/v1/chat/completions"
    headers = stack.headers()

    def chat(text: str, stream: bool) -> bytes:
        body: dict[str, Any] = {
            "model": "argo:gpt-4o",
            "messages": [{"role": "user", "content": text}],
        }
        if stream:
            body["stream"] = True
        return json.dumps(body).encode()

    # One event a second for ten minutes: far longer than the measurement.
    slow = "[[sim:fault=latency,chunk_ms=1000]] [[sim:deltas=600]]"
    opened = 0
    all_open = asyncio.Event()
    failures: list[str] = []

    async def hold(session: aiohttp.ClientSession, i: int) -> None:
        nonlocal opened
        try:
            async with session.post(url, data=chat(f"stream {i} {slow}", True)) as response:
                if response.status != 200:
                    failures.append(f"HTTP {response.status}: {(await response.text())[:200]}")
                    return
                await response.content.readany()  # the first bytes: the stream is open
                opened += 1
                if opened == n:
                    all_open.set()
                while await response.content.readany():
                    pass
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            failures.append(repr(exc))
        finally:
            if opened + len(failures) >= n:
                all_open.set()

    try:
        # limit=0: no client-side cap, every stream its own connection; generous timeouts
        connector = aiohttp.TCPConnector(limit=0)
        # Longer than any wait the daemon may impose (its request_timeout is 600 s).
        timeout = aiohttp.ClientTimeout(total=None, sock_read=900)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, headers=headers
        ) as session:
            await stack.wait_health(session)
            for _ in range(5):
                async with session.post(url, data=chat("warm up", False)) as response:
                    await response.read()
            baseline = (await settled(stack.pid)).rss
            log(f"opening {n} slow streams")
            tasks = [asyncio.create_task(hold(session, i)) for i in range(n)]
            try:
                await asyncio.wait_for(all_open.wait(), 120)
            except asyncio.TimeoutError:
                failures.append(f"only {opened} of {n} streams open after 120 s")
            with_streams = (await settled(stack.pid, quiet=2.0)).rss
            async with session.get(f"{stack.url}/health") as response:
                active = (await response.json()).get("active_streams")
            log(f"{opened} streams open; sending one more request")
            extra_status: int | None = None
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=chat("one more", False)) as response:
                    extra_status = response.status
                    extra_body = (await response.read()).decode("utf-8", "replace")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                extra_body = f"(no answer: {exc!r})"
            extra_seconds = time.perf_counter() - t0
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        after_close = (await settled(stack.pid, quiet=2.0)).rss
    finally:
        stack.stop()
    return StreamsResult(
        n,
        opened,
        failures,
        baseline,
        with_streams,
        active,
        extra_status,
        extra_body,
        extra_seconds,
        after_close,
    )


def streams_report(r: StreamsResult) -> list[str]:
    out = [
        f"Part streams: {r.streams} slow streams held open (the daemon's default config)",
        f"  streams open: {r.opened} of {r.streams} (daemon's active_streams: {r.active_streams})",
        f"  daemon RSS: baseline {mib(r.baseline)}, with the streams open "
        f"{mib(r.with_streams)} (+{(r.with_streams - r.baseline) / max(r.opened, 1) / 1024:.0f}"
        f" KiB a stream), after they closed {mib(r.after_close)}",
        f"  request {r.streams + 1}: HTTP {r.extra_status} after {r.extra_seconds:.2f} s",
        f"    body: {r.extra_body[:400]}",
    ]
    for failure in sorted(set(r.open_failures))[:5]:
        out.append(f"  stream failure ({r.open_failures.count(failure)}x): {failure}")
    return out


# ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, tmp: str) -> list[str]:
    sim, sim_url = start_simulator(Path(tmp, "sim"))  # shared; a fresh daemon per measurement
    lines: list[str] = []
    try:
        if "body" in args.parts:
            results = []
            for name in args.cases:
                log(f"[body {name}] {args.size_mb:g} MB request, fresh daemon")
                size = int(args.size_mb * 1_000_000)
                case = CASES[name]
                results.append(await measure_body(tmp, sim, sim_url, case, size, args.warmup))
            lines += body_report(results)
        if "streams" in args.parts:
            log(f"[streams] {args.streams} streams, fresh daemon")
            result = await measure_streams(tmp, sim_url, args.streams)
            lines += ["", *streams_report(result)] if lines else streams_report(result)
    finally:
        sim.stop()
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--part", dest="parts", action="append", choices=("body", "streams"), help="default both"
    )
    p.add_argument(
        "--case",
        dest="cases",
        action="append",
        choices=list(CASES),
        help="body case (repeatable; default all): "
        + "; ".join(
            f"{c.name} = {c.about}, {'inline base64 image' if c.image else 'user text'}"
            for c in CASES.values()
        ),
    )
    p.add_argument(
        "--size-mb",
        type=float,
        default=99.5,
        help="the big request's size in MB of 10^6 bytes (default 99.5: the simulator, like "
        "Sanic, refuses bodies over 100 MB)",
    )
    p.add_argument("--warmup", type=int, default=20, help="small requests before (default 20)")
    p.add_argument("--streams", type=int, default=200, help="streams held open (default 200)")
    p.add_argument("--output", "-o", help="also write the report to this file")
    args = p.parse_args(argv)
    args.parts = args.parts or ["body", "streams"]
    args.cases = args.cases or list(CASES)
    if args.size_mb * 1_000_000 > SIM_BODY_LIMIT:
        p.error("--size-mb: the simulator refuses bodies over 100 MB")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_report("memory", lambda tmp: asyncio.run(run(args, tmp)), args.output)


if __name__ == "__main__":
    sys.exit(main())
