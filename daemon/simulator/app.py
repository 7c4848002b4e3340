"""The simulated ARGO as a Sanic app: route table, request intake, admin API, runner.

Every ARGO route (docs/argo.md#endpoints) is served under `settings.prefix`; anything
else is FastAPI's 404 (ARGO has no `/v1/responses`, no `/v1beta`). The admin API
(`/__sim/...`, at the root and under the prefix) queues faults and exposes the log of
received requests. One intake path serves every endpoint: parse, log, pick faults,
answer, deliver.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import MethodNotAllowed, NotFound
from sanic.response import HTTPResponse

from ..serving import bind_socket, start_server
from .catalogue import ListVariant
from .chat import answer_chat
from .delivery import JSON, BodyReply, StreamReply, deliver, dumps
from .embeddings import answer_embeddings, answer_legacy_embed
from .envelopes import (
    anthropic_vendor_error,
    api_error_200,
    openai_vendor_error,
    status_reply,
    stream_error_event,
    streaming_required,
)
from .exchange import Exchange, SimState
from .faults import FaultSet, Kind, select_faults
from .legacy import answer_legacy_chat, answer_legacy_stream
from .markers import NO_MARKERS, read_markers
from .messages import answer_messages
from .replies import Conversation, read_messages, read_prompt
from .settings import SimulatorSettings

__all__ = ["create_simulator_app", "run_simulator"]

log = logging.getLogger(__name__)

Answer = Callable[[Exchange], "BodyReply | StreamReply"]

_ROUTES: tuple[tuple[str, Kind, Answer], ...] = (
    ("/v1/chat/completions", "chat", answer_chat),
    ("/v1/messages", "messages", answer_messages),
    ("/v1/embeddings", "embeddings", answer_embeddings),
    ("/api/v1/resource/chat/", "legacy_chat", answer_legacy_chat),
    ("/api/v1/resource/streamchat/", "legacy_stream", answer_legacy_stream),
    ("/api/v1/resource/embed/", "legacy_embed", answer_legacy_embed),
)
_MODEL_LISTS = ("/v1/models", "/api/v1/models/")
_app_numbers = itertools.count(1)  # Sanic app names must be unique per process
_DEFAULT_SETTINGS = SimulatorSettings()
_STOP_GRACE = 1.0  # seconds a busy connection (a stream, a `hang`) gets at shutdown


def _normalise_prefix(prefix: str) -> str:
    prefix = prefix.strip().rstrip("/")
    return prefix if not prefix or prefix.startswith("/") else "/" + prefix


def _json_response(value: Any, status: int = 200) -> HTTPResponse:
    return HTTPResponse(dumps(value), status=status, content_type=JSON)


def _as_response(reply: BodyReply) -> HTTPResponse:
    return HTTPResponse(
        reply.body, status=reply.status, headers=reply.headers, content_type=reply.content_type
    )


def _parse(raw: bytes) -> tuple[dict[str, Any] | BodyReply, Any]:
    """(the body, or the 422 to answer when it is not a JSON object; what to log)."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        text = raw.decode("utf-8", "replace")
        detail = {
            "type": "json_invalid",
            "loc": ["body", 0],
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": str(exc).split(":")[0]},
        }
        return BodyReply(422, dumps({"detail": [detail]})), text
    if not isinstance(body, dict):
        detail = {
            "type": "dict_type",
            "loc": ["body"],
            "msg": "Input should be a valid dictionary",
            "input": body,
        }
        return BodyReply(422, dumps({"detail": [detail]})), body
    return body, body


def _conversation(kind: Kind, body: Mapping[str, Any]) -> Conversation:
    if kind == "chat":
        return read_messages(body.get("messages"))
    if kind == "messages":
        return read_messages(body.get("messages"), body.get("system"))
    if kind in ("legacy_chat", "legacy_stream"):
        if body.get("messages") is not None:
            return read_messages(body.get("messages"), body.get("system"))
        return read_prompt(body.get("system"), body.get("prompt"))
    # Embeddings: markers may sit in the inputs, so fault tests need no chat model.
    value = body.get("input") if kind == "embeddings" else body.get("prompt")
    texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    _, markers = read_markers(" ".join(t for t in texts if isinstance(t, str)))
    return Conversation("", None, False, markers, 1)


def _gateway_fault(ex: Exchange) -> BodyReply | None:
    """Faults that replace the answer whatever the request (a gateway in front would)."""
    faults = ex.faults
    request_id = "req_vrtx_01" + ex.ident("req", 22)
    forced = faults.get("status")
    if forced is not None:
        return status_reply(ex.kind, forced, request_id)
    if "streaming_required" in faults:
        return streaming_required(ex.kind)
    if "api_error_200" in faults:
        return api_error_200(ex.kind, request_id)
    if "refuse_stream_tools" in faults:
        # One guide says ARGO cannot stream tool calls (docs/argo.md#what-is-uncertain, 13):
        # let tests try that world.
        text = "Tool calling is not supported in streaming mode. Use a non-streaming request."
        if ex.kind == "messages":
            return anthropic_vendor_error(400, text, request_id)
        return openai_vendor_error(400, text)
    return None


