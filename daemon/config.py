"""The daemon's configuration: one typed, frozen `Config`, validated once at load.

Sources, strongest first (docs/configuration.md#precedence): command-line overrides,
environment variables, the YAML file (argo-proxy v3 files load unchanged, v1/v2 keys are
migrated in memory, docs/compatibility.md#config-files), then the defaults below. Each
value, whichever its source, is read by its field's type through daemon/keys.py
(msgspec); the checks that span keys (`user`, access) follow. No other module reads
YAML, environment variables or platformdirs.
"""

from __future__ import annotations

import dataclasses
import getpass
import ipaddress
import logging
import os
import typing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs
import yaml

from .errors import ConfigError, FolderError
from .folders import trusted_file
from .keys import Key, Names, Range, convert, setting, spec_of
from .routes import RouteRule, rule_payload

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PORT",
    "ENVIRONMENTS",
    "AuthMode",
    "Config",
    "KEYS",
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
    "setup_backup_folder",
]

log = logging.getLogger(__name__)

StreamMode = Literal["force", "retry", "passthrough"]
AuthMode = Literal["token", "none"]

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

# Every key, declared once (docs/configuration.md#keys): `setting(default, doc, ...)` gives
# its environment variable, its range (every number key has one: the upper bounds are
# far above any real use and keep an absurd value, `1e300`, from reaching the event
# loop, the socket layer or SQLite) and what a reload of it does (daemon/effects.py).
# The shell's generic `HOST` is not read: tcsh exports it as the machine's name, and
# argo-proxy's reading of it could open the daemon to the network (docs/security.md).
_CONNECTIONS = Range(1, 1_000_000, unit="connections")
_POOL = "the connection pool to ARGO is built at start"
_LOG_FILE = "the log file is opened at start"


