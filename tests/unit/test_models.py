"""Unit tests for daemon/models.py: aliases, resolution, catalogs and the refreshing registry."""

from __future__ import annotations

import asyncio
import dataclasses
import difflib
import logging
from itertools import chain
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from argo_proxy.daemon import models
from argo_proxy.daemon.models import (
    BUILTIN_CHAT,
    MAX_MODEL_NAME,
    STATIC_EMBED,
    Catalog,
    CatalogStats,
    ModelEntry,
    ModelRegistry,
    aliases_for,
    builtin_catalog,
    catalog_from_upstream,
    family_of,
    is_embedding,
    lookup_candidates,
    owned_by,
)

# A small upstream payload in the new format (docs/argo.md#the-model-list), chat and
# embeddings mixed.
UPSTREAM: dict[str, Any] = {
    "object": "list",
    "data": [
        {"id": "GPT-4o", "internal_id": "gpt4o", "owned_by": "openai", "object": "model"},
        {"id": "o3-mini", "internal_id": "gpto3mini", "owned_by": "openai"},
        {"id": "Claude Opus 4.6", "internal_id": "claudeopus46", "owned_by": "anthropic"},
        {"id": "Gemini 2.5 Pro", "internal_id": "gemini25pro", "owned_by": "google"},
        {"id": "Text Embedding 3 Small", "internal_id": "v3small", "owned_by": "openai"},
    ],
}


# --------------------------------------------------------------------------- aliases_for


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"id": "GPT-4o", "internal_id": "gpt4o"}, {"argo:gpt-4o": "gpt4o"}),
        ({"id": "GPT-4.1 Mini", "internal_id": "gpt41mini"}, {"argo:gpt-4.1-mini": "gpt41mini"}),
        ({"id": "GPT-5.6 Sol", "internal_id": "gpt56sol"}, {"argo:gpt-5.6-sol": "gpt56sol"}),
        (
            {"id": "o3-mini", "internal_id": "gpto3mini"},
            {"argo:gpt-o3-mini": "gpto3mini", "argo:o3-mini": "gpto3mini"},
        ),
        (
            {"id": "Claude Opus 4.7", "internal_id": "claudeopus47"},
            {"argo:claude-4.7-opus": "claudeopus47", "argo:claude-opus-4.7": "claudeopus47"},
        ),
        (
            {"id": "Claude Opus 5", "internal_id": "claudeopus5"},
            {"argo:claude-5-opus": "claudeopus5", "argo:claude-opus-5": "claudeopus5"},
        ),
        (
            {"id": "Claude Sonnet 3.5 v2", "internal_id": "claudesonnet35v2"},
            {
                "argo:claude-3.5-sonnet-v2": "claudesonnet35v2",
                "argo:claude-sonnet-3.5-v2": "claudesonnet35v2",
            },
        ),
        (
            {"id": "Gemini 3.1 Flash Lite", "internal_id": "gemini31flashlite"},
            {"argo:gemini-3.1-flash-lite": "gemini31flashlite"},
        ),
        (
            {"id": "Text Embedding 3 Small", "internal_id": "v3small"},
            {"argo:text-embedding-3-small": "v3small"},
        ),
        # Old (pre-Dec-2025) format: id is the internal id, model_name the display name.
        ({"id": "gpt35", "model_name": "GPT-3.5 Turbo"}, {"argo:gpt-3.5-turbo": "gpt35"}),
    ],
)
def test_alias_table_rows(entry: dict[str, str], expected: dict[str, str]) -> None:
    assert aliases_for([entry]) == expected


def test_aliases_only_spaces_become_dashes() -> None:
    assert aliases_for([{"id": "Foo_Bar 1.2/x", "internal_id": "foo"}]) == {
        "argo:foo_bar-1.2/x": "foo"
    }


