"""The model registry: which names the daemon accepts and which ARGO model each one means.

Its one concern is the alias table (docs/compatibility.md#model-names): build it from the
upstream model list (or the built-in fallback), resolve a client's model name to an ARGO
internal id, classify internal ids by family, and swap in a fresh table on refresh. It does no HTTP:
callers hand it the parsed JSON of ``GET {base}/v1/models`` through a ``fetch`` callable.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from itertools import chain
from types import MappingProxyType
from typing import Any, Literal

__all__ = [
    "BUILTIN_CHAT",
    "MAX_MODEL_NAME",
    "STATIC_EMBED",
    "Catalog",
    "CatalogSource",
    "CatalogStats",
    "Family",
    "ModelEntry",
    "ModelKind",
    "ModelRegistry",
    "RefreshResult",
    "aliases_for",
    "builtin_catalog",
    "catalog_from_upstream",
    "family_of",
    "is_embedding",
    "lookup_candidates",
    "owned_by",
]

logger = logging.getLogger(__name__)

Family = Literal["openai", "anthropic", "google", "unknown"]
ModelKind = Literal["chat", "embed"]
CatalogSource = Literal["upstream", "builtin"]

_PREFIX = "argo:"

# docs/argo.md#the-model-list: fnmatch on the internal id, first match wins.
_FAMILY_PATTERNS: tuple[tuple[str, Family], ...] = (
    ("gpt*", "openai"),
    ("gpto*", "openai"),
    ("ada*", "openai"),
    ("v3*", "openai"),
    ("*embedding*", "openai"),
    ("claude*", "anthropic"),
    ("gemini*", "google"),
)

# ARGO's list has no type field, so embeddings are told apart by id (docs/argo.md#the-model-list).
_EMBEDDING_MARKERS = ("embedding", "ada", "v3small", "v3large")

_DATE_SUFFIX = re.compile(r"-\d{8}$")
_NON_ALNUM = re.compile(r"[^a-z0-9]")

# The longest model name a client may send (docs/translation.md#bad-requests): ARGO's
# names are under 40 characters; a longer one is refused before it is looked up.
MAX_MODEL_NAME = 256
# difflib ratio below which a name is not offered as "did you mean".
_CLOSEST_CUTOFF = 0.6
# How often run_periodic re-reads the interval, so a hot-reloaded config takes effect
# (and a disabled refresh can be turned on) without restarting the daemon.
_POLL_SECONDS = 60.0


# --------------------------------------------------------------------------- classifiers


def family_of(internal_id: str) -> Family:
    """The vendor family of an ARGO internal id (docs/argo.md#the-model-list)."""
    # ARGO's internal ids are lower-case; folding case keeps fnmatch platform-independent.
    lowered = internal_id.lower()
    for pattern, family in _FAMILY_PATTERNS:
        if fnmatchcase(lowered, pattern):
            return family
    return "unknown"


def owned_by(internal_id: str) -> str:
    """The ``owned_by`` value GET /v1/models reports for an internal id.

    argo-proxy used a narrower rule that reports plain GPT models as "argo"; we report the
    vendor for every known family and "argo" only for the unknown
    (docs/compatibility.md#the-model-list).
    """
    family = family_of(internal_id)
    return "argo" if family == "unknown" else family


def is_embedding(internal_id: str) -> bool:
    """Whether an internal id names an embedding model (docs/argo.md#the-model-list)."""
    if internal_id in STATIC_EMBED.values():
        return True
    lowered = internal_id.lower()
    return any(marker in lowered for marker in _EMBEDDING_MARKERS)


# --------------------------------------------------------------------------- aliases


def _optional_str(entry: Mapping[str, Any], key: str, index: int) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"model entry #{index}: {key!r} must be a non-empty string, got {value!r}")
    return value


