"""HTTP calls to the daemon as a user's own tool makes them: with the access token.

Every daemon the end-to-end tests start shares one home directory and so one token
file, which the `workdir` fixture writes before any daemon starts (docs/security.md).
"""

from __future__ import annotations

import secrets
from contextlib import AbstractContextManager
from typing import Any

import httpx

__all__ = ["TOKEN", "get", "headers", "post", "stream"]

TOKEN = "ap-e2e-" + secrets.token_urlsafe(24)


def headers(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The token as an OpenAI-style bearer key, plus `extra`."""
    return {"authorization": f"Bearer {TOKEN}", **(extra or {})}


def post(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(url, headers=headers(kwargs.pop("headers", None)), **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url, headers=headers(kwargs.pop("headers", None)), **kwargs)


def stream(method: str, url: str, **kwargs: Any) -> AbstractContextManager[httpx.Response]:
    return httpx.stream(method, url, headers=headers(kwargs.pop("headers", None)), **kwargs)
