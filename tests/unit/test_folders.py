"""Folders and files the daemon trusts (daemon/folders.py): the user's own, closed to
others; and where they are used: the control socket, the token, the config file, the
records, dumps and log (docs/security.md#private-folders).

"Another user" is uid 65534 (nobody): making a folder theirs takes chown, so those
tests need root (as the test machines run); the rest run as anyone.
"""

from __future__ import annotations

import grp
import logging
import os
import stat
import tempfile
from pathlib import Path

import pytest

from argo_proxy.control.client import ControlClient, DaemonNotRunning
from argo_proxy.control.runtime import Runtime, RuntimeOptions
from argo_proxy.daemon import folders
from argo_proxy.daemon.access import read_or_create_token, write_new_token
from argo_proxy.daemon.config import control_socket_path, load_config
from argo_proxy.daemon.errors import ConfigError, FolderError
from argo_proxy.daemon.record_store import RecordStore, StoreUnavailable

NOBODY = 65534
needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="giving a folder to another user needs root"
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def folder(path: Path, perms: int, owner: int | None = None, group: int = -1) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(perms)
    if owner is not None or group != -1:
        os.chown(path, -1 if owner is None else owner, group)
    return path


def own(path: Path, create: bool = True) -> Path | None:
    return folders.own_folder(path, "the test folder", "do something", create=create)


# ------------------------------------------------------------------------- folders


