"""The daemon's configuration: one typed, frozen `Config`, validated once at load.

Sources, strongest first (docs/configuration.md#precedence): command-line overrides,
environment variables, the YAML file (argo-proxy v3 files load unchanged, v1/v2 keys are
migrated in memory, docs/compatibility.md#config-files), then the defaults below. No
other module reads YAML, environment variables or platformdirs.
"""

from __future__ import annotations

import dataclasses
import datetime
import getpass
import ipaddress
import logging
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs
import yaml

from .errors import ConfigError, FolderError
from .folders import trusted_file

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PORT",
    "ENVIRONMENTS",
    "AuthMode",
    "Config",
    "StreamMode",
    "CONTROL_SOCKET_ENV",
    "SOCKET_FOLDER_HINT",
    "config_search_paths",
    "control_socket_path",
    "default_config_file",
    "default_token_file",
    "environment_of",
    "is_loopback",
    "file_settings",
    "find_config_file",
    "load_config",
    "override_of",
    "read_config_text",
    "redact_user",
]

log = logging.getLogger(__name__)

StreamMode = Literal["force", "retry", "passthrough"]
STREAM_MODES: tuple[StreamMode, ...] = ("force", "retry", "passthrough")
AuthMode = Literal["token", "none"]
AUTH_MODES: tuple[AuthMode, ...] = ("token", "none")

# ARGO's environments by name (docs/argo.md#environments), for `argo-proxy config env`
# and `config.setEnvironment`; argo-proxy's default is dev, and so is ours.
ENVIRONMENTS: Mapping[str, str] = {
    "prod": "https://apps.inside.anl.gov/argoapi",
    "dev": "https://apps-dev.inside.anl.gov/argoapi",
    "test": "https://apps-test.inside.anl.gov/argoapi",
}
DEFAULT_BASE_URL = ENVIRONMENTS["dev"]
DEFAULT_PORT = 44497
APP_NAME = "argo-proxy"

# Keys argo-proxy accepted once and we accept without using (docs/compatibility.md#config-files).
_IGNORED_KEYS = {
    "mode": "display-only in argo-proxy",
    "force_conversion": "argo-proxy 3.0 only; same-format requests always pass through here",
    "real_stream": "argo-proxy 3.0 legacy option; streams are always real here",
    "timeout": "argo-proxy <= 2.5 key; use `request_timeout`",
    "num_workers": "argo-proxy <= 2.5 key; the daemon is one process",
    "use_native_openai": "deprecated argo-proxy 2.x key",
    "use_native_anthropic": "deprecated argo-proxy 2.x key",
    "provider_tool_format": "deprecated argo-proxy 2.x key",
    "argo_model_url": "argo-proxy 1.x key",
    "skip_url_validation": "the daemon never checks ARGO's URL at start: it serves its "
    "built-in model list until ARGO answers (docs/compatibility.md#config-files)",
    "enable_payload_control": "argo-proxy shrank large images; the daemon refuses an image "
    "over `max_payload_size` instead (docs/compatibility.md#images)",
}
# v1 per-endpoint URLs: the base is what remains after stripping the suffix.
_V1_URL_SUFFIXES = {
    "argo_url": "/api/v1/resource/chat/",
    "argo_stream_url": "/api/v1/resource/streamchat/",
    "argo_embedding_url": "/api/v1/resource/embed/",
}
_KEY_ALIASES = {"default_chat_model": "default_model"}  # argo-proxy 3.2.1 spelling


