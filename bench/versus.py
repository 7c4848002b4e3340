"""This daemon against argo-proxy 3.x, the project it succeeds, on the same simulated ARGO.

    python bench/versus.py                       # argo-proxy 3.3.3, every workload
    python bench/versus.py --workload non-stream --rounds 5
    python bench/versus.py --theirs 3.2.0

Both proxies run as real processes in front of one simulator (`argo-proxy simulate`),
each with its own config; argo-proxy 3.x is installed from PyPI into
`.cache/bench/argo-proxy-VERSION` the first time. For each workload of
bench/passthrough.py the script measures, alternating between the two so that both see
the same machine: the latency each adds to a direct call (p50, one request at a time),
and the throughput at concurrency 32 with each one's CPU per request. It prints the
figures and our throughput as a multiple of theirs, and asserts nothing about them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import passthrough as pt  # noqa: E402  (the workloads, clients and measurements)

ROOT = Path(__file__).resolve().parents[1]
# argo-proxy 3 says "Listening on" (capitalised, after an emoji).
pt.LISTENING = __import__("re").compile(r"[Ll]istening on (http://[^\s]+)")


def theirs_command(version: str) -> list[str]:
    """argo-proxy VERSION's console script, installed on first use."""
    venv = ROOT / ".cache" / "bench" / f"argo-proxy-{version}"
    exe = venv / "bin" / "argo-proxy"
    if not exe.exists():
        pt.log(f"installing argo-proxy=={version} into {venv} (once)")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "pip"), "install", "-q", f"argo-proxy=={version}"]
        subprocess.run(pip, check=True, timeout=900)
    return [str(exe)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_theirs(
    cmd: list[str], tmp: str, env: dict[str, str], sim_url: str
) -> tuple[pt.ServerProcess, str]:
    folder = Path(tmp, "theirs")
    folder.mkdir()
    config = folder / "config.yaml"
    config.write_text(
        "config_version: '3'\n"
        f"user: {pt.USER}\n"
        "host: 127.0.0.1\n"
        f"port: {free_port()}\n"
        f"argo_base_url: {sim_url}\n"
        "verbose: false\n"
    )
    # It logs to stdout: send that to stderr, where ServerProcess reads (exec keeps the pid).
    argv = [
        "sh",
        "-c",
        'exec "$@" 1>&2',
        "sh",
        *cmd,
        "serve",
        str(config),
        "--no-banner",
        "--quiet",
    ]
    server = pt.ServerProcess("argo-proxy 3", argv, cwd=str(folder), env=env)
    return server, server.wait_ready(120)


async def compare(
    args: argparse.Namespace, sim_url: str, urls: dict[str, str], servers: dict[str, Any]
) -> list[str]:
    workloads = [pt.WORKLOADS[name] for name in args.workloads]
    direct = pt.make_client(args.client, sim_url, pt.arm_requests(workloads, "direct"), 32)
    clients = {
        name: pt.make_client(args.client, url, pt.arm_requests(workloads, "via"), 32)
        for name, url in urls.items()
    }
    lines = [
        f"{'workload':<22}{'proxy':<14}{'added p50':>10}{'rps':>8}{'cpu/req':>10}",
    ]
    try:
        one = direct.session()
        for workload in workloads:
            kind = workload.name
            added: dict[str, float] = {}
            rps: dict[str, list[float]] = {name: [] for name in clients}
            cpu: dict[str, list[float]] = {name: [] for name in clients}
            sessions = {name: [c.session() for _ in range(32)] for name, c in clients.items()}
            for name, client in clients.items():
                session = client.session()
                pt.check_response(workload, "via", *(await session(kind)))
                latency = await pt.measure_latency(kind, one, session, args.requests, 50)
                added[name] = statistics.median(latency.via) - statistics.median(latency.direct)
                await pt.measure_throughput(kind, sessions[name], 200, {})  # warm up
            for _ in range(args.rounds):  # alternating rounds: both see the same machine
                for name in clients:
                    run = await pt.measure_throughput(
                        kind, sessions[name], args.throughput_requests, {name: servers[name]}
                    )
                    rps[name].append(run.rps)
                    cpu[name].append(run.server_cpu_us.get(name, float("nan")))
            for name in clients:
                lines.append(
                    f"{kind:<22}{name:<14}{added[name]:>8.2f}ms"
                    f"{statistics.median(rps[name]):>8.0f}{statistics.median(cpu[name]):>8.0f}us"
                )
            ratio = statistics.median(rps["ours"]) / statistics.median(rps["argo-proxy 3"])
            lines.append(f"{'':<22}ours / argo-proxy 3: {ratio:.2f}x the throughput")
    finally:
        await direct.aclose()
        for client in clients.values():
            await client.aclose()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--theirs", default="3.3.3", help="argo-proxy version (default 3.3.3)")
    parser.add_argument("--workload", action="append", dest="workloads", metavar="NAME")
    parser.add_argument("--requests", "-n", type=int, default=300, help="latency requests")
    parser.add_argument("--throughput-requests", "-t", type=int, default=3000)
    parser.add_argument("--rounds", "-r", type=int, default=3)
    parser.add_argument("--client", choices=("raw", "streams", "httpx"), default="raw")
    args = parser.parse_args(argv)
    args.workloads = [pt.workload_name(w) for w in args.workloads or list(pt.WORKLOADS)]
    theirs = theirs_command(args.theirs)
    ours = pt.argo_proxy_command()
    servers: dict[str, pt.ServerProcess] = {}
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    with tempfile.TemporaryDirectory(prefix="argo-versus-") as tmp:
        env = pt.isolated_env(tmp)
        try:
            servers["sim"], sim_url = pt.start_simulator(ours, tmp, env)
            servers["ours"], ours_url = pt.start_daemon(ours, tmp, env, sim_url)
            servers["argo-proxy 3"], theirs_url = start_theirs(theirs, tmp, env, sim_url)
            for url in (ours_url, theirs_url):
                asyncio.run(pt.wait_health(url, 60))
            urls = {"ours": ours_url, "argo-proxy 3": theirs_url}
            lines = asyncio.run(compare(args, sim_url, urls, servers))
        except RuntimeError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in reversed(list(servers.values())):
                server.stop()
    print(f"argo-proxy (this daemon) against argo-proxy {args.theirs}, {started}")
    print(f"machine: {os.cpu_count()} CPUs; concurrency 32; {args.rounds} alternating rounds")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