def test_a_missing_folder_is_made_0700_with_its_missing_parents(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"
    assert own(target) == target
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", target)] == [0o700] * 3


def test_a_client_does_not_make_a_missing_folder(tmp_path: Path) -> None:
    assert own(tmp_path / "missing", create=False) is None
    assert not (tmp_path / "missing").exists()


def test_a_folder_others_can_write_is_refused_with_its_mode(tmp_path: Path) -> None:
    target = folder(tmp_path / "open", 0o777)
    with pytest.raises(FolderError) as refused:
        own(target)
    assert refused.value.message == (
        f"the test folder {target} can be written by other users (mode 0777): do something"
    )
    inside = tmp_path / "open" / "inside"
    with pytest.raises(FolderError, match=f"is inside {target}, which other users can write"):
        own(inside)
    assert not inside.exists()  # nothing is made below a folder others control
    with pytest.raises(FolderError):
        own(inside, create=False)  # and a client does not trust it either


def test_a_sticky_folder_above_is_fine_but_not_as_the_folder_itself(tmp_path: Path) -> None:
    sticky = folder(tmp_path / "tmp", 0o1777)
    assert own(sticky / "mine") == sticky / "mine"
    with pytest.raises(FolderError, match="can be written by other users \\(mode 1777\\)"):
        own(sticky)


@needs_root
def test_a_folder_of_another_user_is_refused_here_or_above(tmp_path: Path) -> None:
    theirs = folder(tmp_path / "theirs", 0o700, NOBODY)
    with pytest.raises(FolderError, match=r"belongs to uid 65534 \(\w+\), not to you"):
        own(theirs)
    with pytest.raises(FolderError, match=f"is inside {theirs}, a folder that belongs to uid"):
        own(theirs / "sub")
    # In a sticky folder such as /tmp, another user's entry is refused all the same.
    sticky = folder(tmp_path / "tmp", 0o1777)
    planted = folder(sticky / "runtime-0", 0o755, NOBODY)
    with pytest.raises(FolderError, match="a folder that belongs to uid 65534"):
        own(planted / "argo-proxy")


@needs_root
def test_links_on_the_way_are_followed_and_must_be_trusted(tmp_path: Path) -> None:
    real = folder(tmp_path / "real", 0o700)
    (tmp_path / "link").symlink_to(real)
    assert own(tmp_path / "link" / "sub") == real / "sub"
    assert own(tmp_path / "link") == real  # dotfiles often link the config folder
    sticky = folder(tmp_path / "tmp", 0o1777)
    (sticky / "planted").symlink_to(real)
    os.lchown(sticky / "planted", NOBODY, -1)
    with pytest.raises(FolderError, match="a link that belongs to uid 65534"):
        own(sticky / "planted" / "sub")


def test_too_many_links_are_refused(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(FolderError, match="too many symbolic links"):
        own(tmp_path / "loop" / "sub")


def test_a_file_where_a_folder_belongs_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(FolderError, match="is not a folder"):
        own(tmp_path / "file")
    with pytest.raises(FolderError, match="which is not a folder"):
        own(tmp_path / "file" / "sub")


@needs_root
def test_a_group_others_share_may_not_write_the_users_own_may(tmp_path: Path) -> None:
    shared = folder(tmp_path / "shared", 0o770, group=NOBODY)
    with pytest.raises(FolderError, match="mode 0770"):
        own(shared)
    if grp.getgrgid(0).gr_name != "root" or grp.getgrgid(0).gr_mem:
        pytest.skip("root's group is not a private group here")
    assert own(folder(tmp_path / "private-group", 0o770, group=0)) is not None


def test_a_private_folder_found_open_is_closed_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    target = folder(tmp_path / "secrets", 0o755)
    with caplog.at_level(logging.WARNING):
        folders.private_folder(target, "the test folder", "do something")
    assert mode(target) == 0o700
    assert f"made {target} private (mode 0700; it was 0755)" in caplog.text


# --------------------------------------------------------------------------- files


def file(path: Path, perms: int, owner: int | None = None) -> Path:
    path.write_text("user: jdoe\n")
    path.chmod(perms)
    if owner is not None:
        os.chown(path, owner, -1)
    return path


def test_a_file_others_can_write_is_refused(tmp_path: Path) -> None:
    path = file(tmp_path / "config.yaml", 0o666)
    with pytest.raises(FolderError, match="the config file .* can be written by other users"):
        load_config(path, environ={})
    path.chmod(0o644)
    assert load_config(path, environ={}).user == "jdoe"
    folder(tmp_path, 0o777)
    try:
        with pytest.raises(FolderError, match="other users can write to \\(mode 0777\\)"):
            load_config(path, environ={})
    finally:
        tmp_path.chmod(0o700)


@needs_root
def test_a_config_file_of_another_user_is_refused_even_in_tmp(tmp_path: Path) -> None:
    sticky = folder(tmp_path / "tmp", 0o1777)
    mine = file(sticky / "mine.yaml", 0o644)
    assert load_config(mine, environ={}).user == "jdoe"  # /tmp protects it: it is mine
    planted = file(sticky / "config.yaml", 0o644, NOBODY)
    with pytest.raises(FolderError) as refused:
        load_config(planted, environ={})
    assert "the config file" in refused.value.message
    assert "belongs to uid 65534" in refused.value.message
    assert "another user could change where argo-proxy sends your requests" in (
        refused.value.message
    )
    assert isinstance(refused.value, ConfigError)  # `config validate` and reloads refuse it


# ---------------------------------------------------------------------- the token


def test_a_token_folder_found_0755_is_made_0700(tmp_path: Path) -> None:
    token_dir = folder(tmp_path / "argo-proxy", 0o755)
    read_or_create_token(token_dir / "token")
    assert mode(token_dir) == 0o700
    token_dir.chmod(0o750)
    write_new_token(token_dir / "token")
    assert mode(token_dir) == 0o700


def test_the_home_folder_itself_is_not_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = folder(tmp_path / "home", 0o755)
    monkeypatch.setenv("HOME", str(home))
    read_or_create_token(home / "token")
    assert mode(home) == 0o755 and mode(home / "token") == 0o600


@needs_root
def test_a_token_folder_or_file_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = folder(tmp_path / "theirs", 0o700, NOBODY)
    with pytest.raises(FolderError, match="the access token's folder .* belongs to uid 65534"):
        read_or_create_token(theirs / "token")
    assert not (theirs / "token").exists()
    mine = folder(tmp_path / "mine", 0o700)
    file(mine / "token", 0o600, NOBODY)
    with pytest.raises(FolderError, match="its owner knows the token"):
        read_or_create_token(mine / "token")


# ------------------------------------------------------------- the control socket


@needs_root
def test_the_runtime_directory_fallback_of_another_user_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """XDG_RUNTIME_DIR unset: platformdirs falls back to $TMPDIR/runtime-<uid>, a name
    another user can take first."""
    temp = folder(tmp_path / "tmp", 0o1777)
    folder(temp / f"runtime-{os.geteuid()}", 0o700, NOBODY)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    if Path(f"/run/user/{os.geteuid()}").exists():
        pytest.skip("/run/user/<uid> exists: platformdirs uses it, not the fallback")
    with pytest.raises(FolderError) as refused:
        control_socket_path(environ={})
    message = refused.value.message
    assert message.startswith("the user runtime directory cannot be used (runtime directory ")
    assert f"runtime-{os.geteuid()} is owned by uid {NOBODY}, not {os.geteuid()}):" in message
    assert "Set XDG_RUNTIME_DIR to a folder of your own" in message


@needs_root
async def test_the_daemon_and_its_clients_refuse_another_users_socket_folder(
    tmp_path: Path,
) -> None:
    theirs = folder(tmp_path / "theirs", 0o755, NOBODY)
    config = load_config(environ={}, search=False, overrides={"port": 0})
    runtime = Runtime(config, RuntimeOptions(control_socket=theirs / "c.sock", watch=False))
    with pytest.raises(FolderError, match="the control socket's folder .* belongs to uid"):
        await runtime.startup()
    assert not (theirs / "c.sock.lock").exists()
    with pytest.raises(FolderError, match="stand in for your daemon"):
        await ControlClient.connect(theirs / "c.sock")


@needs_root
async def test_a_client_does_not_talk_to_another_users_socket(tmp_path: Path) -> None:
    import socket

    mine = folder(tmp_path / "mine", 0o700)
    with socket.socket(socket.AF_UNIX) as planted:
        planted.bind(str(mine / "c.sock"))
        planted.listen()
        os.chown(mine / "c.sock", NOBODY, -1)
        with pytest.raises(FolderError, match="the control socket .* belongs to uid 65534"):
            await ControlClient.connect(mine / "c.sock")
    with pytest.raises(DaemonNotRunning):
        await ControlClient.connect(mine / "gone.sock")


# ------------------------------------------------------------------ state folders


@needs_root
def test_another_users_records_folder_keeps_records_in_memory_only(tmp_path: Path) -> None:
    theirs = folder(tmp_path / "state", 0o700, NOBODY)
    with pytest.raises(StoreUnavailable, match="the request records' folder .* uid 65534"):
        RecordStore.open(theirs / "requests.sqlite3", 30)
