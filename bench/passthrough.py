#!/usr/bin/env python3
"""Passthrough overhead of the argo-proxy daemon against the simulated ARGO.

Starts `argo-proxy simulate` and `argo-proxy serve` as subprocesses, then, for six
workloads (see WORKLOADS: same-format passthrough of a non-streamed OpenAI Chat call and
of a 20-delta stream, and the same two shapes on the converted paths Anthropic Messages
client -> GPT and OpenAI Chat client -> Claude), measures

1. added latency at concurrency 1: the same request sent alternately straight to the
   simulator ("direct") and through the daemon ("via"); p50/p99 of each, and via - direct;
2. throughput at concurrency C (default 32): requests/s direct and via, and via/direct.

The load generator is this process; by default it speaks HTTP/1.1 keep-alive itself on
a bare asyncio.Protocol (`--client raw`), which costs a small fraction of the CPU per
request that httpx does (`--client httpx`); the CPU each process spent per request is
printed so that can be checked. `--profile DIR` adds a py-spy profile of the daemon.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

USER = "benchuser"
STREAM_DELTAS = 20
LISTENING = re.compile(r"listening on (http://[^\s]+)")

# ---------------------------------------------------------------------------------------
# Subprocesses


class ServerProcess:
    """A server subprocess whose stderr is drained by a thread; ready once it logs its URL."""

    def __init__(self, name: str, argv: list[str], *, cwd: str, env: dict[str, str]) -> None:
        self.name = name
        self.url: str | None = None
        self.tail: deque[str] = deque(maxlen=60)
        self._ready = threading.Event()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C goes to us only; we stop the servers ourselves
        )
        self._thread = threading.Thread(target=self._drain, name=f"{name}-stderr", daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        """Read stderr lines until the listening line, then whole blocks (cheaper: the
        daemon logs a line per request) to the end, so the pipe never fills."""
        pipe = self.proc.stderr
        assert pipe is not None
        for raw in pipe:
            line = raw.decode("utf-8", "replace").rstrip()
            self.tail.append(line)
            match = LISTENING.search(line)
            if match and "already running" not in line:  # not "(pid N, listening on URL)"
                self.url = match.group(1).rstrip("/")
                break
        self._ready.set()  # listening, or EOF: the process is gone
        rest = b""
        while block := pipe.read1(65536):  # type: ignore[attr-defined]
            rest = (rest + block)[-4096:]
        self.tail.extend(rest.decode("utf-8", "replace").splitlines()[-20:])

    def wait_ready(self, timeout: float) -> str:
        if not self._ready.wait(timeout):
            raise RuntimeError(
                f"{self.name} did not report its URL within {timeout:g}s{self._log()}"
            )
        if self.url is None:
            code = self.proc.wait(5)
            raise RuntimeError(f"{self.name} exited with code {code} before listening{self._log()}")
        return self.url

    def _log(self) -> str:
        return ("; its stderr:\n    " + "\n    ".join(self.tail)) if self.tail else ""

    def cpu_seconds(self) -> float | None:
        """user+system CPU time of the process so far (Linux /proc), else None."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._thread.join(2)


def argo_proxy_command() -> list[str]:
    """The venv's `argo-proxy` console script (next to this interpreter), else the PATH one."""
    here = Path(sys.executable).parent / "argo-proxy"
    if here.exists():
        return [str(here)]
    found = shutil.which("argo-proxy")
    if found:
        return [found]
    return [
        sys.executable,
        "-c",
        "import sys; from argo_proxy.control.cli import main; sys.exit(main())",
    ]


# ---------------------------------------------------------------------------------------
# Workloads. Each one is a request as the client sends it through the daemon ("via") and
# the request the same client would send straight to ARGO ("direct") if it spoke ARGO's
# format, each with a check of its answer.


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


Check = Callable[[bytes], None]  # raises ValueError if the answer is not the expected one


@dataclass(frozen=True)
class Workload:
    name: str  # as printed
    via: Request  # to the daemon
    direct: Request  # to the simulator
    stream: bool  # the answer is an SSE stream of STREAM_DELTAS text deltas
    check_via: Check
    check_direct: Check
    target_ms: float  # added-p50 target
    throughput_target: float | None = None  # via/direct, %; None: none set, ratio printed only

    def __post_init__(self) -> None:
        for arm in (self.via, self.direct):  # the table must agree with itself
            if bool(json.loads(arm.body).get("stream")) != self.stream:
                raise ValueError(f"workload {self.name}: body's stream flag is not {self.stream}")

    @property
    def key(self) -> str:
        """ASCII name for --workload and file names (`ant→gpt stream-20`: ant-gpt-stream-20)."""
        return workload_key(self.name)


