"""Request records on disk (docs/observability.md#storage) and the commands that show
them (docs/observability.md#commands): real daemons with their own state directory,
requests through the official SDKs, a restart, `usage.get`, and `argo-proxy ctl
requests|usage` as a user runs them."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import queue
import secrets
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from argo_proxy.control.client import call_daemon

from . import clients
from .conftest import _EXE, Process, _wait_for_models, new_user, spawn

GPT, CLAUDE = "gpt-4o", "claude-sonnet-4-6"
_users = iter(range(1, 10_000))


class User:
    """A user with their own home (so their own state directory) and daemon."""

    def __init__(self, workdir: Path, simulator: Process, extra_config: str = "") -> None:
        self.home, self.env = new_user(
            workdir,
            f"records{next(_users)}",
            f"config_version: '3'\nuser: jdoe\nport: 0\nauth: none\n"
            f"argo_base_url: {simulator.url}\npypi_url: http://127.0.0.1:9/pypi\n{extra_config}",
        )
        self.socket = Path(self.env["ARGO_PROXY_CONTROL_SOCKET"])
        self.state = self.home / ".local" / "state"
        self.daemon: Process | None = None

    @property
    def url(self) -> str:
        assert self.daemon is not None
        return self.daemon.url

    def start(self, *args: str) -> Process:
        self.daemon = spawn(
            ["serve", str(self.home / "config.yaml"), *args], cwd=self.home, env=self.env
        )
        _wait_for_models(self.daemon.url)
        return self.daemon

    def stop(self) -> int:
        assert self.daemon is not None
        return self.daemon.stop()

    def call(self, method: str, params: Any = None) -> Any:
        return asyncio.run(call_daemon(self.socket, method, params))

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_EXE, "ctl", *args, "--control-socket", str(self.socket)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def ask(self, kind: str, model: str, prompt: str, *, stream: bool = False) -> None:
        adapter = clients.make(kind, self.url)
        try:
            assert adapter.ask(model, prompt, stream).text.startswith("Echo:")
        finally:
            adapter.close()


@pytest.fixture()
def user(workdir: Path, simulator: Process) -> Iterator[User]:
    person = User(workdir, simulator)
    yield person
    if person.daemon is not None:
        person.daemon.stop()


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_usage_and_history_survive_a_restart_and_no_prompt_is_on_disk(user: User) -> None:
    user.start()
    marker = "zebra-" + secrets.token_hex(8)
    user.ask("openai_chat", GPT, f"{marker} one")
    user.ask("anthropic", CLAUDE, f"{marker} two", stream=True)
    user.ask("openai_chat", GPT, f"{marker} three [[sim:cached=3]]", stream=True)

    listed = user.call("requests.list")["requests"]
    assert [(r["client"], r["argo_model"], r["stream"]) for r in listed] == [
        ("openai-python", "gpt4o", True),
        ("anthropic-python", "claudesonnet46", True),
        ("openai-python", "gpt4o", False),
    ]
    usage = user.call("usage.get")  # at once: the records may still be queued for the disk
    midnight = dt.datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert usage["since"] == midnight.timestamp()  # the default: today, local time
    assert abs(usage["until"] - time.time()) < 60 and usage["by"] == "model"
    gpt = [r for r in listed if r["argo_model"] == "gpt4o"]
    claude = [r for r in listed if r["argo_model"] == "claudesonnet46"]

    def totals(records: list[dict[str, Any]]) -> dict[str, int]:
        fields = ("input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens")
        return {
            "requests": len(records),
            "errors": 0,
            **{name: sum(r[name] for r in records) for name in fields},
            "reasoning_tokens": 0,
            "estimated": 0,
        }

    assert {row["key"]: {k: v for k, v in row.items() if k != "key"} for row in usage["rows"]} == {
        "gpt4o": totals(gpt),
        "claudesonnet46": totals(claude),
    }
    assert usage["total"] == totals(listed)
    assert totals(gpt)["cached_tokens"] == 3

    records = user.state / "argo-proxy" / "requests.sqlite3"
    assert stat.S_IMODE(records.stat().st_mode) == 0o600
    assert stat.S_IMODE(records.parent.stat().st_mode) == 0o700

    def prompt_is_nowhere() -> None:
        files = files_under(user.state)
        assert records in files
        for path in files:
            assert marker.encode() not in path.read_bytes(), f"{path} holds the prompt"

    prompt_is_nowhere()  # the daemon runs: the -wal and -shm files are there too
    assert user.stop() == 0
    prompt_is_nowhere()

    user.start()
    assert user.call("requests.list")["requests"] == listed
    again = user.call("usage.get", {"since": usage["since"]})
    assert (again["rows"], again["total"]) == (usage["rows"], usage["total"])
    by_client = user.call("usage.get", {"by": "client", "since": "1h"})
    assert [(row["key"], row["requests"]) for row in by_client["rows"]] == sorted(
        [("openai-python", 2), ("anthropic-python", 1)],
        key=lambda kv: (
            -sum(r["input_tokens"] + r["output_tokens"] for r in listed if r["client"] == kv[0]),
            kv[0],
        ),
    )
    by_day = user.call("usage.get", {"by": "day", "since": "7d"})
    assert len(by_day["rows"]) == 1 and by_day["total"] == usage["total"]

    body = {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(f"{user.url}/v1/chat/completions", json=body)
    assert response.status_code == 404
    after = user.call("usage.get")
    assert (after["total"]["requests"], after["total"]["errors"]) == (4, 1)
    assert after["rows"][-1]["key"] == "no-such-model"  # no tokens: the last row


def test_bad_usage_params_are_refused_by_name(user: User) -> None:
    user.start()
    for params, named in (
        ({"by": "week"}, "`by`"),
        ({"since": "yesterday"}, "`since`"),
        ({"until": [1]}, "`until`"),
        ({"since": "1h", "until": "2h"}, "`since`"),
        ({"group": "model"}, "`group`"),
    ):
        code, out, err = _ctl_usage(user, params)
        assert code == 1 and out == "", params
        assert named in err and "usage.get" in err, err
    assert user.call("status")["phase"] == "running"


def _ctl_usage(user: User, params: dict[str, Any]) -> tuple[int, str, str]:
    """usage.get with `params` through a raw client (ctl cannot send every mistake)."""

    async def call() -> tuple[int, str, str]:
        from argo_proxy.control.client import ControlClient, RpcError

        client = await ControlClient.connect(user.socket)
        try:
            await client.call("usage.get", params)
        except RpcError as exc:
            assert exc.code == -32602, exc
            return 1, "", f"usage.get: {exc.message}"
        finally:
            await client.close()
        return 0, "", ""

    return asyncio.run(call())


def test_retention_0_writes_no_file_and_counts_from_memory(
    workdir: Path, simulator: Process
) -> None:
    person = User(workdir, simulator, "log_retention_days: 0\n")
    person.start()
    try:
        person.ask("openai_chat", GPT, "not kept on disk")
        usage = person.call("usage.get")
        assert usage["total"]["requests"] == 1
        assert [row["key"] for row in usage["rows"]] == ["gpt4o"]
        assert not (person.state / "argo-proxy" / "requests.sqlite3").exists()
    finally:
        assert person.stop() == 0
    assert not any(path.name.startswith("requests.sqlite3") for path in files_under(person.state))


# --------------------------------------------------------------------- commands


def test_ctl_requests_and_usage_print_tables_and_json(user: User) -> None:
    user.start()
    user.ask("openai_chat", GPT, "table one")
    user.ask("anthropic", CLAUDE, "table two", stream=True)
    missing = httpx.post(
        f"{user.url}/v1/chat/completions",
        json={"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]},
    )
    assert missing.status_code == 404

    shown = user.ctl("requests")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["TIME", "CLIENT", "MODEL", "STATUS", "MS", "IN", "OUT"]
    assert len(lines) == 5  # header, three rows (newest last), the legend of the marks
    assert "openai-python" in lines[1] and f"{GPT} → gpt4o" in lines[1]
    assert " 200 " in lines[1] and not lines[1].endswith("S")
    assert f"{CLAUDE} → claudesonnet46" in lines[2] and lines[2].endswith("S")
    assert "no-such-model" in lines[3] and " 404 " in lines[3] and "httpx" in lines[3]
    assert lines[4].startswith("S: a stream; ~:")
    status_column = lines[0].index("STATUS") + len("STATUS")
    assert {line[status_column - 3 : status_column] for line in lines[1:4]} == {
        "200",
        "404",
    }  # numbers end where their header ends: right-aligned

    as_json = user.ctl("requests", "--json", "-n", "2")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    listed = user.call("requests.list", {"limit": 2})["requests"]
    assert records == list(reversed(listed))

    only_errors = user.ctl("requests", "--status", "error")
    assert [line.split() for line in only_errors.stdout.splitlines()[1:]] == [lines[3].split()]
    by_client = user.ctl("requests", "--client", "anthropic-python", "--json")
    assert [json.loads(line)["argo_model"] for line in by_client.stdout.splitlines()] == [
        "claudesonnet46"
    ]
    assert user.ctl("requests", "--model", "nothing-like-it").stdout == (
        "no requests recorded that match\n"
    )

    table = user.ctl("usage", "--since", "7d")
    assert table.returncode == 0, table.stderr
    head, header, *rows, total, note = table.stdout.splitlines()
    assert head.startswith("usage from ") and head.endswith(", by model")
    # the column holds ARGO's ids, and the name asked for where none was reached
    assert header.split()[:4] == ["ARGO", "MODEL", "REQUESTS", "ERRORS"]
    assert note.startswith("ARGO MODEL: the ARGO model used, else the model asked for")
    assert {row.split()[0] for row in rows} == {"gpt4o", "claudesonnet46", "no-such-model"}
    assert [row.split()[0] for row in rows] != [] and total.split()[:3] == ["TOTAL", "3", "1"]
    usage = json.loads(user.ctl("usage", "--since", "7d", "--json").stdout)
    assert [row.split()[0] for row in rows] == [row["key"] for row in usage["rows"]]
    assert total.split()[3] == f"{usage['total']['input_tokens']:,}"
    assert usage["by"] == "model" and usage["total"]["requests"] == 3
    by_client_usage = json.loads(user.ctl("usage", "--by", "client", "--json").stdout)
    assert {row["key"] for row in by_client_usage["rows"]} == {
        "openai-python",
        "anthropic-python",
        "httpx",
    }

    refused = user.ctl("usage", "--since", "yesterday")
    assert refused.returncode == 1 and "`since` must be" in refused.stderr
    wrong = user.ctl("status", "--by", "day")
    assert wrong.returncode == 2 and "ctl status takes no --by" in wrong.stderr


def test_ctl_requests_and_usage_without_a_daemon_say_so(tmp_path: Path) -> None:
    for command in ("requests", "usage"):
        done = subprocess.run(
            [_EXE, "ctl", command, "--control-socket", str(tmp_path / "none.sock")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1 and done.stdout == ""
        assert "no argo-proxy daemon is running" in done.stderr


class Lines:
    """A process's stdout, line by line, with a timeout per line."""

    def __init__(self, popen: subprocess.Popen[str]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()

        def read() -> None:
            assert popen.stdout is not None
            for line in popen.stdout:
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=read, daemon=True).start()

    def rest(self, timeout: float = 30) -> list[str]:
        """The lines until the output ends."""
        out = []
        while (line := self._lines.get(timeout=timeout)) is not None:
            out.append(line.rstrip("\n"))
        return out

    def next(self, timeout: float = 30) -> str:
        line = self._lines.get(timeout=timeout)
        assert line is not None, "the output ended"
        return line.rstrip("\n")


