"""Thinking signatures and redacted-thinking data that the simulator can check later
(docs/simulator.md#thinking).

Anthropic signs every `thinking` block it sends, and refuses a history whose thinking was
altered, or whose signature belongs to other text; a `redacted_thinking` block carries
opaque data that must come back unchanged. The simulator does the same with an HMAC
under a fixed key, so its answers stay deterministic:

- a signature is the base64 of 256 bytes drawn from HMAC-SHA256 over the thinking text
  (counter mode), so it depends on every character of that text and on nothing else;
- redacted data is the base64 of a payload derived from the request plus an HMAC-SHA256
  tag over that payload, so any change to it is seen.

The key is not a secret: it only has to differ between the two uses, so that neither a
signature nor a piece of data can pass for the other.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

__all__ = ["redacted_data", "redacted_data_valid", "sign_thinking", "thinking_signature_valid"]

_KEY = b"argo-proxy simulated ARGO: thinking signatures"
_SIGNATURE_BYTES = 256  # 344 base64 characters, as long as a short Anthropic signature
_PAYLOAD_BYTES = 160
_TAG_BYTES = 32


def _expand(label: bytes, message: bytes, size: int) -> bytes:
    """`size` bytes of HMAC-SHA256 output bound to `label` and `message` (counter mode)."""
    out = b""
    counter = 0
    while len(out) < size:
        counter += 1
        out += hmac.new(_KEY, label + counter.to_bytes(4, "big") + message, hashlib.sha256).digest()
    return out[:size]


def sign_thinking(text: str) -> str:
    """The `signature` of a thinking block whose text is `text`."""
    return base64.b64encode(_expand(b"thinking", text.encode(), _SIGNATURE_BYTES)).decode()


def thinking_signature_valid(text: str, signature: str) -> bool:
    """Whether `signature` is the one the simulator gave a thinking block with `text`."""
    return hmac.compare_digest(sign_thinking(text).encode(), signature.encode())


def _tag(payload: bytes) -> bytes:
    return _expand(b"redacted_thinking", payload, _TAG_BYTES)


def redacted_data(seed: bytes) -> str:
    """The `data` of a redacted_thinking block: an opaque payload from `seed`, tagged."""
    payload = hashlib.shake_256(b"redacted payload\0" + seed).digest(_PAYLOAD_BYTES)
    return base64.b64encode(payload + _tag(payload)).decode()


def redacted_data_valid(data: str) -> bool:
    """Whether `data` is redacted-thinking data the simulator gave, unchanged."""
    try:
        raw = base64.b64decode(data.encode(), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        return False
    if len(raw) <= _TAG_BYTES:
        return False
    payload, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    return hmac.compare_digest(_tag(payload), tag)
