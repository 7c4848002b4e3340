"""The one error tree of argo-proxy.

    ArgoProxyError                 root; carries the HTTP status a client should see
    ├── ConfigError                a config file or setting is wrong (never reaches a client)
    ├── ClientRequestError         the client's request is wrong: bad JSON, missing model, ...
    │   └── ModelNotFoundError     the model name resolves to nothing ARGO serves (404)
    └── UpstreamError              ARGO failed us: unreachable (502), timeout (504), an error
        │                          status or body (its status), a body we cannot read (502)
        └── UpstreamAuthError      ARGO's "authentication notice": the username is unknown (403)

Handlers never catch library errors themselves: `upstream.py` maps httpx errors,
`convert.py` maps llm-rosetta errors, `config.py` maps YAML errors, all into this tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "ArgoProxyError",
    "ClientRequestError",
    "ConfigError",
    "ModelNotFoundError",
    "UpstreamAuthError",
    "UpstreamError",
]


class ArgoProxyError(Exception):
    """Root of every error argo-proxy raises on purpose."""

    status: int = 500
    error_type: str = "api_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status


class ConfigError(ArgoProxyError):
    """A config file, flag or environment variable has a value we cannot use."""


class ClientRequestError(ArgoProxyError):
    """The client's request cannot be served as sent (400 unless told otherwise)."""

    status = 400
    error_type = "invalid_request_error"


class ModelNotFoundError(ClientRequestError):
    """The requested model matches no ARGO model and no default is configured."""

    status = 404
    error_type = "not_found_error"


class UpstreamError(ArgoProxyError):
    """ARGO answered with an error, an unreadable body, or not at all."""

    status = 502
    error_type = "api_error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        upstream_status: int | None = None,
        upstream_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.upstream_status = upstream_status
        self.upstream_body = upstream_body
        # Headers the client's SDK acts on (Retry-After, rate limits), passed on to it.
        self.headers: Mapping[str, str] = headers or {}


class UpstreamAuthError(UpstreamError):
    """ARGO's HTTP-200 "authentication notice": the username is not registered."""

    status = 403
    error_type = "permission_error"
