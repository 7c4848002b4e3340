"""The legacy gateway backend: ARGO's gateway API (`/api/v1/resource/chat|streamchat|embed/`).

With legacy mode on (config, `--legacy-argo`, or `ctl legacy on`, read per request),
`/v1/chat` forwards its body to `chat/` (`streamchat/` when streamed, relayed as raw
text), `/v1/embed` to `embed/`, and `/v1/completions`, `/v1/chat/completions`,
`/v1/responses` and `/v1/embeddings` are served through the gateway too
(docs/legacy.md). Each request comes through intake (calls.py) as every other does;
what differs per endpoint is data, a `ChatEndpoint` (`legacy_requests.py`, carried by
the Call) that builds the gateway request and says how the client gets the answer
(`legacy_shapes.py`). This module is the gateway's backend (calls.Backend): it talks
to the gateway and reads what it sends back.

The gateway's quirks (docs/argo.md#legacy-gateway, #legacy-streams): identity is the body `user`
only; complaints about the request shape and the authentication notice come back with
HTTP 200 as answer text (here a 400 and a 403); `streamchat` sends raw UTF-8 in
arbitrary byte chunks and cannot call tools, so requests with tools go to `chat/` and
are replayed as a stream. It reports no usage: usage is the offline estimate.
"""

from __future__ import annotations

import codecs
import json
import logging
from collections.abc import AsyncGenerator
from typing import Any

from ..argo_replies import NoticeWatch, auth_error, error_from_status, is_streaming_required
from ..calls import Call
from ..config import Config
from ..errors import ArgoProxyError, ClientRequestError, UpstreamError
from ..exchange import JSONResult, Result, StreamResult, started
from ..legacy_requests import (
    CHAT_ENDPOINTS,
    ChatEndpoint,
    Plan,
    embed_prompts,
    prompt_tokens,
)
from ..legacy_shapes import (
    Framer,
    LegacyAnswer,
    Meta,
    answer_chunks,
    chunk,
    embedding_list,
    new_meta,
    usage,
)
from ..legacy_tools import read_response
from ..models import family_of
from ..observer import NO_OBSERVER, Observer
from ..tokens import estimate, estimate_text_tokens
from ..upstream import Upstream, UpstreamReply

__all__ = ["LegacyGateway"]

log = logging.getLogger(__name__)

# The gateway's HTTP-200 refusals of a request's shape (docs/argo.md#errors-inside-a-200).
_COMPLAINTS = ("You passed a messages field along with a system and or prompt field",)
# --------------------------------------------------------------------- reading ARGO


def _is_notice(text: str) -> bool:
    notice = NoticeWatch()
    notice.feed(text)
    return notice.is_notice


def _refusal(text: str) -> ArgoProxyError | None:
    """The error an answer text really is: the auth notice, or a request complaint."""
    if _is_notice(text):
        return auth_error()
    head = text.lstrip()
    if any(head.startswith(opening) for opening in _COMPLAINTS):
        return ClientRequestError(f"ARGO's legacy gateway refused the request: {head.strip()}")
    return None


def _status_error(reply: UpstreamReply) -> UpstreamError:
    if _is_notice(reply.text()):
        return auth_error()  # the legacy embed endpoint may send the notice as an error
    return error_from_status(reply.status, reply.body, reply.headers)


def _read_answer(reply: UpstreamReply) -> LegacyAnswer:
    body = reply.json()
    if not isinstance(body, dict) or body.get("response") is None:
        if isinstance(body, dict) and ("error" in body or "detail" in body):
            raise error_from_status(reply.status, reply.body, reply.headers)
        raise UpstreamError(
            "ARGO's legacy gateway answered without a response; try other request "
            f"parameters. It sent: {reply.text()[:200]!r}"
        )
    text, calls = read_response(body["response"])
    refusal = None if calls else _refusal(text)
    if refusal is not None:
        raise refusal
    return LegacyAnswer(text, calls, body, reply.body)


def _opening_undecided(text: str, notice: NoticeWatch) -> bool:
    """Whether the first text of a stream may still become the notice or a complaint
    (a complaint is held whole, to be reported whole)."""
    head = text.lstrip()
    return not notice.decided or any(
        opening.startswith(head) or head.startswith(opening) for opening in _COMPLAINTS
    )


