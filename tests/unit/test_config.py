"""Config loading: argo-proxy v3 files, precedence, search order, clear errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from argo_proxy.daemon.config import Config, config_search_paths, load_config
from argo_proxy.daemon.errors import ConfigError

# The canonical file argo-proxy v3 writes, plus keys users add by hand.
ARGO_PROXY_V3 = """\
# Core settings
config_version: '3'
user: JDoe
host: 0.0.0.0
port: 51234
verbose: true
log_to_file: false

# Upstream
argo_base_url: https://apps.inside.anl.gov/argoapi/
anthropic_stream_mode: retry
use_legacy_argo: false
skip_url_validation: true
model_refresh_interval_hours: 12

# Network & validation
connection_test_timeout: 5
resolve_overrides: {}

# Image processing
enable_payload_control: false
max_payload_size: 20
image_timeout: 30
concurrent_downloads: 10

# Other
max_log_history: 3
"""


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_argo_proxy_v3_file_loads_unchanged(home: Path) -> None:
    path = write(home / "cfg.yaml", ARGO_PROXY_V3)
    config = load_config(path, environ={})
    assert config.user == "jdoe"  # argo-proxy lowercases usernames from files
    assert (config.host, config.port, config.verbose) == ("0.0.0.0", 51234, True)
    assert config.argo_base_url == "https://apps.inside.anl.gov/argoapi"
    assert config.openai_base == "https://apps.inside.anl.gov/argoapi/v1"
    assert config.anthropic_base == "https://apps.inside.anl.gov/argoapi"
    assert config.anthropic_stream_mode == "retry"
    assert config.model_refresh_interval_hours == 12
    assert config.source == path
    # Two argo-proxy keys the daemon has no use for load, each with a note saying why.
    assert [note.split(":")[0] for note in config.notes] == [
        "ignoring `skip_url_validation`",
        "ignoring `enable_payload_control`",
    ]


def test_defaults_are_loopback_and_say_so(home: Path) -> None:
    config = load_config(environ={})
    assert config.host == "127.0.0.1"
    assert config.port == 44497
    assert config.source is None
    assert any("no config file found" in note for note in config.notes)


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("port: 99999\n", "port", "1-65535"),
        ("port: eighty\n", "port", "a port number"),
        ("verbose: maybe\n", "verbose", "true or false"),
        (
            "anthropic_stream_mode: sometimes\n",
            "anthropic_stream_mode",
            "force, retry, passthrough",
        ),
        ("argo_base_url: apps.inside.anl.gov\n", "argo_base_url", "http(s) URL"),
        ("model_refresh_interval_hours: -1\n", "model_refresh_interval_hours", "from 0 to 8760"),
        ("request_timeout: .nan\n", "request_timeout", "more than 0 and at most 86400"),
        ("request_timeout: 0\n", "request_timeout", "more than 0"),
        ("connect_timeout: .inf\n", "connect_timeout", "at most 3600"),
        ("shutdown_grace: -.inf\n", "shutdown_grace", "from 0 to 3600"),
        ("upstream_pool_size: 0\n", "upstream_pool_size", "from 1 to 10000"),
        ("retries: 1e3\n", "retries", "whole number from 0 to 20"),
        ("log_size: 1.5\n", "log_size", "whole number"),
        ("max_body_mb: true\n", "max_body_mb", "whole number"),
        ("dump_max_kb: 0\n", "dump_max_kb", "from 1 to"),
        ("port: .nan\n", "port", "1-65535"),
        ('user: "jdoe\\r\\nX-Other: 1"\n', "user", "control characters"),
        ('token_file: "/tmp/a\\0b"\n', "token_file", "control characters"),
        ('allowed_hosts: ["a\\tb"]\n', "allowed_hosts", "control characters"),
        ("resolve_overrides: {a: [1, 2]}\n", "resolve_overrides", "mapping like"),
        ("dump_dir: !!binary AAAA\n", "dump_dir", "a single value"),
        ("user: john doe\n", "user", "ANL username"),
    ],
)
def test_bad_values_name_file_line_key_and_value(
    home: Path, text: str, key: str, fragment: str
) -> None:
    path = write(home / "bad.yaml", "config_version: '3'\n" + text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = caught.value.message
    assert f"{path}:2:" in message
    assert f"`{key}`" in message
    assert fragment in message


def test_broken_yaml_points_at_the_line(home: Path) -> None:
    path = write(home / "broken.yaml", "port: 1\nuser: [jdoe\n")
    with pytest.raises(ConfigError, match=r"broken.yaml:\d+: not valid YAML"):
        load_config(path, environ={})


def test_explicit_missing_file_is_an_error_not_a_fallback(home: Path) -> None:
    write(home / "config.yaml", "port: 1234\n")
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(home / "missing.yaml", environ={})


def test_search_order(home: Path) -> None:
    old = write(home / ".argoproxy" / "config.yaml", "port: 1003\n")
    assert load_config(environ={}).source == old
    older_xdg = write(home / ".config" / "argoproxy" / "config.yaml", "port: 1002\n")
    assert load_config(environ={}).source == older_xdg
    ours = write(config_search_paths()[1], "port: 1001\n")
    assert load_config(environ={}).source == ours
    local = write(home / "config.yaml", "port: 1000\n")
    config = load_config(environ={})
    assert (config.source, config.port) == (local, 1000)


def test_precedence_cli_over_env_over_file(home: Path) -> None:
    path = write(home / "c.yaml", "port: 1000\nverbose: false\nhost: 127.0.0.2\n")
    env = {"PORT": "2000", "VERBOSE": "yes"}
    config = load_config(path, environ=env, overrides={"port": 3000, "host": None})
    assert config.port == 3000  # CLI
    assert config.verbose is True  # env beats file (#63)
    assert config.host == "127.0.0.2"  # file; a None override means "not given"


def test_bad_environment_value_names_the_variable(home: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable PORT: `port`"):
        load_config(environ={"PORT": "x"})


def test_v1_config_is_migrated_in_memory(home: Path) -> None:
    path = write(
        home / "v1.yaml",
        "user: jdoe\nargo_url: https://apps.inside.anl.gov/argoapi/api/v1/resource/chat/\n"
        "num_workers: 4\n",
    )
    config = load_config(path, environ={})
    assert config.argo_base_url == "https://apps.inside.anl.gov/argoapi"
    assert any("num_workers" in note for note in config.notes)
    assert any("config migrate" in note for note in config.notes)


def test_repr_and_public_dict_hide_the_username(home: Path) -> None:
    config = Config(user="jdoe")
    assert "jdoe" not in repr(config)
    assert config.public_dict()["user"] == "j***"


def test_unknown_keys_are_reported_not_fatal(home: Path) -> None:
    path = write(home / "c.yaml", "user: jdoe\nfavourite_colour: blue\n")
    assert any("favourite_colour" in n for n in load_config(path, environ={}).notes)


def test_the_shells_host_variable_is_ignored_and_argo_proxy_host_read(home: Path) -> None:
    assert load_config(environ={"HOST": "0.0.0.0"}).host == "127.0.0.1"
    assert load_config(environ={"ARGO_PROXY_HOST": "127.0.0.2"}).host == "127.0.0.2"


def test_access_settings(home: Path) -> None:
    path = write(
        home / "c.yaml",
        "auth: NONE\nallowed_hosts: [Argo.Internal, box]\nallowed_origins: http://a.example\n"
        "port: auto\n",
    )
    config = load_config(path, environ={})
    assert config.auth == "none"
    assert config.allowed_hosts == ("Argo.Internal", "box")
    assert config.allowed_origins == ("http://a.example",)
    assert (config.port, config.port_auto) == (44497, True)
    assert load_config(environ={}).auth == "token"  # on by default
    assert load_config(environ={"ARGO_PROXY_AUTH": "none"}).auth == "none"
    assert load_config(environ={}).token_path == home / ".config" / "argo-proxy" / "token"
    with pytest.raises(ConfigError, match="`auth` must be `token`"):
        load_config(environ={"ARGO_PROXY_AUTH": "off"})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("username_passthrough: true\n", "set `auth: none`"),
        ("auth: none\nhost: 0.0.0.0\n", "allow_insecure_network: true"),
        ("tcp: false\n", "set `socket: PATH`"),
    ],
)
def test_settings_that_would_open_the_daemon_are_refused(home: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(write(home / "c.yaml", text), environ={})


def test_confirmed_network_listen_and_passthrough_with_auth_none_load(home: Path) -> None:
    text = "auth: none\nhost: 0.0.0.0\nallow_insecure_network: true\nusername_passthrough: true\n"
    config = load_config(write(home / "c.yaml", text), environ={})
    assert (config.host, config.auth, config.username_passthrough) == ("0.0.0.0", "none", True)


NUMBER_KEYS = [
    f.name for f in dataclasses.fields(Config) if f.type in ("int", "float") and f.compare
]


@pytest.mark.parametrize("key", NUMBER_KEYS)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1.0e+300", "-1", "nan"])
def test_every_number_must_be_finite_and_in_range(home: Path, key: str, value: str) -> None:
    path = write(home / "c.yaml", f"{key}: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert f"{path}:1: `{key}` must be " in caught.value.message
    assert caught.value.message.endswith(f"; got {yaml.safe_load(value)!r}")


def test_the_defaults_are_in_range(home: Path) -> None:
    defaults = Config()
    settings = "".join(f"{key}: {getattr(defaults, key)}\n" for key in NUMBER_KEYS)
    config = load_config(write(home / "c.yaml", settings), environ={})
    assert all(getattr(config, key) == getattr(defaults, key) for key in NUMBER_KEYS)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ARGO_PROXY_READ_TIMEOUT", "nan"),
        ("ARGO_PROXY_READ_TIMEOUT", "inf"),
        ("ARGO_PROXY_CONNECT_TIMEOUT", "-1"),
        ("ARGO_PROXY_CONNECT_TIMEOUT", "1e999"),
        ("PORT", "65536"),
        ("PORT", "-1"),
    ],
)
def test_numbers_from_the_environment_are_checked_the_same(
    home: Path, variable: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=f"^environment variable {variable}: .* must be "):
        load_config(environ={variable: value})


def test_numbers_from_options_are_checked_the_same(home: Path) -> None:
    with pytest.raises(ConfigError, match="^option --port: `port` must be a port number"):
        load_config(environ={}, overrides={"port": 70000})


def test_range_edges_are_accepted(home: Path) -> None:
    text = "port: 65535\nretries: 0\nshutdown_grace: 0\nrequest_timeout: 0.001\nlog_size: 0\n"
    config = load_config(write(home / "c.yaml", text), environ={})
    assert (config.port, config.retries, config.shutdown_grace) == (65535, 0, 0)
    assert (config.request_timeout, config.log_size) == (0.001, 0)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (
            b"\xff\xfeu\x00s\x00e\x00r\x00",
            "byte 0xff at offset 0 is not UTF-8 (it looks like UTF-16",
        ),
        (b"user: jd\xe9\n", "byte 0xe9 at offset 8 is not UTF-8; save it as UTF-8"),
    ],
)
def test_a_file_that_is_not_utf8_is_a_config_error(home: Path, data: bytes, fragment: str) -> None:
    path = home / "c.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.message.startswith(f"{path}: the config file is not UTF-8 text: ")
    assert fragment in caught.value.message


def test_a_utf8_byte_order_mark_is_fine(home: Path) -> None:
    path = home / "c.yaml"
    path.write_bytes("\ufeffuser: jdoe\nport: 1234\n".encode())
    assert load_config(path, environ={}).port == 1234


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: " + "[" * 5000 + "\n", "nested too deeply"),
        ("port: " + "9" * 5000 + "\n", "not valid YAML"),
    ],
)
def test_yaml_that_breaks_the_parser_is_a_config_error(
    home: Path, text: str, fragment: str
) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(write(home / "c.yaml", text), environ={})
