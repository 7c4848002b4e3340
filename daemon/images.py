"""Image URLs in a request are fetched and inlined: ARGO does not fetch them itself
(argo-upstream.md §5.9).

Every client format's image parts are found (OpenAI `image_url`, Responses
`input_image`, Anthropic `source.type: url`, Google `fileData`), each distinct URL is
downloaded once, concurrently up to `concurrent_downloads`, within `image_timeout`
seconds and `max_payload_size` MiB, checked to really be PNG, JPEG, GIF or WebP,
and put back inline in the same format. A URL that cannot be used is a 400 naming it
— better than an upstream error about a URL ARGO never fetched. argo-proxy ignored
Responses and Google images and had no size cap (behaviour.md §7, §12).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from .errors import ClientRequestError, PayloadTooLargeError, UpstreamError
from .formats import ClientFormat

__all__ = ["inline_images", "needs_inlining"]

Fetch = Callable[[str, int, float], Awaitable[bytes]]  # (url, max bytes, timeout) → body

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def _mime_of(data: bytes) -> str | None:
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _is_http(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://"))


def needs_inlining(raw_body: bytes) -> bool:
    """A cheap first look, so requests without URLs skip the walk entirely."""
    return b'"http' in raw_body


def _parts(fmt: ClientFormat, body: dict[str, Any]) -> Iterator[list[Any]]:
    """Every list of content parts that may hold an image, in any message."""
    key = {
        "openai_chat": "messages",
        "anthropic": "messages",
        "openai_responses": "input",
        "google": "contents",
    }[fmt]
    messages = body.get(key)
    if not isinstance(messages, list):
        return
    for message in messages:
        if not isinstance(message, dict):
            continue
        parts = message.get("parts" if fmt == "google" else "content")
        if isinstance(parts, list):
            yield parts
            for part in parts:  # Anthropic tool results carry their own content lists
                if isinstance(part, dict) and isinstance(part.get("content"), list):
                    yield part["content"]


def _field(value: Any, name: str) -> Any:
    # A part of one format may sit in another's request: never assume an object.
    return value.get(name) if isinstance(value, dict) else None


def _url_of(part: Any) -> str | None:
    kind = _field(part, "type")
    if kind == "image_url":
        url = _field(_field(part, "image_url"), "url")
    elif kind == "input_image":
        url = _field(part, "image_url")
    elif kind == "image":
        source = _field(part, "source")
        url = _field(source, "url") if _field(source, "type") == "url" else None
    else:
        url = _field(_field(part, "fileData") or _field(part, "file_data"), "fileUri")
    return url if _is_http(url) else None


def _inlined(part: dict[str, Any], mime: str, data: str) -> dict[str, Any]:
    kind = part.get("type")
    if kind == "image_url":
        return {**part, "image_url": {**part["image_url"], "url": f"data:{mime};base64,{data}"}}
    if kind == "input_image":
        return {**part, "image_url": f"data:{mime};base64,{data}"}
    if kind == "image":
        return {**part, "source": {"type": "base64", "media_type": mime, "data": data}}
    rest = {k: v for k, v in part.items() if k not in ("fileData", "file_data")}
    return {**rest, "inlineData": {"mimeType": mime, "data": data}}


async def inline_images(
    fmt: ClientFormat,
    body: dict[str, Any],
    fetch: Fetch,
    *,
    max_mb: int,
    timeout: float,
    concurrency: int,
) -> None:
    """Replace http(s) image URLs in `body` (ours to change) with inline images."""
    found = [
        (parts, i, url)
        for parts in _parts(fmt, body)
        for i, p in enumerate(parts)
        if (url := _url_of(p)) is not None
    ]
    if not found:
        return
    limit = max_mb * 1024 * 1024
    gate = asyncio.Semaphore(max(1, concurrency))

    async def download(url: str) -> tuple[str, str]:
        async with gate:
            try:
                data = await fetch(url, limit, timeout)
            except PayloadTooLargeError as exc:
                raise PayloadTooLargeError(
                    f"Could not fetch the image at {url}: {exc.message} (`max_payload_size`)"
                ) from exc
            except UpstreamError as exc:  # the client linked to a host that failed us
                raise ClientRequestError(
                    f"Could not fetch the image at {url}: {exc.message}"
                ) from exc
        mime = _mime_of(data)
        if mime is None:
            raise ClientRequestError(f"The file at {url} is not a PNG, JPEG, GIF or WebP image.")
        return mime, base64.b64encode(data).decode("ascii")

    urls = list(dict.fromkeys(url for _, _, url in found))
    images = dict(zip(urls, await asyncio.gather(*(download(u) for u in urls)), strict=True))
    total = sum(len(data) * 3 // 4 for _, data in images.values())
    if total > limit:
        raise PayloadTooLargeError(
            f"The images in this request add up to {total // (1024 * 1024)} MiB, over the "
            f"{max_mb} MiB limit (`max_payload_size`)."
        )
    for parts, index, url in found:
        mime, data = images[url]
        parts[index] = _inlined(parts[index], mime, data)
