"""Workarounds for llm-rosetta defects our paths reach, one module each.

Each module names the defect (B-numbers as in docs/workarounds.md) and was written
against `LLM_ROSETTA`; `tests/unit/test_rosetta_defects.py` holds a test of the
library's own behaviour for each, marked `xfail(strict=True)`: when an upgrade fixes
a defect, its test passes, the suite fails, and the workaround is deleted.
"""

from __future__ import annotations

from .b2_anthropic_block_indices import AnthropicBlockFixer
from .b3_in_band_stream_errors import responses_failed
from .b4_google_request_fields import GOOGLE_SOURCE_SHIM
from .b5_stream_usage_tail import STREAM_TAIL
from .b6_responses_done_events import ResponsesDedup
from .b7_cached_token_usage import CacheAccounting, cache_accounting_for
from .b9_provider_metadata import strip_provider_metadata
from .b12_tool_description_limit import ARGO_TOOL_DESCRIPTION_LIMIT, gather_late_system_messages
from .b17_reasoning_token_usage import ReasoningAccounting
from .parallel_tool_results import join_tool_result_turns
from .responses_builtin_tools import without_builtin_tools
from .shims import ARGO_ANTHROPIC_SHIM, ARGO_OPENAI_SHIM, builtin_shim
from .unrequested_usage_chunk import is_usage_only_chunk
from .usage_accounting import UsageAccounting, usage_accounting_for

__all__ = [
    "ARGO_ANTHROPIC_SHIM",
    "ARGO_OPENAI_SHIM",
    "ARGO_TOOL_DESCRIPTION_LIMIT",
    "GOOGLE_SOURCE_SHIM",
    "LLM_ROSETTA",
    "STREAM_TAIL",
    "AnthropicBlockFixer",
    "CacheAccounting",
    "ReasoningAccounting",
    "ResponsesDedup",
    "UsageAccounting",
    "builtin_shim",
    "cache_accounting_for",
    "gather_late_system_messages",
    "is_usage_only_chunk",
    "join_tool_result_turns",
    "responses_failed",
    "strip_provider_metadata",
    "usage_accounting_for",
    "without_builtin_tools",
]

LLM_ROSETTA = "0.13.0"  # the version every module here was written against
