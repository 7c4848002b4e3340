"""The one error tree of argo-proxy; each class decides the status a client sees.

    ArgoProxyError                        root
    ├── ConfigError                       a config file, flag or variable is wrong
    │   └── FolderError                   ... a folder (or file) it names is another user's (exit 3)
    ├── StartupError                      the daemon cannot start: a port, a socket (exit 3)
    ├── ControlRequestError               a control-plane call is wrong (JSON-RPC -32602)
    │   ├── ControlStateError             ... at this moment: starting, stopping (-32001)
    │   └── ControlActionError            ... the daemon tried and could not (-32002)
    ├── ClientRequestError           400  the client's request is wrong: JSON, a field
    │   ├── UnauthorizedError        401  its API key cannot be the ARGO username it stands for
    │   ├── NotFoundError            404  no such thing here: a path, an endpoint that is off
    │   │   └── ModelNotFoundError   404  the model name matches nothing ARGO serves
    │   ├── MethodNotAllowedError    405  a path that takes another method
    │   ├── PayloadTooLargeError     413  the body, or an image it links, is over a limit
    │   └── HeadersTooLargeError     431  the request's headers are over the limit
    ├── DaemonBusyError              503  argo-proxy has no room for it now (body bytes)
    └── UpstreamError                502  ARGO failed us: unreachable, unreadable, an error
        ├── UpstreamTimeoutError     504  no answer within the time allowed
        ├── UpstreamBusyError        503  every connection to ARGO is in use
        ├── UpstreamStatusError      ...  ARGO answered an error status (the rule is below)
        └── UpstreamAuthError        403  ARGO's "authentication notice": unknown username

Handlers never catch library errors themselves: `upstream.py` maps httpx errors,
`convert.py` maps llm-rosetta errors, `config.py` maps YAML errors, all into this tree.
A new class is added only when some caller, or the status, differs.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "ArgoProxyError",
    "ClientRequestError",
    "ConfigError",
    "ControlActionError",
    "ControlRequestError",
    "ControlStateError",
    "FolderError",
    "HeadersTooLargeError",
    "MethodNotAllowedError",
    "ModelNotFoundError",
    "NotFoundError",
    "PayloadTooLargeError",
    "StartupError",
    "UnauthorizedError",
    "UpstreamAuthError",
    "UpstreamBusyError",
    "UpstreamError",
    "UpstreamStatusError",
    "UpstreamTimeoutError",
]


class ArgoProxyError(Exception):
    """Root of every error argo-proxy raises on purpose."""

    status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(ArgoProxyError):
    """A config file, flag or environment variable has a value we cannot use."""


class FolderError(ConfigError):
    """A folder or file the daemon keeps private things in (the control socket's, the
    access token's, the config file) is another user's or open to them. A reload is
    refused as for any config error; every command exits 3 (docs/security.md)."""


class StartupError(ArgoProxyError):
    """The daemon could not start (port taken, a daemon already running); exit code 3."""


class ControlRequestError(ArgoProxyError):
    """A control-plane call has params the method cannot take."""


class ControlStateError(ControlRequestError):
    """A control-plane call that cannot be done now (the daemon starts or stops)."""


class ControlActionError(ControlRequestError):
    """A control-plane call the daemon tried and could not carry out."""


class ClientRequestError(ArgoProxyError):
    """The client's request cannot be served as sent."""

    status = 400


class UnauthorizedError(ClientRequestError):
    """The API key cannot be used as sent: with `username_passthrough`, it is not a
    username an HTTP header can carry. (The access token's refusals are `access.py`'s.)"""

    status = 401


class NotFoundError(ClientRequestError):
    """The request names something this daemon does not serve (now)."""

    status = 404


class ModelNotFoundError(NotFoundError):
    """The requested model matches no ARGO model and no default is configured."""


class MethodNotAllowedError(ClientRequestError):
    """The path exists, for another HTTP method."""

    status = 405


class PayloadTooLargeError(ClientRequestError):
    """The body, or an image it links to, is larger than a configured limit."""

    status = 413


class HeadersTooLargeError(ClientRequestError):
    """The request's header lines are larger than the server takes."""

    status = 431


class DaemonBusyError(ArgoProxyError):
    """argo-proxy itself has no room for the request now: too many request body bytes
    are being read at once (`body_in_flight_mb`); the client may retry."""

    status = 503
    headers: Mapping[str, str] = {"Retry-After": "1"}


class UpstreamError(ArgoProxyError):
    """ARGO answered with an error, an unreadable body, or not at all."""

    status = 502

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        # Headers the client's SDK acts on (Retry-After, rate limits), passed on to it.
        self.headers: Mapping[str, str] = headers or {}


class UpstreamTimeoutError(UpstreamError):
    """ARGO (or an image host) did not answer within the time allowed."""

    status = 504


class UpstreamBusyError(UpstreamError):
    """Every connection to ARGO is in use by requests in flight."""

    status = 503


class UpstreamStatusError(UpstreamError):
    """ARGO answered with an error status.

    Its 4xx are about the request and reach the client as they are, and so do 503, 504
    and 529 (a client's SDK knows to retry them); any other 5xx (an ARGO bug) is a bad
    gateway to us; an unknown model is a 404 whatever ARGO said.
    """

    _KEPT_5XX = frozenset({503, 504, 529})

    def __init__(
        self,
        message: str,
        upstream_status: int,
        *,
        model_not_found: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, headers=headers)
        self.upstream_status = upstream_status
        if model_not_found:
            self.status = 404
        elif 400 <= upstream_status < 500 or upstream_status in self._KEPT_5XX:
            self.status = upstream_status
        else:
            self.status = 502


class UpstreamAuthError(UpstreamError):
    """ARGO's HTTP-200 "authentication notice": the username is not registered."""

    status = 403
