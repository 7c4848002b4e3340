"""The Sanic app: the endpoint table and nothing else.

Handlers turn a Sanic request into a `ClientRequest`, hand it to the one request path
(`pipeline.py`), and turn its result back into a response. Access control runs first,
for every request (`access.py`).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import BaseHTTPResponse, HTTPResponse, html, json, raw

from .access import Denial
from .backends.gateway import LEGACY_PATHS
from .errors import (
    ArgoProxyError,
    ClientRequestError,
    HeadersTooLargeError,
    MethodNotAllowedError,
    NotFoundError,
    PayloadTooLargeError,
)
from .exchange import ClientRequest, JSONResult, Result
from .formats import FORMATS, ClientFormat, FormatSpec, format_for_path
from .formats.google import model_resource, split_model_path
from .models import ModelEntry
from .pipeline import DirectEndpoint, Pipeline
from .serving import InFlight
from .state import DaemonState
from .versions import VersionChecker

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_app_ids = itertools.count(1)  # Sanic wants a unique name per app in a process
_touchup_once = iter([True])
_DOCS = "https://argo-proxy.readthedocs.io/en/latest/"
_V1_NOT_FOUND = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>argo-proxy</center>\r\n"
    "</body>\r\n</html>\r\n"
)


# After answering a request body at least this big, a full garbage collection runs.
_COLLECT_AFTER_BYTES = 16 * 1024 * 1024


def _client_request(request: Request, **path: Any) -> ClientRequest:
    query = {key: values[0] for key, values in request.args.items() if values}
    # The request path takes the body over and lets go of it once parsed; Sanic's request
    # would hold it to the end, and after: until the next request on the connection.
    body, request.body = request.body, b""
    request.ctx.big_body = len(body) >= _COLLECT_AFTER_BYTES
    return ClientRequest(body=body, headers=request.headers, query=query, **path)


def _json_response(result: JSONResult) -> HTTPResponse:
    if result.raw is not None:  # ARGO's own bytes: sent as they came
        return raw(result.raw, status=result.status, content_type="application/json")
    headers = dict(result.headers) if result.headers else None
    return json(result.body, status=result.status, headers=headers)


def _as_ours(exc: SanicException, request: Request, max_body_mb: int) -> ArgoProxyError:
    """A refusal of Sanic's, as the error of ours with the same meaning and status."""
    status = exc.status_code
    if status == 404:
        return NotFoundError(
            f"No endpoint {request.method} {request.path}. See {_DOCS} for the API."
        )
    if status == 405:
        return MethodNotAllowedError(f"{request.method} is not allowed on {request.path}.")
    if status == 413 and "header" in str(exc).lower():  # the headers' limit, not the body's
        return HeadersTooLargeError(
            f"The request headers are larger than {_MAX_HEADER_BYTES // 1024} KiB in all, "
            "the most argo-proxy accepts."
        )
    if status == 413:
        return PayloadTooLargeError(
            f"The request body is larger than {max_body_mb} MiB (`max_body_mb` in the config)."
        )
    return ClientRequestError(str(exc)) if status < 500 else ArgoProxyError(str(exc))


def _google_model(entry: ModelEntry) -> dict[str, Any]:
    return model_resource(entry.alias, entry.internal_id, entry.family, entry.kind == "embed")


# What a browser may send when an allowed origin calls the API (CORS preflight).
_CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": (
        "authorization, content-type, x-api-key, x-goog-api-key, anthropic-version, "
        "anthropic-beta, openai-organization, openai-project, x-stainless-arch, "
        "x-stainless-lang, x-stainless-os, x-stainless-package-version, "
        "x-stainless-runtime, x-stainless-runtime-version, x-stainless-retry-count"
    ),
    "Access-Control-Max-Age": "600",
    "Vary": "Origin",
}


# All of a request's header lines together; Sanic's own ceiling (its default is 8 KiB).
_MAX_HEADER_BYTES = 16 * 1024


def _refusal(path: str, denial: Denial) -> HTTPResponse:
    headers = {"WWW-Authenticate": 'Bearer realm="argo-proxy"'} if denial.status == 401 else None
    body = format_for_path(path).error(denial.status, denial.message)
    return json(body, status=denial.status, headers=headers)


