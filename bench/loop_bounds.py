#!/usr/bin/env python3
"""Nothing proportional to one request on the event loop: `/health` while a big one is in flight.

    python bench/loop_bounds.py                          # both parts, every scenario
    python bench/loop_bounds.py --part http --scenario count-20mb --rounds 5
    python bench/loop_bounds.py --part process

Part `http`: a daemon in front of the simulator (real processes, bench/procs.py). For
each scenario, round after round: one client sends the big request on a connection of
its own; from the moment it starts sending until its answer has arrived, a second
client sends `GET /health` on its own keep-alive connection, one after the other. Per
round: the big request's time to its answer and its status, how many `/health` probes
were made meanwhile, their median and their longest latency (the longest is what the
event loop was held for, at most).

Part `process`: in this process, the CPU time of what a big request costs the event
loop, stage by stage: the nesting check and JSON parse of a 20 MB body, its conversion
for Claude by llm-rosetta (one message, 1,000 and 20,000) and ARGO's fixes to it when
it goes to GPT as it came, the JSON of the body sent to ARGO, a token count (and the
longest single regex call of one), and "did you mean" (`closest`) for model names of
several lengths. Best of `--repeat`.

Both parts run against whatever `argo_proxy` this interpreter imports (the venv's
`argo-proxy` for part `http`): run the script with another tree's venv to compare.
Prints the figures; nothing is asserted (exit 1 only if the harness failed).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from procs import Stack, log, run_report

MB = 1_000_000
SENTENCE = "The quick brown fox jumps over the lazy dog while the model reads on, 42 times. "


def text_of(size: int) -> str:
    return (SENTENCE * (size // len(SENTENCE) + 1))[:size]


def chat(model: str, size: int, last: str = "what is in it?", messages: int = 1) -> dict[str, Any]:
    """A chat body of about `size` bytes in `messages` turns before a short last user
    turn, so the simulator's echo (of the last user text) stays small."""
    per = size // messages
    turns = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": text_of(per)}
        for i in range(messages)
    ]
    if turns[-1]["role"] == "user":
        turns.append({"role": "assistant", "content": "I have it."})
    turns.append({"role": "user", "content": last})
    return {"model": model, "max_tokens": 256, "messages": turns}


# ---------------------------------------------------------------------------------------
# Part `http`


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    anthropic: bool  # the client speaks Anthropic Messages (x-api-key)
    body: Callable[[], bytes]
    about: str


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "model-1mb",
            "/v1/chat/completions",
            False,
            lambda: _json({**chat("x", 100), "model": "Z" * MB}),
            "a 1 MB model name (OpenAI chat)",
        ),
        Scenario(
            "model-3mb",
            "/v1/chat/completions",
            False,
            lambda: _json({**chat("x", 100), "model": "Z" * 3 * MB}),
            "a 3 MB model name (OpenAI chat)",
        ),
        Scenario(
            "count-20mb",
            "/v1/messages/count_tokens",
            True,
            lambda: _json(chat("claude-sonnet-4-6", 20 * MB)),
            "count_tokens of a 20 MB prompt (Anthropic)",
        ),
        Scenario(
            "chat-20mb-claude",
            "/v1/chat/completions",
            False,
            lambda: _json(chat("claude-sonnet-4-6", 20 * MB)),
            "a 20 MB OpenAI chat converted for Claude (llm-rosetta, on the loop)",
        ),
        Scenario(
            "chat-20mb-argo-500",
            "/v1/chat/completions",
            False,
            lambda: _json(chat("argo:gpt-4o", 20 * MB, "[[sim:fault=status,code=500]] hi")),
            "a 20 MB OpenAI chat ARGO fails with a 500: its record estimates the input",
        ),
    )
}


@dataclass
class Round:
    scenario: str
    seconds: float  # the big request: first byte sent to its whole answer
    status: int
    probes: list[float]  # /health latencies, seconds, all sent while it was in flight
    sent: float  # when the client had handed over the big request's last byte, seconds
    slowest_at: float  # when the slowest probe was sent, seconds after the big request