def test_old_format_claude_and_o_series() -> None:
    entries = [
        {"id": "claudesonnet37", "model_name": "Claude Sonnet 3.7"},
        {"id": "gpto1mini", "model_name": "o1-mini"},
    ]
    assert aliases_for(entries) == {
        "argo:claude-3.7-sonnet": "claudesonnet37",
        "argo:claude-sonnet-3.7": "claudesonnet37",
        "argo:gpt-o1-mini": "gpto1mini",
        "argo:o1-mini": "gpto1mini",
    }


@pytest.mark.parametrize("display", ["Claude Opus", "Claude", "Opus-4.7"])
def test_bad_claude_display_name_raises(display: str) -> None:
    with pytest.raises(ValueError, match="Claude display name"):
        aliases_for([{"id": display, "internal_id": "claudeopus47"}])


@pytest.mark.parametrize(
    "entry",
    [{}, {"internal_id": "gpt4o"}, {"id": ""}, {"id": 42}, {"id": "x", "internal_id": 3}, "gpt4o"],
)
def test_entries_without_usable_ids_raise(entry: Any) -> None:
    with pytest.raises(ValueError, match="entry #0"):
        aliases_for([entry])


# --------------------------------------------------------------------------- built-ins


def test_builtin_chat_matches_spec_table() -> None:
    # argo-proxy 3.2's built-in list, row by row (docs/compatibility.md#model-names).
    expected = {
        "argo:gpt-4o": "gpt4o",
        "argo:gpt-o1": "gpto1",
        "argo:o1": "gpto1",
        "argo:gpt-o3-mini": "gpto3mini",
        "argo:o3-mini": "gpto3mini",
        "argo:gpt-o3": "gpto3",
        "argo:o3": "gpto3",
        "argo:gpt-o4-mini": "gpto4mini",
        "argo:o4-mini": "gpto4mini",
        "argo:gpt-4.1": "gpt41",
        "argo:gpt-4.1-mini": "gpt41mini",
        "argo:gpt-4.1-nano": "gpt41nano",
        "argo:gpt-5": "gpt5",
        "argo:gpt-5-mini": "gpt5mini",
        "argo:gpt-5-nano": "gpt5nano",
        "argo:gpt-5.1": "gpt51",
        "argo:gpt-5.2": "gpt52",
        "argo:gpt-5.4": "gpt54",
        "argo:gpt-5.5": "gpt55",
        "argo:gemini-2.5-pro": "gemini25pro",
        "argo:gemini-2.5-flash": "gemini25flash",
        "argo:gemini-3.5-flash": "gemini35flash",
        "argo:gemini-3.1-flash-lite": "gemini31flashlite",
        "argo:claude-4.7-opus": "claudeopus47",
        "argo:claude-opus-4.7": "claudeopus47",
        "argo:claude-4.6-opus": "claudeopus46",
        "argo:claude-opus-4.6": "claudeopus46",
        "argo:claude-4.5-opus": "claudeopus45",
        "argo:claude-opus-4.5": "claudeopus45",
        "argo:claude-4.1-opus": "claudeopus41",
        "argo:claude-opus-4.1": "claudeopus41",
        "argo:claude-4.6-sonnet": "claudesonnet46",
        "argo:claude-sonnet-4.6": "claudesonnet46",
        "argo:claude-4.5-sonnet": "claudesonnet45",
        "argo:claude-sonnet-4.5": "claudesonnet45",
        "argo:claude-4.5-haiku": "claudehaiku45",
        "argo:claude-haiku-4.5": "claudehaiku45",
    }
    assert dict(BUILTIN_CHAT) == expected


def test_static_embed() -> None:
    assert dict(STATIC_EMBED) == {
        "argo:text-embedding-ada-002": "ada002",
        "argo:text-embedding-3-small": "v3small",
        "argo:text-embedding-3-large": "v3large",
    }


def test_builtin_tables_are_read_only() -> None:
    with pytest.raises(TypeError):
        BUILTIN_CHAT["argo:x"] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        STATIC_EMBED["argo:x"] = "x"  # type: ignore[index]


