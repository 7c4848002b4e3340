"""Who may use the daemon: the local access token and the browser checks.

The daemon acts as the user's ARGO identity, so everything that can reach its port
must be kept out unless it is the user's own tool (docs/security.md):

- other local users and processes: every API request carries the access token, a
  random secret in a file only the user can read (`auth: token`, the default);
- web pages: a request a browser made (an `Origin` header, `Sec-Fetch-Site` other than
  `none`/`same-origin`) or one addressed to a name that is not this machine's (DNS
  rebinding) is refused even with `auth: none`.

Command-line tools and SDKs send none of the browser headers and put the token where
they put an API key, so they get in without effort.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .config import Config, is_loopback
from .errors import ConfigError, FolderError
from .folders import own_folder, private_folder, trusted_file

__all__ = [
    "OPEN_PATHS",
    "AccessGuard",
    "Denial",
    "read_or_create_token",
    "write_new_token",
]

log = logging.getLogger(__name__)

# Liveness and readiness probes answer without a token (they tell nothing about ARGO).
OPEN_PATHS = frozenset({"/health", "/health/live", "/health/ready"})
_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_KEY_HEADERS = ("x-api-key", "x-goog-api-key", "api-key")  # plus Authorization: Bearer
# Sec-Fetch-Site values a browser sends for requests a page could not forge.
_TRUSTED_FETCH_SITES = frozenset({"none", "same-origin"})
_TOKEN_BYTES = 32  # 256 bits


# ------------------------------------------------------------------------ token file


def _new_token() -> str:
    return "ap-" + secrets.token_urlsafe(_TOKEN_BYTES)


_TOKEN_HINT = (
    "another user could read or replace your access token there; set `token_file` to a "
    "place of your own (docs/security.md#private-folders)"
)


def _token_folder(path: Path) -> None:
    """The token's folder: the user's own, made (or made again) mode 0700, as the token
    file is 0600; the home folder itself is only checked, never changed."""
    folder = path.parent
    try:
        is_home = folder.expanduser().absolute() == Path.home().absolute()
    except (RuntimeError, KeyError):  # no home to be found (a container without passwd)
        is_home = False
    if is_home:
        own_folder(folder, "the access token's folder", _TOKEN_HINT)
    else:
        private_folder(folder, "the access token's folder", _TOKEN_HINT)


def _check_token_file(path: Path, info: os.stat_result) -> None:
    """A token file someone else owns is a token someone else knows."""
    if info.st_uid != os.geteuid():
        raise FolderError(
            f"the access token file {path} belongs to uid {info.st_uid}, not to you: its "
            f"owner knows the token. Remove it (a new one is made), or {_TOKEN_HINT}"
        )
    trusted_file(path, "the access token file", _TOKEN_HINT)  # and no link of theirs


def _write_private(path: Path, token: str, *, replace: bool) -> bool:
    """Write `token` to `path` (mode 0600) atomically; False if it exists and not `replace`."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(token + "\n")
        if replace:
            os.replace(temp, path)
            return True
        try:
            os.link(temp, path)  # fails if another process created it first
        except FileExistsError:
            return False
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def read_or_create_token(path: Path) -> str:
    """The token in `path`, made (random, mode 0600) if the file is missing or empty.

    A file others can read is made private again, with a warning: the token is only as
    secret as its file. Raises ConfigError when the file cannot be read or written.
    """
    try:
        _token_folder(path)
        for _ in range(3):  # another process may be creating it at the same moment
            try:
                info = path.stat()
            except FileNotFoundError:
                if _write_private(path, _new_token(), replace=False):
                    log.info("created a new access token in %s", path)
                continue
            _check_token_file(path, info)
            if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                log.warning("%s was readable by others; made it private (mode 0600)", path)
                path.chmod(0o600)
            token = path.read_text(encoding="utf-8").strip()
            if token:
                return token
            write_new_token(path)
        raise ConfigError(f"{path}: the access token file keeps changing; try again")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read or create the access token file: {exc.strerror or exc} "
            "(set `token_file` to a writable place)"
        ) from exc


def write_new_token(path: Path) -> str:
    """Replace the token in `path` with a new random one and return it."""
    token = _new_token()
    _token_folder(path)
    try:
        _write_private(path, token, replace=True)
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot write the access token file: {exc.strerror or exc}"
        ) from exc
    return token


# --------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class Denial:
    """Why a request is refused: the status, the client's message, a short log reason."""

    status: int
    message: str
    reason: str = ""


# A Host header, exactly: a bracketed IPv6 literal, or a name or IPv4 address, each with
# an optional port, and nothing else (docs/security.md#browsers). Anything more
# (`[::1].evil`, `localhost:80@evil`, `a b`) is not a name for this machine, whatever
# it starts with.
_HOST_HEADER = re.compile(
    r"(?:\[(?P<ipv6>[0-9a-f:.]+)\]|(?P<name>[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?))"
    r"(?::(?P<port>[0-9]{1,5}))?",
    re.IGNORECASE,
)


def _address_name(host: str) -> str:
    """One spelling per address: `LocalHost.` → `localhost`, `0:0::1` → `::1`."""
    host = host.lower().rstrip(".")
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(host))
    return host