@dataclass(frozen=True)
class Config:
    """Everything the daemon needs to know, validated; replaced whole on reload."""

    config_version: str = "3"
    user: str = ""
    host: str = "127.0.0.1"  # loopback by default; argo-proxy bound 0.0.0.0
    port: int = DEFAULT_PORT
    # `port: auto` / `--port auto`: when `port` is taken (another user's daemon on a
    # shared host), listen on a free port instead of failing (docs/security.md).
    port_auto: bool = False
    tcp: bool = True  # false: serve only on `socket`
    socket: str = ""  # also serve the HTTP API on this Unix socket, mode 0600
    # Access control (docs/security.md): a local token every API request must carry.
    auth: AuthMode = "token"
    token_file: str = ""  # "" = `token` in the user config directory
    allowed_hosts: tuple[str, ...] = ()  # Host headers accepted besides loopback names
    allowed_origins: tuple[str, ...] = ()  # browser origins allowed in (CORS)
    allow_insecure_network: bool = False  # confirms a non-loopback listen with auth none
    verbose: bool = False
    log_to_file: bool = False
    max_log_history: int = 3
    log_size: int = 1000  # request records kept in memory (docs/observability.md)
    log_retention_days: int = 30  # days of request records kept on disk; 0 = none
    argo_base_url: str = DEFAULT_BASE_URL
    native_openai_base_url: str = ""  # "" = derived: {argo_base_url}/v1
    native_anthropic_base_url: str = ""  # "" = derived: {argo_base_url}
    anthropic_stream_mode: StreamMode = "force"
    model_refresh_interval_hours: float = 24.0
    connection_test_timeout: float = 5.0  # the wait for ARGO's model list
    resolve_overrides: Mapping[str, str] = field(default_factory=dict)
    max_payload_size: int = 20
    image_timeout: float = 30.0
    concurrent_downloads: int = 10
    use_legacy_argo: bool = False
    username_passthrough: bool = False
    default_model: str = ""  # "" = an unknown model is a 404, not a silent substitute
    default_embed_model: str = ""
    request_timeout: float = 600.0  # seconds to wait for upstream bytes (read timeout)
    connect_timeout: float = 10.0
    retries: int = 2  # retries of a failed ARGO call before any byte reached the client
    shutdown_grace: float = 10.0  # seconds requests in flight get to finish at a stop
    upstream_pool_size: int = 200  # connections to ARGO open at once (streams hold one)
    max_body_mb: int = 100
    # What a client can cost before it has sent a whole request (docs/security.md#limits)
    body_in_flight_mb: int = 256  # request body bytes being read at once, all requests
    head_timeout: float = 10.0  # seconds for a request head, from its first byte
    max_connections: int = 1024  # open TCP connections (kept below the open file limit)
    max_connections_per_peer: int = 1024  # ... from one remote address
    pypi_url: str = "https://pypi.org/pypi"  # where GET /version looks for updates (a mirror works)
    # Request dumps (docs/observability.md#debug-dumps): off unless asked for.
    dump_requests: bool = False
    dump_dir: str = ""  # "" = `dumps` in the user state directory
    dump_max_kb: int = 1024  # each dump file, at most; larger parts are cut with a marker
    dump_max_mb: int = 100  # the dump folder, at most; the oldest dumps go first
    # Where it came from; not part of equality so a reload can compare configs.
    source: Path | None = field(default=None, compare=False)
    notes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def openai_base(self) -> str:
        """Root of ARGO's OpenAI-compatible API (`…/v1`)."""
        return self.native_openai_base_url or f"{self.argo_base_url}/v1"

    @property
    def anthropic_base(self) -> str:
        """Root of ARGO's Anthropic API; callers append `/v1/messages`."""
        return self.native_anthropic_base_url or self.argo_base_url

    @property
    def listen_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def log_path(self) -> Path | None:
        """The log file when `log_to_file` is on: in the user log directory."""
        if not self.log_to_file:
            return None
        return Path(platformdirs.user_log_dir(APP_NAME)) / "argo-proxy.log"

    @property
    def dump_path(self) -> Path:
        """Where request dumps are written (when `dump_requests` is on)."""
        if self.dump_dir:
            return Path(self.dump_dir).expanduser().absolute()
        return Path(platformdirs.user_state_dir(APP_NAME)) / "dumps"

    @property
    def records_path(self) -> Path:
        """The request records' SQLite file, in the user state directory
        (docs/observability.md#storage)."""
        return Path(platformdirs.user_state_dir(APP_NAME)) / "requests.sqlite3"

    @property
    def token_path(self) -> Path:
        """The access token's file (docs/security.md)."""
        return Path(self.token_file).expanduser() if self.token_file else default_token_file()

    def public_dict(self) -> dict[str, Any]:
        """The effective settings with no credential in them (for `config show` / RPC)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out.pop("notes")
        out["source"] = str(self.source) if self.source else None
        out["user"] = redact_user(self.user)
        out["resolve_overrides"] = dict(self.resolve_overrides)
        out["allowed_hosts"] = list(self.allowed_hosts)
        out["allowed_origins"] = list(self.allowed_origins)
        out["token_file"] = str(self.token_path)
        out["dump_dir"] = str(self.dump_path)
        out["native_openai_base_url"] = self.openai_base
        out["native_anthropic_base_url"] = self.anthropic_base
        return out

    def __repr__(self) -> str:  # never print the username in clear (docs/security.md#logs)
        user = redact_user(self.user)
        return f"Config(user={user!r}, listen={self.listen_url}, base={self.argo_base_url})"


def environment_of(base_url: str) -> str | None:
    """The name of the ARGO environment at `base_url`, or None for any other URL."""
    url = base_url.rstrip("/")
    return next((name for name, known in ENVIRONMENTS.items() if known == url), None)


def redact_user(user: str) -> str:
    """`jdoe` → `j***`: enough to recognise in a log, not enough to reuse."""
    return f"{user[0]}***" if user else ""


# ---------------------------------------------------------------------------- search


def default_config_file() -> Path:
    """Where `argo-proxy config init` writes when given no path: the user config dir."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.yaml"


