#!/usr/bin/env python3
"""Soak test: many mixed requests through the daemon, counting every failure.

    python bench/soak.py                       # 10,000 requests at concurrency 16
    python bench/soak.py -n 50000 -c 32 -o /tmp/soak.txt

Starts the simulated ARGO (`argo-proxy simulate --port 0`) and the daemon as real
processes (bench/procs.py), then sends REQUESTS requests, CONCURRENCY at a time, cycling
through nine kinds: OpenAI chat on GPT (plain and streamed), Anthropic messages on Claude
(plain and streamed), the converted paths Anthropic client -> GPT and OpenAI client ->
Claude (plain and streamed), and embeddings. Every answer is checked: HTTP 200, the
format's shape, a stream's terminal event, and the request's own tag echoed back (so an
answer sent to the wrong client counts as a failure too).

Prints requests, errors by kind, throughput, p50/p99 latency (overall and per kind), the
daemon's RSS and VmHWM before and after, and the CPU each process used per request
(the load client must stay well below the daemon). Exit code 1 if any request failed.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import aiohttp
from passthrough import argo_proxy_command, percentile, sse_events
from procs import Memory, Stack, log, machine_cpu_seconds, memory, mib

DELTAS = 20  # text deltas per streamed answer ([[sim:deltas=N]])
EMBEDDING_DIMENSIONS = 1536  # text-embedding-3-small


# ---------------------------------------------------------------------------------------
# The request kinds: how to build one (from a tag unique to the request) and how to check
# its answer (raises ValueError).


@dataclass(frozen=True)
class Kind:
    name: str
    path: str
    anthropic: bool  # the client speaks Anthropic Messages (x-api-key, anthropic-version)
    stream: bool
    build: Callable[[str], bytes]
    check: Callable[[bytes, str], None]


def chat_body(model: str, tag: str, *, stream: bool, max_tokens: bool = False) -> bytes:
    text = f"soak request {tag}" + (f" [[sim:deltas={DELTAS}]]" if stream else "")
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}]}
    if max_tokens:
        body["max_tokens"] = 256
    if stream:
        body["stream"] = True
    return json.dumps(body).encode()


def echoed(text: str, tag: str) -> None:
    if not text.startswith("Echo:") or tag not in text.split():
        raise ValueError(f"answer {text[:120]!r} is not the echo of request {tag}")


def check_openai(body: bytes, tag: str) -> None:
    reply = json.loads(body)
    choices = reply.get("choices") or [{}]
    echoed(str((choices[0].get("message") or {}).get("content") or ""), tag)


def check_openai_stream(body: bytes, tag: str) -> None:
    _, events = sse_events(body)
    if not events or events[-1] != b"[DONE]":
        raise ValueError(f"stream does not end with data: [DONE]: {body[-200:]!r}")
    parts = []
    for event in events[:-1]:
        for choice in json.loads(event).get("choices") or []:
            parts.append((choice.get("delta") or {}).get("content") or "")
    echoed("".join(parts), tag)


def check_anthropic(body: bytes, tag: str) -> None:
    reply = json.loads(body)
    if reply.get("type") != "message":
        raise ValueError(f"not an Anthropic message: {body[:200]!r}")
    echoed(str((reply.get("content") or [{}])[0].get("text", "")), tag)


def check_anthropic_stream(body: bytes, tag: str) -> None:
    names, events = sse_events(body)
    if not names or names[-1] != b"message_stop":
        raise ValueError(f"stream does not end with message_stop: {body[-200:]!r}")
    parts = []
    for event in events:
        payload = json.loads(event)
        delta = payload.get("delta") or {}
        if payload.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
            parts.append(delta.get("text", ""))
    echoed("".join(parts), tag)


def check_embedding(body: bytes, tag: str) -> None:
    data = json.loads(body).get("data") or [{}]
    if len(data) != 1 or len(data[0].get("embedding") or []) != EMBEDDING_DIMENSIONS:
        raise ValueError(f"not one {EMBEDDING_DIMENSIONS}-dimension embedding: {body[:200]!r}")


def embedding_body(tag: str) -> bytes:
    return json.dumps(
        {"model": "argo:text-embedding-3-small", "input": f"soak request {tag}"}
    ).encode()


GPT, CLAUDE = "argo:gpt-4o", "claude-sonnet-4-6"
CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"
KINDS = [
    Kind("oai-gpt", CHAT, False, False, lambda t: chat_body(GPT, t, stream=False), check_openai),
    Kind(
        "oai-gpt-stream",
        CHAT,
        False,
        True,
        lambda t: chat_body(GPT, t, stream=True),
        check_openai_stream,
    ),
    Kind(
        "ant-claude",
        MESSAGES,
        True,
        False,
        lambda t: chat_body(CLAUDE, t, stream=False, max_tokens=True),
        check_anthropic,
    ),
    Kind(
        "ant-claude-stream",
        MESSAGES,
        True,
        True,
        lambda t: chat_body(CLAUDE, t, stream=True, max_tokens=True),
        check_anthropic_stream,
    ),
    Kind(
        "ant→gpt",
        MESSAGES,
        True,
        False,
        lambda t: chat_body(GPT, t, stream=False, max_tokens=True),
        check_anthropic,
    ),
    Kind(
        "ant→gpt-stream",
        MESSAGES,
        True,
        True,
        lambda t: chat_body(GPT, t, stream=True, max_tokens=True),
        check_anthropic_stream,
    ),
    Kind(
        "oai→claude",
        CHAT,
        False,
        False,
        lambda t: chat_body(CLAUDE, t, stream=False, max_tokens=True),
        check_openai,
    ),
    Kind(
        "oai→claude-stream",
        CHAT,
        False,
        True,
        lambda t: chat_body(CLAUDE, t, stream=True, max_tokens=True),
        check_openai_stream,
    ),
    Kind("embeddings", "/v1/embeddings", False, False, embedding_body, check_embedding),
]


# ---------------------------------------------------------------------------------------
# The load


@dataclass
class Outcomes:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)  # (error kind, kind)
    samples: dict[str, str] = field(default_factory=dict)  # error kind -> first message
    done: int = 0

    def fail(self, error: str, kind: str, message: str) -> None:
        self.errors[error, kind] += 1
        self.samples.setdefault(error, message)


async def one(
    session: aiohttp.ClientSession, stack: Stack, kind: Kind, tag: str, out: Outcomes
) -> None:
    headers = stack.headers(anthropic=kind.anthropic)
    t0 = time.perf_counter()
    try:
        async with session.post(stack.url + kind.path, data=kind.build(tag), headers=headers) as r:
            body = await r.read()
            status = r.status
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        out.fail(type(exc).__name__, kind.name, f"{kind.name} {tag}: {exc!r}")
        return
    finally:
        out.done += 1
    if status != 200:
        text = body[:300].decode("utf-8", "replace")
        out.fail(f"HTTP {status}", kind.name, f"{kind.name} {tag}: {text}")
        return
    try:
        kind.check(body, tag)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
        out.fail("wrong answer", kind.name, f"{kind.name} {tag}: {exc}")
        return
    out.latencies[kind.name].append(time.perf_counter() - t0)


@dataclass
class Run:
    requests: int
    concurrency: int
    seconds: float
    outcomes: Outcomes
    fresh: Memory  # the daemon right after start
    before: Memory  # after the warm-up, settled
    after: Memory  # right after the soak
    settled: Memory  # after the soak, RSS quiet for a second
    cpu_us: dict[str, float]  # per request: client, daemon, sim
    others: float | None  # cores used by other processes meanwhile
    active_streams: Any
    daemon_counters: dict[str, Any] | None


async def settle(pid: int, quiet: float = 1.0, timeout: float = 30.0) -> Memory:
    """The daemon's memory once its RSS stayed within 1 MiB for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    last, since = memory(pid), time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        now = memory(pid)
        if abs(now.rss - last.rss) > 1048576:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    return memory(pid)


