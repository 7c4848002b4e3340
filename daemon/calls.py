"""The front half of every request: `Intake` turns what a client sent into a `Call`,
and a `Backend` answers a Call (docs/architecture.md#the-request-path).

A Call is everything the rest of the path needs to know about one request, decided
once: the client's parsed body, the model it asked for and the ARGO model chosen, the
ARGO API that serves it (its route), the ARGO identity, the time allowed, whether it
streams, and for the legacy gateway the endpoint's descriptor. Every endpoint, modern
or legacy, chat or embeddings, goes through the same steps here, in the same order
(each step's error text is what the client reads):

    parse       the body, its fields checked (intake.py)
    model name  Google's in the URL, the others' in the body
    stream      the body's `stream`, or Google's URL
    check       what the endpoint needs (a chat's turns, an embedding's input)
    timeout     the daemon's own `timeout` field, taken out of the body
    choose      the ARGO model for the request: `Intake.choose_model`, the name
                resolved, or what a `routes:` rule says (named in `Call.rule`)
    route       the ARGO API for that model (routing.py)
    images      image URLs fetched and inlined (images.py)
    identity    the ARGO username (routing.py)
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from .config import Config
from .errors import ClientRequestError
from .exchange import ClientRequest, Result
from .formats import FORMATS, FormatSpec
from .images import inline_images, needs_inlining
from .intake import check_turns, model_name_of, parse_body, pop_timeout, wants_stream
from .legacy_requests import CHAT_ENDPOINTS, ChatEndpoint, ChatEndpointName
from .model_choice import choose_model, resolve_model
from .observer import Observer
from .records import client_of
from .routing import Route, resolve_identity, route_chat

if TYPE_CHECKING:
    from .state import DaemonState

__all__ = ["ArgoApi", "Backend", "Call", "CallKind", "Intake"]

log = logging.getLogger(__name__)

CallKind = Literal["chat", "embeddings", "embed"]  # embed: the legacy gateway's own API
# The ARGO API that answers a call, as records name it (docs/observability.md#records).
ArgoApi = Literal["openai_chat", "anthropic", "embeddings", "gateway"]


@dataclass(frozen=True, slots=True)
class Call:
    """One request as intake understood it: what the backends need, and nothing of HTTP
    but the client's headers and query (identity, versions, Google's `alt`)."""

    spec: FormatSpec  # the client's format: its body's rules, its answers, its errors
    kind: CallKind
    request: ClientRequest  # its raw body is let go once parsed (bench/README.md, memory)
    config: Config  # as the request started, even across a reload
    # The client's parsed body (`timeout` taken out), not converted in place: each
    # attempt converts it for its own model, so a fallback to another model starts from
    # what the client sent (attempts take a shallow copy). Held while another attempt
    # may follow; the final attempt's backend empties it once converted, so that a big
    # request is not held twice while it is sent (bench/README.md, memory).
    body: dict[str, Any]
    requested_model: str  # the model the client asked for
    model: str  # the ARGO model chosen for it
    rule: str | None  # the routing rule that chose `model`; None: the name resolved
    upstream: ArgoApi  # the ARGO API that serves it, whose backend sends it
    route: Route | None  # ARGO's chat APIs: the URL and family for `model`
    user: str  # the ARGO identity, for the body and the headers alike
    timeout: float | None  # the client's `timeout`; None: `request_timeout`
    stream: bool
    endpoint: ChatEndpoint | None = None  # the legacy gateway's chat endpoint
    # No attempt follows this one: its backend may let go of `body` once converted. A
    # fallback loop sends the attempts before the last with `final=False`.
    final: bool = True

    def for_model(self, model: str) -> Call:
        """This call sent to `model` instead: on ARGO's chat APIs, the route (and so the
        API, and the conversion) follows the model's family."""
        if model == self.model:
            return self
        if self.route is None:
            return dataclasses.replace(self, model=model)
        route = route_chat(model, self.config)
        return dataclasses.replace(self, model=model, route=route, upstream=route.upstream)


class Backend(Protocol):
    """An ARGO API: ARGO's OpenAI-compatible chat, its Anthropic messages, the legacy
    gateway, embeddings (backends/). `send` prepares the call's body for that API (a
    copy: the call's body stays as the client sent it), sends it, and answers in the
    client's format: a JSON answer, or a stream that has started (a refusal before the
    first byte is raised, not streamed). It tells `observer` what it sent and got."""

    async def send(self, call: Call, observer: Observer) -> Result: ...


