"""The one HTTP client towards ARGO, and the boundary where transport errors become ours.

Only this module knows aiohttp and httpx. Every call maps transport failures to
`UpstreamError` (502 unreachable, 504 timeout) naming the URL, which never holds a
credential.

Each call to ARGO is told to the request's observer (observer.py), handed in by the
caller: what was sent, each retry, ARGO's status and bytes.

Calls to ARGO are retried here, and only here, while nothing has reached the client
yet: a refused connection, or an answer of 429, 502, 503 or 504, is tried again up to
`retries` times with exponential backoff and jitter, honouring `Retry-After`, within
the request's own time budget (docs/security.md, "Upstream faults"). At most
`upstream_pool_size` calls are open at once; one more waits `connect_timeout` for a
slot and is then told the pool is full (a 503), not that the network is down.

Calls to ARGO go straight to aiohttp's client session: httpcore's pool cost ~0.8 ms
of CPU per request at 32 concurrent requests and grew with the pool (its bookkeeping is
quadratic); httpx's models around aiohttp (its Request, Headers, URL and Response, and
the transport converting each to aiohttp's and back) were a tenth of the daemon's time
per call (bench/README.md). The rare GETs (the model list, PyPI, images a client
linked to) keep httpx's API, over the same aiohttp session (httpx-aiohttp's transport).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from .errors import (
    PayloadTooLargeError,
    UpstreamBusyError,
    UpstreamError,
    UpstreamStatusError,
    UpstreamTimeoutError,
)
from .observer import NO_OBSERVER, Observer

__all__ = ["RETRYABLE_STATUSES", "Upstream", "UpstreamReply", "UpstreamStream"]

log = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
_BACKOFF_FIRST = 0.5  # seconds before the first retry; doubled each time, jittered
_BACKOFF_CAP = 8.0
_LONGEST_RETRY_AFTER = 10.0  # a longer Retry-After goes to the client, whose SDK waits
# Answer headers a client's SDK acts on (its own retries and rate limiting).
_PASSED_ON_PREFIXES = ("retry-after", "x-ratelimit-", "anthropic-ratelimit-")
# What aiohttp raises when a call to ARGO fails: its own errors, and its timeouts.
_TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


def _passed_on(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith(_PASSED_ON_PREFIXES)}


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` of either form (seconds, or an HTTP date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass(frozen=True)
class UpstreamReply:
    """A whole (non-streamed) upstream answer."""

    url: str
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)  # the ones passed on
    retries: int = 0  # how many times the call was retried before this answer

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise UpstreamError(
                f"ARGO returned a body that is not JSON (HTTP {self.status} from {self.url}): "
                f"{self.text()[:200]!r}"
            ) from None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class UpstreamStream:
    """An upstream answer being streamed; iterate `chunks()` for raw bytes as they arrive."""

    def __init__(
        self,
        url: str,
        response: aiohttp.ClientResponse,
        read_timeout: float,
        retries: int = 0,
        observer: Observer = NO_OBSERVER,
    ) -> None:
        self.url = url
        self.status = response.status
        self.content_type = response.headers.get("content-type", "")
        self.headers = _passed_on(response.headers)
        self.retries = retries
        self._response = response
        self._read_timeout = read_timeout
        self._observer = observer
        observer.answered(self.status, self.content_type)

    async def chunks(self) -> AsyncIterator[bytes]:
        observer = self._observer
        try:
            async for chunk in self._response.content.iter_any():
                if chunk:
                    observer.received(chunk)
                    yield chunk
        except _TRANSPORT_ERRORS as exc:
            raise _map_error(exc, self.url, self._read_timeout) from exc

    async def read(self) -> UpstreamReply:
        try:
            body = await self._response.read()
        except _TRANSPORT_ERRORS as exc:
            raise _map_error(exc, self.url, self._read_timeout) from exc
        self._observer.received(body)
        return UpstreamReply(
            self.url, self.status, self.content_type, body, self.headers, self.retries
        )


def _aiohttp_error(exc: BaseException) -> BaseException | None:
    """The aiohttp error behind `exc`: itself, or the one an httpx error chains."""
    return exc.__cause__ if isinstance(exc, httpx.HTTPError) else exc


def _could_not_connect(exc: BaseException) -> bool:
    """No connection was made, so ARGO cannot have seen the request: safe to retry."""
    return isinstance(_aiohttp_error(exc), aiohttp.ClientConnectorError)


def _map_error(
    exc: BaseException, url: str, timeout: float, service: str = "ARGO"
) -> UpstreamError:
    reason = str(exc) or type(exc).__name__
    # httpx-aiohttp files most aiohttp connection errors under one httpx class; the
    # aiohttp error it chains tells what really happened.
    cause = _aiohttp_error(exc)
    if isinstance(cause, aiohttp.ClientConnectorError):
        hint = " Check `argo_base_url` and that you are on the ANL network or VPN."
        return UpstreamError(
            f"Cannot reach {service} at {url}: {reason}.{hint if service == 'ARGO' else ''}"
        )
    if isinstance(cause, aiohttp.ClientError) and not isinstance(cause, aiohttp.ServerTimeoutError):
        return UpstreamError(f"The connection to {service} at {url} failed: {reason}")
    if isinstance(exc, httpx.TimeoutException) or isinstance(cause, TimeoutError):
        connecting = isinstance(cause, aiohttp.ConnectionTimeoutError)
        phase = "connect to" if connecting else "get an answer from"
        hint = " Check your network (VPN) or raise `request_timeout`." if service == "ARGO" else ""
        return UpstreamTimeoutError(
            f"Timed out after {timeout:g}s trying to {phase} {service} at {url}.{hint}"
        )
    if isinstance(exc, httpx.ConnectError):
        return UpstreamError(f"Cannot reach {service} at {url}: {reason}.")
    return UpstreamError(f"The connection to {service} at {url} failed: {reason}")


class _OverridingResolver(aiohttp.abc.AbstractResolver):
    """`resolve_overrides`, as curl's `--resolve`: `host:port` (or `host`) connects to the
    address given, while the URL keeps its host name (TLS checks it), for ARGO reached
    through a tunnel (docs/configuration.md)."""

    def __init__(self, overrides: Mapping[str, str]) -> None:
        self._overrides = dict(overrides)
        self._system = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        address = self._overrides.get(f"{host}:{port}") or self._overrides.get(host)
        if address is None:
            return await self._system.resolve(host, port, family)
        address = address.strip("[]")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": family,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        await self._system.close()


class Upstream:
    """A pooled async HTTP client shared by all requests (one per daemon)."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        user_agent: str,
        retries: int = 0,
        pool_size: int = 200,
        resolve_overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self.pool_size = pool_size
        # Our own count of calls to ARGO, so a full pool is told as such (aiohttp would
        # report the wait for a slot as a connect timeout, "check your network").
        self._slots = asyncio.Semaphore(pool_size)
        self._in_use = 0
        # trust_env=False: an HTTP(S)_PROXY set for the user's browser must not capture ARGO calls
        overrides = dict(resolve_overrides or {})

        self._overrides = overrides
        self._session: aiohttp.ClientSession | None = None
        transport = AiohttpTransport(trust_env=False, client=self.session)
        self._headers = {"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._client = httpx.AsyncClient(
            transport=transport,
            headers={"User-Agent": user_agent},
            timeout=self._timeout(None),
            follow_redirects=False,
            trust_env=False,
        )

    def session(self) -> aiohttp.ClientSession:
        """The one aiohttp session, made in the loop at the first call."""
        if self._session is None or self._session.closed:
            resolver = _OverridingResolver(self._overrides) if self._overrides else None
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=600, resolver=resolver)
            # ARGO sets no cookies worth keeping: a jar would be filtered and filled per call.
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

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
            raise UpstreamStatusError(
                f"{service} answered HTTP {reply.status} for {url}", reply.status
            )
        return reply.json()

    async def fetch(self, url: str, max_bytes: int, timeout: float) -> bytes:
        """GET a file (an image a client linked to), at most `max_bytes` of it.

        Raises UpstreamError when the host fails, PayloadTooLargeError past `max_bytes`.
        """
        try:
            async with self._client.stream("GET", url, timeout=self._timeout(timeout)) as response:
                if response.status_code != 200:
                    raise UpstreamStatusError(f"HTTP {response.status_code}", response.status_code)
                data = bytearray()
                async for chunk in response.aiter_bytes():
                    data += chunk
                    if len(data) > max_bytes:
                        raise PayloadTooLargeError(f"larger than {max_bytes // (1024 * 1024)} MiB")
                return bytes(data)
        except httpx.HTTPError as exc:
            raise _map_error(exc, url, timeout, "the image host") from exc

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """Hold one of the `pool_size` slots for the length of a call to ARGO."""
        if self._in_use >= self.pool_size:
            try:
                await asyncio.wait_for(self._slots.acquire(), self.connect_timeout)
            except asyncio.TimeoutError:
                raise UpstreamBusyError(
                    f"All {self.pool_size} connections to ARGO are in use by requests in "
                    f"flight (`upstream_pool_size`), and none came free within "
                    f"{self.connect_timeout:g}s. Try again shortly, or raise "
                    "`upstream_pool_size` in the config.",
                    headers={"retry-after": "1"},
                ) from None
        else:
            await self._slots.acquire()  # free: returns at once
        self._in_use += 1
        try:
            yield
        finally:
            self._in_use -= 1
            self._slots.release()

    async def _send(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout: float | None
    ) -> aiohttp.ClientResponse:
        """POST to ARGO; the answer's body not read yet."""
        read = timeout or self.read_timeout
        limits = self._timeouts.get(read)
        if limits is None:  # as httpx's: connect, then each read; a free slot within `read`
            if len(self._timeouts) > 64:
                self._timeouts.clear()
            limits = self._timeouts[read] = aiohttp.ClientTimeout(
                sock_connect=self.connect_timeout, sock_read=read, connect=read
            )
        return await self.session().request(
            "POST",
            url,
            data=body,
            headers={**self._headers, **headers},
            allow_redirects=False,
            timeout=limits,
        )

    def _retry_wait(self, attempt: int, retry_after: float | None, deadline: float) -> float | None:
        """Seconds to wait before retrying a failed call, or None not to retry it."""
        if attempt >= self.retries:
            return None
        if retry_after is not None and retry_after > _LONGEST_RETRY_AFTER:
            return None  # a long wait is the client's to decide on
        backoff = min(_BACKOFF_CAP, _BACKOFF_FIRST * 2**attempt) * random.uniform(0.5, 1.0)
        wait = max(backoff, retry_after or 0.0)
        return wait if time.monotonic() + wait < deadline else None

    def _connect_retry(
        self, exc: BaseException, url: str, attempt: int, budget: float, deadline: float
    ) -> float:
        """The wait before retrying a call that failed to connect; raises if it won't be."""
        wait = self._retry_wait(attempt, None, deadline) if _could_not_connect(exc) else None
        if wait is None:
            raise _map_error(exc, url, budget) from exc
        log.warning("cannot connect to ARGO at %s; retry %d in %.1fs", url, attempt + 1, wait)
        return wait

    def _status_retry(
        self, status: int, headers: Mapping[str, str], url: str, attempt: int, deadline: float
    ) -> float | None:
        if status not in RETRYABLE_STATUSES:
            return None
        wait = self._retry_wait(attempt, _retry_after(headers), deadline)
        if wait is not None:
            log.warning(
                "ARGO answered HTTP %d at %s; retry %d in %.1fs", status, url, attempt + 1, wait
            )
        return wait

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None = None,
        observer: Observer = NO_OBSERVER,
    ) -> UpstreamReply:
        """POST and read the whole answer; `observer` is told the call, its retries
        and the answer."""
        budget = timeout or self.read_timeout
        deadline = time.monotonic() + budget
        observer.sending(url, {**self._headers, **headers}, body)
        async with self._slot():
            attempt = 0
            while True:
                try:
                    response = await self._send(url, body, headers, timeout)
                    try:
                        data = await response.read()
                    finally:
                        response.release()
                except _TRANSPORT_ERRORS as exc:
                    wait = self._connect_retry(exc, url, attempt, budget, deadline)
                else:
                    status = response.status
                    retry = self._status_retry(status, response.headers, url, attempt, deadline)
                    if retry is None:
                        content_type = response.headers.get("content-type", "")
                        observer.answered(status, content_type)
                        observer.received(data)
                        return UpstreamReply(
                            url, status, content_type, data, _passed_on(response.headers), attempt
                        )
                    wait = retry
                await asyncio.sleep(wait)
                attempt += 1
                observer.retried()

    @asynccontextmanager
    async def stream(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None = None,
        observer: Observer = NO_OBSERVER,
    ) -> AsyncIterator[UpstreamStream]:
        """POST and hold the answer open; leaving the block closes the upstream connection.

        A failure is retried before the block is entered, so never once the client has
        had a byte of the answer.
        """
        budget = timeout or self.read_timeout
        deadline = time.monotonic() + budget
        observer.sending(url, {**self._headers, **headers}, body)
        async with self._slot():
            attempt = 0
            while True:
                try:
                    response = await self._send(url, body, headers, timeout)
                except _TRANSPORT_ERRORS as exc:
                    wait = self._connect_retry(exc, url, attempt, budget, deadline)
                else:
                    status = response.status
                    retry = self._status_retry(status, response.headers, url, attempt, deadline)
                    if retry is None:
                        break
                    response.release()
                    wait = retry
                await asyncio.sleep(wait)
                attempt += 1
                observer.retried()
            try:
                yield UpstreamStream(url, response, budget, attempt, observer)
            finally:
                response.release()  # a stream not read to its end closes its connection

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._session is not None:
            await self._session.close()