def daemon_counters(stack: Stack) -> dict[str, Any] | None:
    """`argo-proxy ctl status --json` over the daemon's own control socket."""
    socket = str(stack.dir / "control.sock")
    argv = [*argo_proxy_command(), "ctl", "status", "--json", "--control-socket", socket]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        counters = json.loads(done.stdout).get("counters")
    except (OSError, ValueError, subprocess.TimeoutExpired, AttributeError):
        return None
    return counters if isinstance(counters, dict) else None


async def soak(args: argparse.Namespace, tmp: str) -> Run:
    stack = Stack(tmp)
    try:
        assert stack.daemon is not None and stack.sim is not None
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        timeout = aiohttp.ClientTimeout(total=args.timeout)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            await stack.wait_health(session)
            fresh = memory(stack.pid)
            warm = Outcomes()
            for i, kind in enumerate(KINDS):  # one of each, checked, before measuring
                await one(session, stack, kind, f"w{i}", warm)
            if warm.errors:
                raise RuntimeError(f"warm-up failed: {'; '.join(warm.samples.values())}")
            before = await settle(stack.pid)
            log(f"daemon at {stack.url}; {args.requests} requests, concurrency {args.concurrency}")
            out = Outcomes()
            counter = iter(range(args.requests))
            step = max(1, args.requests // 10)

            async def worker() -> None:
                for i in counter:
                    await one(session, stack, KINDS[i % len(KINDS)], f"r{i}", out)
                    if out.done % step == 0:
                        log(f"{out.done} done, {sum(out.errors.values())} failed")

            servers = {"daemon": stack.daemon, "sim": stack.sim}
            cpu0 = {name: srv.cpu_seconds() for name, srv in servers.items()}
            machine0 = machine_cpu_seconds()
            c0, t0 = time.process_time(), time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            seconds, client = time.perf_counter() - t0, time.process_time() - c0
            machine1 = machine_cpu_seconds()
            after = memory(stack.pid)
            cpu_us = {"client": client / args.requests * 1e6}
            ours: float | None = client
            for name, srv in servers.items():
                now, then = srv.cpu_seconds(), cpu0[name]
                if now is None or then is None:
                    ours = None
                    continue
                cpu_us[name] = (now - then) / args.requests * 1e6
                if ours is not None:
                    ours += now - then
            others = None
            if machine0 is not None and machine1 is not None and ours is not None:
                others = max(0.0, (machine1 - machine0 - ours) / seconds)
            settled = await settle(stack.pid)
            async with session.get(f"{stack.url}/health", headers=stack.headers()) as response:
                active = (await response.json()).get("active_streams")
        counters = daemon_counters(stack)
    finally:
        stack.stop()
    return Run(
        args.requests,
        args.concurrency,
        seconds,
        out,
        fresh,
        before,
        after,
        settled,
        cpu_us,
        others,
        active,
        counters,
    )


def report(run: Run, started: str, loop: str) -> list[str]:
    out = run.outcomes
    failed = sum(out.errors.values())
    every = [x for values in out.latencies.values() for x in values]
    lines = [
        f"argo-proxy soak, {started}",
        f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"client: aiohttp {version('aiohttp')} on {loop}",
        "",
        f"requests    {run.requests} ({len(KINDS)} kinds in turn), concurrency {run.concurrency}",
        f"errors      {failed}",
    ]
    by_error: dict[str, Counter[str]] = defaultdict(Counter)
    for (error, name), n in out.errors.items():
        by_error[error][name] += n
    for error, kinds in sorted(by_error.items(), key=lambda item: -sum(item[1].values())):
        spread = ", ".join(f"{k} {n}" for k, n in kinds.most_common())
        lines.append(f"  {error}: {sum(kinds.values())} ({spread})")
        lines.append(f"    e.g. {out.samples[error][:300]}")
    lines.append(f"throughput  {run.requests / run.seconds:.0f} requests/s ({run.seconds:.1f} s)")
    if every:
        p50, p99 = percentile(every, 50) * 1000, percentile(every, 99) * 1000
        lines.append(f"latency     p50 {p50:.1f} ms, p99 {p99:.1f} ms (successful requests)")
        lines.append(f"  {'kind':<18} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        for kind in KINDS:
            values = out.latencies.get(kind.name) or []
            if values:
                lines.append(
                    f"  {kind.name:<18} {len(values):>6} {percentile(values, 50) * 1000:>8.1f} "
                    f"{percentile(values, 99) * 1000:>8.1f} {max(values) * 1000:>8.1f}"
                )
    lines += [
        f"daemon RSS  fresh {mib(run.fresh.rss)}; before (after warm-up) {mib(run.before.rss)}; "
        f"after {mib(run.after.rss)}; settled {mib(run.settled.rss)}",
        f"daemon peak VmHWM {mib(run.settled.hwm)}",
        f"daemon      active_streams {run.active_streams} after the soak"
        + (
            f"; its own counters: {run.daemon_counters.get('requests')} requests, "
            f"{run.daemon_counters.get('errors')} errors"
            if run.daemon_counters
            else ""
        ),
        "CPU per request (us): "
        + ", ".join(f"{name} {us:.0f}" for name, us in run.cpu_us.items())
        + (
            f"; other processes used {run.others:.2f} cores meanwhile (noise if well above 0)"
            if run.others is not None
            else ""
        ),
    ]
    busy = run.cpu_us["client"] * run.requests / 1e6 / run.seconds
    lines.append(f"  (the load client was busy {busy * 100:.0f}% of one core)")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", "-n", type=int, default=10_000, help="default 10000")
    p.add_argument("--concurrency", "-c", type=int, default=16, help="default 16")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per request (default 120)")
    p.add_argument("--no-uvloop", action="store_true", help="run the client on asyncio's loop")
    p.add_argument("--output", "-o", help="also write the report to this file")
    args = p.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        p.error("counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runner: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run
    loop = "asyncio"
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            runner, loop = uvloop.run, f"uvloop {version('uvloop')}"

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with tempfile.TemporaryDirectory(prefix="argo-soak-") as tmp:
        try:
            run = runner(soak(args, tmp))
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    text = "\n".join(report(run, started, loop))
    print(text)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    return 1 if run.outcomes.errors else 0


if __name__ == "__main__":
    sys.exit(main())