def test_builtin_catalog() -> None:
    catalog = builtin_catalog()
    assert catalog.source == "builtin"
    assert dict(catalog.chat) == dict(BUILTIN_CHAT)
    assert dict(catalog.embed) == dict(STATIC_EMBED)
    assert catalog.fetched_at > 0
    assert catalog.stats() == CatalogStats(
        unique_models=29, total_aliases=40, chat_models=26, embed_models=3
    )


# --------------------------------------------------------------------------- classifiers


@pytest.mark.parametrize(
    ("internal", "family", "owner"),
    [
        ("gpt4o", "openai", "openai"),
        ("gpt41nano", "openai", "openai"),
        ("gpto3mini", "openai", "openai"),
        ("ada002", "openai", "openai"),
        ("v3small", "openai", "openai"),
        ("v3large", "openai", "openai"),
        ("textembedding3", "openai", "openai"),
        ("claudeopus46", "anthropic", "anthropic"),
        ("claudehaiku45", "anthropic", "anthropic"),
        ("gemini25pro", "google", "google"),
        ("llama3", "unknown", "argo"),
        ("mistral-large", "unknown", "argo"),
    ],
)
def test_family_and_owned_by(internal: str, family: str, owner: str) -> None:
    assert family_of(internal) == family
    assert owned_by(internal) == owner


@pytest.mark.parametrize(
    ("internal", "expected"),
    [
        ("ada002", True),
        ("v3small", True),
        ("v3large", True),
        ("textembedding4", True),
        ("gpt4o", False),
        ("claudeopus46", False),
        ("gemini25pro", False),
    ],
)
def test_is_embedding(internal: str, expected: bool) -> None:
    assert is_embedding(internal) is expected


# --------------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Argo:GPT-4o", "gpt4o"),
        ("argo/gpt-4o", "gpt4o"),
        ("gpt-4o", "gpt4o"),
        ("GPT-4o", "gpt4o"),
        ("gpt4o", "gpt4o"),
        ("  gpt-4o  ", "gpt4o"),
        ("o3-mini", "gpto3mini"),
        ("argo:gpt-o3-mini", "gpto3mini"),
        ("claude-sonnet-4-6-20250514", "claudesonnet46"),
        ("claude-4.5-sonnet", "claudesonnet45"),
        ("claude-sonnet-4-6", "claudesonnet46"),
        ("claude-opus-4.7", "claudeopus47"),
        ("gpt-4.1", "gpt41"),
        ("argo:gemini-2.5-pro", "gemini25pro"),
        ("gemini-2.5-flash", "gemini25flash"),
        # Beyond argo-proxy's steps 1-6: the prefixed collapsed form.
        ("argo:gpt4o", "gpt4o"),
        ("argo/claude-sonnet-4-6", "claudesonnet46"),
        ("argo:claude-sonnet-4-6-20250514", "claudesonnet46"),
    ],
)
def test_resolve_chat_builtin(name: str, expected: str) -> None:
    assert builtin_catalog().resolve(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("text-embedding-3-small", "v3small"),
        ("argo:text-embedding-3-large", "v3large"),
        ("text-embedding-ada-002", "ada002"),
        ("v3small", "v3small"),
    ],
)
def test_resolve_embed_builtin(name: str, expected: str) -> None:
    assert builtin_catalog().resolve(name, kind="embed") == expected


def test_resolve_keeps_kinds_apart() -> None:
    catalog = builtin_catalog()
    assert catalog.resolve("text-embedding-3-small") is None
    assert catalog.resolve("v3small") is None
    assert catalog.resolve("gpt-4o", kind="embed") is None


@pytest.mark.parametrize("name", ["", "   ", "gpt-4o-turbo-xl", "claude-opus-9", "nope"])
def test_resolve_unknown_is_none(name: str) -> None:
    assert builtin_catalog().resolve(name) is None


