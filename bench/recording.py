"""What recording every request costs: the daemon with records (and what listens to them:
the request log, the Prometheus metrics, the SQLite store) against the daemon without.

    python bench/recording.py                           # non-stream and stream-20
    python bench/recording.py --rounds 9 -t 4000 -n 1000
    python bench/recording.py --workload ant-gpt-stream-20
    python bench/recording.py --without before-records  # against commit 3b0a1ca

The target (the issue that asked for records): recording costs at most 5 % of the
throughput and at most 0.2 ms of added p50 latency.

"with" is this working tree, run as a default daemon runs. "without" is, by default
(`--without same-tree`), this same tree with recording taken out by
bench/without_recording.py, so that the difference is recording's and nothing else's;
with `--without before-records`, commit 3b0a1ca, the last one before records, checked
out as a detached git worktree (`--baseline-dir`, /tmp/argo-proxy-norecord) with its
own venv, both made on first use: the daemon as it was, so the difference is also
everything else that changed since. Both daemons run at once in front of one simulator,
with the same config, and take the same load from bench/passthrough.py's client, in
alternation: for latency, one request at a time, alternating which goes first; for
throughput, rounds at concurrency 32 alternating which goes first, the median round
reported. It prints throughput, p50/p99 latency, the daemons' CPU per request, the
differences, and PASS/MISS against the target; it asserts nothing (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import passthrough as pt  # noqa: E402  (the workloads, clients and measurements)

ROOT = Path(__file__).resolve().parents[1]
BEFORE_RECORDS = "3b0a1ca"  # "Unit tests for the format plugins", the parent of records
THROUGHPUT_LOSS = 5.0  # %, at most
ADDED_P50 = 0.2  # ms, at most
ARMS = ("without", "with")


def baseline_command(folder: Path) -> list[str]:
    """`argo-proxy` of commit BEFORE_RECORDS: a worktree and a venv, made once."""
    exe = folder / ".venv" / "bin" / "argo-proxy"
    if not folder.exists():
        pt.log(f"checking out {BEFORE_RECORDS} into {folder} (once)")
        add = ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), BEFORE_RECORDS]
        subprocess.run(add, check=True)
    head = subprocess.run(
        ["git", "-C", str(folder), "rev-parse", "--short=7", "HEAD"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if head != BEFORE_RECORDS:
        raise RuntimeError(
            f"{folder} is at {head}, not {BEFORE_RECORDS}: remove it, or pick another"
        )
    if not exe.exists():
        pt.log(f"installing {folder} into its own venv (once)")
        subprocess.run([sys.executable, "-m", "venv", str(folder / ".venv")], check=True)
        pip = [str(folder / ".venv" / "bin" / "pip"), "install", "-q", "-e", str(folder)]
        subprocess.run(pip, check=True, timeout=900)
    return [str(exe)]


@dataclass
class Result:
    """One workload's figures: latency samples (ms) and throughput rounds, by arm."""

    workload: str
    latency: dict[str, list[float]]
    rounds: dict[str, list[pt.Throughput]]

    def rps(self, arm: str) -> float:
        return statistics.median(r.rps for r in self.rounds[arm])

    def cpu_us(self, arm: str) -> float:
        return statistics.median(r.server_cpu_us.get(arm, float("nan")) for r in self.rounds[arm])

    def others(self) -> float:
        seen = [r.others for runs in self.rounds.values() for r in runs if r.others is not None]
        return max(seen, default=float("nan"))

    def loss(self) -> float:
        """Throughput lost to recording, % of the throughput without it: the median over
        rounds of each round's pair (the two ran back to back, so a busy spell of the
        machine weighs on both of a pair more than on two medians)."""
        pairs = zip(self.rounds["with"], self.rounds["without"], strict=True)
        return (1 - statistics.median(w.rps / wo.rps for w, wo in pairs)) * 100

    def added(self, q: float) -> float:
        return pt.percentile(self.latency["with"], q) - pt.percentile(self.latency["without"], q)


