"""ARGO's error bodies, per endpoint kind (docs/argo.md#error-bodies).

- OpenAI-compatible endpoints: `{"error": {"message", "type": <Python exception class>,
  "code": "internal_error"}}`; a vendor's own error is the Python repr of its body inside
  `"Error code: <status> - {...}"` (single quotes, `None`), never JSON.
- `/v1/messages`: Anthropic's `{"type": "error", "error": {"type", "message"}}`, vendor
  errors wrapped the same way with a `req_vrtx_` request id.
- Legacy and model-list endpoints: FastAPI's `{"detail": ...}`.
- nginx in front: an HTML page (502).
"""

from __future__ import annotations

from typing import Any

from .delivery import JSON, BodyReply, dumps
from .faults import Fault, Kind

__all__ = [
    "STREAMING_REQUIRED",
    "anthropic_error",
    "anthropic_vendor_error",
    "api_error_200",
    "detail_error",
    "model_not_found",
    "nginx_page",
    "openai_error",
    "openai_vendor_error",
    "status_fault",
    "status_reply",
    "stream_error_event",
    "streaming_required",
    "validation_error",
]

STREAMING_REQUIRED = (
    "Streaming is required for operations that may take longer than 10 minutes. "
    "See https://github.com/anthropics/anthropic-sdk-python#long-requests for more details"
)

# status -> (OpenAI SDK exception class, Anthropic error type, default message)
_STATUS: dict[int, tuple[str, str, str]] = {
    400: ("BadRequestError", "invalid_request_error", "Invalid request (simulated fault)."),
    401: (
        "AuthenticationError",
        "authentication_error",
        "Authentication failed (simulated fault).",
    ),
    403: ("PermissionDeniedError", "permission_error", "Permission denied (simulated fault)."),
    404: ("NotFoundError", "not_found_error", "Not found (simulated fault)."),
    408: ("APITimeoutError", "timeout_error", "Request timed out (simulated fault)."),
    413: ("BadRequestError", "request_too_large", "Request too large (simulated fault)."),
    422: ("UnprocessableEntityError", "invalid_request_error", "Unprocessable (simulated fault)."),
    429: (
        "RateLimitError",
        "rate_limit_error",
        "Rate limit exceeded (simulated fault). Please retry after 1 second.",
    ),
    500: ("InternalServerError", "api_error", "Internal server error (simulated fault)."),
    502: ("InternalServerError", "api_error", "Bad gateway (simulated fault)."),
    503: ("InternalServerError", "overloaded_error", "Service unavailable (simulated fault)."),
    504: ("InternalServerError", "api_error", "Gateway timeout (simulated fault)."),
    529: ("InternalServerError", "overloaded_error", "Overloaded (simulated fault)."),
}

_NGINX_TITLES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def openai_error(
    status: int, message: str, error_type: str, code: str = "internal_error"
) -> BodyReply:
    """The gateway envelope of the OpenAI-compatible endpoints."""
    return BodyReply(
        status, dumps({"error": {"message": message, "type": error_type, "code": code}})
    )


def openai_vendor_error(
    status: int,
    message: str,
    *,
    param: str | None = None,
    code: str | None = None,
    vendor_type: str = "invalid_request_error",
) -> BodyReply:
    """A vendor (Azure OpenAI) error as ARGO relays it: Python repr inside the message."""
    inner = {"error": {"message": message, "type": vendor_type, "param": param, "code": code}}
    exception = _STATUS.get(status, _STATUS[500])[0]
    return openai_error(status, f"Error code: {status} - {inner!r}", exception)


def anthropic_error(status: int, error_type: str, message: str) -> BodyReply:
    """The Anthropic envelope of `/v1/messages`."""
    return BodyReply(
        status, dumps({"type": "error", "error": {"type": error_type, "message": message}})
    )


def anthropic_vendor_error(status: int, message: str, request_id: str) -> BodyReply:
    """A vendor (Anthropic on Vertex) error as ARGO relays it, re-wrapped."""
    error_type = _STATUS.get(status, _STATUS[500])[1]
    inner = {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }
    return anthropic_error(status, error_type, f"Error code: {status} - {inner!r}")


def detail_error(status: int, message: str) -> BodyReply:
    """FastAPI's HTTPException body, used by the legacy and model-list endpoints."""
    return BodyReply(status, dumps({"detail": message}))


def validation_error(loc: list[Any], msg: str, error_type: str, given: Any = None) -> BodyReply:
    """FastAPI/pydantic's 422 body."""
    item = {"type": error_type, "loc": ["body", *loc], "msg": msg, "input": given}
    return BodyReply(422, dumps({"detail": [item]}))


def nginx_page(status: int) -> BodyReply:
    """The HTML error page of the nginx in front of ARGO."""
    title = _NGINX_TITLES.get(status, f"{status} Error")
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return BodyReply(status, page.encode(), "text/html")