@dataclass(frozen=True)
class Config:
    """Everything the daemon needs to know, validated; replaced whole on reload."""

    config_version: str = setting("3", "the file format's version", effects=("checked",))
    user: str = setting(
        "",
        "your ANL username, ARGO's only credential (lower-cased)",
        env="ARGO_USER",
        effects=("read", "models"),
        shown="login name",
    )
    host: str = setting(
        "127.0.0.1",  # loopback by default; argo-proxy bound 0.0.0.0
        "the listen address",
        env="ARGO_PROXY_HOST",
        effects=("rebind", "access"),
    )
    port: int = setting(
        DEFAULT_PORT,
        "the listen port; 0 = any free port",
        env="PORT",
        range=Range(0, 65535, note="0 = any free port"),
        accepts="a port number 1-65535 (0 = any free port)",
        effects=("rebind",),
    )
    # `port: auto` / `--port auto`: when `port` is taken (another user's daemon on a
    # shared host), listen on a free port instead of failing (docs/security.md).
    port_auto: bool = setting(
        False,
        "when `port` is taken, listen on a free port instead",
        effects=("restart",),
        restart="it is used when the daemon binds its port at start",
    )
    tcp: bool = setting(
        True,
        "false: serve only on `socket`",
        effects=("restart",),
        restart="the TCP listener is opened or left closed at start",
    )
    socket: str = setting(
        "",
        "also serve the HTTP API on this Unix socket, mode 0600",
        env="ARGO_PROXY_SOCKET",
        effects=("restart",),
        restart="the Unix socket listener is opened at start",
    )
    # Access control (docs/security.md): a local token every API request must carry.
    auth: AuthMode = setting(
        "token",
        "`token`: API requests carry the access token; `none`: they do not",
        env="ARGO_PROXY_AUTH",
        accepts="`token` (clients send the access token) or `none`",
        effects=("access",),
    )
    token_file: str = setting(
        "",
        "where the access token is kept",
        env="ARGO_PROXY_TOKEN_FILE",
        effects=("access",),
        shown="`~/.config/argo-proxy/token`",
    )
    allowed_hosts: tuple[str, ...] = setting(
        (), "Host headers accepted besides loopback names", effects=("access",)
    )
    allowed_origins: tuple[str, ...] = setting(
        (), "browser origins allowed in (CORS)", effects=("access",)
    )
    allow_insecure_network: bool = setting(
        False, "confirms a non-loopback listen with `auth: none`", effects=("checked",)
    )
    verbose: bool = setting(False, "debug logging", env="VERBOSE", effects=("log_level",))
    log_to_file: bool = setting(
        False, "also log to a file", effects=("restart",), restart=_LOG_FILE
    )
    max_log_history: int = setting(
        3,
        "old log files kept",
        range=Range(0, 100, unit="old log files"),
        effects=("restart",),
        restart=_LOG_FILE,
    )
    log_size: int = setting(
        1000,
        "request records kept in memory (docs/observability.md)",
        range=Range(0, 100_000, unit="records"),
        effects=("records",),
    )
    log_retention_days: int = setting(
        30,
        "days of request records kept on disk; 0 = none",
        range=Range(0, 36_500, unit="days", note="0 = none on disk"),
        effects=("store",),
    )
    argo_base_url: str = setting(
        DEFAULT_BASE_URL,
        "ARGO's root",
        env="ARGO_BASE_URL",
        url=True,
        effects=("read", "models"),
    )
    native_openai_base_url: str = setting(
        "",
        "override of ARGO's OpenAI-compatible root",
        url=True,
        effects=("read", "models"),
        shown="`{argo_base_url}/v1`",
    )
    native_anthropic_base_url: str = setting(
        "",
        "override of ARGO's Anthropic root",
        url=True,
        effects=("read",),
        shown="`{argo_base_url}`",
    )
    anthropic_stream_mode: StreamMode = setting(
        "force",
        "how a non-streaming Claude request is sent to ARGO",
        env="ANTHROPIC_STREAM_MODE",
        effects=("read",),
    )
    model_refresh_interval_hours: float = setting(
        24.0,
        "how often the model list is fetched again; 0 = never",
        range=Range(0, 8_760, unit="hours", note="0 = never"),
        effects=("read",),
    )
    connection_test_timeout: float = setting(
        5.0,
        "the wait for ARGO's model list",
        range=Range(0, 3_600, above=True, unit="seconds"),
        effects=("read",),
    )
    resolve_overrides: Mapping[str, str] = setting(
        {}, "as curl's --resolve: host:port to address", effects=("restart",), restart=_POOL
    )
    max_payload_size: int = setting(
        20,
        "the largest image a request may link to",
        range=Range(1, 1_024, unit="MiB"),
        effects=("read",),
    )
    image_timeout: float = setting(
        30.0,
        "the wait for an image a request links to",
        range=Range(0, 3_600, above=True, unit="seconds"),
        effects=("read",),
    )
    concurrent_downloads: int = setting(
        10, "image downloads at once", range=Range(1, 1_000), effects=("read",)
    )
    use_legacy_argo: bool = setting(
        False, "the legacy ARGO gateway", env="USE_LEGACY_ARGO", effects=("legacy",)
    )
    username_passthrough: bool = setting(
        False,
        "each client's API key is its ARGO username",
        env="USERNAME_PASSTHROUGH",
        effects=("read",),
    )
    default_model: str = setting(
        "",  # "" = an unknown model is a 404, not a silent substitute
        "the model used for a name ARGO does not have",
        effects=("read",),
    )
    default_embed_model: str = setting("", "the same, for embeddings", effects=("read",))
    # Routes, fallbacks and the breaker (docs/configuration.md#routes)
    routes: tuple[RouteRule, ...] = setting(
        (),
        "rules that choose the ARGO model of a request; the first that matches wins",
        accepts="a list of rules such as {model: 'claude-*haiku*', to: gpt5mini}",
        effects=("read",),
    )
    fallbacks: Mapping[str, Names] = setting(
        {},
        "models to try in turn when a model fails before its answer starts",
        accepts="a mapping of models to non-empty lists of models, like {claudeopus46: [gpt5]}",
        effects=("read",),
    )
    breaker_failures: int = setting(
        3,
        "failures in a row that open a model's breaker; 0 = never",
        range=Range(0, 1_000, unit="failures", note="0 = no breaker"),
        effects=("read",),
    )
    breaker_cooldown: float = setting(
        60.0,
        "seconds a model with an open breaker is skipped; 0 = never",
        range=Range(0, 86_400, unit="seconds", note="0 = no breaker"),
        effects=("read",),
    )
    request_timeout: float = setting(
        600.0,
        "seconds to wait for upstream bytes (the read timeout)",
        env="ARGO_PROXY_READ_TIMEOUT",
        range=Range(0, 86_400, above=True, unit="seconds"),
        effects=("upstream",),
    )
    connect_timeout: float = setting(
        10.0,
        "seconds to connect to ARGO",
        env="ARGO_PROXY_CONNECT_TIMEOUT",
        range=Range(0, 3_600, above=True, unit="seconds"),
        effects=("upstream",),
    )
    retries: int = setting(
        2,
        "retries of a failed ARGO call before any byte reached the client",
        range=Range(0, 20),
        effects=("upstream",),
    )
    shutdown_grace: float = setting(
        10.0,
        "seconds requests in flight get to finish at a stop",
        range=Range(0, 3_600, unit="seconds"),
        effects=("read",),
    )
    upstream_pool_size: int = setting(
        200,
        "connections to ARGO open at once (streams hold one)",
        range=Range(1, 10_000, unit="connections"),
        effects=("restart",),
        restart=_POOL,
    )
    max_body_mb: int = setting(
        100,
        "the largest request body accepted",
        range=Range(1, 102_400, unit="MiB"),
        effects=("restart",),
        restart="the body size limit is fixed when the HTTP listener starts",
    )
    # What a client can cost before it has sent a whole request (docs/security.md#limits)
    body_in_flight_mb: int = setting(
        256,
        "request body bytes being read at once, all requests",
        range=Range(1, 1_048_576, unit="MiB"),
        effects=("read",),
    )
    head_timeout: float = setting(
        10.0,
        "seconds for a request head, from its first byte",
        range=Range(0, 3_600, above=True, unit="seconds"),
        effects=("read",),
    )
    max_connections: int = setting(
        1024,
        "open TCP connections (kept below the open file limit)",
        range=_CONNECTIONS,
        effects=("read",),
    )
    max_connections_per_peer: int = setting(
        1024, "open TCP connections from one remote address", range=_CONNECTIONS, effects=("read",)
    )
    pypi_url: str = setting(
        "https://pypi.org/pypi",
        "where GET /version looks for updates (a mirror works)",
        url=True,
        effects=("read",),
    )
    # Request dumps (docs/observability.md#debug-dumps): off unless asked for.
    dump_requests: bool = setting(
        False, "write each API request's bodies to a file", env="DUMP_REQUESTS", effects=("read",)
    )
    dump_dir: str = setting(
        "",
        "where the dumps go",
        env="DUMP_DIR",
        effects=("read",),
        shown="`dumps` in the user state directory",
    )
    dump_max_kb: int = setting(
        1024,
        "each dump file, at most; larger parts are cut with a marker",
        range=Range(1, 1_048_576, unit="KiB"),
        effects=("read",),
    )
    dump_max_mb: int = setting(
        100,
        "the dump folder, at most; the oldest dumps go first",
        range=Range(1, 1_048_576, unit="MiB"),
        effects=("read",),
    )
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
        out["routes"] = [rule_payload(rule) for rule in self.routes]
        out["fallbacks"] = {model: list(chain) for model, chain in self.fallbacks.items()}
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