class Intake:
    """Builds the Call of each request from the daemon's live state."""

    def __init__(self, state: DaemonState) -> None:
        self.state = state

    # -------------------------------------------------------------- entry points

    async def chat(
        self, spec: FormatSpec, req: ClientRequest, config: Config, observer: Observer
    ) -> Call:
        """A chat request in the client's own format (all but the legacy endpoints)."""
        body = parse_body(req.body, spec.body)
        name = model_name_of(req, body)
        stream = wants_stream(req, body)
        observer.asked(name, stream)
        check_turns(spec, body)
        timeout = pop_timeout(body)
        model, rule = self.choose_model(name, "chat", config, (spec, req, body))
        route = route_chat(model, config)
        observer.chose(model, route.upstream, rule)
        await self.inline_images(spec, req, body, config)
        user = resolve_identity(config, req.headers, req.query)
        return Call(
            spec, "chat", req, config, body, name, model, rule, route.upstream, route, user,
            timeout, stream,
        )  # fmt: skip

    async def gateway_chat(
        self, name: ChatEndpointName, req: ClientRequest, config: Config, observer: Observer
    ) -> Call:
        """A chat-like request the legacy gateway serves, in any of its endpoints' forms."""
        endpoint = CHAT_ENDPOINTS[name]
        body = parse_body(req.body, endpoint.body)
        model_name = model_name_of(req, body)
        stream = wants_stream(req, body)
        observer.asked(model_name, stream)
        timeout = pop_timeout(body)
        endpoint.check(body)
        model, rule = self.choose_model(model_name, "chat", config)
        observer.chose(model, "gateway")
        if endpoint.images is not None:
            # the gateway gets images inline, as ARGO's other APIs do (docs/legacy.md)
            await self.inline_images(FORMATS[endpoint.images], req, body, config)
        user = resolve_identity(config, req.headers, req.query)
        return Call(
            FORMATS["openai_chat"], "chat", req, config, body, model_name, model, rule,
            "gateway", None, user, timeout, stream, endpoint,
        )  # fmt: skip

    async def embeddings(
        self, kind: Literal["embeddings", "embed"], req: ClientRequest, config: Config,
        observer: Observer, *, gateway: bool,
    ) -> Call:  # fmt: skip
        """OpenAI's `/v1/embeddings` (served by the gateway in legacy mode), or the
        gateway's own `/v1/embed`."""
        body = parse_body(req.body, "embeddings" if kind == "embeddings" else "gateway_embed")
        name = model_name_of(req, body)
        observer.asked(name, False)
        model, rule = self.choose_model(name, "embed", config)
        upstream: ArgoApi = "gateway" if gateway else "embeddings"
        observer.chose(model, upstream)
        if kind == "embeddings" and body.get("input") in (None, "", []):
            raise ClientRequestError("Missing 'input' field: send a string or a list of strings.")
        timeout = pop_timeout(body)
        user = resolve_identity(config, req.headers, req.query)
        req.body = b""  # parsed: held once (bench/README.md, memory)
        return Call(
            FORMATS["openai_chat"], kind, req, config, body, name, model, rule, upstream,
            None, user, timeout, False,
        )  # fmt: skip

    # ------------------------------------------------------------------- stages

    def choose_model(
        self,
        name: str,
        kind: Literal["chat", "embed"],
        config: Config,
        routed: tuple[FormatSpec, ClientRequest, dict[str, Any]] | None = None,
    ) -> tuple[str, str | None]:
        """The ARGO model for a request that names `name`, and the `routes:` rule that
        chose it (None: the name itself, or the configured default). Rules apply to the
        chat requests of the client formats, given as `routed` (what a rule looks at);
        docs/configuration.md#routes."""
        catalog = self.state.registry.catalog
        if routed is None or not config.routes:  # most configs: the name alone decides
            return resolve_model(catalog, name, kind, config), None
        spec, req, body = routed
        client, _ = client_of(req.headers.get("user-agent"))
        choice = choose_model(catalog, config, spec, body, name, client, len(req.body))
        return choice.model, choice.label

    async def inline_images(
        self, spec: FormatSpec, req: ClientRequest, body: dict[str, Any], config: Config
    ) -> None:
        """Fetch and inline the request's image URLs (images.py), if it has any; then let
        go of the raw bytes, so that a big request is held once (parsed), not twice,
        while it is converted and sent (bench/README.md, memory)."""
        if needs_inlining(req.body):
            await inline_images(
                spec,
                body,
                self.state.upstream.fetch,
                max_mb=config.max_payload_size,
                timeout=config.image_timeout,
                concurrency=config.concurrent_downloads,
            )
        req.body = b""