def model_not_found(kind: Kind, name: str, valid_names: str) -> BodyReply:
    """The 400 for an unknown, retired or vendor-named model (only `code` is certain)."""
    message = f"Model '{name}' not found. Valid model names are: {valid_names}"
    if kind == "messages":
        return anthropic_error(400, "invalid_request_error", message)
    if kind in ("legacy_chat", "legacy_stream", "legacy_embed"):
        return detail_error(400, message)
    return openai_error(400, message, "NotFoundError", "model_not_found")


def status_fault(kind: Kind, status: int, message: str | None, request_id: str) -> BodyReply:
    """The body of a `status` fault, in the endpoint's own envelope."""
    if status == 502:
        return nginx_page(status)
    if status == 422 and kind != "messages":
        return validation_error(
            [], message or "Input should be valid (simulated fault)", "value_error"
        )
    exception, error_type, default = _STATUS.get(status, _STATUS[500])
    text = message or default
    if kind == "messages":
        return anthropic_vendor_error(status, text, request_id)
    if kind in ("chat", "embeddings"):
        return openai_vendor_error(status, text, vendor_type=error_type)
    return detail_error(status, text)


# (rule parameter, unit in the header names) of the OpenAI-style rate-limit headers
_RATE_LIMITS = (("ratelimit", "requests"), ("ratelimit_tokens", "tokens"))


def _reset_duration(seconds: float) -> str:
    """A wait in OpenAI's `x-ratelimit-reset-*` format: `20ms`, `1s`, `1.5s`, `6m0s`."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    hours, minutes = divmod(int(minutes), 60)
    text = f"{rest:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{text}"
    return f"{minutes}m{text}" if minutes else text


def _status_headers(fault: Fault) -> dict[str, str]:
    headers: dict[str, str] = {}
    retry_after = fault.params.get("retry_after")
    if retry_after is not None:
        headers["retry-after"] = str(retry_after)
    # A limit named by the rule is the one exhausted; it resets when a retry may succeed.
    reset = _reset_duration(fault.number("ratelimit_reset", fault.number("retry_after", 1.0)))
    for key, unit in _RATE_LIMITS:
        limit = fault.integer(key, 0)
        if limit > 0:
            headers[f"x-ratelimit-limit-{unit}"] = str(limit)
            headers[f"x-ratelimit-remaining-{unit}"] = "0"
            headers[f"x-ratelimit-reset-{unit}"] = reset
    return headers


def status_reply(kind: Kind, fault: Fault, request_id: str) -> BodyReply:
    """The reply to a `status` fault: its body, and the headers its parameters ask for."""
    reply = status_fault(kind, fault.integer("code", 500), fault.params.get("message"), request_id)
    headers = _status_headers(fault)
    if headers:
        reply.headers = {**(reply.headers or {}), **headers}
    return reply


def streaming_required(kind: Kind) -> BodyReply:
    """The fast 500 of a non-streaming Claude call whose `max_tokens` is too big
    (docs/argo.md#streaming-is-required)."""
    if kind == "messages":
        return anthropic_error(500, "api_error", STREAMING_REQUIRED)
    if kind == "chat":
        return openai_error(500, STREAMING_REQUIRED, "ValueError")
    return detail_error(500, STREAMING_REQUIRED)


def api_error_200(kind: Kind, request_id: str) -> BodyReply:
    """A vendor 5xx relayed with HTTP 200, as every claudeopus41 call was on 2026-05-21
    (docs/argo.md#errors-inside-a-200)."""
    inner = {
        "type": "error",
        "error": {"details": None, "type": "api_error", "message": "Internal server error"},
        "request_id": request_id,
    }
    if kind == "messages":
        return anthropic_error(200, "api_error", repr(inner))
    if kind in ("chat", "embeddings"):
        return openai_error(200, repr(inner), "APIError")
    return BodyReply(200, dumps({"detail": repr(inner)}), JSON)


def stream_error_event(kind: Kind, which: str) -> bytes:
    """An error inside a 200 stream (docs/argo.md#errors-inside-a-200)."""
    if which == "quota":
        error_type = "rate_limit_error"
        message = (
            "429 RESOURCE_EXHAUSTED. Quota exceeded for "
            "aiplatform.googleapis.com/online_prediction_tokens_per_minute_per_base_model "
            "with base model: anthropic-claude. Please submit a quota increase request."
        )
    else:
        error_type, message = "overloaded_error", "Overloaded"
    if kind == "messages":
        payload = dumps({"type": "error", "error": {"type": error_type, "message": message}})
        return b"event: error\ndata: " + payload + b"\n\n"
    if kind == "chat":
        payload = dumps(
            {"error": {"message": message, "type": error_type, "code": "internal_error"}}
        )
        return b"data: " + payload + b"\n\n"
    return f"\n\n[ARGO error] {message}".encode()