def setup_backup_folder() -> Path:
    """Where `argo-proxy setup` keeps what the assistants' files held before it wrote."""
    return Path(platformdirs.user_state_dir(APP_NAME)) / "setup"


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

    for key, (variable, value) in _from_environment(env).items():
        values[key], origin[key] = value, f"environment variable {variable}"
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
        elif key not in KEYS:
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


# ------------------------------------------------------------------------ the keys

# Each key's declaration and its resolved type (`get_type_hints` reads the annotations,
# which `from __future__ import annotations` leaves as text, and keeps the msgspec
# constraints of `Annotated` ones), by name, in declaration order.
KEYS: Mapping[str, Key] = {
    f.name: spec for f in dataclasses.fields(Config) if (spec := spec_of(f)) is not None
}
_TYPES: Mapping[str, Any] = {
    name: kind
    for name, kind in typing.get_type_hints(Config, include_extras=True).items()
    if name in KEYS
}


def _check_declarations() -> None:
    """Every field but `source` and `notes` is a key, and each key's type can be read:
    a declaration msgspec cannot read, or whose accepted values have no words, fails
    here, at import, not at a reload."""
    others = {f.name for f in dataclasses.fields(Config)} - set(KEYS)
    if others != {"source", "notes"}:
        raise TypeError(f"Config fields not declared with setting(): {sorted(others)}")
    for name, kind in _TYPES.items():
        if kind in (int, float) and KEYS[name].range is None:
            raise TypeError(f"`{name}`: a number key declares its range")
        try:
            convert(kind, KEYS[name], getattr(Config, name, None), _bad_default)
        except TypeError as exc:
            raise TypeError(f"`{name}`: {exc}") from None


def _bad_default(accepted: str) -> TypeError:
    return TypeError(f"its default must be {accepted}")


_check_declarations()


def override_of(
    key: str, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """What wins over the config file for `key` (a command-line option or an environment
    variable, as load_config applies them), or None when the file decides."""
    if (overrides or {}).get(key) is not None:
        return f"option --{key.replace('_', '-')}"
    env = os.environ if environ is None else environ
    spec = KEYS.get(key)
    name = spec.env if spec is not None else None
    if name is not None and env.get(name, "") != "":
        return f"environment variable {name}"
    return None


def _from_environment(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """The keys environment variables set: key → (variable, value)."""
    return {
        key: (spec.env, env[spec.env])
        for key, spec in KEYS.items()
        if spec.env is not None and env.get(spec.env, "") != ""
    }


# ------------------------------------------------------------------------- validation


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

        clean[key] = convert(_TYPES[key], KEYS[key], value, bad)

    user = clean.get("user", "").lower()  # as argo-proxy did (docs/configuration.md#keys)
    if user and (" " in user or user == "cels"):
        raise ConfigError(
            f"{origin.get('user', 'default')}: `user` must be your ANL username "
            f"(no spaces, not the shared `cels`); got {user!r}"
        )
    if "user" in clean:
        clean["user"] = user
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
