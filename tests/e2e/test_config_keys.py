"""argo-proxy config keys that change how the daemon reaches ARGO or where it logs:
`resolve_overrides` (curl's --resolve, for ARGO reached through a tunnel) and
`log_to_file` with `max_log_history` (docs/configuration.md)."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from . import api
from .conftest import Process, new_user, spawn
from .helpers import last_sent

CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def test_resolve_overrides_reach_argo_by_a_name_no_dns_knows(
    workdir: Path, simulator: Process, sim: httpx.Client
) -> None:
    port = simulator.url.rsplit(":", 1)[1]
    name = f"argo.tunnel.invalid:{port}"  # .invalid never resolves (RFC 2606)
    home, env = new_user(
        workdir,
        "tunnel",
        f"user: jdoe\nport: 0\nauth: none\nargo_base_url: http://{name}\n"
        f'resolve_overrides: {{"{name}": "127.0.0.1"}}\n',
    )
    daemon = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env)
    try:
        reply = api.post(f"{daemon.url}/v1/chat/completions", json=CHAT, timeout=30)
        assert reply.status_code == 200, reply.text
        assert last_sent(sim, "/v1/chat")["headers"]["host"] == name  # the name is kept
    finally:
        daemon.stop()


def test_log_to_file_writes_a_private_log(workdir: Path, simulator: Process) -> None:
    home, env = new_user(
        workdir,
        "logfile",
        f"user: jdoe\nport: 0\nargo_base_url: {simulator.url}\nlog_to_file: true\n",
    )
    daemon = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env)
    daemon.stop()
    log_file = home / ".local" / "state" / "argo-proxy" / "log" / "argo-proxy.log"
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    text = log_file.read_text()
    assert f"listening on {daemon.url}" in text and "HTTP server stopped" in text
