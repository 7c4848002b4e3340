"""The client formats the daemon serves, one module each, found by name here."""

from __future__ import annotations

from . import anthropic, google, openai_chat, openai_responses
from .spec import ClientFormat, Event, FormatSpec, UpstreamFormat

__all__ = ["FORMATS", "ClientFormat", "Event", "FormatSpec", "UpstreamFormat", "format_for_path"]

FORMATS: dict[ClientFormat, FormatSpec] = {
    module.SPEC.name: module.SPEC for module in (openai_chat, openai_responses, anthropic, google)
}


def format_for_path(path: str) -> FormatSpec:
    """The format to answer in when only the URL is known (404, 405, 413, refusals);
    OpenAI's envelope for any other path."""
    return next((spec for spec in FORMATS.values() if spec.serves(path)), FORMATS["openai_chat"])
