"""Deterministic embedding vectors: a hash of the text stretched to unit length.

Encoding a 3072-float vector costs more than the rest of a request, so each vector is
kept already encoded (JSON list or base64 float32), per (text, dimensions).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
from array import array
from functools import lru_cache

__all__ = ["vector", "vector_base64", "vector_json"]


@lru_cache(maxsize=2048)
def vector(text: str, dimensions: int) -> tuple[float, ...]:
    """A unit vector derived from `text` alone (same text, same vector)."""
    raw = array("h", hashlib.shake_256(text.encode()).digest(2 * dimensions))
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return tuple(round(x / norm, 6) for x in raw)


@lru_cache(maxsize=2048)
def vector_json(text: str, dimensions: int) -> str:
    """The vector as a JSON array."""
    return json.dumps(vector(text, dimensions), separators=(",", ":"))


@lru_cache(maxsize=2048)
def vector_base64(text: str, dimensions: int) -> str:
    """The vector as OpenAI's `encoding_format: base64` (little-endian float32)."""
    values = vector(text, dimensions)
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()
