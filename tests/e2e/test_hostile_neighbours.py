"""Another user of a shared login node against the owner's daemon (docs/security.md#limits):
giant bodies without the token cost the daemon no memory, a request head trickled a
byte at a time is cut at its deadline, and more trickling sockets than the daemon's open
file limit leave the owner's requests and `argo-proxy ctl status` working.

The neighbour runs as `nobody` (`setpriv`) where the machine allows it (root, a system
Python, setpriv); elsewhere as the same user, which changes nothing the daemon sees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openai

from . import api
from .conftest import _EXE, Process, StartDaemon, clean_env

NEIGHBOUR = Path(__file__).with_name("neighbours.py")
MIB = 1024 * 1024


def neighbour_command(*args: str) -> list[str]:
    """`neighbours.py ARGS` as another user when possible."""
    system_python = shutil.which("python3", path="/usr/bin:/bin")
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and system_python and setpriv:
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", system_python]
        return [*prefix, str(NEIGHBOUR), *args]
    return [sys.executable, str(NEIGHBOUR), *args]


def host_port(proc: Process) -> tuple[str, str]:
    host, port = proc.url.removeprefix("http://").rsplit(":", 1)
    return host, port


def rss(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def owner_asks(proc: Process) -> str:
    client = openai.OpenAI(base_url=f"{proc.url}/v1", api_key=api.TOKEN, max_retries=0, timeout=60)
    with client:
        reply = client.chat.completions.create(
            model="argo:gpt-4o", messages=[{"role": "user", "content": "still here?"}]
        )
    return reply.choices[0].message.content or ""


def test_giant_bodies_without_the_token_cost_no_memory(start_daemon: StartDaemon) -> None:
    proc = start_daemon()
    pid = proc.popen.pid
    assert owner_asks(proc).startswith("Echo:")  # warm: the first request's allocations
    before = rss(pid)["VmRSS"]
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak from now on
    host, port = host_port(proc)
    done = subprocess.run(
        neighbour_command("giants", host, port, "16", "99"),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answers = json.loads(done.stdout.splitlines()[-1])
    peak = rss(pid)["VmHWM"]
    assert peak - before < 50 * MIB, (before, peak, answers)
    # each was refused before its body was read: a 401, or the connection closed on it
    assert set(answers) <= {"HTTP/1.1 401 Unauthorized", "ConnectionResetError", "closed"}
    assert answers.get("HTTP/1.1 401 Unauthorized", 0) >= 1, answers
    assert owner_asks(proc).startswith("Echo:")


def test_a_trickled_request_head_is_cut_at_its_deadline(start_daemon: StartDaemon) -> None:
    proc = start_daemon("head_timeout: 1\n")
    host, port = host_port(proc)
    # A byte every 0.2 s: Sanic's own timer, restarted by each byte, would never fire.
    done = subprocess.run(
        neighbour_command("trickle", host, port, "3", "20", "0.2"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen == {"opened": 3, "refused": 0, "closed_by_daemon": 3}


def test_more_trickling_sockets_than_open_files_leave_the_owner_in(
    start_daemon: StartDaemon,
) -> None:
    prlimit = shutil.which("prlimit")
    assert prlimit, "prlimit (util-linux) sets the daemon's open file limit"
    # A hard limit of 512 the daemon cannot raise; the neighbour opens 700 sockets.
    proc = start_daemon(prefix=(prlimit, "--nofile=512:512"))
    host, port = host_port(proc)
    neighbour = subprocess.Popen(
        neighbour_command("trickle", host, port, "700", "60", "0.5"),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert neighbour.stdout is not None
        opened = neighbour.stdout.readline()
        assert opened.startswith("opened"), opened
        assert owner_asks(proc).startswith("Echo:")
        status = subprocess.run(
            [_EXE, "ctl", "status", "--control-socket", str(proc.control_socket)],
            env=clean_env(proc.control_socket.parent.parent),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        proc.wait_for_line("too many connections")
    finally:
        neighbour.kill()
        neighbour.wait(30)
        if neighbour.stdout is not None:
            neighbour.stdout.close()
    assert owner_asks(proc).startswith("Echo:")
