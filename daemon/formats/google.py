"""Google GenAI (`POST /v1beta/models/{model}:generateContent`, `:streamGenerateContent`,
`:countTokens`, also under `/v1/models/`; `GET /v1beta/models`).

The model and the streaming choice are in the URL; a stream is SSE only with
`?alt=sse`, one JSON array otherwise; the error `status` is a google.rpc code name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ClientRequestError
from ..sse import frame_data
from .spec import FormatSpec

__all__ = ["METHODS", "SPEC", "model_resource", "split_model_path"]

METHODS = ("generateContent", "streamGenerateContent", "countTokens")

_STATUS = {  # google.rpc.Code names
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    413: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    501: "UNIMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def split_model_path(model_path: str) -> tuple[str, str]:
    """`models/argo:gemini-2.5-flash:streamGenerateContent` → (model, method)."""
    model, _, method = model_path.rpartition(":")
    model = model.removeprefix("models/")
    if method in METHODS and model:
        return model, method
    raise ClientRequestError(f"Unknown method in '{model_path}': use :" + ", :".join(METHODS) + ".")


def model_resource(alias: str, internal_id: str, family: str, embeddings: bool) -> dict[str, Any]:
    """One model in Google's `models.list` shape."""
    return {
        "name": f"models/{alias}",
        "baseModelId": internal_id,
        "version": "argo",
        "displayName": alias,
        "description": f"{internal_id} on ARGO ({family})",
        "supportedGenerationMethods": ["embedContent"] if embeddings else list(METHODS),
    }


def _error(status: int, message: str, code: str | None, extra: dict[str, Any]) -> Any:
    state = _STATUS.get(status, "INTERNAL" if status >= 500 else "FAILED_PRECONDITION")
    return {"error": {"code": status, "message": message, "status": state, **extra}}


def _stream_error(status: int, message: str) -> bytes:
    return frame_data(_error(status, message, None, {}))


def _counted(body: dict[str, Any]) -> dict[str, Any]:
    # countTokens may wrap the request it counts.
    inner = body.get("generateContentRequest")
    return inner if isinstance(inner, dict) else body


def _file_data(part: Any) -> Any:
    if not isinstance(part, dict):
        return None
    return part.get("fileData") or part.get("file_data")


def _image_url(part: Any) -> str | None:
    data = _file_data(part)
    url = data.get("fileUri") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


def _inline_image(part: dict[str, Any], mime: str, data: str) -> dict[str, Any]:
    rest = {k: v for k, v in part.items() if k not in ("fileData", "file_data")}
    return {**rest, "inlineData": {"mimeType": mime, "data": data}}


def _serves(path: str) -> bool:
    return path.startswith("/v1beta/") or (path.startswith("/v1/models/") and ":" in path)


def _json_array_stream(query: Mapping[str, str]) -> bool:
    return query.get("alt") != "sse"


SPEC = FormatSpec(
    name="google",
    body="google",
    serves=_serves,
    turns="contents",
    parts="parts",
    error_body=_error,
    stream_error=_stream_error,
    frame=frame_data,
    count_answer=lambda n: {"totalTokens": n},
    image_url=_image_url,
    inline_image=_inline_image,
    counted=_counted,
    model_in_path=True,
    json_array_stream=_json_array_stream,
)