def default_token_file() -> Path:
    """Where the access token lives unless `token_file` says otherwise."""
    return Path(platformdirs.user_config_dir(APP_NAME)) / "token"


def is_loopback(host: str) -> bool:
    """Whether a listen address is reachable only from this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def config_search_paths() -> list[Path]:
    """Where a config file is looked for when none is given, in order."""
    home = Path.home()
    return [
        Path.cwd() / "config.yaml",
        default_config_file(),
        home / ".config" / "argoproxy" / "config.yaml",  # argo-proxy's locations
        home / ".argoproxy" / "config.yaml",
    ]


CONTROL_SOCKET_ENV = "ARGO_PROXY_CONTROL_SOCKET"
# What to do when the control socket's folder is not the user's own (daemon/folders.py).
SOCKET_FOLDER_HINT = (
    "another user could stand in for your daemon there. Set XDG_RUNTIME_DIR to a folder "
    "of your own (mode 0700), or name the socket with --control-socket PATH or "
    f"{CONTROL_SOCKET_ENV} (docs/security.md#private-folders)"
)


def control_socket_path(
    explicit: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Path:
    """Where the daemon's control socket lives (docs/control.md).

    The `--control-socket` option, else `ARGO_PROXY_CONTROL_SOCKET`, else `control.sock`
    in the user runtime directory (`$XDG_RUNTIME_DIR/argo-proxy` on Linux).
    """
    env = os.environ if environ is None else environ
    chosen = explicit or env.get(CONTROL_SOCKET_ENV)
    if chosen:
        return Path(chosen).expanduser().absolute()
    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR platformdirs warns and uses /tmp/runtime-<uid>; that
        # fallback is fine here (the daemon and its clients check the folder,
        # daemon/folders.py) and a warning on every `argo-proxy ctl` would not be.
        warnings.simplefilter("ignore")
        try:
            runtime_dir = platformdirs.user_runtime_dir(APP_NAME)
        except OSError as exc:  # platformdirs' own check: /tmp/runtime-<uid> is not ours
            problem = str(exc).removesuffix("; set XDG_RUNTIME_DIR instead")
            raise FolderError(
                f"the user runtime directory cannot be used ({problem}): {SOCKET_FOLDER_HINT}"
            ) from None
    return Path(runtime_dir) / "control.sock"


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    """The explicit path (which must exist), else the first existing search path."""
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file")
        return path
    return next((p for p in config_search_paths() if p.is_file()), None)


# ----------------------------------------------------------------------------- load


def load_config(
    path: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    search: bool = True,
) -> Config:
    """Build a validated Config from file, environment and overrides.

    `path` is an explicit file (it must exist; there is no fallback, as in
    argo-proxy). Without one, `CONFIG_PATH` and then the search paths are tried
    when `search` is true. Raises ConfigError naming the key, the value, and what
    is accepted.
    """
    env = os.environ if environ is None else environ
    explicit = path or env.get("CONFIG_PATH") or None
    source = find_config_file(explicit) if (explicit or search) else None

    raw: dict[str, Any] = {}
    lines: dict[str, int] = {}
    if source is not None:
        raw, lines = _read_yaml(source)
    notes: list[str] = []
    values = _migrate(raw, notes)
    origin = {k: _where(source, lines, k) for k in values}

    for key, value in _from_environment(env).items():
        values[key], origin[key] = value, f"environment variable {_ENV_NAMES[key]}"
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key], origin[key] = value, f"option --{key.replace('_', '-')}"

    config = _validate(values, origin)
    if not config.user:
        config = dataclasses.replace(config, user=_login_name())
        notes.append("no `user` configured: using the login name as the ARGO username")
    if source is None:
        notes.append("no config file found: using built-in defaults")
    return dataclasses.replace(config, source=source, notes=tuple(notes))


def file_settings(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """What a file says, for `config migrate`: (its keys as written, the v3 settings).

    The settings are the file's own keys migrated to v3 and validated (lower-cased
    user, no trailing slash, ...), with `config_version: "3"`: no environment variable
    and no default is mixed in. Raises ConfigError as load_config does.
    """
    source = find_config_file(path)
    if source is None:  # pragma: no cover - an explicit path either exists or raised
        raise ConfigError(f"{path}: no such config file")
    raw, lines = _read_yaml(source)
    values = _migrate(raw, [])
    values["config_version"] = "3"
    config = _validate(values, {key: _where(source, lines, key) for key in values})
    settings = {
        f.name: getattr(config, f.name) for f in dataclasses.fields(Config) if f.name in values
    }
    return raw, settings


def _login_name() -> str:
    try:
        return getpass.getuser().strip().lower()
    except (KeyError, OSError):  # no passwd entry (containers)
        return ""


def read_config_text(path: Path) -> str:
    """The text of a config file; ConfigError if it cannot be read or is not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
        hint = " (it looks like UTF-16, as some Windows editors save)" if utf16 else ""
        raise ConfigError(
            f"{path}: the config file is not UTF-8 text: byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start} is not UTF-8{hint}; save it as UTF-8"
        ) from None


