"""What a change of each config key does to a running daemon: one table.

Every key the config accepts is here, with its effects; `tests/unit/test_effects.py`
fails on a key that is not, so none is accepted and then never read. A reload
(control/runtime.py) acts on the effects of the keys that changed; docs/configuration.md
tells users the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["EFFECTS", "RESTART_REASONS", "Effect", "effects_of"]

Effect = Literal[
    "read",  # read where it is used, per request or per use: the swap is all it takes
    "checked",  # only checked when the config loads (the check itself is the effect)
    "access",  # a new access guard (token file read first: a reload may fail on it)
    "rebind",  # a new listener at the new address; the old one drains
    "models",  # ARGO or the user changed: the model list is fetched again
    "upstream",  # the upstream client's timeouts and retries are updated
    "legacy",  # the legacy flag follows the file's value
    "log_level",  # the root logger's level
    "records",  # the in-memory request log is resized
    "store",  # the SQLite record store prunes by the new age, opens, or closes
    "restart",  # fixed when the daemon starts: applied at the next start
]

EFFECTS: Mapping[str, tuple[Effect, ...]] = {
    "config_version": ("checked",),
    "user": ("read", "models"),
    "host": ("rebind", "access"),
    "port": ("rebind",),
    "port_auto": ("restart",),
    "tcp": ("restart",),
    "socket": ("restart",),
    "auth": ("access",),
    "token_file": ("access",),
    "allowed_hosts": ("access",),
    "allowed_origins": ("access",),
    "allow_insecure_network": ("checked",),
    "verbose": ("log_level",),
    "log_to_file": ("restart",),
    "max_log_history": ("restart",),
    "log_size": ("records",),
    "log_retention_days": ("store",),
    "argo_base_url": ("read", "models"),
    "native_openai_base_url": ("read", "models"),
    "native_anthropic_base_url": ("read",),
    "anthropic_stream_mode": ("read",),
    "model_refresh_interval_hours": ("read",),
    "connection_test_timeout": ("read",),
    "resolve_overrides": ("restart",),
    "max_payload_size": ("read",),
    "image_timeout": ("read",),
    "concurrent_downloads": ("read",),
    "use_legacy_argo": ("legacy",),
    "username_passthrough": ("read",),
    "default_model": ("read",),
    "default_embed_model": ("read",),
    "request_timeout": ("upstream",),
    "connect_timeout": ("upstream",),
    "retries": ("upstream",),
    "shutdown_grace": ("read",),
    "upstream_pool_size": ("restart",),
    "max_body_mb": ("restart",),
    "body_in_flight_mb": ("read",),
    "head_timeout": ("read",),
    "max_connections": ("read",),
    "max_connections_per_peer": ("read",),
    "pypi_url": ("read",),
    "dump_requests": ("read",),
    "dump_dir": ("read",),
    "dump_max_kb": ("read",),
    "dump_max_mb": ("read",),
}

# Why each "restart" key waits for a restart (a reload reports it).
RESTART_REASONS: Mapping[str, str] = {
    "port_auto": "it is used when the daemon binds its port at start",
    "tcp": "the TCP listener is opened or left closed at start",
    "socket": "the Unix socket listener is opened at start",
    "log_to_file": "the log file is opened at start",
    "max_log_history": "the log file is opened at start",
    "resolve_overrides": "the connection pool to ARGO is built at start",
    "upstream_pool_size": "the connection pool to ARGO is built at start",
    "max_body_mb": "the body size limit is fixed when the HTTP listener starts",
}


def effects_of(keys: set[str]) -> set[Effect]:
    return {effect for key in keys for effect in EFFECTS[key]}