def test_resolve_rejects_bad_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        builtin_catalog().resolve("gpt4o", kind="image")  # type: ignore[arg-type]


def test_internal_id_wins_over_alias_for_same_candidate() -> None:
    # A candidate that is both an internal id and an alias key resolves to itself.
    catalog = Catalog(
        chat={"argo:a": "x", "x2": "y", "y": "z"}, embed={}, source="upstream", fetched_at=0.0
    )
    assert catalog.resolve("y") == "y"
    assert catalog.resolve("x2") == "y"


def test_lookup_candidates_order_and_dedup() -> None:
    assert lookup_candidates("Argo/GPT-4o") == [
        "Argo/GPT-4o",
        "Argo:GPT-4o",
        "argo/gpt-4o",
        "argo:gpt-4o",
        "argo:Argo/GPT-4o",
        "argo:argo/gpt-4o",
        "argogpt4o",
        "gpt4o",
    ]
    assert lookup_candidates("claude-sonnet-4-6-20250514") == [
        "claude-sonnet-4-6-20250514",
        "argo:claude-sonnet-4-6-20250514",
        "claudesonnet4620250514",
        "claude-sonnet-4-6",
        "argo:claude-sonnet-4-6",
        "claudesonnet46",
    ]
    assert lookup_candidates("gpt4o") == ["gpt4o", "argo:gpt4o"]
    assert lookup_candidates("  ") == []


def test_lookup_candidates_has_no_duplicates() -> None:
    for name in ["GPT-4o", "argo:gpt-4o", "Claude-Opus-4-6-20251101", "a/b/c"]:
        candidates = lookup_candidates(name)
        assert len(candidates) == len(set(candidates))


# --------------------------------------------------------------------------- upstream catalog


def test_catalog_from_upstream() -> None:
    catalog = catalog_from_upstream(UPSTREAM)
    assert catalog.source == "upstream"
    assert dict(catalog.chat) == {
        "argo:gpt-4o": "gpt4o",
        "argo:gpt-o3-mini": "gpto3mini",
        "argo:o3-mini": "gpto3mini",
        "argo:claude-4.6-opus": "claudeopus46",
        "argo:claude-opus-4.6": "claudeopus46",
        "argo:gemini-2.5-pro": "gemini25pro",
    }
    # Fetched embeddings merged with the static table.
    assert dict(catalog.embed) == dict(STATIC_EMBED)
    assert catalog.stats() == CatalogStats(
        unique_models=7, total_aliases=9, chat_models=4, embed_models=3
    )
    assert catalog.resolve("claude-opus-4-6") == "claudeopus46"
    assert catalog.resolve("gpt-4.1") is None  # not in this list: no fallback inside


def test_catalog_from_upstream_extra_embedding_and_display_name_marker() -> None:
    payload = {
        "data": [
            {"id": "GPT-4o", "internal_id": "gpt4o"},
            {"id": "Text Embedding 4", "internal_id": "te4"},
            {"id": "Embedding Gemma", "internal_id": "embgemma"},
        ]
    }
    catalog = catalog_from_upstream(payload)
    assert catalog.resolve("text-embedding-4", kind="embed") == "te4"
    assert catalog.resolve("embedding-gemma", kind="embed") == "embgemma"
    assert catalog.resolve("text-embedding-3-small", kind="embed") == "v3small"
    assert catalog.resolve("te4") is None
    assert catalog.stats().embed_models == 5


