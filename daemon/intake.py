"""Reading the client's body and checking what it asks, for intake (calls.py).

A body is parsed once, its fields checked against its format's rules
(`validation.py`), and what the path needs of it taken out: the model name, whether it
streams, the daemon's own `timeout` field. A request that cannot be served as sent is
a `ClientRequestError` here, before any work is done for it.
"""

from __future__ import annotations

from typing import Any

from .errors import ClientRequestError
from .exchange import ClientRequest
from .field_rules import BodyKind
from .formats import FormatSpec
from .models import MAX_MODEL_NAME
from .validation import check_body, check_nesting, load_json

__all__ = ["check_turns", "model_name_of", "parse_body", "pop_timeout", "wants_stream"]


def parse_body(raw: bytes, kind: BodyKind) -> dict[str, Any]:
    """The request body as a JSON object whose fields have the types `kind` allows
    (field_rules.py), whose text is valid Unicode and whose numbers are finite; nulls
    that mean "not sent" are gone."""
    if not raw.strip():
        raise ClientRequestError("The request body is empty: send a JSON object.")
    check_nesting(raw)
    body = load_json(raw)
    if not isinstance(body, dict):
        raise ClientRequestError(
            f"The request body must be a JSON object, not a JSON {type(body).__name__}."
        )
    check_body(kind, body)
    return body


def check_turns(spec: FormatSpec, body: dict[str, Any]) -> None:
    """What a chat request must carry (its types were checked by `parse_body`), and
    what its format cannot honour."""
    value = body.get(spec.turns)
    if value is None:
        raise ClientRequestError(f"Missing '{spec.turns}' field.")
    if not value:
        raise ClientRequestError(f"'{spec.turns}' must not be empty.")
    spec.refuse(body)


def pop_timeout(body: dict[str, Any]) -> float | None:
    """A `timeout` body field (seconds) overrides the upstream timeout for this request."""
    if "timeout" not in body:
        return None
    value = body.pop("timeout")
    if type(value) in (int, float) and value > 0:
        try:
            return float(value)
        except OverflowError:  # an integer of 309 digits or more
            pass
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    raise ClientRequestError(f"'timeout' must be a positive number of seconds; got {shown}.")


def model_name_of(req: ClientRequest, body: dict[str, Any]) -> str:
    """The model the client asked for: Google's in the URL path, the others' in the body
    (whose length its field rules bound, field_rules.py)."""
    if req.path_model is not None and len(req.path_model) > MAX_MODEL_NAME:
        raise ClientRequestError(
            f"The model name in the URL path must be at most {MAX_MODEL_NAME} characters "
            f"long; got {len(req.path_model)} characters."
        )
    name = req.path_model if req.path_model is not None else body.get("model")
    if name is None or name == "":
        raise ClientRequestError("Missing 'model' field.")
    if not isinstance(name, str):
        raise ClientRequestError(f"'model' must be a string; got {name!r}.")
    return name


def wants_stream(req: ClientRequest, body: dict[str, Any]) -> bool:
    return req.path_stream if req.path_stream is not None else body.get("stream") is True