def workload_key(name: str) -> str:
    return re.sub(r"\s+|->|→", "-", name.strip()).lower()


CHAT = "/v1/chat/completions"
MESSAGES = "/v1/messages"
# Straight to ARGO the username is the key; through the daemon, its access token is
# (docs/security.md), so the added latency includes the access check.
TOKEN = "ap-bench-" + secrets.token_urlsafe(24)
BEARER = {"Authorization": f"Bearer {USER}", "Content-Type": "application/json"}
ANTHROPIC = {
    "x-api-key": USER,
    "anthropic-version": "2023-06-01",
    "content-type": "application/json",
}
VIA_BEARER = {**BEARER, "Authorization": f"Bearer {TOKEN}"}
VIA_ANTHROPIC = {**ANTHROPIC, "x-api-key": TOKEN}


def content(stream: bool) -> str:
    marker = f" [[sim:deltas={STREAM_DELTAS}]]" if stream else ""
    return "hello benchmark" + marker


def passthrough_body(stream: bool) -> bytes:
    """The original passthrough request (byte for byte as before the converted paths)."""
    body: dict[str, Any] = {"model": "gpt4o", "messages": [], "user": USER}
    if stream:
        body["stream"] = True
    body["messages"] = [{"role": "user", "content": content(stream)}]
    return json.dumps(body).encode()


def converted_body(model: str, stream: bool, *, user: bool = False, usage: bool = False) -> bytes:
    """A Messages or Chat request for the converted paths (same fields in both formats)."""
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": 256,
        "messages": [{"role": "user", "content": content(stream)}],
    }
    if user:
        body["user"] = USER
    if stream:
        body["stream"] = True
        if usage:
            body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode()


def sse_events(body: bytes) -> tuple[list[bytes], list[bytes]]:
    """(event names, data payloads) of an SSE body, in order."""
    names, data = [], []
    for line in body.split(b"\n"):
        if line.startswith(b"event:"):
            names.append(line[6:].strip())
        elif line.startswith(b"data:"):
            data.append(line[5:].strip())
    return names, data


def check_openai_json(*, echo: bool) -> Check:
    def check(body: bytes) -> None:
        reply = json.loads(body)
        if not reply.get("choices"):
            raise ValueError(f"no choices in {body[:300]!r}")
        if echo:
            text = (reply["choices"][0].get("message") or {}).get("content") or ""
            if not text.startswith("Echo:"):
                raise ValueError(f"choices[0].message.content is not an echo: {body[:300]!r}")

    return check


def check_openai_sse(body: bytes) -> None:
    _, events = sse_events(body)
    if not events or events[-1] != b"[DONE]":
        raise ValueError(f"stream does not end with data: [DONE]: {body[-300:]!r}")
    deltas = 0
    for event in events[:-1]:
        for choice in json.loads(event).get("choices") or []:
            if (choice.get("delta") or {}).get("content"):
                deltas += 1
    if deltas != STREAM_DELTAS:
        raise ValueError(f"{deltas} text deltas, expected {STREAM_DELTAS}")


def check_anthropic_json(body: bytes) -> None:
    reply = json.loads(body)
    blocks = reply.get("content") or [{}]
    if reply.get("type") != "message" or not str(blocks[0].get("text", "")).startswith("Echo:"):
        raise ValueError(f"not an Anthropic message starting with Echo: {body[:300]!r}")


def check_anthropic_sse(body: bytes) -> None:
    names, events = sse_events(body)
    if not names:
        raise ValueError(f"no event: lines in {body[:300]!r}")
    if names[-1] != b"message_stop":
        raise ValueError(f"last event is {names[-1]!r}, not message_stop: {body[-300:]!r}")
    deltas = 0
    for event in events:
        payload = json.loads(event)
        delta = payload.get("delta") or {}
        if payload.get("type") == "content_block_delta" and delta.get("type") == "text_delta":
            deltas += 1
    if deltas != STREAM_DELTAS:
        raise ValueError(f"{deltas} text_delta events, expected {STREAM_DELTAS}")


NON_STREAM_MS, STREAM_MS = 1.0, 3.0  # passthrough added-p50 targets
CONVERTED_NON_STREAM_MS, CONVERTED_STREAM_MS = 1.5, 3.0  # converted paths (no rps target)
PASSTHROUGH_RPS = 35.0  # via/direct, %