def create_app(state: DaemonState, *, local_socket: bool = False) -> Sanic[Any, Any]:
    """The daemon's app; `local_socket` when it serves the owner-only Unix socket."""
    app = Sanic(f"argo_proxy_{next(_app_ids)}", configure_logging=False)
    app.config.update(
        {
            "REQUEST_MAX_SIZE": state.config.max_body_mb * 1024 * 1024,
            "REQUEST_MAX_HEADER_SIZE": _MAX_HEADER_BYTES,
            # LLM calls and streams can legitimately run for many minutes
            # (docs/architecture.md#sanic-pitfalls).
            "RESPONSE_TIMEOUT": max(state.config.request_timeout * 3, 3600),
            "REQUEST_TIMEOUT": 120,
            "KEEP_ALIVE_TIMEOUT": 75,
            "ACCESS_LOG": False,
            "NOISY_EXCEPTIONS": False,
            "MOTD": False,
            # TouchUp compiles away Sanic's per-request signal dispatch (~60 µs a request,
            # bench/README.md) by rewriting Sanic's classes, which can be done once per
            # process: a second app with it on fails to start (tests run several).
            "TOUCHUP": next(_touchup_once, False),
        }
    )
    pipeline = Pipeline(state)
    versions = VersionChecker(
        lambda url: state.upstream.get_json(url, timeout=5, service="PyPI"),
        lambda: state.config.pypi_url,
    )
    app.ctx.state = state

    @app.on_request
    async def guard(request: Request) -> HTTPResponse | None:
        """The first stage of every request: who is asking (daemon/access.py)."""
        if request.method == "NONE":
            # Sanic's stand-in for a request it could not read (headers too large): no
            # headers to check, and only its error answer follows.
            return None
        access = state.access
        if request.method == "OPTIONS" and "origin" in request.headers:
            # A CORS preflight carries no key: only allowed origins hear what works.
            origin = access.cors_origin(request.headers)
            if origin is not None:
                cors = {**_CORS_HEADERS, "Access-Control-Allow-Origin": origin}
                return HTTPResponse(status=204, headers=cors)
        args: Any = request.args  # first value per name, as a mapping
        denial = access.check(request.path, request.headers, args, local_socket=local_socket)
        if denial is None:
            return None
        log.info("refused %s %s: %s", request.method, request.path, denial.reason)
        return _refusal(request.path, denial)

    async def allow_origin(request: Request, response: BaseHTTPResponse) -> HTTPResponse | None:
        origin = state.access.cors_origin(request.headers) if "origin" in request.headers else None
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return None

    app.register_middleware(allow_origin, "response")

    inflight = app.ctx.inflight = InFlight()  # what a stop must end in order

    async def respond(request: Request, spec: FormatSpec, result: Result) -> HTTPResponse | None:
        try:
            return await send(request, spec, result)
        finally:
            # httpx's Response and its stream refer to each other, so a finished upstream
            # call, with the copy of the body it sent, is freed only by the cyclic GC, whose
            # full passes can be minutes apart: after a big body, collect now (~55 ms;
            # bench/README.md, memory).
            if getattr(request.ctx, "big_body", False):
                gc.collect()

    async def send(request: Request, spec: FormatSpec, result: Result) -> HTTPResponse | None:
        if isinstance(result, JSONResult):
            return _json_response(result)
        response = await request.respond(
            content_type=result.content_type,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        try:
            try:
                async for chunk in result.chunks:
                    await response.send(chunk)
            except asyncio.CancelledError:
                if inflight.reason is None:
                    raise  # the client hung up
                # A stop ran out of time: the client hears so in its own format.
                interrupt = result.interrupt or spec.stream_error
                await response.send(interrupt(503, inflight.reason))
            await response.eof()
        finally:
            await result.chunks.aclose()
        return None

    async def serve(
        request: Request, spec: FormatSpec, work: Awaitable[Result]
    ) -> HTTPResponse | None:
        """Run one API request to its end; one cut short by a stop still gets an answer."""
        with inflight.track():
            try:
                result = await work
            except asyncio.CancelledError:
                if inflight.reason is None:
                    raise
                return json(spec.error(503, inflight.reason), status=503)
            return await respond(request, spec, result)

    async def chat(request: Request, fmt: ClientFormat) -> HTTPResponse | None:
        return await serve(request, FORMATS[fmt], pipeline.chat(fmt, _client_request(request)))

    @app.post("/v1/chat/completions")
    async def openai_chat(request: Request) -> HTTPResponse | None:
        return await chat(request, "openai_chat")

    @app.post("/v1/responses")
    async def openai_responses(request: Request) -> HTTPResponse | None:
        return await chat(request, "openai_responses")

    @app.post("/v1/messages")
    async def anthropic_messages(request: Request) -> HTTPResponse | None:
        return await chat(request, "anthropic")

    async def google(request: Request, model_path: str) -> HTTPResponse | None:
        try:
            model, method = split_model_path(model_path)
        except ArgoProxyError as exc:
            return _json_response(pipeline.error(FORMATS["google"], exc))
        req = _client_request(
            request, path_model=model, path_stream=method == "streamGenerateContent"
        )
        if method == "countTokens":
            return await serve(request, FORMATS["google"], pipeline.count_tokens("google", req))
        return await serve(request, FORMATS["google"], pipeline.chat("google", req))

    # google-genai 3.x defaults to /v1, Gemini CLI calls /v1beta (issue: both prefixes).
    app.add_route(google, "/v1beta/models/<model_path:path>", methods=["POST"], name="google_beta")
    app.add_route(google, "/v1/models/<model_path:path>", methods=["POST"], name="google_v1")

    @app.get("/v1beta/models")
    async def google_models(request: Request) -> HTTPResponse:
        entries = state.registry.catalog.listing()
        return json({"models": [_google_model(e) for e in entries]})

    @app.get("/v1beta/models/<model_path:path>")  # same parameter name as the POST route
    async def google_model(request: Request, model_path: str) -> HTTPResponse:
        wanted = model_path.removeprefix("models/")
        for entry in state.registry.catalog.listing():
            if wanted in (entry.alias, entry.internal_id):
                return json(_google_model(entry))
        message = f"Model '{wanted}' is not available on ARGO; GET /v1beta/models lists them."
        return json(FORMATS["google"].error(404, message), status=404)

    @app.post("/v1/messages/count_tokens")
    async def anthropic_count_tokens(request: Request) -> HTTPResponse | None:
        counted = pipeline.count_tokens("anthropic", _client_request(request))
        return await serve(request, FORMATS["anthropic"], counted)

    @app.post("/v1/responses/input_tokens")
    async def responses_input_tokens(request: Request) -> HTTPResponse | None:
        counted = pipeline.count_tokens("openai_responses", _client_request(request))
        return await serve(request, FORMATS["openai_responses"], counted)

    @app.post("/v1/embeddings")
    async def embeddings(request: Request) -> HTTPResponse | None:
        work = pipeline.embeddings(_client_request(request))
        return await serve(request, FORMATS["openai_chat"], work)

    # --- legacy mode (docs/compatibility.md#legacy-mode-differences): always registered, unlike
    # argo-proxy (which needed an env var); each request checks the live flag and is a 404 while it
    # is off.
    def legacy_route(endpoint: DirectEndpoint) -> Callable[[Request], Coroutine[Any, Any, Any]]:
        async def handler(request: Request) -> HTTPResponse | None:
            work = pipeline.direct(endpoint, _client_request(request))
            return await serve(request, FORMATS["openai_chat"], work)

        return handler

    for path, endpoint in LEGACY_PATHS.items():
        app.add_route(legacy_route(endpoint), path, methods=["POST"], name=f"legacy_{endpoint}")
    # --- end legacy mode

    @app.get("/v1/models")
    async def list_models(request: Request) -> HTTPResponse:
        catalog = state.registry.catalog
        created = int(catalog.fetched_at)
        data = [
            {
                "id": entry.alias,
                "internal_name": entry.internal_id,
                "object": "model",
                "created": created,
                "owned_by": entry.owned_by,
                "type": entry.kind,
            }
            for entry in catalog.listing()
        ]
        return json({"object": "list", "data": data})

    @app.post("/refresh")
    async def refresh(request: Request) -> HTTPResponse:
        result = await state.refresh_models()
        body = {
            "status": "ok" if result.ok else "error",
            "message": result.message,
            "previous": {
                "unique_models": result.previous.unique_models,
                "total_aliases": result.previous.total_aliases,
            },
            "current": {
                "unique_models": result.current.unique_models,
                "total_aliases": result.current.total_aliases,
                "chat_models": result.current.chat_models,
                "embed_models": result.current.embed_models,
            },
        }
        return json(body, status=200 if result.ok else 502)

    @app.get("/health")
    async def health(request: Request) -> HTTPResponse:
        return json(
            {
                "status": "healthy",
                "models": state.registry.catalog.source,  # "builtin" until ARGO's list landed
                "active_streams": state.counters.active_streams,
            }
        )

    @app.get("/version")
    async def version(request: Request) -> HTTPResponse:
        return json(await versions.report())

    @app.get("/")
    async def root(request: Request) -> HTTPResponse:
        return json(
            {"message": f"Welcome to the Argo-Proxy API! Documentation is available at {_DOCS}"}
        )

    @app.get("/v1")
    async def v1_root(request: Request) -> HTTPResponse:
        # mimics OpenAI's nginx page (docs/compatibility.md#routes)
        return html(_V1_NOT_FOUND, status=404)

    @app.exception(SanicException)
    async def sanic_error(request: Request, exc: SanicException) -> HTTPResponse:
        """Sanic's own refusals (no route, wrong method, too big), in the client's format."""
        error = _as_ours(exc, request, state.config.max_body_mb)
        return _json_response(pipeline.error(format_for_path(request.path), error))

    @app.exception(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> HTTPResponse:
        # The top-level guard: log with the traceback, answer 500, keep serving.
        log.exception("internal error on %s %s", request.method, request.path)
        error = ArgoProxyError(f"Internal error in argo-proxy: {exc}")
        return _json_response(pipeline.error(format_for_path(request.path), error))

    return app
