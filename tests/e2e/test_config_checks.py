"""Config values and the folders the daemon trusts, with real processes
(docs/configuration.md#what-each-value-accepts, docs/security.md#private-folders):

- a number that is not finite (`request_timeout: .nan`) or a file that is not UTF-8 is
  refused by `config validate`, by a start (exit 3) and by a reload, which keeps the
  last good config and says why in `ctl status` and `ctl reload`;
- a runtime folder another user created first (`/tmp/runtime-<uid>`, as platformdirs
  names it when XDG_RUNTIME_DIR is unset) stops `serve`, `token`, `env`, `run` and
  `ctl` with a message and exit 3, for root (the folder given to uid 65534) and for an
  ordinary user (the daemon run as uid 65534 with setpriv);
- a token folder found 0755 is made 0700.

The Host checks are in test_access.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import api
from .conftest import _EXE, Process, StartDaemon, clean_env, new_user, spawn

NOBODY = 65534
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="giving a folder to another user (chown) needs root"
)
CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
UTF16 = "user: jdoe\nport: 0\n".encode("utf-16")  # starts with the bytes FF FE


def run(
    *args: str, cwd: Path, env: dict[str, str], as_user: int | None = None
) -> subprocess.CompletedProcess[str]:
    """`argo-proxy ARGS` to its end (a refused start ends at once); as uid `as_user`."""
    prefix = []
    if as_user is not None:
        prefix = ["setpriv", f"--reuid={as_user}", f"--regid={as_user}", "--clear-groups"]
    return subprocess.run(
        [*prefix, _EXE, *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def rewrite(path: Path, data: bytes) -> None:
    """Save as editors do: a temporary file renamed over the config."""
    temporary = path.with_name(f".{path.name}.swp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# ------------------------------------------------------------------ bad values


NAN = "`request_timeout` must be a number of seconds more than 0 and at most 86400; got nan"


def test_nan_is_refused_by_validate_by_a_start_and_from_the_environment(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    (tmp_path / "nan.yaml").write_text("user: jdoe\nport: 0\nrequest_timeout: .nan\n")
    refused(run("config", "validate", "nan.yaml", cwd=tmp_path, env=env), 1, f"nan.yaml:3: {NAN}")
    refused(run("serve", "nan.yaml", cwd=tmp_path, env=env), 3, f"nan.yaml:3: {NAN}")

    (tmp_path / "good.yaml").write_text("user: jdoe\nport: 0\n")
    env["ARGO_PROXY_READ_TIMEOUT"] = "nan"
    refused(
        run("serve", "good.yaml", cwd=tmp_path, env=env),
        3,
        f"environment variable ARGO_PROXY_READ_TIMEOUT: {NAN.removesuffix('nan')}'nan'",
    )


def test_a_utf16_file_is_refused_by_validate_and_by_a_start(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    (tmp_path / "utf16.yaml").write_bytes(UTF16)
    message = "utf16.yaml: the config file is not UTF-8 text: byte 0xff at offset 0"
    refused(run("config", "validate", "utf16.yaml", cwd=tmp_path, env=env), 1, message)
    refused(run("serve", "utf16.yaml", cwd=tmp_path, env=env), 3, message, "save it as UTF-8")


def ctl(daemon: Process, workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(workdir)
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(daemon.control_socket)
    return run("ctl", *args, cwd=workdir, env=env)


BAD_FILES = {  # the good file's text → a bad file, and what the refusal says
    "nan": (
        lambda text: text.replace("request_timeout: 30", "request_timeout: .nan").encode(),
        NAN,
    ),
    "utf-16": (
        lambda text: text.encode("utf-16"),
        "the config file is not UTF-8 text: byte 0xff at offset 0",
    ),
}


@pytest.mark.parametrize("bad", list(BAD_FILES))
def test_a_reload_to_a_bad_file_keeps_the_last_good_config_and_says_why(
    start_daemon: StartDaemon, workdir: Path, bad: str
) -> None:
    daemon = start_daemon("request_timeout: 30\n")
    assert daemon.control_socket is not None
    config = daemon.control_socket.parent / "config.yaml"
    good = config.read_bytes()
    spoil, message = BAD_FILES[bad]
    rewrite(config, spoil(good.decode()))

    # The watcher refuses it: logged, no traceback, and `status` tells (not a stale report).
    daemon.wait_for_line(f"config not reloaded: {config}")
    assert message in daemon.wait_for_line("config not reloaded")
    status = json.loads(ctl(daemon, workdir, "status", "--json").stdout)
    assert status["last_reload"]["ok"] is False
    assert status["last_reload"]["trigger"] == "watch"
    assert message in status["last_reload"]["message"]
    shown = json.loads(ctl(daemon, workdir, "config", "--json").stdout)
    assert shown["config"]["request_timeout"] == 30  # the last good config
    reply = api.post(f"{daemon.url}/v1/chat/completions", json=CHAT, timeout=30)
    assert reply.status_code == 200, reply.text  # not a 500 on every request

    # `ctl reload` says the same, as a refusal (exit 1), not as an internal error.
    result = ctl(daemon, workdir, "reload")
    refused(result, 1, "config not reloaded: ", message, "(the last good config stays)")
    assert "internal error" not in result.stderr

    # A good file is taken again.
    rewrite(config, good.replace(b"request_timeout: 30", b"request_timeout: 40"))
    daemon.wait_for_line("config reloaded (watch): request_timeout changed")
    shown = json.loads(ctl(daemon, workdir, "config", "--json").stdout)
    assert shown["config"]["request_timeout"] == 40
    assert "Traceback" not in daemon.log


# ---------------------------------------------------------------- the runtime folder

CLIENT_COMMANDS = [["token"], ["env"], ["run", "--", "true"], ["ctl", "status"]]
RUNTIME_REFUSED = "the user runtime directory cannot be used (runtime directory "
HINT = "Set XDG_RUNTIME_DIR to a folder of your own (mode 0700)"


@pytest.fixture()
def shared_tmp() -> Iterator[Path]:
    """A folder like /tmp (sticky, open to all) that uid 65534 can reach: pytest's own
    temporary folders are private to root."""
    folder = Path(tempfile.mkdtemp(prefix="argo-proxy-e2e-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def fallback_env(home: Path, temp: Path) -> dict[str, str]:
    """No XDG_RUNTIME_DIR: platformdirs uses $TMPDIR/runtime-<uid>."""
    env = clean_env(home)
    del env["XDG_RUNTIME_DIR"]
    env["TMPDIR"] = str(temp)
    return env


def no_run_user_dir(uid: int) -> None:
    if Path(f"/run/user/{uid}").exists():
        pytest.skip(f"/run/user/{uid} exists: platformdirs uses it, not the /tmp fallback")


@needs_root
def test_a_runtime_folder_another_user_made_first_stops_every_command(
    shared_tmp: Path,
) -> None:
    uid = os.geteuid()
    no_run_user_dir(uid)
    planted = shared_tmp / f"runtime-{uid}"
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    os.chown(planted, NOBODY, NOBODY)  # the other user was first
    home = shared_tmp / "home"
    home.mkdir(mode=0o700)
    env = fallback_env(home, shared_tmp)
    for command in [["serve", "--port", "0"], *CLIENT_COMMANDS]:
        result = run(*command, cwd=home, env=env)
        refused(result, 3, RUNTIME_REFUSED, f"is owned by uid {NOBODY}, not {uid}", HINT)
    assert list(planted.iterdir()) == []  # nothing of ours went into their folder


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="running the daemon as another user needs root and setpriv",
)
def test_an_ordinary_user_whose_runtime_folder_someone_else_made_is_refused(
    shared_tmp: Path,
) -> None:
    """The probe's case: uid 65534 starts argo-proxy after someone else (here root, the
    only other user a test can be) created /tmp/runtime-65534."""
    no_run_user_dir(NOBODY)
    planted = shared_tmp / f"runtime-{NOBODY}"
    planted.mkdir(mode=0o755)
    home = shared_tmp / "nobody"
    home.mkdir(mode=0o700)
    os.chown(home, NOBODY, NOBODY)
    env = fallback_env(home, shared_tmp)
    for command in [["serve", "--port", "0"], *CLIENT_COMMANDS]:
        result = run(*command, cwd=home, env=env, as_user=NOBODY)
        refused(result, 3, RUNTIME_REFUSED, f"is owned by uid 0, not {NOBODY}", HINT)

    # Once the folder is theirs, the same user starts (and then stops) normally.
    planted.rmdir()
    daemon = spawn(
        ["serve", "--port", "0", "--no-watch"],
        cwd=home,
        env=env,
        prefix=("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"),
    )
    try:
        folder = planted / "argo-proxy"
        assert folder.stat().st_uid == NOBODY and stat.S_IMODE(folder.stat().st_mode) == 0o700
        result = run("ctl", "status", cwd=home, env=env, as_user=NOBODY)
        assert result.returncode == 0 and daemon.url in result.stdout, result.stderr
    finally:
        assert daemon.stop() == 0


@needs_root
def test_a_control_socket_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, NOBODY, NOBODY)
    env = clean_env(tmp_path)
    env["ARGO_PROXY_CONTROL_SOCKET"] = str(theirs / "control.sock")
    message = f"the control socket's folder {theirs} belongs to uid {NOBODY}"
    refused(run("serve", "--port", "0", cwd=tmp_path, env=env), 3, message)
    for command in CLIENT_COMMANDS:
        refused(run(*command, cwd=tmp_path, env=env), 3, message)
    assert list(theirs.iterdir()) == []


@needs_root
def test_a_config_file_another_user_left_in_tmp_is_not_read(shared_tmp: Path) -> None:
    planted = shared_tmp / "config.yaml"
    planted.write_text("user: jdoe\nport: 0\nargo_base_url: http://attacker.invalid\n")
    os.chown(planted, NOBODY, NOBODY)
    env = clean_env(shared_tmp)
    message = f"the config file {planted} belongs to uid {NOBODY}"
    refused(run("serve", cwd=shared_tmp, env=env), 3, message)  # found as ./config.yaml
    refused(run("config", "validate", cwd=shared_tmp, env=env), 1, message)


# ------------------------------------------------------------------ the token folder


def test_a_token_folder_found_0755_is_made_0700(workdir: Path, simulator: Process) -> None:
    home, env = new_user(
        workdir, "openfolder", f"user: jdoe\nport: 0\nargo_base_url: {simulator.url}\n"
    )
    folder = home / ".config" / "argo-proxy"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    result = run("token", cwd=home, env=env)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "token").stat().st_mode) == 0o600

    folder.chmod(0o755)  # and the daemon does the same at its start
    daemon = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env)
    try:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert f"made {folder} private (mode 0700; it was 0755)" in daemon.log
    finally:
        assert daemon.stop() == 0
