"""daemon/model_cards.py: one card per chat model, with limits an editor can plan with."""

from __future__ import annotations

from argo_proxy.daemon.model_cards import card_for, chat_cards
from argo_proxy.daemon.models import builtin_catalog, catalog_from_upstream


def test_one_card_per_chat_model_each_alias_resolving_to_its_model() -> None:
    catalog = builtin_catalog()
    cards = chat_cards(catalog)
    assert len(cards) == catalog.stats().chat_models
    assert len({c.internal_id for c in cards}) == len(cards)
    for card in cards:
        assert catalog.resolve(card.alias) == card.internal_id
        assert card.max_input_tokens > card.max_output_tokens > 0
    assert not any(c.internal_id in catalog.embed.values() for c in cards)


def test_the_plain_alias_and_argos_display_names_are_shown() -> None:
    by_id = {c.internal_id: c for c in chat_cards(builtin_catalog())}
    assert (by_id["gpt4o"].alias, by_id["gpt4o"].name) == ("argo:gpt-4o", "GPT-4o")
    assert (by_id["gpto3"].alias, by_id["gpto3"].name) == ("argo:o3", "o3")
    assert by_id["gpt41mini"].name == "GPT-4.1 Mini"
    sonnet = by_id["claudesonnet46"]
    assert (sonnet.alias, sonnet.name) == ("argo:claude-sonnet-4.6", "Claude Sonnet 4.6")
    assert by_id["gemini25pro"].name == "Gemini 2.5 Pro"


def test_limits_and_capabilities_follow_the_model_line() -> None:
    sonnet = card_for("argo:claude-sonnet-4.6", "claudesonnet46")
    assert (sonnet.max_input_tokens, sonnet.max_output_tokens) == (200_000, 64_000)
    assert sonnet.tool_calling and sonnet.image_input and sonnet.family == "anthropic"
    assert card_for("argo:claude-opus-4.1", "claudeopus41").max_output_tokens == 32_000
    assert card_for("argo:gemini-2.5-pro", "gemini25pro").max_input_tokens == 1_048_576
    assert card_for("argo:o3-mini", "gpto3mini").image_input is False
    unknown = card_for("argo:llama-9", "llama9")
    assert (unknown.family, unknown.tool_calling, unknown.image_input) == ("unknown", True, False)


def test_a_new_model_from_argo_gets_its_lines_figures() -> None:
    catalog = catalog_from_upstream(
        {
            "data": [
                {"id": "GPT-5.6", "internal_id": "gpt56"},
                {"id": "Claude Opus 5.1", "internal_id": "claudeopus51"},
            ]
        }
    )
    by_id = {c.internal_id: c for c in chat_cards(catalog)}
    assert by_id["gpt56"].max_output_tokens == 128_000
    assert by_id["gpt56"].name == "GPT-5.6"
    assert by_id["claudeopus51"].alias == "argo:claude-opus-5.1"