def _entry_names(entry: Any, index: int) -> tuple[str, str]:
    """(display name, internal id) of one upstream entry, in either list format."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"model entry #{index} is not an object: {entry!r}")
    entry_id = _optional_str(entry, "id", index)
    if entry_id is None:
        raise ValueError(f"model entry #{index} has no 'id'")
    # docs/argo.md#the-model-list: old format {"id": internal, "model_name": display},
    # new format {"id": display, "internal_id": internal}.
    display = _optional_str(entry, "model_name", index) or entry_id
    internal = _optional_str(entry, "internal_id", index) or entry_id
    return display, internal


def aliases_for(entries: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Alias -> internal id for upstream model entries, as argo-proxy made them
    (docs/compatibility.md#model-names).

    Raises ValueError for a malformed entry or a Claude display name with fewer than three
    dash-separated parts (the caller then keeps another list).
    """
    aliases: dict[str, str] = {}
    for index, entry in enumerate(entries):
        display, internal = _entry_names(entry, index)
        # Only spaces become dashes; dots and other punctuation stay.
        name = display.replace(" ", "-").lower()
        if fnmatchcase(internal, "gpto*"):
            # o-series also answers to its "gpt-" spelling.
            aliases[f"{_PREFIX}gpt-{name}"] = internal
        elif fnmatchcase(internal, "claude*"):
            # "claude-opus-4.7" also answers as "claude-4.7-opus".
            parts = name.split("-")
            if len(parts) < 3:
                raise ValueError(
                    f"model entry #{index}: Claude display name {display!r} does not have the "
                    "form 'Claude <codename> <generation>'"
                )
            _, codename, generation, *extra = parts
            reordered = f"{_PREFIX}claude-{generation}-{codename}"
            if extra:
                reordered += f"-{extra[0]}"
            aliases[reordered] = internal
        aliases[f"{_PREFIX}{name}"] = internal
    return aliases


# The built-in chat list (argo-proxy 3.2's, docs/compatibility.md#model-names), as
# (display name, internal id) pairs run through the same alias rules as an upstream
# list, so both behave identically.
_BUILTIN_DISPLAY: tuple[tuple[str, str], ...] = (
    ("GPT-4o", "gpt4o"),
    ("o1", "gpto1"),
    ("o3-mini", "gpto3mini"),
    ("o3", "gpto3"),
    ("o4-mini", "gpto4mini"),
    ("GPT-4.1", "gpt41"),
    ("GPT-4.1 Mini", "gpt41mini"),
    ("GPT-4.1 Nano", "gpt41nano"),
    ("GPT-5", "gpt5"),
    ("GPT-5 Mini", "gpt5mini"),
    ("GPT-5 Nano", "gpt5nano"),
    ("GPT-5.1", "gpt51"),
    ("GPT-5.2", "gpt52"),
    ("GPT-5.4", "gpt54"),
    ("GPT-5.5", "gpt55"),
    ("Gemini 2.5 Pro", "gemini25pro"),
    ("Gemini 2.5 Flash", "gemini25flash"),
    ("Gemini 3.5 Flash", "gemini35flash"),
    ("Gemini 3.1 Flash Lite", "gemini31flashlite"),
    ("Claude Opus 4.7", "claudeopus47"),
    ("Claude Opus 4.6", "claudeopus46"),
    ("Claude Opus 4.5", "claudeopus45"),
    ("Claude Opus 4.1", "claudeopus41"),
    ("Claude Sonnet 4.6", "claudesonnet46"),
    ("Claude Sonnet 4.5", "claudesonnet45"),
    ("Claude Haiku 4.5", "claudehaiku45"),
)

BUILTIN_CHAT: Mapping[str, str] = MappingProxyType(
    aliases_for({"id": display, "internal_id": internal} for display, internal in _BUILTIN_DISPLAY)
)

# The static embedding table, always merged over the fetched list.
STATIC_EMBED: Mapping[str, str] = MappingProxyType(
    {
        "argo:text-embedding-ada-002": "ada002",
        "argo:text-embedding-3-small": "v3small",
        "argo:text-embedding-3-large": "v3large",
    }
)


# --------------------------------------------------------------------------- resolution


def _collapse(text: str) -> str:
    return _NON_ALNUM.sub("", text.lower())