_WORKLOADS = [
    # Same-format passthrough: OpenAI Chat client, GPT model, identical request both ways.
    Workload(
        "non-stream",
        via=Request(CHAT, VIA_BEARER, passthrough_body(False)),
        direct=Request(CHAT, BEARER, passthrough_body(False)),
        stream=False,
        check_via=check_openai_json(echo=False),
        check_direct=check_openai_json(echo=False),
        target_ms=NON_STREAM_MS,
        throughput_target=PASSTHROUGH_RPS,
    ),
    Workload(
        "stream-20",
        via=Request(CHAT, VIA_BEARER, passthrough_body(True)),
        direct=Request(CHAT, BEARER, passthrough_body(True)),
        stream=True,
        check_via=check_openai_sse,
        check_direct=check_openai_sse,
        target_ms=STREAM_MS,
        throughput_target=PASSTHROUGH_RPS,
    ),
    # Anthropic Messages client -> GPT: the daemon converts to ARGO's Chat Completions.
    Workload(
        "ant→gpt",
        via=Request(MESSAGES, VIA_ANTHROPIC, converted_body("argo:gpt-4o", False)),
        direct=Request(CHAT, BEARER, converted_body("gpt4o", False, user=True)),
        stream=False,
        check_via=check_anthropic_json,
        check_direct=check_openai_json(echo=False),
        target_ms=CONVERTED_NON_STREAM_MS,
    ),
    Workload(
        "ant→gpt stream-20",
        via=Request(MESSAGES, VIA_ANTHROPIC, converted_body("argo:gpt-4o", True)),
        direct=Request(CHAT, BEARER, converted_body("gpt4o", True, user=True, usage=True)),
        stream=True,
        check_via=check_anthropic_sse,
        check_direct=check_openai_sse,
        target_ms=CONVERTED_STREAM_MS,
    ),
    # OpenAI Chat client -> Claude: the daemon converts to ARGO's Anthropic Messages. A
    # non-streamed one goes upstream as a stream, folded by the daemon
    # (anthropic_stream_mode: force, the default), so that is measured too.
    Workload(
        "oai→claude",
        via=Request(CHAT, VIA_BEARER, converted_body("claude-sonnet-4-6", False)),
        direct=Request(MESSAGES, ANTHROPIC, converted_body("claudesonnet46", False, user=True)),
        stream=False,
        check_via=check_openai_json(echo=True),
        check_direct=check_anthropic_json,
        target_ms=CONVERTED_NON_STREAM_MS,
    ),
    Workload(
        "oai→claude stream-20",
        via=Request(CHAT, VIA_BEARER, converted_body("claude-sonnet-4-6", True, usage=True)),
        direct=Request(MESSAGES, ANTHROPIC, converted_body("claudesonnet46", True, user=True)),
        stream=True,
        check_via=check_openai_sse,
        check_direct=check_anthropic_sse,
        target_ms=CONVERTED_STREAM_MS,
    ),
]
WORKLOADS: dict[str, Workload] = {w.name: w for w in _WORKLOADS}


def arm_requests(workloads: list[Workload], arm: str) -> dict[str, Request]:
    """Workload name -> the request of one arm ("direct" or "via")."""
    return {w.name: getattr(w, arm) for w in workloads}


# ---------------------------------------------------------------------------------------
# Clients. A "session" is one logical client connection: `await send(kind)` performs one
# request of workload `kind` and returns (status, body) after reading the whole response.

Send = Callable[[str], Awaitable[tuple[int, bytes]]]


def raw_payloads(base_url: str, requests: dict[str, Request]) -> dict[str, bytes]:
    """The whole HTTP/1.1 request, as bytes, for each workload."""
    parts = urlsplit(base_url)
    payloads = {}
    for kind, request in requests.items():
        head = (
            f"POST {parts.path.rstrip('/')}{request.path} HTTP/1.1\r\n"
            f"Host: {parts.netloc}\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
            + f"Content-Length: {len(request.body)}\r\n\r\n"
        )
        payloads[kind] = head.encode() + request.body
    return payloads


class StreamsClient:
    """HTTP/1.1 keep-alive over asyncio streams (StreamReader.readuntil/readexactly)."""

    name = "streams"

    def __init__(self, base_url: str, requests: dict[str, Request]) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.payloads = raw_payloads(base_url, requests)
        self._open: list[asyncio.StreamWriter] = []

    def session(self) -> Send:
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None

        async def send(kind: str) -> tuple[int, bytes]:
            nonlocal reader, writer
            if writer is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
                self._open.append(writer)
            assert reader is not None
            writer.write(self.payloads[kind])
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length = -1
            chunked = close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"transfer-encoding":
                    chunked = b"chunked" in value.lower()
                elif name == b"connection":
                    close = value.strip().lower() == b"close"
            if chunked:
                parts = []
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                    if size == 0:
                        while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                            pass
                        break
                    parts.append((await reader.readexactly(size + 2))[:-2])
                body = b"".join(parts)
            elif length >= 0:
                body = await reader.readexactly(length)
            else:
                body, close = await reader.read(), True
            if close:
                writer.close()
                self._open.remove(writer)
                reader = writer = None
            return status, body

        return send

    async def aclose(self) -> None:
        for writer in self._open:
            writer.close()
        self._open.clear()