async def _screened(fragments: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
    """Text released once it cannot be a refusal; a refusal is raised before any byte
    goes out, so the client gets a proper 403/400 (docs/argo.md#legacy-streams: the notice
    arrives as ordinary text at the start of the body)."""
    notice = NoticeWatch()
    held: str | None = ""
    try:
        async for text in fragments:
            if held is None:
                yield text
                continue
            held += text
            notice.feed(text)
            if _opening_undecided(held, notice):
                continue
            refusal = _refusal(held)
            if refusal is not None:
                raise refusal
            yield held
            held = None
        if held:
            refusal = _refusal(held)
            if refusal is not None:
                raise refusal
            yield held
    finally:
        await fragments.aclose()


def _url(config: Config, resource: str) -> str:
    return f"{config.argo_base_url}/api/v1/resource/{resource}/"  # the slash is part of it


def _dumps(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# docs/argo.md#identity: JSON in; no auth header, identity is the body's `user`.
_HEADERS = {"Content-Type": "application/json"}
_STREAM_HEADERS = {**_HEADERS, "Accept": "text/plain"}


class LegacyGateway:
    """Serves a call, chat or embeddings, from the gateway (calls.Backend)."""

    def __init__(self, upstream: Upstream) -> None:
        self._upstream = upstream

    async def send(self, call: Call, observer: Observer) -> Result:
        body, model, user = call.body, call.model, call.user
        if call.kind == "embed":
            observer.prepared(None, converted=False, thinking_off=False)
            return await self.embed(body, model, user, call.timeout, call.config, observer)
        # Only `/v1/chat` sends the gateway's own format.
        converted = call.endpoint is not CHAT_ENDPOINTS["chat"]
        observer.prepared(None, converted=converted, thinking_off=False)
        if call.endpoint is None:  # OpenAI's /v1/embeddings, in legacy mode
            result = await self.embeddings(body, model, user, call.timeout, call.config)
            observer.usage_estimated(result.body["usage"]["prompt_tokens"], 0)
            return result
        return await self.chat(
            call.endpoint, dict(body), model, user, call.timeout, call.config, observer
        )

    async def chat(
        self,
        endpoint: ChatEndpoint,
        body: dict[str, Any],
        model: str,
        user: str,
        timeout: float | None,
        config: Config,
        observer: Observer,
    ) -> Result:
        """A chat-like request: built for the gateway by its endpoint's plan, answered
        whole or streamed (raw text from `streamchat/`; a request with tools is
        answered by `chat/` and replayed as a stream, as `streamchat/` cannot call
        tools). `observer` gets the estimate the answer carries."""
        plan = endpoint.plan(body, model, family_of(model), user)
        meta = new_meta(plan.id_prefix, model, await estimate(prompt_tokens, plan.body))
        log.debug("legacy %s stream=%s", model, plan.stream)
        if plan.stream and not plan.tools:
            framer = plan.framer()
            text = self._text_stream(config, plan, framer, meta, timeout, observer)
            return StreamResult(await started(text), plan.content_type, framer.fail)
        answer = await self._ask(config, plan, timeout, observer)
        observer.usage_estimated(meta.prompt_tokens, answer.completion_tokens)
        if plan.stream:
            events = answer_chunks(meta, answer.text, answer.calls, answer.completion_tokens)
            framer = plan.framer()
            return StreamResult(_replay(framer, events), plan.content_type, framer.fail)
        shaped = plan.answer(answer, meta)
        return JSONResult(200, shaped, answer.raw if shaped is answer.body else None)

    async def embeddings(
        self,
        body: dict[str, Any],
        model: str,
        user: str,
        timeout: float | None,
        config: Config,
        observer: Observer = NO_OBSERVER,
    ) -> JSONResult:
        """`/v1/embeddings` in legacy mode: OpenAI's list shape from `embed/`."""
        if body.get("dimensions") is not None:
            raise ClientRequestError(
                "'dimensions' cannot be served by the legacy ARGO gateway: it returns "
                "each model's full vectors."
            )
        encoding = body.get("encoding_format") or "float"
        if encoding not in ("float", "base64"):
            raise ClientRequestError(
                f"'encoding_format' must be float or base64; got {encoding!r}."
            )
        out = _embed_body(body, model, user)
        for name in ("dimensions", "encoding_format"):
            out.pop(name, None)
        vectors = (await self._embed(config, out, timeout, observer)).json()["embedding"]
        tokens = await estimate(_texts_tokens, out["prompt"])
        shaped = embedding_list(vectors, model, tokens, base64_floats=encoding == "base64")
        return JSONResult(200, shaped)

    async def embed(
        self,
        body: dict[str, Any],
        model: str,
        user: str,
        timeout: float | None,
        config: Config,
        observer: Observer,
    ) -> JSONResult:
        """`/v1/embed`: the gateway's own embeddings API, its answer as it came."""
        out = _embed_body(body, model, user)
        reply = await self._embed(config, out, timeout, observer)
        observer.usage_estimated(await estimate(_texts_tokens, out["prompt"]), 0)
        return JSONResult(200, reply.json(), reply.body)

    # ------------------------------------------------------------------------ chat

    async def _ask(
        self, config: Config, plan: Plan, timeout: float | None, observer: Observer
    ) -> LegacyAnswer:
        """One answer from `chat/`; a Claude answer too long for it comes from `streamchat/`."""
        reply = await self._upstream.post(
            _url(config, "chat"), _dumps(plan.body), _HEADERS, timeout=timeout, observer=observer
        )
        if reply.status < 400:
            return _read_answer(reply)
        error = _status_error(reply)
        if plan.tools or not is_streaming_required(error):
            raise error
        # docs/argo.md#streaming-is-required: ARGO asks for streaming; argo-proxy capped max_tokens
        # instead, which changes the request (docs/compatibility.md#legacy-mode-differences).
        log.info("ARGO asked for streaming; asking %s through streamchat", plan.body["model"])
        fragments = _screened(self._fragments(config, plan.body, timeout, observer))
        text = "".join([part async for part in fragments])
        return LegacyAnswer(text, [], {"response": text}, None)

    async def _fragments(
        self, config: Config, body: dict[str, Any], timeout: float | None, observer: Observer
    ) -> AsyncGenerator[str, None]:
        """The text of a `streamchat/` answer, decoded as it arrives.

        docs/argo.md#legacy-streams: chunks end anywhere, inside a multi-byte character too, so
        the bytes go through one incremental decoder (never a per-chunk decode); gzip is undone
        below.
        """
        async with self._upstream.stream(
            _url(config, "streamchat"),
            _dumps(body),
            _STREAM_HEADERS,
            timeout=timeout,
            observer=observer,
        ) as upstream:
            if upstream.status != 200:
                raise _status_error(await upstream.read())
            if "json" in upstream.content_type:  # an error or notice sent as one JSON body
                yield _read_answer(await upstream.read()).text
                return
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
            async for data in upstream.chunks():
                text = decoder.decode(data)
                if text:
                    yield text
            text = decoder.decode(b"", final=True)
            if text:
                yield text

    async def _text_stream(
        self,
        config: Config,
        plan: Plan,
        framer: Framer,
        meta: Meta,
        timeout: float | None,
        observer: Observer,
    ) -> AsyncGenerator[bytes, None]:
        """Each decoded fragment as one chunk (the role on the first), then the finish
        chunk, the usage chunk and the end of the client's stream."""
        fragments = _screened(self._fragments(config, plan.body, timeout, observer))
        parts: list[str] = []
        try:
            async for text in fragments:
                delta = {"content": text} if parts else {"role": "assistant", "content": text}
                parts.append(text)
                yield framer.frame([chunk(meta, delta)])
        except UpstreamError as exc:
            if not parts:
                raise  # nothing sent yet: the client gets a proper HTTP error instead
            log.warning("legacy stream failed: %s", exc.message)
            yield framer.fail(exc.status, f"The stream from ARGO broke off: {exc.message}")
            return
        finally:
            await fragments.aclose()
        tail = [] if parts else [chunk(meta, {"role": "assistant", "content": ""})]
        tokens = estimate_text_tokens("".join(parts))
        observer.usage_estimated(meta.prompt_tokens, tokens)
        tail += [chunk(meta, {}, "stop"), {**chunk(meta, None), "usage": usage(meta, tokens)}]
        yield framer.frame(tail) + framer.end()

    # ------------------------------------------------------------------ embeddings

    async def _embed(
        self, config: Config, body: dict[str, Any], timeout: float | None, observer: Observer
    ) -> UpstreamReply:
        reply = await self._upstream.post(
            _url(config, "embed"), _dumps(body), _HEADERS, timeout=timeout, observer=observer
        )
        if reply.status >= 400:
            raise _status_error(reply)
        answer = reply.json()
        vectors = answer.get("embedding") if isinstance(answer, dict) else None
        if not isinstance(vectors, list) or len(vectors) != len(body["prompt"]):
            raise UpstreamError(
                f"ARGO's legacy embed endpoint sent no usable vectors: {reply.text()[:200]!r}"
            )
        return reply


def _texts_tokens(texts: list[str]) -> int:
    return sum(estimate_text_tokens(text) for text in texts)


def _embed_body(body: dict[str, Any], model: str, user: str) -> dict[str, Any]:
    """The `embed/` body: OpenAI's `input` becomes the gateway's `prompt` (docs/argo.md)."""
    out = {k: v for k, v in body.items() if k != "input"}
    out["prompt"] = embed_prompts(body.get("prompt", body.get("input")))
    out.update(model=model, user=user)
    return out


async def _replay(framer: Framer, events: list[dict[str, Any]]) -> AsyncGenerator[bytes, None]:
    yield framer.frame(events) + framer.end()