def _has_prefix(text: str) -> bool:
    return text.lower().startswith(_PREFIX)


def lookup_candidates(name: str) -> list[str]:
    """Ordered, de-duplicated names to try for a client's model name
    (docs/compatibility.md#model-names)."""
    trimmed = name.strip()
    if not trimmed:
        return []
    colon = trimmed.replace("/", ":")
    candidates = [trimmed, colon, trimmed.lower(), colon.lower()]
    # Step 4. The prefix test ignores case: "Argo:GPT-4o" already has one, and its
    # lower-case form (step 3) is the candidate that hits.
    candidates += [_PREFIX + c for c in list(candidates) if not _has_prefix(c)]
    candidates.append(_collapse(trimmed))
    dated = _DATE_SUFFIX.search(trimmed)
    undated = trimmed[: dated.start()] if dated else None
    if undated:
        lowered = undated.lower()
        candidates += [undated, lowered]
        if not _has_prefix(lowered):
            candidates.append(_PREFIX + lowered)
        candidates.append(_collapse(undated))
    # Beyond argo-proxy's steps 1-6 (so never changing what they resolve): the collapsed form
    # without the "argo:" prefix, so "argo:gpt4o" and "argo/claude-sonnet-4-6" resolve too.
    for form in (colon, undated.replace("/", ":") if undated else None):
        if form and _has_prefix(form):
            candidates.append(_collapse(form[len(_PREFIX) :]))
    return [c for c in dict.fromkeys(candidates) if c]


def _similarity(query: str, known: str) -> float:
    """difflib's ratio of the two, or 0.0 when its upper bounds (the lengths alone, then
    the characters in common) show it is below the cutoff: those take time linear in
    the lengths, the ratio itself up to their product."""
    matcher = difflib.SequenceMatcher(None, query, known)
    if matcher.real_quick_ratio() < _CLOSEST_CUTOFF or matcher.quick_ratio() < _CLOSEST_CUTOFF:
        return 0.0
    return matcher.ratio()


# --------------------------------------------------------------------------- catalog


_RESOLVED_LIMIT = 4096


@dataclass(frozen=True)
class CatalogStats:
    """Counts reported by POST /refresh (docs/control.md#methods, `refresh`)."""

    unique_models: int  # distinct internal ids over chat + embed
    total_aliases: int
    chat_models: int  # distinct chat internal ids
    embed_models: int  # distinct embedding internal ids


@dataclass(frozen=True)
class ModelEntry:
    """One alias as listed by GET /v1/models."""

    alias: str
    internal_id: str
    kind: ModelKind
    family: Family
    owned_by: str