def _read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    # Whoever can write the file decides where the daemon sends your requests, as you.
    trusted_file(
        path,
        "the config file",
        "another user could change where argo-proxy sends your requests; use a file of "
        "your own that only you can write (docs/security.md#private-folders)",
    )
    text = read_config_text(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from exc
    except RecursionError:  # brackets nested thousands deep
        raise ConfigError(f"{path}: not valid YAML: nested too deeply") from None
    except ValueError as exc:  # a number too long for Python to convert
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise ConfigError(f"{path}: a config file must be a mapping of `key: value` lines")
    lines = {
        str(k.value): k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)
    }
    return {str(k): v for k, v in data.items()}, lines


def _where(source: Path | None, lines: Mapping[str, int], key: str) -> str:
    if source is None:
        return "default"
    line = lines.get(key)
    return f"{source}:{line}" if line else str(source)


def _migrate(raw: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """Turn v1/v2 argo-proxy keys into v3 ones in memory (docs/compatibility.md#config-files)."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        key = _KEY_ALIASES.get(key, key)
        if key in _IGNORED_KEYS:
            notes.append(f"ignoring `{key}`: {_IGNORED_KEYS[key]}")
        elif key in _V1_URL_SUFFIXES:
            continue
        elif key not in _FIELD_TYPES:
            notes.append(f"ignoring unknown key `{key}`")
        else:
            values[key] = value
    if "argo_base_url" not in values:
        for key, suffix in _V1_URL_SUFFIXES.items():
            url = raw.get(key)
            if isinstance(url, str) and url.rstrip("/").endswith(suffix.rstrip("/")):
                values["argo_base_url"] = url.rstrip("/")[: -len(suffix.rstrip("/"))]
                notes.append(f"derived `argo_base_url` from the old `{key}`")
                break
    if raw and str(raw.get("config_version", "")) != "3":
        notes.append("this is an older argo-proxy config; `argo-proxy config migrate` rewrites it")
    return values


# ------------------------------------------------------------------------ environment

# The shell's generic `HOST` is not read: tcsh exports it as the machine's name, and
# argo-proxy's reading of it could open the daemon to the network (docs/security.md).
_ENV_NAMES = {
    "host": "ARGO_PROXY_HOST",
    "port": "PORT",
    "auth": "ARGO_PROXY_AUTH",
    "token_file": "ARGO_PROXY_TOKEN_FILE",
    "socket": "ARGO_PROXY_SOCKET",
    "verbose": "VERBOSE",
    "argo_base_url": "ARGO_BASE_URL",
    "anthropic_stream_mode": "ANTHROPIC_STREAM_MODE",
    "username_passthrough": "USERNAME_PASSTHROUGH",
    "use_legacy_argo": "USE_LEGACY_ARGO",
    "user": "ARGO_USER",
    "connect_timeout": "ARGO_PROXY_CONNECT_TIMEOUT",
    "request_timeout": "ARGO_PROXY_READ_TIMEOUT",
    "dump_requests": "DUMP_REQUESTS",
    "dump_dir": "DUMP_DIR",
}


def override_of(
    key: str, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """What wins over the config file for `key` (a command-line option or an environment
    variable, as load_config applies them), or None when the file decides."""
    if (overrides or {}).get(key) is not None:
        return f"option --{key.replace('_', '-')}"
    env = os.environ if environ is None else environ
    name = _ENV_NAMES.get(key)
    if name is not None and env.get(name, "") != "":
        return f"environment variable {name}"
    return None


def _from_environment(env: Mapping[str, str]) -> dict[str, Any]:
    return {key: env[name] for key, name in _ENV_NAMES.items() if env.get(name, "") != ""}


# ------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Range:
    """The values a number setting accepts: finite, from `low` (or more than `low`, with
    `above`) to `high`; `unit` and `note` go into the message that refuses one."""

    low: float
    high: float
    above: bool = False  # `low` itself is refused: a timeout of 0 would fail every call
    unit: str = ""
    note: str = ""

    def admits(self, number: float) -> bool:
        # Written so that NaN, which compares false with everything, is refused too.
        return (number > self.low if self.above else number >= self.low) and number <= self.high

    def describe(self, whole: bool) -> str:
        kind = "a whole number" if whole else "a number"
        kind += f" of {self.unit}" if self.unit else ""
        low, high = f"{self.low:g}", f"{self.high:g}"
        bounds = f"more than {low} and at most {high}" if self.above else f"from {low} to {high}"
        return f"{kind} {bounds}" + (f" ({self.note})" if self.note else "")


# Every number setting, with what it accepts (docs/configuration.md#keys). The upper
# bounds are far above any real use; they keep an absurd value (`1e300`) from reaching
# the event loop, the socket layer or SQLite, which refuse it with a traceback.
_RANGES: Mapping[str, _Range] = {
    "port": _Range(0, 65535, note="0 = any free port"),
    "max_log_history": _Range(0, 100, unit="old log files"),
    "log_size": _Range(0, 100_000, unit="records"),
    "log_retention_days": _Range(0, 36_500, unit="days", note="0 = none on disk"),
    "model_refresh_interval_hours": _Range(0, 8_760, unit="hours", note="0 = never"),
    "connection_test_timeout": _Range(0, 3_600, above=True, unit="seconds"),
    "max_payload_size": _Range(1, 1_024, unit="MiB"),
    "image_timeout": _Range(0, 3_600, above=True, unit="seconds"),
    "concurrent_downloads": _Range(1, 1_000),
    "request_timeout": _Range(0, 86_400, above=True, unit="seconds"),
    "connect_timeout": _Range(0, 3_600, above=True, unit="seconds"),
    "retries": _Range(0, 20),
    "shutdown_grace": _Range(0, 3_600, unit="seconds"),
    "upstream_pool_size": _Range(1, 10_000, unit="connections"),
    "max_body_mb": _Range(1, 102_400, unit="MiB"),
    "body_in_flight_mb": _Range(1, 1_048_576, unit="MiB"),
    "head_timeout": _Range(0, 3_600, above=True, unit="seconds"),
    "max_connections": _Range(1, 1_000_000, unit="connections"),
    "max_connections_per_peer": _Range(1, 1_000_000, unit="connections"),
    "dump_max_kb": _Range(1, 1_048_576, unit="KiB"),
    "dump_max_mb": _Range(1, 1_048_576, unit="MiB"),
}

_TRUE = {"true", "1", "t", "yes", "y", "on"}
_FALSE = {"false", "0", "f", "no", "n", "off"}
_FIELD_TYPES = {
    f.name: f.type for f in dataclasses.fields(Config) if f.name not in ("source", "notes")
}


def _validate(values: Mapping[str, Any], origin: Mapping[str, str]) -> Config:
    clean: dict[str, Any] = {}
    values = dict(values)
    if str(values.get("port", "")).strip().lower() == "auto":
        # `port: auto`: the default port, or any free one when it is taken.
        del values["port"]
        values.setdefault("port_auto", True)
    for key, value in values.items():
        where = origin.get(key, "default")

        def bad(
            expected: str, key: str = key, value: Any = value, where: str = where
        ) -> ConfigError:
            return ConfigError(f"{where}: `{key}` must be {expected}; got {value!r}")

        clean[key] = _coerce(key, value, bad)

    for key in ("argo_base_url", "native_openai_base_url", "native_anthropic_base_url", "pypi_url"):
        url = clean.get(key)
        if url:
            if not url.startswith(("http://", "https://")):
                where = origin.get(key, "default")
                raise ConfigError(f"{where}: `{key}` must be an http(s) URL; got {url!r}")
            clean[key] = url.rstrip("/")
    user = clean.get("user", "")
    if user and (" " in user or user == "cels"):
        raise ConfigError(
            f"{origin.get('user', 'default')}: `user` must be your ANL username "
            f"(no spaces, not the shared `cels`); got {user!r}"
        )
    config = Config(**clean)
    _check_access(config, origin)
    return config


def _check_access(config: Config, origin: Mapping[str, str]) -> None:
    """Settings that would let someone else act as the user are refused, not guessed at."""
    if not config.tcp and not config.socket:
        raise ConfigError(
            f"{origin.get('tcp', 'default')}: `tcp: false` leaves nothing to listen on; "
            "set `socket: PATH` too"
        )
    if config.username_passthrough and config.auth == "token":
        where = origin.get("username_passthrough", "default")
        raise ConfigError(
            f"{where}: `username_passthrough` takes each client's API key as its ARGO "
            "username, so the key cannot also be argo-proxy's access token: set `auth: none` "
            "as well (on a machine no one else uses; docs/security.md)"
        )
    if config.auth == "none" and not is_loopback(config.host) and not config.allow_insecure_network:
        where = origin.get("host", "default")
        raise ConfigError(
            f"{where}: listening on {config.host} with `auth: none` would let anyone who can "
            "reach this machine use ARGO as you. Keep `auth: token` (clients send the token "
            "from `argo-proxy token`), listen on 127.0.0.1, or confirm with "
            "`allow_insecure_network: true` (docs/security.md)"
        )


def _number(key: str, value: Any, bad: Any, *, whole: bool) -> int | float:
    """A number setting, from YAML (an int or a float already) or from text (an
    environment variable): finite and within its range, or refused."""
    allowed = _RANGES[key]
    expected = (
        "a port number 1-65535 (0 = any free port)" if key == "port" else allowed.describe(whole)
    )
    if isinstance(value, bool) or isinstance(value, (dict, list)) or value is None:
        raise bad(expected)
    text = str(value).strip()
    try:
        number: int | float = int(text) if whole else float(text)
    except ValueError:
        raise bad(expected) from None
    if not allowed.admits(number):  # `.nan`, `.inf`, and anything out of range
        raise bad(expected)
    return number


def _coerce(key: str, value: Any, bad: Any) -> Any:
    kind = _FIELD_TYPES[key]
    if kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        raise bad("true or false")
    if kind in ("int", "float"):
        return _number(key, value, bad, whole=kind == "int")
    if kind == "StreamMode":
        text = str(value).strip().lower()
        if text not in STREAM_MODES:
            raise bad("one of " + ", ".join(STREAM_MODES))
        return text
    if kind == "AuthMode":
        text = str(value).strip().lower()
        if text not in AUTH_MODES:
            raise bad("`token` (clients send the access token) or `none`")
        return text
    if kind == "tuple[str, ...]":
        if value is None:
            return ()
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)) or not all(map(_is_scalar, items)):
            raise bad("a list of names, like [myhost.example.org]")
        names = tuple(str(i).strip() for i in items if str(i).strip())
        if any(map(_has_control_characters, names)):
            raise bad("a list of names without control characters")
        return names
    if kind == "Mapping[str, str]":
        if value is None:
            return {}
        pairs = value.items() if isinstance(value, Mapping) else None
        if pairs is None or not all(_is_scalar(k) and _is_scalar(v) for k, v in pairs):
            raise bad('a mapping like {"host:443": "127.0.0.1"}')
        mapping = {str(k): str(v) for k, v in pairs}
        if any(map(_has_control_characters, [*mapping, *mapping.values()])):
            raise bad("a mapping of names without control characters")
        return mapping
    # str fields
    if value is None:
        return ""
    if not _is_scalar(value):
        raise bad("a single value")
    text = str(value).strip()
    if _has_control_characters(text):
        # A NUL in a path fails deep in the os module; a line break in `user` would
        # reach ARGO's headers and logs.
        raise bad("a value without control characters")
    return text.lower() if key == "user" else text  # as argo-proxy did (docs/configuration.md#keys)


def _is_scalar(value: Any) -> bool:
    """A YAML value that reads as one piece of text (not a list, mapping, bytes, null)."""
    return isinstance(value, (str, int, float, datetime.date))


def _has_control_characters(text: str) -> bool:
    return any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in text)
