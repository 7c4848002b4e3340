"""ARGO's OpenAI-compatible `/v1/embeddings` (calls.Backend): the client's body, with
the ARGO model and identity set, and ARGO's answer passed back as it came."""

from __future__ import annotations

from ..argo_replies import check_reply
from ..calls import Call
from ..exchange import JSONResult
from ..observer import Observer
from ..routing import embeddings_url, upstream_headers
from ..upstream import Upstream
from .argo import post_json

__all__ = ["Embeddings"]


class Embeddings:
    def __init__(self, upstream: Upstream, user_agent: str) -> None:
        self._upstream = upstream
        self._user_agent = user_agent

    async def send(self, call: Call, observer: Observer) -> JSONResult:
        out = {**call.body, "model": call.model, "user": call.user}
        headers = upstream_headers(
            "openai_chat",
            call.user,
            call.request.headers,
            stream=False,
            user_agent=self._user_agent,
        )
        url = embeddings_url(call.config)
        reply = await post_json(self._upstream, url, out, headers, call.timeout, observer)
        answer = check_reply(reply.json(), "openai_chat")
        observer.completed("openai_chat", answer)
        return JSONResult(200, answer, reply.body)