async def measure(
    args: argparse.Namespace, urls: dict[str, str], servers: dict[str, pt.ServerProcess]
) -> list[Result]:
    workloads = [pt.WORKLOADS[name] for name in args.workloads]
    requests = pt.arm_requests(workloads, "via")
    clients = {arm: pt.make_client(args.client, urls[arm], requests, 32) for arm in ARMS}
    results: list[Result] = []
    try:
        one = {arm: clients[arm].session() for arm in ARMS}
        many = {arm: [clients[arm].session() for _ in range(32)] for arm in ARMS}
        for workload in workloads:
            kind = workload.name
            for arm in ARMS:
                pt.check_response(workload, "via", *(await one[arm](kind)))
            pt.log(f"[{kind}] latency: {args.requests} requests per daemon, one at a time")
            # measure_latency alternates its two arms: "direct" is the daemon without records
            latency = await pt.measure_latency(
                kind, one["without"], one["with"], args.requests, args.warmup
            )
            rounds: dict[str, list[pt.Throughput]] = {arm: [] for arm in ARMS}
            for arm in ARMS:  # open the connections, warm both up
                await pt.measure_throughput(kind, many[arm], 200, {})
            for r in range(args.rounds):
                pt.log(
                    f"[{kind}] throughput round {r + 1}/{args.rounds}: "
                    f"{args.throughput_requests} requests per daemon, concurrency 32"
                )
                order = ARMS if r % 2 == 0 else ARMS[::-1]  # neither always goes first
                for arm in order:
                    rounds[arm].append(
                        await pt.measure_throughput(
                            kind,
                            many[arm],
                            args.throughput_requests,
                            {arm: servers[arm], "sim": servers["sim"]},
                        )
                    )
            results.append(Result(kind, {"without": latency.direct, "with": latency.via}, rounds))
    finally:
        for client in clients.values():
            await client.aclose()
    return results


