"""The commands that make the token invisible in daily use (`argo-proxy token`, `env`,
`run`), and the listen settings that keep the daemon the user's own: `--port auto`
for a second user on the same host, the shell's HOST ignored, a network listen
without authentication refused, and the HTTP API on an owner-only Unix socket."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from . import api
from .conftest import _EXE, Process, StartDaemon, clean_env, new_user, spawn

CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def cli(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_EXE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def user_env(daemon: Process, workdir: Path) -> dict[str, str]:
    """The environment of the user who runs `daemon` (same home, its control socket)."""
    env = clean_env(workdir)
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(daemon.control_socket)
    return env


def test_token_prints_the_token_the_daemon_requires(daemon: Process, workdir: Path) -> None:
    done = cli("token", env=user_env(daemon, workdir))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{api.TOKEN}\n"


def test_rotate_takes_effect_in_the_running_daemon_at_once(
    start_daemon: StartDaemon, workdir: Path, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    daemon = start_daemon(f"token_file: {token_file}\n")
    env = user_env(daemon, workdir)
    old = cli("token", env=env).stdout.strip()
    assert old == token_file.read_text().strip()
    rotated = cli("token", "--rotate", env=env)
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip()
    assert new != old and new == token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    url = f"{daemon.url}/v1/chat/completions"
    assert httpx.post(url, json=CHAT, headers={"x-api-key": old}).status_code == 401
    assert httpx.post(url, json=CHAT, headers={"x-api-key": new}).status_code == 200


def test_env_prints_every_clients_variables_in_each_shell(daemon: Process, workdir: Path) -> None:
    env = user_env(daemon, workdir)
    as_json = json.loads(cli("env", "--json", env=env).stdout)
    assert as_json["base_url"] == daemon.url and as_json["running"] is True
    variables = as_json["variables"]
    assert variables["OPENAI_BASE_URL"] == f"{daemon.url}/v1"
    assert variables["ANTHROPIC_BASE_URL"] == daemon.url
    assert variables["GOOGLE_GEMINI_BASE_URL"] == daemon.url
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "ARGO_PROXY_TOKEN"):
        assert variables[name] == api.TOKEN
    sh = cli("env", env=env).stdout
    assert f"export ANTHROPIC_API_KEY={api.TOKEN}" in sh
    # what a shell makes of it is what the daemon needs
    probe = subprocess.run(
        ["sh", "-c", f'{sh}\nprintf "%s %s" "$OPENAI_BASE_URL" "$OPENAI_API_KEY"'],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert probe.stdout == f"{daemon.url}/v1 {api.TOKEN}"
    assert f"set -gx OPENAI_API_KEY '{api.TOKEN}'" in cli("env", "--shell", "fish", env=env).stdout
    powershell = cli("env", "--shell", "powershell", env=env).stdout
    assert f"$env:GEMINI_API_KEY = '{api.TOKEN}'" in powershell


def test_run_starts_a_real_client_with_the_daemon_wired(daemon: Process, workdir: Path) -> None:
    program = (
        "import openai\n"
        "client = openai.OpenAI(max_retries=0)\n"  # base URL and key from the environment
        "reply = client.chat.completions.create(model='argo:gpt-4o',"
        " messages=[{'role': 'user', 'content': 'through run'}])\n"
        "print(reply.choices[0].message.content)\n"
    )
    env = {k: v for k, v in user_env(daemon, workdir).items() if not k.startswith("OPENAI_")}
    done = cli("run", "--", sys.executable, "-c", program, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Echo: through run"
    failing = cli("run", "--", sys.executable, "-c", "raise SystemExit(7)", env=env)
    assert failing.returncode == 7  # the command's own exit code


def test_env_without_a_daemon_uses_the_config_and_says_so(workdir: Path) -> None:
    home, env = new_user(workdir, "nodaemon", "port: 45123\n")
    done = cli("env", "--json", str(home / "config.yaml"), env=env)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["running"] is False and payload["base_url"] == "http://127.0.0.1:45123"
    token = (home / ".config" / "argo-proxy" / "token").read_text().strip()
    assert payload["variables"]["OPENAI_API_KEY"] == token
    assert "no daemon is running" in done.stderr


def test_env_run_and_setup_need_a_tcp_port(workdir: Path) -> None:
    """With `tcp: false` there is no address to hand a client: each command says so."""
    home, env = new_user(workdir, "socketonly", "tcp: false\nsocket: api.sock\n")
    config = str(home / "config.yaml")
    for args, why in (
        (("env", config), "clients must use its socket"),
        (("run", "--config", config, "--", "true"), "clients must use its socket"),
        (("setup", "codex", "--dry-run", "--config", config), "the assistants need one"),
    ):
        done = cli(*args, env=env)
        assert done.returncode == 1, (args, done.stderr)
        assert f"the daemon serves no TCP port (`tcp: false`); {why}" in done.stderr, args
        assert done.stdout == "", args


def test_token_without_a_daemon_says_which_token_it_printed(workdir: Path) -> None:
    home, env = new_user(workdir, "tokenonly", "port: 45124\n")
    done = cli("token", str(home / "config.yaml"), env=env)
    assert done.returncode == 0, done.stderr
    token_file = home / ".config" / "argo-proxy" / "token"
    assert done.stdout == token_file.read_text()  # made on first use
    assert done.stderr == (
        "argo-proxy: no daemon is running (start it with `argo-proxy serve`); this is the "
        f"token in {token_file}, which the daemon requires once it runs\n"
    )


# --------------------------------------------------------------- listen settings


def test_a_second_user_on_the_same_port_moves_with_port_auto(
    daemon: Process, workdir: Path, simulator: Process
) -> None:
    taken = daemon.url.rsplit(":", 1)[1]
    home, env = new_user(
        workdir, "seconduser", f"user: asmith\nport: {taken}\nargo_base_url: {simulator.url}\n"
    )
    second = spawn(["serve", str(home / "config.yaml"), "--port", "auto"], cwd=home, env=env)
    try:
        assert second.url != daemon.url
        assert f"port {taken} on 127.0.0.1 is taken by another argo-proxy daemon" in second.log
        wired = json.loads(cli("env", "--json", env=env).stdout)
        assert wired["base_url"] == second.url
        token = (home / ".config" / "argo-proxy" / "token").read_text().strip()
        assert token != api.TOKEN  # each user has their own
        status = json.loads(cli("ctl", "status", "--json", env=env).stdout)
        assert status["pid"] == second.popen.pid  # ctl reaches the user's own daemon
        # the first user's token does not open the second user's daemon
        url = f"{second.url}/v1/chat/completions"
        assert httpx.post(url, json=CHAT, headers={"x-api-key": api.TOKEN}).status_code == 401
        assert httpx.post(url, json=CHAT, headers={"x-api-key": token}).status_code == 200
    finally:
        assert second.stop() == 0


def test_the_shells_host_variable_is_not_a_listen_address(workdir: Path) -> None:
    home, env = new_user(workdir, "tcsh", "port: 0\n")
    env["HOST"] = "0.0.0.0"  # tcsh exports the machine's name as HOST on many hosts
    daemon = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env)
    try:
        assert daemon.url.startswith("http://127.0.0.1:")
    finally:
        daemon.stop()


def test_a_network_listen_without_auth_is_refused_unless_confirmed(workdir: Path) -> None:
    home, env = new_user(workdir, "network", "port: 0\nauth: none\n")
    env["ARGO_PROXY_HOST"] = "0.0.0.0"
    refused = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env, wait_for_url=False)
    assert refused.popen.wait(30) == 3
    refused.stop()
    assert "allow_insecure_network: true" in refused.log
    confirmed = spawn(
        ["serve", str(home / "config.yaml"), "--allow-insecure-network"], cwd=home, env=env
    )
    try:
        assert "listening on http://0.0.0.0:" in confirmed.log
        assert "which other machines can reach: WITHOUT authentication" in confirmed.log
    finally:
        confirmed.stop()


def test_the_api_on_an_owner_only_unix_socket(workdir: Path, simulator: Process) -> None:
    home, env = new_user(
        workdir, "unixsocket", f"user: jdoe\nport: 0\nargo_base_url: {simulator.url}\n"
    )
    path = home / "api.sock"
    daemon = spawn(["serve", str(home / "config.yaml"), "--socket", str(path)], cwd=home, env=env)
    try:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        daemon.wait_for_line(f"listening on unix:{path}")
        transport = httpx.HTTPTransport(uds=str(path))
        with httpx.Client(transport=transport, base_url="http://localhost", timeout=10) as client:
            # The socket's file mode is the access control: no token needed there.
            reply = client.post("/v1/chat/completions", json=CHAT)
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["message"]["content"] == "Echo: hi"
            # ... but a page still cannot use it
            page = client.post("/v1/chat/completions", json=CHAT, headers={"origin": "null"})
            assert page.status_code == 403
        # The TCP port still asks for the token.
        assert httpx.post(f"{daemon.url}/v1/chat/completions", json=CHAT).status_code == 401
    finally:
        assert daemon.stop() == 0
    assert not path.exists()
