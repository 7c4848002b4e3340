"""What a hostile neighbour costs the daemon (docs/security.md#limits): its RSS under
giant bodies without and with the token, and what trickling sockets beyond the open file
limit leave of the owner's service. Prints figures; asserts nothing.

    python bench/limits.py                      # 16 giants of 99 MiB, 1,100 tricklers
    python bench/limits.py --giants 8 --mib 50 --tricklers 600 --nofile 512

The neighbour is tests/e2e/neighbours.py (standard library only), run as `nobody`
through setpriv when this runs as root, else as this user. The daemon runs under
`prlimit --nofile=N:N` for the trickle, so that it cannot raise its own limit past N.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from passthrough import argo_proxy_command
from procs import Stack, log, memory, mib, reset_peak

ROOT = Path(__file__).resolve().parents[1]
NEIGHBOUR = ROOT / "tests" / "e2e" / "neighbours.py"


def neighbour(*args: str) -> list[str]:
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and system_python and setpriv:
        return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", system_python,
                str(NEIGHBOUR), *args]  # fmt: skip
    return [sys.executable, str(NEIGHBOUR), *args]


def host_port(url: str) -> tuple[str, str]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, port


def owner_request(stack: Stack) -> float:
    """One chat request of the owner's; its latency in ms (raises if it fails)."""
    started = time.perf_counter()
    response = httpx.post(
        f"{stack.url}/v1/chat/completions",
        headers=stack.headers(),
        json={"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
        timeout=60,
    )
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def giants(stack: Stack, count: int, size_mib: int, token: str) -> None:
    owner_request(stack)  # warm
    before = memory(stack.pid).rss
    reset_peak(stack.pid)
    host, port = host_port(stack.url)
    started = time.perf_counter()
    done = subprocess.run(
        neighbour("giants", host, port, str(count), str(size_mib), token),
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    answers = json.loads(done.stdout.splitlines()[-1])
    after = memory(stack.pid)
    kind = "with the token" if token else "without a token"
    print(f"{count} giants of {size_mib} MiB {kind}, in parallel ({seconds:.1f} s): {answers}")
    print(
        f"  daemon RSS before {mib(before)}, peak {mib(after.hwm)} "
        f"(+{mib(after.hwm - before)}), after {mib(after.rss)}"
    )


def trickle(tmp: str, sim_url: str, count: int, nofile: int, seconds: float) -> None:
    prlimit = shutil.which("prlimit")
    if prlimit is None:
        print("trickle: skipped, prlimit (util-linux) is not installed")
        return
    stack = Stack(
        tmp, sim_url=sim_url, name="trickled", prefix=(prlimit, f"--nofile={nofile}:{nofile}")
    )
    try:
        host, port = host_port(stack.url)
        attack = subprocess.Popen(
            neighbour("trickle", host, port, str(count), str(seconds), "1"),
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert attack.stdout is not None
        opened = attack.stdout.readline().strip()
        latencies = [owner_request(stack) for _ in range(20)]
        status = subprocess.run(
            [*argo_proxy_command(), "ctl", "status", "--control-socket", stack.control_socket],
            capture_output=True, text=True, timeout=60, env=stack.env,
        )  # fmt: skip
        seen = json.loads(attack.communicate(timeout=seconds + 120)[0].splitlines()[-1])
        attack.stdout.close()
        latencies.sort()
        print(
            f"{count} trickling sockets against a daemon held to {nofile} open files "
            f"({opened}): {seen}"
        )
        print(
            f"  the owner's 20 requests meanwhile: all answered, p50 {latencies[10]:.1f} ms, "
            f"max {latencies[-1]:.1f} ms; ctl status exit {status.returncode}"
        )
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--giants", type=int, default=16)
    parser.add_argument("--mib", type=int, default=99)
    parser.add_argument("--tricklers", type=int, default=1100)
    parser.add_argument("--nofile", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="argo-limits-") as tmp:
        os.chmod(tmp, 0o755)  # the neighbour (nobody) reaches nothing in it but the port
        stack = Stack(tmp)
        try:
            giants(stack, args.giants, args.mib, "")
            giants(stack, args.giants, args.mib, stack.token)
            sim_url = stack.sim_url
            log("the trickle")
            trickle(tmp, sim_url, args.tricklers, args.nofile, args.seconds)
        finally:
            stack.stop()


if __name__ == "__main__":
    main()