def _head(url: str, path: str, headers: dict[str, str], length: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {urlsplit(url).netloc}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()] + [f"Content-Length: {length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _send_big(url: str, request: bytes, out: dict[str, Any], done: threading.Event) -> None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=600) as sock:
            sock.sendall(request)
            out["sent"] = time.perf_counter()
            data = b""
            while chunk := sock.recv(1 << 20):
                data += chunk
        out["status"] = int(data.split(b" ", 2)[1])
    except (OSError, ValueError, IndexError) as exc:
        out["error"] = repr(exc)
    finally:
        out["end"] = time.perf_counter()
        done.set()


def _probe(conn: http.client.HTTPConnection, headers: dict[str, str]) -> float:
    start = time.perf_counter()
    conn.request("GET", "/health", headers=headers)
    response = conn.getresponse()
    response.read()
    took = time.perf_counter() - start
    if response.status != 200:
        raise RuntimeError(f"/health: HTTP {response.status}")
    return took


def measure(stack: Stack, scenario: Scenario, body: bytes) -> Round:
    headers = stack.headers(anthropic=scenario.anthropic)
    request = _head(stack.url, scenario.path, headers, len(body)) + body
    parts = urlsplit(stack.url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=600)
    try:
        _probe(conn, headers)  # the probe's connection is open before the big request
        out: dict[str, Any] = {}
        done = threading.Event()
        start = time.perf_counter()
        sender = threading.Thread(target=_send_big, args=(stack.url, request, out, done))
        sender.start()
        probes: list[float] = []
        slowest_at = 0.0
        while not done.is_set():
            sent = time.perf_counter()
            probes.append(_probe(conn, headers))
            if probes[-1] == max(probes):
                slowest_at = sent - start
        sender.join()
    finally:
        conn.close()
    if "error" in out:
        raise RuntimeError(f"{scenario.name}: {out['error']}")
    end, sent = out["end"] - start, out["sent"] - start
    return Round(scenario.name, end, out["status"], probes, sent, slowest_at)


def run_http(args: argparse.Namespace, tmp: str) -> list[str]:
    # anthropic_stream_mode passthrough: a non-streamed Claude request stays one JSON
    # answer from the simulator (the default folds a forced stream: more work, no news)
    stack = Stack(tmp, config={"anthropic_stream_mode": "passthrough", "retries": 0})
    rounds: list[Round] = []
    try:
        warm = chat("claude-sonnet-4-6", 1000)
        for path in ("/v1/chat/completions", "/v1/messages/count_tokens"):
            measure(stack, Scenario("warm-up", path, True, lambda: _json(warm), ""), _json(warm))
        for name in args.scenarios:
            scenario = SCENARIOS[name]
            body = scenario.body()
            for index in range(args.rounds):
                log(f"[{name}] round {index + 1}/{args.rounds}, {len(body) / MB:.1f} MB")
                rounds.append(measure(stack, scenario, body))
    finally:
        stack.stop()
    lines = [
        "Part http: /health from a second client while one big request is in flight",
        "",
        f"{'scenario':<20} {'round':>5} {'big request':>12} {'status':>6} {'probes':>6}"
        f" {'/health p50':>12} {'/health max':>12} {'sent':>7} {'max at':>7}",
        "-" * 96,
    ]
    for r in rounds:
        p50 = statistics.median(r.probes) * 1000 if r.probes else float("nan")
        most = max(r.probes) * 1000 if r.probes else float("nan")
        index = sum(1 for o in rounds[: rounds.index(r) + 1] if o.scenario == r.scenario)
        lines.append(
            f"{r.scenario:<20} {index:>5} {r.seconds:>10.3f} s {r.status:>6} {len(r.probes):>6}"
            f" {p50:>9.1f} ms {most:>9.1f} ms {r.sent:>5.2f} s {r.slowest_at:>5.2f} s"
        )
    lines += [
        "",
        "big request: its first byte sent to its whole answer; probes: /health requests made",
        "meanwhile, one after the other; sent: when the client had handed over its last byte",
        "(the daemon reads the body until about then); max at: when the slowest probe was",
        "sent; both after the big request's first byte.",
        "",
        "scenarios:",
    ]
    lines += [f"  {n:<20} {SCENARIOS[n].about}" for n in args.scenarios]
    return lines


# ---------------------------------------------------------------------------------------
# Part `process`


def best(work: Callable[[], Any], repeat: int) -> float:
    """The shortest of `repeat` runs of `work`, in ms."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def run_process(args: argparse.Namespace) -> list[str]:
    from argo_proxy.daemon.convert import Conversion
    from argo_proxy.daemon.intake import parse_body
    from argo_proxy.daemon.models import builtin_catalog
    from argo_proxy.daemon.tokens import _PIECES, count_request_tokens
    from argo_proxy.daemon.validation import check_nesting

    repeat = args.repeat
    lines = [f"Part process: CPU time on the event loop's thread, best of {repeat} (ms)", ""]

    def row(what: str, ms: float) -> None:
        lines.append(f"  {what:<58} {ms:>9.1f}")
        log(f"{what}: {ms:.1f} ms")

    raw = _json(chat("claude-sonnet-4-6", 20 * MB))
    row(f"nesting check, {len(raw) / MB:.0f} MB body", best(lambda: check_nesting(raw), repeat))
    row(
        "json.loads of it (one C call: holds the GIL throughout)",
        best(lambda: json.loads(raw), repeat),
    )
    row(
        "parse_body (nesting, JSON, field rules)",
        best(lambda: parse_body(raw, "openai_chat"), repeat),
    )
    for messages in (1, 1000, 20000):
        body = chat("claude-sonnet-4-6", 20 * MB, messages=messages)

        def convert(body: dict[str, Any] = body) -> Any:
            fresh = dict(body, messages=[dict(m) for m in body["messages"]])
            return Conversion("openai_chat", "anthropic", "claudesonnet46", "anthropic").request(
                fresh
            )

        row(f"conversion for Claude, 20 MB in {messages} message(s)", best(convert, repeat))
        out = convert()
        row("  json.dumps of the body sent to ARGO", best(lambda out=out: json.dumps(out), repeat))

    def same_format() -> Any:
        body = chat("argo:gpt-4o", 20 * MB)
        return Conversion("openai_chat", "openai_chat", "gpt4o", "openai").request(body)

    row("ARGO's fixes to a same-format body (GPT), 20 MB", best(same_format, repeat))
    body = chat("claude-sonnet-4-6", 20 * MB)
    row("token count of the 20 MB body, in one go", best(lambda: count_request_tokens(body), 1))
    worst = "a." * 8192  # a piece per character: the dearest text a slice can be
    row(
        "  longest regex call of a count in slices (16K chars)",
        best(lambda: _PIECES.findall(worst), repeat),
    )
    catalog = builtin_catalog()
    for length in (16, 64, 256, MB):
        name = ("claude-sonet-4.6-" * (length // 17 + 1))[:length]
        label = (
            f"closest() for a {length}-character name" if length < MB else "closest(), 1 MB name"
        )
        row(label, best(lambda name=name: catalog.closest(name), 1 if length >= MB else repeat))
    return lines


# ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", dest="parts", action="append", choices=("http", "process"))
    p.add_argument(
        "--scenario",
        dest="scenarios",
        action="append",
        choices=list(SCENARIOS),
        help="(repeatable; default all): "
        + "; ".join(f"{s.name} = {s.about}" for s in SCENARIOS.values()),
    )
    p.add_argument("--rounds", type=int, default=3, help="rounds per scenario (default 3)")
    p.add_argument("--repeat", type=int, default=3, help="runs per process figure (default 3)")
    p.add_argument("--output", "-o", help="also write the report to this file")
    args = p.parse_args(argv)
    args.parts = args.parts or ["http", "process"]
    args.scenarios = args.scenarios or list(SCENARIOS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def produce(tmp: str) -> list[str]:
        lines: list[str] = []
        if "http" in args.parts:
            lines += run_http(args, tmp)
        if "process" in args.parts:
            lines += ([""] if lines else []) + run_process(args)
        return lines

    return run_report("loop-bounds", produce, args.output)


if __name__ == "__main__":
    sys.exit(main())
