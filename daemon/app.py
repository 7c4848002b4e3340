"""The Sanic app: the endpoint table and nothing else.

Each endpoint hands a `ClientRequest` to the one request path (`pipeline.py`) through
the HTTP layer (`web.py`), which runs the access checks first and turns the result into
a response. Routes: docs/compatibility.md#routes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sanic import Request, Sanic
from sanic.response import HTTPResponse, html, json, raw

from .errors import ArgoProxyError
from .formats import FORMATS, ClientFormat
from .formats.google import model_resource, split_model_path
from .health import LIVE, readiness
from .legacy_requests import LEGACY_PATHS
from .metrics import CONTENT_TYPE, DaemonMetrics
from .models import ModelEntry
from .pipeline import DirectEndpoint, Pipeline
from .state import DaemonState
from .versions import VersionChecker
from .web import DOCS, HttpLayer, new_app

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_V1_NOT_FOUND = (
    "<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n"
    "<center><h1>404 Not Found</h1></center>\r\n<hr><center>argo-proxy</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _google_model(entry: ModelEntry) -> dict[str, Any]:
    return model_resource(entry.alias, entry.internal_id, entry.family, entry.kind == "embed")


def create_app(
    state: DaemonState, metrics: DaemonMetrics, *, local_socket: bool = False
) -> Sanic[Any, Any]:
    """The daemon's app; `local_socket` when it serves the owner-only Unix socket. Every
    app of one daemon shares its state and its metrics."""
    app = new_app(state)
    pipeline = Pipeline(state)
    web = HttpLayer(app, state, pipeline, local_socket)
    serve = web.serve
    versions = VersionChecker(
        lambda url: state.upstream.get_json(url, timeout=5, service="PyPI"),
        lambda: state.config.pypi_url,
    )

    # Every POST route leaves the body unread (`stream=True`): the access checks run on
    # the head alone, and `serve` reads the body after them (docs/security.md#limits).
    async def chat(request: Request, fmt: ClientFormat) -> HTTPResponse | None:
        return await serve(request, FORMATS[fmt], lambda req: pipeline.chat(fmt, req))

    @app.post("/v1/chat/completions", stream=True)
    async def openai_chat(request: Request) -> HTTPResponse | None:
        return await chat(request, "openai_chat")

    @app.post("/v1/responses", stream=True)
    async def openai_responses(request: Request) -> HTTPResponse | None:
        return await chat(request, "openai_responses")

    @app.post("/v1/messages", stream=True)
    async def anthropic_messages(request: Request) -> HTTPResponse | None:
        return await chat(request, "anthropic")

    async def google(request: Request, model_path: str) -> HTTPResponse | None:
        try:
            model, method = split_model_path(model_path)
        except ArgoProxyError as exc:
            return web.error(FORMATS["google"], exc)
        work = pipeline.count_tokens if method == "countTokens" else pipeline.chat
        return await serve(
            request,
            FORMATS["google"],
            lambda req: work("google", req),
            path_model=model,
            path_stream=method == "streamGenerateContent",
        )

    # google-genai 3.x defaults to /v1, Gemini CLI calls /v1beta (issue: both prefixes).
    for prefix, name in (("/v1beta", "google_beta"), ("/v1", "google_v1")):
        app.add_route(
            google, f"{prefix}/models/<model_path:path>", methods=["POST"], name=name, stream=True
        )

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

    @app.post("/v1/messages/count_tokens", stream=True)
    async def anthropic_count_tokens(request: Request) -> HTTPResponse | None:
        return await serve(
            request, FORMATS["anthropic"], lambda req: pipeline.count_tokens("anthropic", req)
        )

    @app.post("/v1/responses/input_tokens", stream=True)
    async def responses_input_tokens(request: Request) -> HTTPResponse | None:
        return await serve(
            request,
            FORMATS["openai_responses"],
            lambda req: pipeline.count_tokens("openai_responses", req),
        )

    @app.post("/v1/embeddings", stream=True)
    async def embeddings(request: Request) -> HTTPResponse | None:
        return await serve(request, FORMATS["openai_chat"], pipeline.embeddings)

    # --- legacy mode (docs/compatibility.md#legacy-mode-differences): always registered, unlike
    # argo-proxy (which needed an env var); each request checks the live flag and is a 404 while it
    # is off.
    def legacy_route(endpoint: DirectEndpoint) -> Callable[[Request], Coroutine[Any, Any, Any]]:
        async def handler(request: Request) -> HTTPResponse | None:
            return await serve(
                request, FORMATS["openai_chat"], lambda req: pipeline.direct(endpoint, req)
            )

        return handler

    for path, endpoint in LEGACY_PATHS.items():
        app.add_route(
            legacy_route(endpoint), path, methods=["POST"], name=f"legacy_{endpoint}", stream=True
        )
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

    @app.post("/refresh", stream=True)
    async def refresh(request: Request) -> HTTPResponse:
        await web.client_request(request)  # a body, if any, read within the limits
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

    # The probes need no token (access.py: OPEN_PATHS); the metrics do, like the API.
    @app.get("/health/live")
    async def health_live(request: Request) -> HTTPResponse:
        return json(LIVE)

    @app.get("/health/ready")
    async def health_ready(request: Request) -> HTTPResponse:
        ready, body = readiness(state)
        return json(body, status=200 if ready else 503)

    @app.get("/metrics")
    async def metrics_text(request: Request) -> HTTPResponse:
        return raw(metrics.scrape(), content_type=CONTENT_TYPE)

    @app.get("/version")
    async def version(request: Request) -> HTTPResponse:
        return json(await versions.report())

    @app.get("/")
    async def root(request: Request) -> HTTPResponse:
        return json(
            {"message": f"Welcome to the Argo-Proxy API! Documentation is available at {DOCS}"}
        )

    @app.get("/v1")
    async def v1_root(request: Request) -> HTTPResponse:
        # mimics OpenAI's nginx page (docs/compatibility.md#routes)
        return html(_V1_NOT_FOUND, status=404)

    return app
