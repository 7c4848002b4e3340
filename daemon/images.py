"""Image URLs in a request are fetched and inlined: ARGO does not fetch them itself
(docs/argo.md#images).

Every client format's image parts are found (OpenAI `image_url`, Responses
`input_image`, Anthropic `source.type: url`, Google `fileData`), each distinct URL is
downloaded once, concurrently up to `concurrent_downloads`, within `image_timeout`
seconds and `max_payload_size` MiB, checked to really be PNG, JPEG, GIF or WebP,
and put back inline in the same format. A URL that cannot be used is a 400 naming it
— better than an upstream error about a URL ARGO never fetched. argo-proxy ignored
Responses and Google images and had no size cap (docs/compatibility.md#images).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from .errors import ClientRequestError, PayloadTooLargeError, UpstreamError
from .formats import FormatSpec

__all__ = ["has_images", "inline_images", "needs_inlining"]

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


def _http_url(url: str | None) -> str | None:
    return url if url is not None and url.startswith(("http://", "https://")) else None


def needs_inlining(raw_body: bytes) -> bool:
    """A cheap first look, so requests without URLs skip the walk entirely."""
    return b'"http' in raw_body


def _parts(spec: FormatSpec, body: dict[str, Any]) -> Iterator[list[Any]]:
    """Every list of content parts that may hold an image, in any turn."""
    turns = body.get(spec.turns)
    if not isinstance(turns, list):
        return
    for turn in turns:
        if not isinstance(turn, dict):
            continue
        parts = turn.get(spec.parts)
        if isinstance(parts, list):
            yield parts
            for part in parts:  # Anthropic tool results carry their own content lists
                if isinstance(part, dict) and isinstance(part.get("content"), list):
                    yield part["content"]


# Content part types that hold an image, in the client formats (Google's parts say it
# with their MIME type instead).
_IMAGE_PARTS = frozenset(("image", "image_url", "input_image"))


def _is_image(part: Any) -> bool:
    if not isinstance(part, dict):
        return False
    if part.get("type") in _IMAGE_PARTS:
        return True
    data = next(
        (part[k] for k in ("inline_data", "inlineData", "file_data", "fileData") if k in part), None
    )
    if not isinstance(data, dict):
        return False
    mime = data.get("mime_type", data.get("mimeType"))
    return isinstance(mime, str) and mime.startswith("image/")


def has_images(spec: FormatSpec, body: dict[str, Any]) -> bool:
    """Whether any turn of `body` holds an image, linked or inline (routes.py)."""
    return any(_is_image(part) for parts in _parts(spec, body) for part in parts)


async def inline_images(
    spec: FormatSpec,
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
        for parts in _parts(spec, body)
        for i, p in enumerate(parts)
        if (url := _http_url(spec.image_url(p))) is not None
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
        parts[index] = spec.inline_image(parts[index], mime, data)
