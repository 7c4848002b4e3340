"""ARGO's OpenAI-compatible `/v1/embeddings`: the client's body, with the ARGO model
and identity set, and ARGO's answer passed back as it came."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..argo_replies import check_reply
from ..config import Config
from ..exchange import JSONResult
from ..routing import embeddings_url, upstream_headers
from ..upstream import Upstream
from .argo import post_json

__all__ = ["Embeddings"]


class Embeddings:
    def __init__(self, upstream: Upstream, user_agent: str) -> None:
        self._upstream = upstream
        self._user_agent = user_agent

    async def embed(
        self,
        body: dict[str, Any],
        model: str,
        user: str,
        client_headers: Mapping[str, str],
        timeout: float | None,
        config: Config,
    ) -> JSONResult:
        out = {**body, "model": model, "user": user}
        headers = upstream_headers(
            "openai_chat", user, client_headers, stream=False, user_agent=self._user_agent
        )
        reply = await post_json(self._upstream, embeddings_url(config), out, headers, timeout)
        return JSONResult(200, check_reply(reply.json(), "openai_chat"), reply.body)
