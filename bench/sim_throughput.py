"""Requests per second of the simulated ARGO alone (is it fast enough to sit behind a proxy?).

    python bench/sim_throughput.py [--seconds 5] [--concurrency 32]

Starts a simulator in a child process (so client and server do not share a core), then
measures non-streaming chat and a 20-delta streamed chat at the given concurrency, with
httpx and with a bare asyncio HTTP/1.1 client (httpx's pool is itself the bottleneck at
high concurrency, so the bare client shows what the simulator can serve). Prints
requests/s; nothing here is an assertion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx

_READY = re.compile(r"listening on (http://\S+)")


async def _load(url: str, body: dict[str, object], seconds: float, concurrency: int) -> float:
    done = 0
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                response = await http.post(url, json=body, headers={"authorization": "Bearer b"})
                response.raise_for_status()
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.monotonic() - started)


async def _load_raw(url: str, body: dict[str, object], seconds: float, concurrency: int) -> float:
    parts = urlsplit(url)
    payload = json.dumps(body).encode()
    request = (
        f"POST {parts.path} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer b\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        while time.monotonic() < deadline:
            writer.write(request)
            head = (await reader.readuntil(b"\r\n\r\n")).lower()
            if b"content-length:" in head:
                length = int(head.split(b"content-length:")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
            else:
                await reader.readuntil(b"\r\n0\r\n\r\n")  # end of a chunked body
            done += 1
        writer.close()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.monotonic() - started)


async def _main(url: str, seconds: float, concurrency: int) -> None:
    chat = f"{url}/v1/chat/completions"
    plain = {"model": "gpt4o", "messages": [{"role": "user", "content": "benchmark ping"}]}
    stream = {
        "model": "gpt4o",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "benchmark ping [[sim:deltas=20]]"}],
    }
    await _load(chat, plain, 1.0, concurrency)  # warm up connections and caches
    for label, load in (("httpx", _load), ("bare client", _load_raw)):
        plain_rate = await load(chat, plain, seconds, concurrency)
        stream_rate = await load(chat, stream, seconds, concurrency)
        print(
            f"{label:12} non-stream chat: {plain_rate:7.0f} req/s   "
            f"20-delta stream: {stream_rate:7.0f} req/s"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "argo_proxy.daemon.simulator", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        for line in server.stderr:
            found = _READY.search(line)
            if found:
                break
        else:
            raise SystemExit("simulator did not start")
        print(f"simulator at {found.group(1)}, concurrency {args.concurrency}")
        asyncio.run(_main(found.group(1), args.seconds, args.concurrency))
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
