"""The one HTTP client towards ARGO, and the boundary where httpx errors become ours.

Only this module knows httpx. Every call maps transport failures to `UpstreamError`
(502 unreachable, 504 timeout) naming the URL, which never holds a credential.

httpx's API runs over aiohttp's connection engine (httpx-aiohttp's transport):
httpcore's pool costs ~0.8 ms of CPU per request at 32 concurrent requests and
grows with the pool (its bookkeeping is quadratic), which capped the daemon at a
tenth of the simulator's throughput; aiohttp's costs ~0.1 ms (bench/README.md).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from .errors import UpstreamError

__all__ = ["Upstream", "UpstreamReply", "UpstreamStream"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpstreamReply:
    """A whole (non-streamed) upstream answer."""

    url: str
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise UpstreamError(
                f"ARGO returned a body that is not JSON (HTTP {self.status} from {self.url}): "
                f"{self.text()[:200]!r}",
                upstream_status=self.status,
                upstream_body=self.text(),
            ) from None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class UpstreamStream:
    """An upstream answer being streamed; iterate `chunks()` for raw bytes as they arrive."""

    def __init__(self, url: str, response: httpx.Response, read_timeout: float) -> None:
        self.url = url
        self.status = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self._response = response
        self._read_timeout = read_timeout

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                if chunk:
                    yield chunk
        except httpx.HTTPError as exc:
            raise _map_error(exc, self.url, self._read_timeout) from exc

    async def read(self) -> UpstreamReply:
        try:
            body = await self._response.aread()
        except httpx.HTTPError as exc:
            raise _map_error(exc, self.url, self._read_timeout) from exc
        return UpstreamReply(self.url, self.status, self.content_type, body)


def _map_error(
    exc: httpx.HTTPError, url: str, timeout: float, service: str = "ARGO"
) -> UpstreamError:
    reason = str(exc) or type(exc).__name__
    cause = exc.__cause__
    # The transport files most aiohttp connection errors under one httpx class;
    # the aiohttp error it chains tells what really happened.
    if isinstance(cause, aiohttp.ClientConnectorError):
        hint = " Check `argo_base_url` and that you are on the ANL network or VPN."
        return UpstreamError(
            f"Cannot reach {service} at {url}: {reason}.{hint if service == 'ARGO' else ''}",
            status=502,
        )
    if isinstance(cause, aiohttp.ClientError) and not isinstance(cause, aiohttp.ServerTimeoutError):
        return UpstreamError(f"The connection to {service} at {url} failed: {reason}", status=502)
    if isinstance(exc, httpx.TimeoutException) or isinstance(cause, TimeoutError):
        connecting = isinstance(cause, aiohttp.ConnectionTimeoutError)
        phase = "connect to" if connecting else "get an answer from"
        hint = " Check your network (VPN) or raise `request_timeout`." if service == "ARGO" else ""
        return UpstreamError(
            f"Timed out after {timeout:g}s trying to {phase} {service} at {url}.{hint}", status=504
        )
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(f"Cannot reach {service} at {url}: {reason}.", status=502)
    return UpstreamError(f"The connection to {service} at {url} failed: {reason}", status=502)


class Upstream:
    """A pooled async HTTP client shared by all requests (one per daemon)."""

    def __init__(self, *, connect_timeout: float, read_timeout: float, user_agent: str) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        # trust_env=False: an HTTP(S)_PROXY set for the user's browser must not capture ARGO calls
        transport = AiohttpTransport(
            trust_env=False,
            client=lambda: aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=600),
                trust_env=False,
            ),
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": user_agent},
            timeout=self._timeout(None),
            follow_redirects=False,
            trust_env=False,
        )

    def _timeout(self, read: float | None) -> httpx.Timeout:
        read = read or self.read_timeout
        return httpx.Timeout(connect=self.connect_timeout, read=read, write=read, pool=read)

    async def get_json(
        self, url: str, *, timeout: float | None = None, service: str = "ARGO"
    ) -> Any:
        """GET a JSON document (model list, PyPI); raise UpstreamError on any failure."""
        try:
            response = await self._client.get(url, timeout=self._timeout(timeout))
        except httpx.HTTPError as exc:
            raise _map_error(exc, url, timeout or self.read_timeout, service) from exc
        reply = UpstreamReply(
            url, response.status_code, response.headers.get("content-type", ""), response.content
        )
        if reply.status != 200:
            raise UpstreamError(
                f"{service} answered HTTP {reply.status} for {url}", upstream_status=reply.status
            )
        return reply.json()

    async def fetch(self, url: str, max_bytes: int, timeout: float) -> bytes:
        """GET a file (an image a client linked to), at most `max_bytes` of it."""
        try:
            async with self._client.stream("GET", url, timeout=self._timeout(timeout)) as response:
                if response.status_code != 200:
                    raise UpstreamError(f"HTTP {response.status_code}", status=400)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise UpstreamError(
                            f"larger than {max_bytes // (1024 * 1024)} MiB", status=413
                        )
                return bytes(data)
        except httpx.HTTPError as exc:
            raise _map_error(exc, url, timeout, "the image host") from exc

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None = None,
    ) -> UpstreamReply:
        try:
            response = await self._client.post(
                url, content=body, headers=headers, timeout=self._timeout(timeout)
            )
        except httpx.HTTPError as exc:
            raise _map_error(exc, url, timeout or self.read_timeout) from exc
        return UpstreamReply(
            url, response.status_code, response.headers.get("content-type", ""), response.content
        )

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None = None,
    ) -> AsyncIterator[UpstreamStream]:
        """POST and hold the answer open; leaving the block closes the upstream connection."""
        request = self._client.build_request(
            "POST", url, content=body, headers=headers, timeout=self._timeout(timeout)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _map_error(exc, url, timeout or self.read_timeout) from exc
        try:
            yield UpstreamStream(url, response, timeout or self.read_timeout)
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