def recorded(url: str) -> float | None:
    """The "with" daemon's count of requests from GET /metrics: proof that it recorded."""
    request = urllib.request.Request(
        f"{url}/metrics", headers={"Authorization": f"Bearer {pt.TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 (local URL)
            text = reply.read().decode()
    except OSError:
        return None
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("argo_proxy_requests_total{")
    )


def report(results: list[Result], args: argparse.Namespace, header: list[str]) -> str:
    lines = [*header, ""]
    lines.append(
        f"{'workload':<22}{'arm':<9}{'rps':>7}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'daemon us/req':>15}{'sim us/req':>12}"
    )
    for res in results:
        for arm in ARMS:
            sim = statistics.median(
                r.server_cpu_us.get("sim", float("nan")) for r in res.rounds[arm]
            )
            lines.append(
                f"{res.workload:<22}{arm:<9}{res.rps(arm):>7.0f}"
                f"{pt.percentile(res.latency[arm], 50):>8.3f}"
                f"{pt.percentile(res.latency[arm], 99):>8.3f}"
                f"{res.cpu_us(arm):>15.0f}{sim:>12.0f}"
            )
    lines += ["", "with - without (recording's cost):"]
    for res in results:
        throughput = "PASS" if res.loss() <= THROUGHPUT_LOSS else "MISS"
        latency = "PASS" if res.added(50) <= ADDED_P50 else "MISS"
        lines.append(
            f"  {res.workload:<20} throughput {-res.loss():+.1f}% ({throughput}: loss <= "
            f"{THROUGHPUT_LOSS:g}%), p50 {res.added(50):+.3f} ms ({latency}: <= {ADDED_P50:g} ms),"
            f" p99 {res.added(99):+.3f} ms, daemon CPU "
            f"{res.cpu_us('with') - res.cpu_us('without'):+.0f} us/req;"
            f" others <= {res.others():.2f} cores"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", action="append", dest="workloads", metavar="NAME")
    parser.add_argument("--requests", "-n", type=int, default=600, help="latency requests")
    parser.add_argument("--warmup", "-w", type=int, default=100)
    parser.add_argument("--throughput-requests", "-t", type=int, default=3000)
    parser.add_argument("--rounds", "-r", type=int, default=7)
    parser.add_argument(
        "--runs",
        type=int,
        default=1,
        help="measure this many times, each with new processes, and report the medians",
    )
    parser.add_argument("--client", choices=("raw", "streams", "httpx"), default="raw")
    parser.add_argument(
        "--without",
        choices=("same-tree", "before-records"),
        default="same-tree",
        help="the daemon without records: this tree less recording (bench/without_recording.py)"
        f", or commit {BEFORE_RECORDS}",
    )
    parser.add_argument(
        "--baseline-dir",
        type=Path,
        default=Path(tempfile.gettempdir(), "argo-proxy-norecord"),
        help=f"the worktree of {BEFORE_RECORDS} (made if missing)",
    )
    parser.add_argument("--no-uvloop", action="store_true", help="the client on asyncio's loop")
    parser.add_argument(
        "--same",
        action="store_true",
        help="both arms run the 'without' daemon: the noise floor of the differences",
    )
    args = parser.parse_args(argv)
    args.workloads = [pt.workload_name(w) for w in args.workloads or ["non-stream", "stream-20"]]
    runner: Callable[[Coroutine[Any, Any, Any]], Any] = asyncio.run
    loop_name = "asyncio"
    if not args.no_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            runner, loop_name = uvloop.run, f"uvloop {version('uvloop')}"
    without = (
        [sys.executable, str(Path(__file__).with_name("without_recording.py"))]
        if args.without == "same-tree"
        else baseline_command(args.baseline_dir)
    )
    commands = {"without": without, "with": pt.argo_proxy_command()}
    if args.same:
        commands["with"] = commands["without"]
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    runs: list[list[Result]] = []
    count: float | None = None
    for run in range(args.runs):
        pt.log(f"run {run + 1}/{args.runs}: new simulator and daemons")
        try:
            results, count = one_run(args, commands, runner, loop_name)
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        runs.append(results)
    baseline = (
        "this tree less recording (bench/without_recording.py)"
        if args.without == "same-tree"
        else f"{BEFORE_RECORDS} (before records)"
    )
    header = [
        f"recording's cost: this tree against {baseline}, {started}"
        if not args.same
        else f"noise floor: {baseline} on both arms, {started}",
        f"machine: {os.cpu_count()} CPUs; latency: {args.requests} requests one at a time; "
        f"throughput: median of {args.rounds} alternating rounds of "
        f"{args.throughput_requests} at concurrency 32",
        f"requests the 'with' daemon recorded (GET /metrics): {count:.0f}"
        if count is not None
        else "the 'with' daemon's GET /metrics did not answer",
    ]
    for run, results in enumerate(runs):
        if args.runs > 1:
            header.append(f"\nrun {run + 1} of {args.runs}:")
        print(report(results, args, header))
        header = []
    if args.runs > 1:
        print(summary(runs))
    return 0


def one_run(
    args: argparse.Namespace,
    commands: dict[str, list[str]],
    runner: Callable[[Coroutine[Any, Any, Any]], Any],
    loop_name: str,
) -> tuple[list[Result], float | None]:
    """One simulator and the two daemons, started afresh, measured, stopped; and the
    count of requests the "with" daemon recorded."""
    servers: dict[str, pt.ServerProcess] = {}
    with tempfile.TemporaryDirectory(prefix="argo-recording-") as tmp:
        env = pt.isolated_env(tmp)
        try:
            servers["sim"], sim_url = pt.start_simulator(pt.argo_proxy_command(), tmp, env)
            urls: dict[str, str] = {}
            for arm in ARMS:  # each its own folder: config, token file, control socket
                folder = Path(tmp, arm)
                folder.mkdir(mode=0o700)
                servers[arm], urls[arm] = pt.start_daemon(commands[arm], str(folder), env, sim_url)
                runner(pt.wait_health(urls[arm], 60))
            pt.log(f"measuring (client: {args.client}, {loop_name})")
            results = runner(measure(args, urls, servers))
            return results, recorded(urls["with"])
        finally:
            for server in reversed(list(servers.values())):
                server.stop()


def summary(runs: list[list[Result]]) -> str:
    """Per workload, the median over runs of each run's differences: what the operating
    system made of four processes on this machine's cores differs from run to run, and
    weighs on one arm for a whole run (bench/README.md)."""
    lines = ["", f"median of {len(runs)} runs (recording's cost):"]
    for index, first in enumerate(runs[0]):
        per_run = [results[index] for results in runs]
        loss = statistics.median(r.loss() for r in per_run)
        added = statistics.median(r.added(50) for r in per_run)
        cpu = statistics.median(r.cpu_us("with") - r.cpu_us("without") for r in per_run)
        throughput = "PASS" if loss <= THROUGHPUT_LOSS else "MISS"
        latency = "PASS" if added <= ADDED_P50 else "MISS"
        losses = ", ".join(f"{-r.loss():+.1f}%" for r in per_run)
        lines.append(
            f"  {first.workload:<20} throughput {-loss:+.1f}% ({throughput}: loss <= "
            f"{THROUGHPUT_LOSS:g}%; runs {losses}), p50 {added:+.3f} ms ({latency}: <= "
            f"{ADDED_P50:g} ms), daemon CPU {cpu:+.0f} us/req"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