def _host_name(host_header: str) -> str | None:
    """`Host: [::1]:44497` → `::1`; `Host: LocalHost.:80` → `localhost`; None for a
    value that is not exactly a host and an optional port."""
    match = _HOST_HEADER.fullmatch(host_header.strip())
    if match is None or int(match["port"] or 0) > 65535:
        return None
    if match["ipv6"] is not None:
        try:
            return str(ipaddress.IPv6Address(match["ipv6"]))
        except ValueError:
            return None
    return _address_name(match["name"])


def _presented_keys(headers: Mapping[str, str], query: Mapping[str, str]) -> list[str]:
    """Every value a client may have put its API key in (each SDK has its own place)."""
    keys = []
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        keys.append(authorization[7:].strip())
    keys.extend(headers.get(name, "").strip() for name in _KEY_HEADERS)
    keys.append(query.get("key", "").strip())
    return [key for key in keys if key]


class AccessGuard:
    """The access checks for one config; rebuilt when the config or the token changes."""

    def __init__(self, config: Config, token: str | None) -> None:
        self.auth = config.auth
        self.token = token
        self.token_path = config.token_path
        self._token_bytes = token.encode() if token else b""
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in config.allowed_origins)
        hosts = set(_LOOPBACK_NAMES)
        hosts.update(_address_name(h.strip("[]")) for h in config.allowed_hosts)
        if config.host and not config.host.startswith(("0.0.0.0", "::")):
            hosts.add(_address_name(config.host.strip("[]")))
        if not is_loopback(config.host):
            # Listening on the network on purpose: this machine's own name is expected.
            hosts.add(socket.gethostname().lower())
        self._any_host = "*" in hosts
        self.allowed_hosts = frozenset(hosts)

    @classmethod
    def from_config(cls, config: Config) -> AccessGuard:
        """Read (or create) the token file when the config asks for a token."""
        token = read_or_create_token(config.token_path) if config.auth == "token" else None
        return cls(config, token)

    def check(
        self,
        path: str,
        headers: Mapping[str, str],
        query: Mapping[str, str],
        *,
        local_socket: bool = False,
    ) -> Denial | None:
        """None if the request may go on; else why not.

        `local_socket`: it came through the owner-only Unix socket, whose file mode is
        the access control, so no token is asked for.
        """
        denial = self._browser_check(headers, local_socket)
        if denial is not None or self.auth == "none" or local_socket or path in OPEN_PATHS:
            return denial
        return self._token_check(headers, query)

    def cors_origin(self, headers: Mapping[str, str]) -> str | None:
        """The request's Origin when it is an allowed one (for CORS answers)."""
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() in self.allowed_origins:
            return origin
        return None

    def _browser_check(self, headers: Mapping[str, str], local_socket: bool) -> Denial | None:
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self.allowed_origins:
            return Denial(
                403,
                f"Requests from web pages are refused (Origin {origin!r}): a page must not "
                "use ARGO as you. To let a web app in, list its origin in `allowed_origins` "
                "(docs/security.md).",
                f"Origin {origin!r}",
            )
        site = headers.get("sec-fetch-site")
        if site is not None and site.lower() not in _TRUSTED_FETCH_SITES and origin is None:
            return Denial(
                403,
                f"Requests a web page started are refused (Sec-Fetch-Site: {site}); "
                "docs/security.md explains why.",
                f"Sec-Fetch-Site {site!r}",
            )
        host_header = headers.get("host")
        if local_socket or host_header is None or self._any_host:
            return None
        if _host_name(host_header) not in self.allowed_hosts:  # None: malformed, refused
            return Denial(
                403,
                f"Requests addressed to {host_header!r} are refused: argo-proxy answers "
                "requests for localhost or 127.0.0.1 (this guards against DNS rebinding). "
                "Add the name to `allowed_hosts` if you reach the daemon by it "
                "(docs/security.md).",
                f"Host {host_header!r}",
            )
        return None

    def _token_check(self, headers: Mapping[str, str], query: Mapping[str, str]) -> Denial | None:
        keys = _presented_keys(headers, query)
        # compare_digest: the time taken does not tell how much of a guess was right.
        # Any text encodes with "surrogatepass", even a key whose bytes were not UTF-8.
        if any(
            hmac.compare_digest(key.encode("utf-8", "surrogatepass"), self._token_bytes)
            for key in keys
        ):
            return None
        how = (
            "Run `argo-proxy token` to print it, or start your tool with `argo-proxy run -- "
            'COMMAND` (or `eval "$(argo-proxy env)"`) to have it set; on a single-user '
            "machine, `auth: none` in the config turns the check off (docs/security.md)."
        )
        if not keys:
            return Denial(
                401,
                "argo-proxy needs its access token as the API key (Authorization: Bearer, "
                f"x-api-key, x-goog-api-key or ?key=). {how}",
                "no access token",
            )
        return Denial(
            401,
            "The API key sent is not argo-proxy's access token (a username, as the older "
            f"argo-proxy took, is no longer enough; a rotated token needs updating). {how}",
            "wrong access token",
        )