def test_catalog_from_upstream_old_format() -> None:
    payload = {
        "data": [
            {"id": "gpt35", "model_name": "GPT-3.5 Turbo"},
            {"id": "claudesonnet37", "model_name": "Claude Sonnet 3.7"},
            {"id": "ada002", "model_name": "Ada 002"},
        ]
    }
    catalog = catalog_from_upstream(payload)
    assert catalog.resolve("gpt-3.5-turbo") == "gpt35"
    assert catalog.resolve("claude-3.7-sonnet") == "claudesonnet37"
    assert catalog.resolve("ada002") is None
    assert catalog.resolve("ada002", kind="embed") == "ada002"
    assert catalog.embed["argo:ada-002"] == "ada002"


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (None, "not a JSON object"),
        ([{"id": "GPT-4o", "internal_id": "gpt4o"}], "not a JSON object"),
        ({}, "no 'data' array"),
        ({"data": {"id": "x"}}, "no 'data' array"),
        ({"data": []}, "empty"),
        ({"data": [{"internal_id": "gpt4o"}]}, "has no 'id'"),
        ({"data": [{"id": "Claude Opus", "internal_id": "claudeopus"}]}, "Claude display name"),
        ({"data": [{"id": "Text Embedding 3 Small", "internal_id": "v3small"}]}, "no chat"),
    ],
)
def test_catalog_from_upstream_rejects_unusable(payload: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        catalog_from_upstream(payload)


def test_catalog_is_immutable_snapshot() -> None:
    source = {"argo:gpt-4o": "gpt4o"}
    catalog = Catalog(chat=source, embed={}, source="upstream", fetched_at=1.0)
    source["argo:other"] = "other"
    assert "argo:other" not in catalog.chat
    with pytest.raises(TypeError):
        catalog.chat["argo:x"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalog.source = "builtin"  # type: ignore[misc]


# --------------------------------------------------------------------------- listing / closest


def test_listing() -> None:
    listing = catalog_from_upstream(UPSTREAM).listing()
    assert [(e.alias, e.kind) for e in listing] == [
        ("argo:claude-4.6-opus", "chat"),
        ("argo:claude-opus-4.6", "chat"),
        ("argo:gemini-2.5-pro", "chat"),
        ("argo:gpt-4o", "chat"),
        ("argo:gpt-o3-mini", "chat"),
        ("argo:o3-mini", "chat"),
        ("argo:text-embedding-3-large", "embed"),
        ("argo:text-embedding-3-small", "embed"),
        ("argo:text-embedding-ada-002", "embed"),
    ]
    by_alias = {e.alias: e for e in listing}
    assert by_alias["argo:gpt-4o"] == ModelEntry(
        alias="argo:gpt-4o", internal_id="gpt4o", kind="chat", family="openai", owned_by="openai"
    )
    assert by_alias["argo:claude-opus-4.6"].owned_by == "anthropic"
    assert by_alias["argo:gemini-2.5-pro"].family == "google"
    assert by_alias["argo:text-embedding-3-small"] == ModelEntry(
        alias="argo:text-embedding-3-small",
        internal_id="v3small",
        kind="embed",
        family="openai",
        owned_by="openai",
    )


def test_listing_covers_every_alias_and_is_stable() -> None:
    catalog = builtin_catalog()
    listing = catalog.listing()
    assert len(listing) == catalog.stats().total_aliases
    assert listing == catalog.listing()
    assert all(e.alias.startswith("argo:") for e in listing)


def test_closest() -> None:
    catalog = builtin_catalog()
    assert catalog.closest("claude-sonet-4.6")[0] == "argo:claude-sonnet-4.6"
    assert catalog.closest("argo:gemini-2.5-prp")[0] == "argo:gemini-2.5-pro"
    assert "argo:gpt-4.1" in catalog.closest("gpt4-1")
    assert catalog.closest("text-embeding-3-small")[0] == "argo:text-embedding-3-small"
    assert len(catalog.closest("gpt-5", n=3)) == 3
    assert catalog.closest("gpt-5", n=0) == []
    assert catalog.closest("zzzzqqqq") == []
    assert catalog.closest("") == []
    assert all(alias in catalog.chat or alias in catalog.embed for alias in catalog.closest("o3"))


def _closest_in_full(catalog: Catalog, name: str, n: int = 5) -> list[str]:
    """What `closest` found when it compared every pair in full (before it was bounded)."""
    query = name.strip().lower().replace("/", ":")
    if not query:
        return []
    bare = query.removeprefix("argo:")
    collapsed = "".join(c for c in bare if c.isascii() and c.isalnum())
    scores: dict[str, float] = {}
    for alias, internal in chain(catalog.chat.items(), catalog.embed.items()):
        score = max(
            difflib.SequenceMatcher(None, bare, alias.removeprefix("argo:")).ratio(),
            difflib.SequenceMatcher(None, collapsed, internal).ratio(),
        )
        if score >= 0.6:
            scores[alias] = max(score, scores.get(alias, 0.0))
    return sorted(scores, key=lambda alias: (-scores[alias], alias))[:n]


@given(st.text(alphabet="argo:/-.gptclaudesonet0123456789 ", max_size=40))
def test_closest_finds_what_comparing_every_pair_in_full_finds(name: str) -> None:
    catalog = builtin_catalog()
    assert catalog.closest(name) == _closest_in_full(catalog, name)


@pytest.mark.parametrize(
    "name", ["claude-sonet-4.6", "gpt4-1", "argo:gemini-2.5-prp", "GPT-5 Mini", "o3", "x" * 40]
)
def test_closest_finds_what_comparing_every_pair_in_full_finds_examples(name: str) -> None:
    catalog = builtin_catalog()
    assert catalog.closest(name) == _closest_in_full(catalog, name)


def test_closest_of_a_long_name_compares_nothing_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name much longer than every alias cannot reach the cutoff: its cost is a length
    test per alias, not difflib's ratio (up to the product of the lengths; a 1 MB name
    took 10 s). Over MAX_MODEL_NAME nothing is even lowered."""
    ratios = 0
    full_ratio = difflib.SequenceMatcher.ratio

    def counted(self: difflib.SequenceMatcher[str]) -> float:
        nonlocal ratios
        ratios += 1
        return full_ratio(self)

    monkeypatch.setattr(difflib.SequenceMatcher, "ratio", counted)
    catalog = builtin_catalog()
    assert catalog.closest("claude-sonet-4.6") and ratios > 0  # the counter counts
    ratios = 0
    assert catalog.closest("gpt-4o" * (MAX_MODEL_NAME // 6)) == []
    assert catalog.closest("Z" * 1_000_000) == []
    assert ratios == 0


def test_a_name_over_the_limit_resolves_to_nothing_and_is_not_cached() -> None:
    catalog = builtin_catalog()
    long = "argo:gpt-4o" + " " * MAX_MODEL_NAME  # would resolve, stripped
    assert catalog.resolve(long) is None
    assert catalog.resolve(long[:MAX_MODEL_NAME]) == "gpt4o"
    assert (long, "chat") not in catalog._resolved


# --------------------------------------------------------------------------- registry


def test_registry_defaults_to_builtin() -> None:
    registry = ModelRegistry()
    assert registry.catalog.source == "builtin"
    upstream = catalog_from_upstream(UPSTREAM)
    assert ModelRegistry(upstream).catalog is upstream


async def test_refresh_success() -> None:
    registry = ModelRegistry()

    async def fetch() -> Any:
        return UPSTREAM

    result = await registry.refresh(fetch)
    assert result.ok
    assert result.message == "Model list refreshed successfully"
    assert result.previous == builtin_catalog().stats()
    assert result.current == CatalogStats(
        unique_models=7, total_aliases=9, chat_models=4, embed_models=3
    )
    assert registry.catalog.source == "upstream"
    assert registry.catalog.resolve("gpt-4o") == "gpt4o"


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionError("upstream unreachable"), "upstream unreachable"),
        (TimeoutError(), "TimeoutError"),
    ],
)
async def test_refresh_failure_keeps_upstream_list(error: Exception, reason: str) -> None:
    good = catalog_from_upstream(UPSTREAM)
    registry = ModelRegistry(good)

    async def fetch() -> Any:
        raise error

    result = await registry.refresh(fetch)
    assert not result.ok
    assert registry.catalog is good
    assert result.previous == result.current == good.stats()
    assert result.message == (
        f"Could not refresh the model list from the upstream: {reason}; "
        "keeping the previous list (upstream, 7 models)"
    )


async def test_refresh_bad_payload_keeps_builtin(caplog: pytest.LogCaptureFixture) -> None:
    registry = ModelRegistry()
    before = registry.catalog

    async def fetch() -> Any:
        return {"data": [{"id": "Claude Opus", "internal_id": "claudeopus"}]}

    with caplog.at_level(logging.WARNING, logger=models.__name__):
        result = await registry.refresh(fetch)
    assert not result.ok
    assert registry.catalog is before
    assert "Claude display name" in result.message
    assert "keeping the previous list (builtin, 29 models)" in result.message
    assert any("Could not refresh" in r.getMessage() for r in caplog.records)


async def test_concurrent_refreshes_share_one_fetch() -> None:
    registry = ModelRegistry()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> Any:
        nonlocal calls
        calls += 1
        await release.wait()
        return UPSTREAM

    waiters = [asyncio.create_task(registry.refresh(fetch)) for _ in range(3)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters)
    assert calls == 1
    assert all(r == results[0] for r in results)
    assert results[0].ok

    # Once done, the next refresh fetches again.
    await registry.refresh(fetch)
    assert calls == 2


async def test_cancelling_one_waiter_does_not_cancel_shared_fetch() -> None:
    registry = ModelRegistry()
    release = asyncio.Event()

    async def fetch() -> Any:
        await release.wait()
        return UPSTREAM

    first = asyncio.create_task(registry.refresh(fetch))
    second = asyncio.create_task(registry.refresh(fetch))
    await asyncio.sleep(0)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    release.set()
    assert (await second).ok
    assert registry.catalog.source == "upstream"


async def test_cancelling_last_waiter_cancels_fetch() -> None:
    registry = ModelRegistry()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def fetch() -> Any:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return UPSTREAM  # pragma: no cover

    waiter = asyncio.create_task(registry.refresh(fetch))
    await started.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.wait_for(cancelled.wait(), timeout=1)
    assert registry.catalog.source == "builtin"


async def test_run_periodic_refreshes_and_cancels_cleanly() -> None:
    registry = ModelRegistry()
    calls = 0
    refreshed = asyncio.Event()

    async def fetch() -> Any:
        nonlocal calls
        calls += 1
        if calls >= 2:
            refreshed.set()
        return UPSTREAM

    task = asyncio.create_task(registry.run_periodic(fetch, lambda: 0.00001))  # 36 ms
    # The loop sleeps first: nothing is fetched right away.
    await asyncio.sleep(0)
    assert calls == 0
    await asyncio.wait_for(refreshed.wait(), timeout=5)
    assert registry.catalog.source == "upstream"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_run_periodic_disabled_then_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models, "_POLL_SECONDS", 0.01)
    registry = ModelRegistry()
    interval = [0.0]
    polled = 0
    refreshed = asyncio.Event()

    def interval_hours() -> float:
        nonlocal polled
        polled += 1
        return interval[0]

    async def fetch() -> Any:
        refreshed.set()
        return UPSTREAM

    task = asyncio.create_task(registry.run_periodic(fetch, interval_hours))
    await asyncio.sleep(0.1)
    assert polled >= 3  # it keeps polling while disabled...
    assert not refreshed.is_set()  # ...without fetching
    interval[0] = 0.00001  # a hot-reloaded config turns it on
    await asyncio.wait_for(refreshed.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_run_periodic_cancelled_mid_fetch_cancels_fetch() -> None:
    registry = ModelRegistry()
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def fetch() -> Any:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return UPSTREAM  # pragma: no cover

    task = asyncio.create_task(registry.run_periodic(fetch, lambda: 0.00001))
    await asyncio.wait_for(started.wait(), timeout=5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), timeout=1)
    assert registry.catalog.source == "builtin"