def _reported_usage(reply: BodyReply | StreamReply) -> list[dict[str, Any]]:
    """Every `usage` object an answer carries (a stream's in order), for the request log:
    tests compare the proxy's token counts with what "ARGO" reported."""
    if isinstance(reply, BodyReply):
        payloads = [reply.body]
    else:
        payloads = [
            line[5:].strip()
            for event in reply.events
            for line in event.split(b"\n")
            if line.startswith(b"data:")
        ]
    found: list[dict[str, Any]] = []
    for payload in payloads:
        try:
            value = json.loads(payload)
        except ValueError:
            continue
        if not isinstance(value, dict):
            continue
        message = value.get("message")
        for holder in (value, message if isinstance(message, dict) else {}):
            if isinstance(holder.get("usage"), dict):
                found.append(holder["usage"])
    return found


class _Simulator:
    """The handlers of one app, sharing one `SimState`."""

    def __init__(self, state: SimState) -> None:
        self.state = state
        self._seed = str(state.settings.seed).encode()

    def _record(self, request: Request, body: Any) -> None:
        self.state.log.record(
            request.method, request.path, request.query_string, request.headers, body
        )

    def _models_of(self, name: Any) -> Iterable[str]:
        if not isinstance(name, str):
            return ()
        found = self.state.catalogue.lookup_embedding(name)
        return (name, found.internal_id) if found is not None else (name,)

    async def answer(self, request: Request, kind: Kind, answer: Answer) -> HTTPResponse | None:
        raw = request.body
        body, logged = _parse(raw)
        self._record(request, logged)
        if isinstance(body, BodyReply):
            return _as_response(body)
        stream = kind == "legacy_stream" or body.get("stream") is True
        conversation = _conversation(kind, body)
        faults = select_faults(
            self.state.book,
            kind,
            request.path,
            self._models_of(body.get("model")),
            stream,
            conversation.markers,
            tools=bool(body.get("tools")),
        )
        digest = hashlib.blake2b(self._seed + b"\0" + raw, digest_size=16).digest()
        ex = Exchange(kind, body, request.headers, digest, stream, conversation, faults, self.state)
        forced = _gateway_fault(ex) if faults else None
        reply = forced if forced is not None else answer(ex)
        failing = faults.get("stream_error")
        if failing is not None and isinstance(reply, StreamReply):
            reply.error_event = stream_error_event(kind, failing.text("kind", "overloaded"))
        self.state.log.note_usage(_reported_usage(reply))
        seed = self.state.settings.seed ^ int.from_bytes(digest[:4], "big")
        return await deliver(request, reply, faults, self.state.settings, seed)

    async def model_list(self, request: Request) -> HTTPResponse | None:
        self._record(request, None)
        catalogue = self.state.catalogue
        faults: FaultSet = select_faults(
            self.state.book, "models", request.path, (), False, NO_MARKERS
        )
        reply = BodyReply(200, catalogue.list_body())
        if faults:
            forced = faults.get("status")
            if forced is not None:
                reply = status_reply("models", forced, "")
            elif "invalid_json" in faults:
                reply = BodyReply(200, catalogue.list_body()[:57])
            else:
                variants: tuple[ListVariant, ...] = ("empty", "old_format", "bad_claude_name")
                for variant in variants:
                    if variant in faults:
                        reply = BodyReply(200, catalogue.list_body(variant))
        return await deliver(request, reply, faults, self.state.settings)

    # --- admin API (not an ARGO endpoint) ---------------------------------------------

    async def add_faults(self, request: Request) -> HTTPResponse:
        try:
            payload = json.loads(request.body or b"null")
        except ValueError:
            return _json_response({"error": "body is not JSON"}, 400)
        rules = payload.get("rules") if isinstance(payload, dict) else payload
        try:
            queued = self.state.book.add(rules)
        except ValueError as exc:
            return _json_response({"error": str(exc)}, 400)
        return _json_response({"queued": queued, "pending": self.state.book.pending()})

    async def list_faults(self, request: Request) -> HTTPResponse:
        return _json_response({"pending": self.state.book.pending()})

    async def reset(self, request: Request) -> HTTPResponse:
        self.state.book.clear()
        self.state.log.clear()
        return _json_response({"ok": True})

    async def request_log(self, request: Request) -> HTTPResponse:
        path = request.args.get("path")
        return _json_response({"requests": self.state.log.entries(path)})

    async def health(self, request: Request) -> HTTPResponse:
        return _json_response(
            {
                "status": "ok",
                "prefix": _normalise_prefix(self.state.settings.prefix),
                "models": len(self.state.catalogue.models),
                "pending_faults": len(self.state.book.pending()),
                "logged_requests": len(self.state.log.entries()),
            }
        )

    # --- errors ---------------------------------------------------------------------

    async def not_found(self, request: Request, exc: Exception) -> HTTPResponse:
        self._record(request, None)
        if isinstance(exc, MethodNotAllowed):
            return _json_response({"detail": "Method Not Allowed"}, 405)
        prefix = _normalise_prefix(self.state.settings.prefix)
        for path, _, _ in _ROUTES:
            if path.endswith("/") and request.path == prefix + path[:-1]:
                # FastAPI's redirect_slashes; what ARGO itself does is unknown
                # (docs/argo.md#what-is-uncertain, 7).
                query = f"?{request.query_string}" if request.query_string else ""
                location = prefix + path + query
                return HTTPResponse(status=307, headers={"location": location})
        return _json_response({"detail": "Not Found"}, 404)

    async def crashed(self, request: Request, exc: Exception) -> HTTPResponse:
        log.exception("simulator failed on %s %s", request.method, request.path, exc_info=exc)
        return _json_response({"detail": f"simulator error: {type(exc).__name__}: {exc}"}, 500)


