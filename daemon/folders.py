"""Folders and files the daemon trusts: they must be the user's own, and closed to others.

The control socket, the access token, the config file, the request records, dumps and
log all live in folders whose names another user can guess: `/tmp/runtime-<uid>` when
`XDG_RUNTIME_DIR` is unset, a shared `dump_dir`, a `./config.yaml` in `/tmp`. Whoever
controls such a folder can put a socket of their own where `argo-proxy ctl` and `env`
look for the daemon, replace the token with one they know, or point the daemon at
their own "ARGO" (docs/security.md#private-folders). So, before using one:

- every folder above it must belong to the user or to root, and none may be writable
  by another user, unless it is sticky (as `/tmp` is: there only an entry's owner can
  rename or delete it, and the entries below are checked in turn); a symbolic link on
  the way must belong to the user or root, and is followed;
- the folder itself must belong to the user and be writable by no one else; a missing
  one is created with mode 0700 (and so are missing folders above it). Folders that
  hold secrets are also made 0700 when they are found open (`private_folder`);
- a file must belong to the user (or root) and be writable by no one else.

"Writable by another user" means the write bit for others, or for a group other than
the user's own private group (the one named after them that has no other member, as
systems with a umask of 002 give every user). Anything else is a FolderError naming the
path, its owner or mode, and what to do.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import deque
from pathlib import Path

from .errors import FolderError

__all__ = ["FolderError", "own_folder", "private_folder", "trusted_file"]

log = logging.getLogger(__name__)

_MAX_LINKS = 40  # as the kernel's own limit on links in one path


def _euid() -> int:
    return os.geteuid()


def _owner(uid: int) -> str:
    try:
        import pwd

        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _own_private_group(gid: int) -> bool:
    """Whether `gid` is the user's private group: their primary group, named after them,
    with no other member."""
    try:
        import grp
        import pwd

        user = pwd.getpwuid(_euid())
        group = grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return (
        gid == user.pw_gid and group.gr_name == user.pw_name and set(group.gr_mem) <= {user.pw_name}
    )


def _writable_by_others(info: os.stat_result) -> bool:
    if info.st_mode & stat.S_IWOTH:
        return True
    return bool(info.st_mode & stat.S_IWGRP) and not _own_private_group(info.st_gid)


def _refuse(what: str, path: Path, problem: str, hint: str) -> FolderError:
    return FolderError(f"{what} {path} {problem}: {hint}")


def _walk(path: Path, what: str, hint: str) -> tuple[Path, deque[str]]:
    """Check every folder and link on the way to `path`, following links.

    Returns the real folder reached and what is left of the path: `path`'s own last
    name (not yet looked at), more names when folders above it are missing, nothing
    when `path` is the root.
    """
    trusted = {0, _euid()}
    current = Path("/")
    pending: deque[str] = deque(Path(os.path.normpath(path.absolute())).parts[1:])
    links = 0
    while pending:
        entry = current / pending[0]
        try:
            info = os.lstat(entry)
        except FileNotFoundError:
            break
        except OSError as exc:
            problem = f"cannot be checked ({entry}: {exc.strerror})"
            raise _refuse(what, path, problem, hint) from exc
        is_link = stat.S_ISLNK(info.st_mode)
        if len(pending) == 1 and not is_link:
            break  # the folder or file itself: the caller's rules
        if info.st_uid not in trusted:
            where = (
                f"is reached through {entry}, a link" if is_link else f"is inside {entry}, a folder"
            )
            problem = f"{where} that belongs to {_owner(info.st_uid)}"
            raise _refuse(what, path, problem, hint)
        pending.popleft()
        if is_link:
            links += 1
            if links > _MAX_LINKS:
                raise _refuse(what, path, "goes through too many symbolic links", hint)
            target = Path(os.readlink(entry))
            if target.is_absolute():
                current = Path("/")
            pending.extendleft(reversed(target.parts[1 if target.is_absolute() else 0 :]))
            continue
        if not stat.S_ISDIR(info.st_mode):
            raise _refuse(what, path, f"is inside {entry}, which is not a folder", hint)
        if _writable_by_others(info) and not info.st_mode & stat.S_ISVTX:
            mode = stat.S_IMODE(info.st_mode)
            problem = f"is inside {entry}, which other users can write to (mode {mode:04o})"
            raise _refuse(what, path, problem, hint)
        current = entry
    return current, pending


def _check_owned(info: os.stat_result, owners: set[int], what: str, path: Path, hint: str) -> None:
    if info.st_uid not in owners:
        raise _refuse(what, path, f"belongs to {_owner(info.st_uid)}, not to you", hint)
    if _writable_by_others(info):
        mode = stat.S_IMODE(info.st_mode)
        raise _refuse(what, path, f"can be written by other users (mode {mode:04o})", hint)


def _folder(path: Path, what: str, hint: str, *, create: bool) -> Path | None:
    """The checked real folder at `path`; None if it is missing and not `create`d."""
    current, pending = _walk(path, what, hint)
    if len(pending) > 1 or (pending and not os.path.lexists(current / pending[0])):
        if not create:
            return None
        for name in pending:  # the missing folders, each born private
            current = current / name
            try:
                current.mkdir(mode=0o700)
            except FileExistsError:
                pass  # made meanwhile by someone: checked below like the rest
            except OSError as exc:
                raise _refuse(what, path, f"cannot be created: {exc.strerror}", hint) from exc
        current, pending = _walk(path, what, hint)  # again, with what was made
    real = current / pending[0] if pending else current
    try:
        info = os.lstat(real)
    except OSError as exc:
        raise _refuse(what, path, f"cannot be checked: {exc.strerror}", hint) from exc
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(what, path, "is not a folder", hint)
    _check_owned(info, {_euid()}, what, path, hint)
    return real


def own_folder(path: Path, what: str, hint: str, *, create: bool = True) -> Path | None:
    """Check (or make, mode 0700) a folder the user chose for the daemon's files, such as
    the control socket's. Returns its real path; None when it is missing and `create` is
    false (a client looking for a daemon that never ran). Raises FolderError."""
    if os.name != "posix":  # pragma: no cover - the daemon's sockets are POSIX-only
        return path
    return _folder(path, what, hint, create=create)


def private_folder(path: Path, what: str, hint: str) -> Path:
    """Check or make a folder of the daemon's own that holds secrets (the access token,
    request records, dumps, the log): as `own_folder`, and made 0700 if it is not."""
    real = own_folder(path, what, hint)
    assert real is not None  # created when missing
    mode = stat.S_IMODE(os.stat(real).st_mode)
    if os.name == "posix" and mode & 0o077:
        log.warning("made %s private (mode 0700; it was %04o)", path, mode)
        real.chmod(0o700)
    return real


def trusted_file(path: Path, what: str, hint: str) -> None:
    """Check a file the daemon takes settings or secrets from (the config file, the
    access token): it and the folders above it belong to the user (or root), and no one
    else can write them. A missing file passes: the caller says it is missing."""
    if os.name != "posix":  # pragma: no cover
        return
    current, pending = _walk(path, what, hint)
    if len(pending) != 1:
        return
    try:
        info = os.lstat(current / pending[0])
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refuse(what, path, f"cannot be checked: {exc.strerror}", hint) from exc
    _check_owned(info, {0, _euid()}, what, path, hint)