def _follow(user: User, *args: str) -> tuple[subprocess.Popen[str], Lines]:
    popen = subprocess.Popen(
        [_EXE, "ctl", "requests", "-f", *args, "--control-socket", str(user.socket)],
        env=user.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return popen, Lines(popen)


def _end(popen: subprocess.Popen[str], lines: Lines) -> str:
    """Kill the process if it still runs, close its pipes; its stderr."""
    if popen.poll() is None:
        popen.kill()
        popen.wait()
    lines.rest()
    assert popen.stdout is not None and popen.stderr is not None
    popen.stdout.close()
    with popen.stderr:
        return popen.stderr.read()


def test_ctl_requests_follow_prints_each_new_request_until_ctrl_c(user: User) -> None:
    user.start()
    popen, lines = _follow(user)
    try:
        assert lines.next().startswith("new requests are added as they finish; Ctrl-C to stop")
        assert lines.next().split()[:3] == ["TIME", "CLIENT", "MODEL"]
        user.ask("openai_chat", GPT, "followed")
        row = lines.next()
        assert "openai-python" in row and f"{GPT} → gpt4o" in row and " 200 " in row
        user.ask("anthropic", CLAUDE, "followed too", stream=True)
        row = lines.next()
        assert f"{CLAUDE} → claudesonnet46" in row and row.endswith("S")
        popen.send_signal(signal.SIGINT)
        assert popen.wait(30) == 0
    finally:
        assert "Traceback" not in _end(popen, lines)


def test_ctl_requests_follow_json_prints_one_record_a_line(user: User) -> None:
    user.start()
    user.ask("openai_chat", GPT, "before")
    popen, lines = _follow(user, "--json", "-n", "1")
    try:
        first = json.loads(lines.next())  # the newest so far: it is listening now
        assert first["model"] == GPT
        user.ask("anthropic", CLAUDE, "after", stream=True)
        second = json.loads(lines.next())
        assert (second["model"], second["stream"]) == (CLAUDE, True)
        assert user.call("requests.get", {"id": second["id"]}) == second
        os.kill(popen.pid, signal.SIGINT)
        assert popen.wait(30) == 0
    finally:
        assert "Traceback" not in _end(popen, lines)


def test_an_unusable_file_leaves_records_in_memory_and_the_daemon_serving(user: User) -> None:
    folder = user.state / "argo-proxy"
    folder.mkdir(parents=True, mode=0o700)
    (folder / "requests.sqlite3").write_bytes(b"not a database, " * 512)
    daemon = user.start()
    line = daemon.wait_for_line("request records are kept in memory only")
    assert "requests.sqlite3" in line
    user.ask("openai_chat", GPT, "still served")
    assert user.call("usage.get")["total"]["requests"] == 1
    assert [r["model"] for r in user.call("requests.list")["requests"]] == [GPT]
    assert user.stop() == 0
    assert (folder / "requests.sqlite3").read_bytes() == b"not a database, " * 512


def test_a_reload_of_log_retention_days_closes_and_reopens_the_file(user: User) -> None:
    user.start("--no-watch")
    user.ask("openai_chat", GPT, "kept")
    records = user.state / "argo-proxy" / "requests.sqlite3"
    assert records.exists()
    config = user.home / "config.yaml"
    original = config.read_text()

    config.write_text(original + "log_retention_days: 0\n")
    report = user.call("config.reload")
    assert report["ok"] and "request records are not kept on disk" in report["actions"]
    assert not any(path.name.startswith("requests.sqlite3") for path in files_under(user.state))
    user.ask("openai_chat", GPT, "in memory only")
    assert user.call("usage.get")["total"]["requests"] == 2  # the ring still has both

    config.write_text(original + "log_retention_days: 5\n")
    report = user.call("config.reload")
    assert "request records are kept on disk for 5 days" in report["actions"]
    user.ask("anthropic", CLAUDE, "on disk again")
    assert user.stop() == 0
    user.start("--no-watch")
    assert [r["model"] for r in user.call("requests.list")["requests"]] == [CLAUDE]