def _handler(sim: _Simulator, kind: Kind, answer: Answer) -> Callable[[Request], Any]:
    async def handle(request: Request) -> HTTPResponse | None:
        return await sim.answer(request, kind, answer)

    return handle


def create_simulator_app(settings: SimulatorSettings = _DEFAULT_SETTINGS) -> Sanic[Any, Any]:
    """A fresh simulated ARGO (own fault queue and request log), not yet serving."""
    sim = _Simulator(SimState(settings))
    # configure_logging=False: Sanic would log to stdout, which may belong to JSON-RPC.
    app = Sanic(f"argo-simulator-{next(_app_numbers)}", configure_logging=False)
    app.config.MOTD = False
    # TouchUp rewrites methods of the Sanic *class*; a second app in the same process
    # (tests, or the daemon beside `--simulate`) then fails to start. Our handlers use
    # no signals or middleware, so there is nothing for it to optimise.
    app.config.TOUCHUP = False
    app.config.RESPONSE_TIMEOUT = 3600  # long generations and the `hang` fault
    app.config.KEEP_ALIVE_TIMEOUT = 75  # nginx's default, as in front of ARGO
    app.ctx.simulator = sim
    prefix = _normalise_prefix(settings.prefix)
    for number, (path, kind, answer) in enumerate(_ROUTES):
        app.add_route(
            _handler(sim, kind, answer),
            prefix + path,
            methods=["POST"],
            name=f"route{number}",
            strict_slashes=path.endswith("/"),
        )
    for number, path in enumerate(_MODEL_LISTS):
        app.add_route(
            sim.model_list,
            prefix + path,
            methods=["GET"],
            name=f"models{number}",
            strict_slashes=path.endswith("/"),
        )
    admin: tuple[tuple[str, str, Callable[[Request], Any]], ...] = (
        ("POST", "/__sim/faults", sim.add_faults),
        ("GET", "/__sim/faults", sim.list_faults),
        ("POST", "/__sim/reset", sim.reset),
        ("GET", "/__sim/log", sim.request_log),
        ("GET", "/__sim/health", sim.health),
    )
    for base in dict.fromkeys(("", prefix)):
        for number, (method, path, handler) in enumerate(admin):
            name = f"admin{number}{base.replace('/', '_')}"
            app.add_route(handler, base + path, methods=[method], name=name)
    app.error_handler.add(NotFound, sim.not_found)
    app.error_handler.add(MethodNotAllowed, sim.not_found)
    app.error_handler.add(Exception, sim.crashed)
    return app


async def run_simulator(
    host: str,
    port: int,
    settings: SimulatorSettings,
    *,
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve a simulated ARGO on host:port (0 = any free port) until cancelled or `stop`.

    `on_ready` gets the base URL actually bound, prefix included
    (`http://127.0.0.1:<real port><prefix>`): what a proxy takes as `argo_base_url`.
    Either way out, idle keep-alive connections close at once and busy ones get
    `_STOP_GRACE` seconds before they are aborted.
    """
    app = create_simulator_app(settings)
    sock = bind_socket(host, port)
    try:
        running = await start_server(app, sock)
    except BaseException:
        sock.close()
        raise
    url = running.url + _normalise_prefix(settings.prefix)
    # Not "listening on": with `serve --simulate` that line is the daemon's, which scripts wait for.
    log.info("simulated ARGO serving at %s", url)
    try:
        if on_ready is not None:
            on_ready(url)
        await (asyncio.Event() if stop is None else stop).wait()
    finally:
        await running.stop(grace=_STOP_GRACE)