_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILER, _TO_EOF = range(6)


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection parsing responses as bytes arrive (no StreamReader)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self.buf = b""
        self._start()

    def _start(self) -> None:
        self.state, self.need, self.status, self.close = _HEAD, 0, 0, False
        self.parts: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            if self.state == _TO_EOF:
                self._finish()
            else:
                waiter.set_exception(exc or ConnectionError("connection closed mid-response"))

    def _finish(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result((self.status, b"".join(self.parts), self.close))
        self._start()

    def _head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        self.status = int(lines[0].split(b" ", 2)[1])
        length, chunked = -1, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                self.close = value.strip().lower() == b"close"
        if chunked:
            self.state = _CHUNK_SIZE
        elif length >= 0:
            self.state, self.need = _LENGTH, length
        else:
            self.state, self.close = _TO_EOF, True

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        pos, end_of_buf = 0, len(buf)
        while pos < end_of_buf or (self.state == _LENGTH and self.need == 0):
            state = self.state
            if state == _LENGTH:
                take = min(self.need, end_of_buf - pos)
                if take:
                    self.parts.append(buf[pos : pos + take])
                pos += take
                self.need -= take
                if self.need:
                    break
                self._finish()
            elif state == _CHUNK_DATA:
                if end_of_buf - pos < self.need:
                    break
                self.parts.append(buf[pos : pos + self.need - 2])
                pos += self.need
                self.state = _CHUNK_SIZE
            elif state == _TO_EOF:
                self.parts.append(buf[pos:])
                pos = end_of_buf
            else:
                end = buf.find(b"\r\n\r\n" if state == _HEAD else b"\r\n", pos)
                if end < 0:
                    break
                if state == _HEAD:
                    self._head(buf[pos:end])
                    pos = end + 4
                elif state == _CHUNK_SIZE:
                    size = int(buf[pos:end].split(b";", 1)[0], 16)
                    pos = end + 2
                    self.state, self.need = (_TRAILER, 0) if size == 0 else (_CHUNK_DATA, size + 2)
                else:  # _TRAILER: skip trailer lines up to the empty one
                    blank = end == pos
                    pos = end + 2
                    if blank:
                        self._finish()
        self.buf = buf[pos:]


class ProtocolClient:
    """HTTP/1.1 keep-alive on a bare asyncio.Protocol: a fixed request, Content-Length or
    chunked responses parsed in data_received. The leanest of the three clients."""

    name = "raw"

    def __init__(self, base_url: str, requests: dict[str, Request]) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.payloads = raw_payloads(base_url, requests)
        self._open: list[_Connection] = []

    def session(self) -> Send:
        conn: _Connection | None = None
        loop = asyncio.get_running_loop()

        async def send(kind: str) -> tuple[int, bytes]:
            nonlocal conn
            if conn is None or conn.transport is None:
                _, conn = await loop.create_connection(_Connection, self.host, self.port)
                self._open.append(conn)
            assert conn.transport is not None
            conn.waiter = waiter = loop.create_future()
            conn.transport.write(self.payloads[kind])
            status, body, close = await waiter
            if close:
                if conn.transport is not None:
                    conn.transport.close()
                conn = None
            return status, body

        return send

    async def aclose(self) -> None:
        for conn in self._open:
            if conn.transport is not None:
                conn.transport.close()
        self._open.clear()


class HttpxClient:
    """httpx with one pooled AsyncClient (keep-alive, a connection per concurrent request)."""

    name = "httpx"

    def __init__(self, base_url: str, requests: dict[str, Request], concurrency: int) -> None:
        import httpx

        self.base_url = base_url
        self.requests = requests
        self._client = httpx.AsyncClient(
            timeout=60,
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            trust_env=False,
        )

    def session(self) -> Send:
        client = self._client

        async def send(kind: str) -> tuple[int, bytes]:
            request = self.requests[kind]
            async with client.stream(
                "POST",
                self.base_url + request.path,
                headers=request.headers,
                content=request.body,
            ) as response:
                body = b"".join([chunk async for chunk in response.aiter_raw()])
                return response.status_code, body

        return send

    async def aclose(self) -> None:
        await self._client.aclose()


Client = ProtocolClient | StreamsClient | HttpxClient


def make_client(kind: str, base_url: str, requests: dict[str, Request], concurrency: int) -> Client:
    if kind == "raw":
        return ProtocolClient(base_url, requests)
    if kind == "streams":
        return StreamsClient(base_url, requests)
    return HttpxClient(base_url, requests, concurrency)


def check_response(workload: Workload, arm: str, status: int, body: bytes) -> None:
    """Fail loudly if a response is not what the workload expects (outside timed loops)."""
    if status != 200:
        raise RuntimeError(f"{arm} {workload.name}: HTTP {status}: {body[:300]!r}")
    check = workload.check_via if arm == "via" else workload.check_direct
    try:
        check(body)
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise RuntimeError(f"{arm} {workload.name}: {exc}") from None


# ---------------------------------------------------------------------------------------
# Measurements


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


@dataclass
class Latency:
    direct: list[float]  # ms
    via: list[float]


async def measure_latency(
    kind: str, direct: Send, via: Send, requests: int, warmup: int
) -> Latency:
    for _ in range(warmup):
        await direct(kind)
        await via(kind)
    clock = time.perf_counter
    out = Latency([], [])
    for i in range(requests):
        # alternate which arm goes first, so neither always follows the other
        order = (
            ((direct, out.direct), (via, out.via))
            if i % 2 == 0
            else ((via, out.via), (direct, out.direct))
        )
        for send, samples in order:
            t0 = clock()
            status, _ = await send(kind)
            samples.append((clock() - t0) * 1000.0)
            if status != 200:
                raise RuntimeError(f"{kind}: HTTP {status} during the latency run")
    return out


@dataclass
class Throughput:
    rps: float
    seconds: float
    client_cpu_us: float  # this process's CPU per request
    server_cpu_us: dict[str, float]  # each server's CPU per request
    others: float | None  # CPU cores used by everything else on the machine (noise)


def machine_cpu_seconds() -> float | None:
    """CPU time all CPUs spent busy (or stolen by the hypervisor) since boot (Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def measure_throughput(
    kind: str,
    sessions: list[Send],
    requests: int,
    servers: dict[str, ServerProcess],
) -> Throughput:
    remaining = requests
    errors: list[int] = []

    async def worker(send: Send) -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            status, _ = await send(kind)
            if status != 200:
                errors.append(status)

    cpu0 = {name: srv.cpu_seconds() for name, srv in servers.items()}
    machine0 = machine_cpu_seconds()
    c0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(s) for s in sessions))
    seconds, client = time.perf_counter() - t0, time.process_time() - c0
    machine1 = machine_cpu_seconds()
    if errors:
        raise RuntimeError(f"{kind}: {len(errors)} non-200 answers (e.g. HTTP {errors[0]})")
    server_cpu: dict[str, float] = {}
    ours = client
    for name, srv in servers.items():
        now, before = srv.cpu_seconds(), cpu0[name]
        if now is not None and before is not None:
            server_cpu[name] = (now - before) / requests * 1e6
            ours += now - before
    others = None
    if machine0 is not None and machine1 is not None and len(server_cpu) == len(servers):
        others = max(0.0, (machine1 - machine0 - ours) / seconds)
    return Throughput(requests / seconds, seconds, client / requests * 1e6, server_cpu, others)


# ---------------------------------------------------------------------------------------
# Optional profile of the daemon (--profile DIR): py-spy samples it during an extra,
# unmeasured run of the via-throughput load, after the measurements.


def find_py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


async def profile_daemon(
    kind: str, sessions: list[Send], daemon: ServerProcess, args: argparse.Namespace
) -> list[str]:
    out = Path(args.profile, f"daemon-{workload_key(kind)}.pyspy.txt")
    out.parent.mkdir(parents=True, exist_ok=True)
    argv = [args.py_spy, "record", "--pid", str(daemon.proc.pid), "--rate", "250"]
    argv += ["--format", "raw", "--output", str(out), "--nonblocking"]
    log(f"[{kind}] profiling the daemon with py-spy: {args.throughput_requests} requests")
    spy = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        await asyncio.sleep(1.0)  # let py-spy attach
        if spy.poll() is not None:
            error = spy.stderr.read().decode(errors="replace").strip() if spy.stderr else ""
            return [f"py-spy failed: {error}"]
        await measure_throughput(kind, sessions, args.throughput_requests, {})
    finally:
        if spy.poll() is None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        await asyncio.get_running_loop().run_in_executor(None, spy.wait, 30)
    if not out.exists():
        return ["py-spy wrote no profile"]
    return summarize_profile(out.read_text(), out)


_FRAME = re.compile(r"^(.*) \((.*?)(?::(\d+))?\)$")
_PLUMBING = ("control/cli.py", "uvloop/", "asyncio/runners.py", "argo-proxy")


def summarize_profile(raw: str, path: Path, top: int = 15) -> list[str]:
    """Hot spots from py-spy's raw (collapsed-stack) output: self time by line, self time
    by package, and inclusive time by function (start-up plumbing left out)."""
    leaf: Counter[str] = Counter()
    package: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        leaf[frames[-1] or "(unnamed)"] += n
        match = _FRAME.match(frames[-1])
        file = match.group(2) if match else "?"
        package[file.split("/", 1)[0] if "/" in file else file] += n
        seen = set()
        for frame in frames:
            match = _FRAME.match(frame)
            key = f"{match.group(1)} ({match.group(2)})" if match else frame
            if key not in seen and not any(p in key for p in _PLUMBING):
                seen.add(key)
                inclusive[key] += n
    if not total:
        return ["py-spy recorded no samples"]

    def pct(n: int) -> str:
        return f"{100 * n / total:5.1f}%"

    lines = [f"{total} samples, raw stacks in {path}", "self time, by line:"]
    lines += [f"  {pct(n)}  {frame}" for frame, n in leaf.most_common(top)]
    lines.append("self time, by package or file:")
    lines += [f"  {pct(n)}  {name}" for name, n in package.most_common(8)]
    lines.append("inclusive time, by function:")
    lines += [f"  {pct(n)}  {name}" for name, n in inclusive.most_common(top + 10)]
    return lines


# ---------------------------------------------------------------------------------------
# Driver


@dataclass
class Row:
    kind: str
    latency: Latency
    direct: list[Throughput]
    via: list[Throughput]
    profile: list[str] | None = None


def median_rps(runs: list[Throughput]) -> float:
    return statistics.median(r.rps for r in runs)


async def wait_health(url: str, timeout: float) -> None:
    parts = urlsplit(url)
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
            request = f"GET /health HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
            writer.write(request.encode())
            answer = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            if answer.startswith(b"HTTP/1.1 200"):
                return
            last = answer[:200].decode("latin-1")
        except (OSError, asyncio.TimeoutError) as exc:
            last = repr(exc)
        await asyncio.sleep(0.1)
    raise RuntimeError(f"daemon /health not OK after {timeout:g}s: {last}")


async def reset_simulator(url: str) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    writer.write(
        f"POST {parts.path}/__sim/reset HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
    )
    await asyncio.wait_for(reader.read(), 5)
    writer.close()


async def run(
    args: argparse.Namespace, sim_url: str, daemon_url: str, servers: dict[str, ServerProcess]
) -> list[Row]:
    with contextlib.suppress(Exception):  # a fresh simulator anyway; reset is a courtesy
        await reset_simulator(sim_url)
    workloads = [WORKLOADS[name] for name in args.workloads]
    direct_client = make_client(
        args.client, sim_url, arm_requests(workloads, "direct"), args.concurrency
    )
    via_client = make_client(
        args.client, daemon_url, arm_requests(workloads, "via"), args.concurrency
    )
    rows: list[Row] = []
    try:
        d1, v1 = direct_client.session(), via_client.session()
        for workload in workloads:
            for arm, send in (("direct", d1), ("via", v1)):
                check_response(workload, arm, *(await send(workload.name)))
        d_sessions = [direct_client.session() for _ in range(args.concurrency)]
        v_sessions = [via_client.session() for _ in range(args.concurrency)]
        for kind in args.workloads:
            n, w = args.requests, args.warmup
            log(f"[{kind}] latency: {w} warm-up + {n} requests per arm, one at a time")
            latency = await measure_latency(kind, d1, v1, args.requests, args.warmup)
            directs: list[Throughput] = []
            vias: list[Throughput] = []
            warm = max(args.concurrency * 4, args.warmup)
            await measure_throughput(kind, d_sessions, warm, {})  # open connections, warm up
            await measure_throughput(kind, v_sessions, warm, {})
            for r in range(args.rounds):
                log(
                    f"[{kind}] throughput round {r + 1}/{args.rounds}: "
                    f"{args.throughput_requests} requests per arm, concurrency {args.concurrency}"
                )
                directs.append(
                    await measure_throughput(kind, d_sessions, args.throughput_requests, servers)
                )
                vias.append(
                    await measure_throughput(kind, v_sessions, args.throughput_requests, servers)
                )
            row = Row(kind, latency, directs, vias)
            if args.profile:
                row.profile = await profile_daemon(kind, v_sessions, servers["daemon"], args)
            rows.append(row)
    finally:
        await direct_client.aclose()
        await via_client.aclose()
    return rows


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def report(rows: list[Row], args: argparse.Namespace, started: str, elapsed: float) -> str:
    out: list[str] = []
    add = out.append
    add(f"argo-proxy passthrough benchmark, {started}")
    add(
        f"machine: {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()} "
        f"({platform.python_implementation()}), client loop: {args.loop_name}"
    )
    add(
        f"settings: client={args.client}, latency {args.requests} requests/arm after {args.warmup} "
        f"warm-up (concurrency 1, arms alternated); throughput {args.throughput_requests} "
        f"requests/arm x {args.rounds} rounds at concurrency {args.concurrency} (median round)"
    )
    add("")
    width = max([11] + [len(row.kind) for row in rows])  # 11: the original column
    head = (
        f"{'workload':<{width}} {'direct p50':>10} {'direct p99':>10} {'via p50':>8} "
        f"{'via p99':>8} {'added p50':>9} {'added p99':>9} {'direct rps':>10} {'via rps':>8} "
        f"{'ratio':>6}"
    )
    add(head)
    add("-" * len(head))
    verdicts: list[str] = []
    for row in rows:
        lat = row.latency
        dp50, dp99 = percentile(lat.direct, 50), percentile(lat.direct, 99)
        vp50, vp99 = percentile(lat.via, 50), percentile(lat.via, 99)
        drps, vrps = median_rps(row.direct), median_rps(row.via)
        ratio = vrps / drps * 100
        add(
            f"{row.kind:<{width}} {dp50:>10.2f} {dp99:>10.2f} {vp50:>8.2f} {vp99:>8.2f} "
            f"{vp50 - dp50:>9.2f} {vp99 - dp99:>9.2f} {drps:>10.0f} {vrps:>8.0f} {ratio:>5.0f}%"
        )
        workload = WORKLOADS[row.kind]
        target, rps_target = workload.target_ms, workload.throughput_target
        if rps_target is None:
            rps_verdict = "no target"
        else:
            rps_verdict = f"target >= {rps_target:g}%: {'PASS' if ratio >= rps_target else 'MISS'}"
        verdicts.append(
            f"{row.kind:<{width}} added p50 {vp50 - dp50:.2f} ms (target <= {target:g} ms: "
            f"{'PASS' if vp50 - dp50 <= target else 'MISS'}); throughput {ratio:.0f}% of direct "
            f"({rps_verdict})"
        )
    add("(latency in ms, time to the full response / end of stream; rps = requests/s)")
    add("")
    add("targets:")
    out.extend(f"  {v}" for v in verdicts)
    add("")
    add("CPU per request during the throughput runs (us, median round), and the CPU")
    add("used meanwhile by other processes on the machine (cores; noise if well above 0):")
    add(f"  {'workload':<{width}} {'arm':<7} {'client':>7} {'sim':>7} {'daemon':>7} {'others':>7}")
    for row in rows:
        for arm, runs in (("direct", row.direct), ("via", row.via)):
            client = statistics.median(r.client_cpu_us for r in runs)
            cells = []
            for name in ("sim", "daemon"):
                vals = [r.server_cpu_us[name] for r in runs if name in r.server_cpu_us]
                cells.append(f"{statistics.median(vals):>7.0f}" if vals else f"{'-':>7}")
            others = [r.others for r in runs if r.others is not None]
            cells.append(f"{statistics.median(others):>7.2f}" if others else f"{'-':>7}")
            add(f"  {row.kind:<{width}} {arm:<7} {client:>7.0f} {' '.join(cells)}")
    for row in rows:
        if row.profile:
            add("")
            add(f"daemon profile, {row.kind} at concurrency {args.concurrency} (py-spy):")
            out.extend(f"  {line}" for line in row.profile)
    add("")
    add(f"total time {elapsed:.1f} s")
    return "\n".join(out)


def isolated_env(tmp: str) -> dict[str, str]:
    """The environment for the servers: no ARGO or proxy settings of the user's, and a
    HOME of its own (`tmp`), so no user config is read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGO", "HTTP"))}
    env.update(HOME=tmp, XDG_CONFIG_HOME=os.path.join(tmp, ".config"), NO_PROXY="*")
    return env


def start_simulator(cmd: list[str], tmp: str, env: dict[str, str]) -> tuple[ServerProcess, str]:
    """`argo-proxy simulate` on any free port; its URL once it listens."""
    sim = ServerProcess("simulator", [*cmd, "simulate", "--port", "0"], cwd=tmp, env=env)
    return sim, sim.wait_ready(60)


def start_daemon(
    cmd: list[str], tmp: str, env: dict[str, str], sim_url: str
) -> tuple[ServerProcess, str]:
    """`argo-proxy serve` on any free port, with ARGO = the simulator."""
    config = Path(tmp, "config.yaml")
    token_file = Path(tmp, "token")
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    config.write_text(
        "config_version: '3'\n"
        f"user: {USER}\n"
        "port: 0\n"
        f"argo_base_url: {sim_url}\n"
        "pypi_url: http://127.0.0.1:9/pypi\n"
        f"token_file: {token_file}\n"
    )
    log(f"simulator at {sim_url}; starting the daemon")
    # Its own control socket (the instance lock): one in the user runtime directory may
    # belong to a daemon that is already running.
    argv = [*cmd, "serve", str(config), "--quiet", "--control-socket", f"{tmp}/control.sock"]
    daemon = ServerProcess("daemon", argv, cwd=tmp, env=env)
    try:
        return daemon, daemon.wait_ready(60)
    except BaseException:  # also Ctrl-C: never leave the daemon behind
        daemon.stop()
        raise


def workload_name(text: str) -> str:
    """--workload NAME: a workload's name or ASCII key -> its name."""
    keys = {w.key: w.name for w in WORKLOADS.values()}
    name = keys.get(workload_key(text))
    if name is None:
        raise argparse.ArgumentTypeError(
            f"unknown workload {text!r}; choose from {', '.join(keys)}"
        )
    return name


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--requests",
        "-n",
        type=int,
        default=1000,
        help="sequential requests per arm for the latency run (default 1000)",
    )
    p.add_argument(
        "--concurrency", "-c", type=int, default=32, help="throughput concurrency (default 32)"
    )
    p.add_argument(
        "--warmup", "-w", type=int, default=100, help="warm-up requests per arm (default 100)"
    )
    p.add_argument(
        "--throughput-requests",
        "-t",
        type=int,
        default=None,
        help="requests per arm per throughput round (default: 3 x --requests, at least 500)",
    )
    p.add_argument(
        "--rounds",
        "-r",
        type=int,
        default=3,
        help="throughput rounds, direct and via alternated; the median is reported (default 3)",
    )
    p.add_argument(
        "--client",
        choices=("raw", "streams", "httpx"),
        default="raw",
        help="load generator: raw = HTTP/1.1 on an asyncio.Protocol (default, cheapest), "
        "streams = HTTP/1.1 on asyncio streams, httpx = a pooled httpx.AsyncClient",
    )
    p.add_argument("--no-uvloop", action="store_true", help="run the client on asyncio's own loop")
    p.add_argument(
        "--workload",
        dest="workloads",
        action="append",
        type=workload_name,
        metavar="NAME",
        help="run only this workload (repeatable; default all six): "
        + ", ".join(w.key for w in WORKLOADS.values())
        + " (`→` may also be written `->` or `-`, spaces `-`)",
    )
    p.add_argument("--output", "-o", help="also write the report to this file")
    p.add_argument(
        "--profile",
        metavar="DIR",
        help="after measuring, sample the daemon with py-spy under the via-throughput load "
        "and report its hot spots (raw stacks saved in DIR); needs py-spy installed",
    )
    args = p.parse_args(argv)
    if args.throughput_requests is None:
        args.throughput_requests = max(500, 3 * args.requests)
    chosen = set(args.workloads or WORKLOADS)
    args.workloads = [name for name in WORKLOADS if name in chosen]  # table order, once each
    args.py_spy = find_py_spy() if args.profile else None
    if args.profile and not args.py_spy:
        p.error("--profile needs py-spy: pip install py-spy")
    if (
        min(args.requests, args.concurrency, args.throughput_requests, args.rounds) < 1
        or args.warmup < 0
    ):
        p.error("counts must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    runner: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run
    args.loop_name = "asyncio"
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            runner, args.loop_name = uvloop.run, f"uvloop {version('uvloop')}"

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    cmd = argo_proxy_command()
    servers: dict[str, ServerProcess] = {}

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    with tempfile.TemporaryDirectory(prefix="argo-bench-") as tmp:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("ARGO", "HTTP_PROXY", "HTTPS_PROXY"))
        }
        env.update(
            HOME=tmp,
            XDG_CONFIG_HOME=os.path.join(tmp, ".config"),
            PYTHONUNBUFFERED="1",
            NO_PROXY="*",
        )
        t0 = time.perf_counter()
        try:
            log("starting the simulator")
            servers["sim"] = ServerProcess(
                "simulator",
                [*cmd, "simulate", "--host", "127.0.0.1", "--port", "0"],
                cwd=tmp,
                env=env,
            )
            sim_url = servers["sim"].wait_ready(60)
            servers["daemon"], daemon_url = start_daemon(cmd, tmp, env, sim_url)
            runner(wait_health(daemon_url, 30))
            log(f"daemon at {daemon_url}; measuring (client: {args.client}, {args.loop_name})")
            rows = runner(run(args, sim_url, daemon_url, servers))
        except KeyboardInterrupt:
            log("interrupted")
            return 130
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            for srv in reversed(list(servers.values())):
                srv.stop()
        text = report(rows, args, started, time.perf_counter() - t0)
    print(text)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