@dataclass(frozen=True)
class Catalog:
    """One immutable snapshot of the alias tables; a refresh swaps in a new one."""

    chat: Mapping[str, str]  # alias -> internal id
    embed: Mapping[str, str]  # alias -> internal id
    source: CatalogSource
    fetched_at: float  # time.time() of the snapshot
    _ids: Mapping[ModelKind, frozenset[str]] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )
    # Names already resolved in this snapshot: clients repeat the same few names on the
    # hot path. Bounded so odd names cannot grow it without limit.
    _resolved: dict[tuple[str, ModelKind], str | None] = field(
        init=False, repr=False, compare=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Copy into read-only views so no caller can mutate a published snapshot.
        chat = MappingProxyType(dict(self.chat))
        embed = MappingProxyType(dict(self.embed))
        object.__setattr__(self, "chat", chat)
        object.__setattr__(self, "embed", embed)
        ids: dict[ModelKind, frozenset[str]] = {
            "chat": frozenset(chat.values()),
            "embed": frozenset(embed.values()),
        }
        object.__setattr__(self, "_ids", MappingProxyType(ids))

    def _table(self, kind: ModelKind) -> Mapping[str, str]:
        if kind == "chat":
            return self.chat
        if kind == "embed":
            return self.embed
        raise ValueError(f"kind must be 'chat' or 'embed', got {kind!r}")

    def resolve(self, name: str, *, kind: ModelKind = "chat") -> str | None:
        """The internal id ``name`` means among models of ``kind``, or None (no fallback).

        For each candidate in order, an internal id wins over an alias, as in argo-proxy.
        """
        if len(name) > MAX_MODEL_NAME:  # no name that long is known, nor worth caching
            return None
        key = (name, kind)
        if key in self._resolved:
            return self._resolved[key]
        table = self._table(kind)
        ids = self._ids[kind]
        found: str | None = None
        for candidate in lookup_candidates(name):
            if candidate in ids:
                found = candidate
                break
            found = table.get(candidate)
            if found is not None:
                break
        if len(self._resolved) < _RESOLVED_LIMIT:
            self._resolved[key] = found
        return found

    def closest(self, name: str, n: int = 5) -> list[str]:
        """Up to ``n`` known aliases closest to ``name``, best first, for "did you mean".

        Bounded work whatever the name: a name longer than MAX_MODEL_NAME gets none, and
        a pair is only compared in full when difflib's cheap upper bounds say it can
        reach the cutoff (as `difflib.get_close_matches` does), so a name far longer
        than every alias costs one length test per alias.
        """
        if n <= 0 or len(name) > MAX_MODEL_NAME:
            return []
        query = name.strip().lower().replace("/", ":")
        if not query:
            return []
        bare = query.removeprefix(_PREFIX)
        collapsed = _collapse(bare)
        scores: dict[str, float] = {}
        for alias, internal in chain(self.chat.items(), self.embed.items()):
            # Compare without the shared prefix (it would inflate every ratio) and also the
            # collapsed name against the internal id, so "gpt4-1" finds "argo:gpt-4.1".
            score = max(
                _similarity(bare, alias.removeprefix(_PREFIX)), _similarity(collapsed, internal)
            )
            if score >= _CLOSEST_CUTOFF:
                scores[alias] = max(score, scores.get(alias, 0.0))
        return sorted(scores, key=lambda alias: (-scores[alias], alias))[:n]

    def stats(self) -> CatalogStats:
        """Model and alias counts, as POST /refresh reports them."""
        chat_ids = self._ids["chat"]
        embed_ids = self._ids["embed"]
        return CatalogStats(
            unique_models=len(chat_ids | embed_ids),
            total_aliases=len(self.chat) + len(self.embed),
            chat_models=len(chat_ids),
            embed_models=len(embed_ids),
        )

    def listing(self) -> list[ModelEntry]:
        """Every alias, chat models first, each kind sorted by alias."""
        tables: tuple[tuple[ModelKind, Mapping[str, str]], ...] = (
            ("chat", self.chat),
            ("embed", self.embed),
        )
        return [
            ModelEntry(
                alias=alias,
                internal_id=internal,
                kind=kind,
                family=family_of(internal),
                owned_by=owned_by(internal),
            )
            for kind, table in tables
            for alias, internal in sorted(table.items())
        ]


def builtin_catalog() -> Catalog:
    """The built-in fallback catalog."""
    return Catalog(chat=BUILTIN_CHAT, embed=STATIC_EMBED, source="builtin", fetched_at=time.time())


def catalog_from_upstream(payload: Any) -> Catalog:
    """A catalog from the parsed JSON of ``GET {base}/v1/models`` (docs/argo.md#the-model-list).

    Raises ValueError, naming what is wrong, when the payload cannot serve as a model list.
    """
    if not isinstance(payload, Mapping):
        raise ValueError(f"the model list is not a JSON object (got {type(payload).__name__})")
    data = payload.get("data")
    if not isinstance(data, list):
        raise ValueError("the model list has no 'data' array")
    if not data:
        raise ValueError("the model list is empty")
    chat_entries: list[Mapping[str, Any]] = []
    embed_entries: list[Mapping[str, Any]] = []
    for index, entry in enumerate(data):
        display, internal = _entry_names(entry, index)
        # No type field, so classify by id; a display name saying "embedding" also counts
        # (the looser "ada" marker is not applied to free text).
        if is_embedding(internal) or "embedding" in display.lower():
            embed_entries.append(entry)
        else:
            chat_entries.append(entry)
    chat = aliases_for(chat_entries)
    if not chat:
        raise ValueError("the model list has no chat models, only embedding models")
    # The static embedding table is merged over the fetched list.
    embed = {**aliases_for(embed_entries), **STATIC_EMBED}
    return Catalog(chat=chat, embed=embed, source="upstream", fetched_at=time.time())


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class RefreshResult:
    """Outcome of one refresh, as POST /refresh reports it."""

    ok: bool
    message: str
    previous: CatalogStats
    current: CatalogStats


@dataclass
class _InFlight:
    """A refresh being fetched, and how many callers are waiting for it."""

    task: asyncio.Task[RefreshResult]
    waiters: int = 0


class ModelRegistry:
    """Holds the current Catalog.

    A refresh never replaces a good upstream list with built-ins on a blip
    (docs/compatibility.md#the-model-list).
    """

    def __init__(self, catalog: Catalog | None = None) -> None:
        self._catalog = catalog if catalog is not None else builtin_catalog()
        self._inflight: _InFlight | None = None

    @property
    def catalog(self) -> Catalog:
        """The current snapshot; read it once per request, it may be swapped at any await."""
        return self._catalog

    async def refresh(self, fetch: Callable[[], Awaitable[Any]]) -> RefreshResult:
        """Fetch the upstream list and swap it in; on failure keep the current catalog.

        Concurrent calls share one in-flight fetch. Cancelling one caller does not cancel the
        fetch for the others; cancelling the last one does.
        """
        flight = self._inflight
        if flight is None or flight.task.done():
            flight = _InFlight(asyncio.create_task(self._refresh_once(fetch), name="model-refresh"))
            self._inflight = flight
        flight.waiters += 1
        try:
            return await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if flight.waiters == 0:
                if self._inflight is flight:
                    self._inflight = None
                if not flight.task.done():
                    flight.task.cancel()

    async def _refresh_once(self, fetch: Callable[[], Awaitable[Any]]) -> RefreshResult:
        previous = self._catalog
        try:
            catalog = catalog_from_upstream(await fetch())
        except Exception as exc:
            # argo-proxy silently downgraded to built-ins on any failure
            # (docs/compatibility.md#the-model-list). We keep whatever we had (upstream or
            # built-in) and say why; fetch may raise anything (the caller maps network
            # errors), hence the broad catch.
            reason = str(exc) or type(exc).__name__
            stats = previous.stats()
            message = (
                f"Could not refresh the model list from the upstream: {reason}; keeping the "
                f"previous list ({previous.source}, {stats.unique_models} models)"
            )
            logger.warning("%s", message)
            return RefreshResult(ok=False, message=message, previous=stats, current=stats)
        self._catalog = catalog
        before, after = previous.stats(), catalog.stats()
        logger.info(
            "Model list refreshed: %d models, %d aliases (was %d models, %d aliases, %s)",
            after.unique_models,
            after.total_aliases,
            before.unique_models,
            before.total_aliases,
            previous.source,
        )
        return RefreshResult(
            ok=True, message="Model list refreshed successfully", previous=before, current=after
        )

    async def run_periodic(
        self, fetch: Callable[[], Awaitable[Any]], interval_hours: Callable[[], float]
    ) -> None:
        """Refresh every ``interval_hours()`` hours, forever, until cancelled.

        The loop sleeps first, as argo-proxy's did. An interval <= 0 disables refreshing.
        The interval is re-read at least every minute, so a reloaded config takes effect
        (or switches refreshing on) without a restart. Each refresh logs its own result.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            hours = interval_hours()
            if not (hours > 0):  # also catches NaN
                started = loop.time()  # when switched on, wait a full interval from then
                await asyncio.sleep(_POLL_SECONDS)
                continue
            remaining = started + hours * 3600 - loop.time()
            if remaining > 0:
                await asyncio.sleep(min(remaining, _POLL_SECONDS))
                continue
            logger.debug("Periodic model list refresh (every %s h)", hours)
            await self.refresh(fetch)
            started = loop.time()
