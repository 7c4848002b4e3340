"""Embeddings: `POST /v1/embeddings` (OpenAI shape) and legacy `embed/`
(docs/argo.md#embeddings-answers, #legacy-gateway).

At most 16 inputs, strings only (token-id arrays get FastAPI's 422). A refused username
gets the auth notice as the error text of a 403 — an inference: all that is known is
that the notice shows somewhere in the body or error text of embeddings
(docs/argo.md#the-authentication-notice).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .delivery import BodyReply, dumps
from .envelopes import (
    detail_error,
    model_not_found,
    openai_error,
    openai_vendor_error,
    validation_error,
)
from .exchange import Exchange
from .faults import Kind
from .identity import auth_notice, bearer, body_user
from .replies import count_tokens
from .vectors import vector_base64, vector_json

__all__ = ["MAX_INPUTS", "answer_embeddings", "answer_legacy_embed"]

MAX_INPUTS = 16
_TOO_MANY = (
    "Too many inputs. The max number of inputs is 16. We hope to increase the number of "
    "inputs per request soon. Please contact us through an Azure support request at: "
    "https://go.microsoft.com/fwlink/?linkid=2213926 for further questions."
)


def _texts(kind: Kind, value: Any, field: str) -> list[str] | BodyReply:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return validation_error([field], "Input should be a valid list", "list_type", value)
    for index, item in enumerate(items):
        if not isinstance(item, str):
            # Token-id arrays are refused by ARGO's own validation.
            return validation_error(
                [field, index], "Input should be a valid string", "string_type", item
            )
    if len(items) > MAX_INPUTS:
        if kind == "embeddings":
            return openai_vendor_error(400, _TOO_MANY)
        return detail_error(400, _TOO_MANY)
    return items


def _dimensions(ex: Exchange, default: int) -> int:
    wanted = ex.body.get("dimensions")
    return wanted if isinstance(wanted, int) and 0 < wanted <= default else default


def answer_embeddings(ex: Exchange) -> BodyReply:
    """The OpenAI embeddings body, one deterministic vector per input."""
    name = ex.body.get("model")
    if not isinstance(name, str):
        return validation_error(["model"], "Field required", "missing")
    model = ex.catalogue.lookup_embedding(name)
    if model is None or model.family != "embedding":
        return model_not_found("embeddings", name, ex.catalogue.valid_names)
    texts = _texts("embeddings", ex.body.get("input"), "input")
    if isinstance(texts, BodyReply):
        return texts
    user = body_user(ex.body) or bearer(ex.headers)
    if user is None:
        return openai_error(500, "'NoneType' object has no attribute 'lower'", "AttributeError")
    variant = ex.notice_variant(user)
    if variant:
        return openai_error(403, auth_notice(user, variant), "PermissionDeniedError")
    dims = _dimensions(ex, model.dimensions)
    encode = vector_base64 if ex.body.get("encoding_format") == "base64" else None
    items = []
    for index, text in enumerate(texts):
        encoded = json.dumps(encode(text, dims)) if encode else vector_json(text, dims)
        items.append(f'{{"object":"embedding","index":{index},"embedding":{encoded}}}')
    tokens = sum(count_tokens(t) for t in texts)
    usage = dumps({"prompt_tokens": tokens, "total_tokens": tokens}).decode()
    shown = json.dumps(model.response_model)
    body = f'{{"object":"list","data":[{",".join(items)}],"model":{shown},"usage":{usage}}}'
    return BodyReply(200, body.encode())


def answer_legacy_embed(ex: Exchange) -> BodyReply:
    """The legacy `{"embedding": [[...], ...]}` body."""
    user = body_user(ex.body)
    if user is None:
        return validation_error(["user"], "Field required", "missing")
    name = ex.body.get("model")
    if not isinstance(name, str):
        return validation_error(["model"], "Field required", "missing")
    model = ex.catalogue.lookup_embedding(name)
    if model is None or model.family != "embedding":
        return model_not_found("legacy_embed", name, ex.catalogue.valid_names)
    texts: Sequence[str] | BodyReply = _texts("legacy_embed", ex.body.get("prompt"), "prompt")
    if isinstance(texts, BodyReply):
        return texts
    variant = ex.notice_variant(user)
    if variant:
        return detail_error(403, auth_notice(user, variant))
    vectors = ",".join(vector_json(t, model.dimensions) for t in texts)
    return BodyReply(200, f'{{"embedding":[{vectors}]}}'.encode())
