"""`argo-proxy models [CONFIG] [--json]`: ARGO's models and their aliases.

The user's running daemon is asked first, over its control socket (`models.catalog`):
it has the list of the ARGO it really uses (`serve --simulate`, an option, a variable).
With no daemon running, or with a CONFIG named, it fetches `GET {openai_base}/models`
from the configured ARGO and applies the same alias rules as the daemon
(daemon/models.py). The output is argo-proxy's: a table grouped by family, or with
`--json` a list of `{"upstream_id", "type", "family", "aliases"}`
(docs/control.md#everyday-commands).
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from argo_proxy.daemon import __version__
from argo_proxy.daemon.config import control_socket_path, load_config
from argo_proxy.daemon.errors import ConfigError, UpstreamError
from argo_proxy.daemon.models import Catalog, catalog_from_upstream, family_of
from argo_proxy.daemon.routing import models_url
from argo_proxy.daemon.upstream import Upstream

from .client import ControlClient, DaemonNotRunning, RpcError

__all__ = ["model_rows", "run_models"]

_FAMILY_TITLES = (("openai", "OpenAI"), ("anthropic", "Anthropic"), ("google", "Google"))


def model_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """One row per ARGO model: chat models first, each kind sorted by internal id."""
    rows: list[dict[str, Any]] = []
    for kind, table in (("chat", catalog.chat), ("embedding", catalog.embed)):
        aliases: dict[str, list[str]] = defaultdict(list)
        for alias, internal in table.items():
            aliases[internal].append(alias)
        for internal in sorted(aliases):
            rows.append(
                {
                    "upstream_id": internal,
                    "type": kind,
                    # As argo-proxy did: every embedding model is listed as openai's.
                    "family": "openai" if kind == "embedding" else family_of(internal),
                    "aliases": sorted(aliases[internal]),
                }
            )
    return rows


def _print_table(rows: list[dict[str, Any]]) -> None:
    total = sum(len(row["aliases"]) for row in rows)
    print(f"Available models: {len(rows)} models, {total} aliases")

    def section(title: str, selected: list[dict[str, Any]]) -> None:
        if selected:
            print(f"\n{title}")
            for row in selected:
                print(f"  {row['upstream_id']:<30} {', '.join(row['aliases'])}")

    chat = [row for row in rows if row["type"] == "chat"]
    known = {family for family, _ in _FAMILY_TITLES}
    for family, title in _FAMILY_TITLES:
        section(f"Chat: {title}", [row for row in chat if row["family"] == family])
    section("Chat: Other", [row for row in chat if row["family"] not in known])
    section("Embedding", [row for row in rows if row["type"] == "embedding"])


def _warn(text: str) -> None:
    print(f"argo-proxy models: {text}", file=sys.stderr, flush=True)


async def _daemon_rows(socket: Path | None) -> list[dict[str, Any]] | None:
    """The running daemon's model list, or None when no daemon answers (or one too old
    to have `models.catalog`). FolderError: the socket's folder is not the user's."""
    try:
        client = await ControlClient.connect(control_socket_path(socket))
    except DaemonNotRunning:
        return None
    try:
        answer = await client.call("models.catalog")
    except RpcError as exc:
        _warn(f"the running daemon did not give its model list ({exc.message}); asking ARGO")
        return None
    finally:
        await client.close()
    if answer["source"] != "upstream":
        _warn(
            "the running daemon has not had ARGO's model list yet: these are its built-in "
            "models (`argo-proxy ctl status` says why)"
        )
    rows: list[dict[str, Any]] = answer["models"]
    return rows


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows)


async def run_models(path: str | None, socket: Path | None = None, *, as_json: bool) -> int:
    """Print the running daemon's models; with none running, or a config named, ARGO's
    as that config reaches it."""
    if path is None:
        rows = await _daemon_rows(socket)
        if rows is not None:
            _print_rows(rows, as_json)
            return 0
    try:
        config = load_config(path)
    except ConfigError as exc:
        print(f"argo-proxy models: {exc.message}", file=sys.stderr)
        return 1
    url = models_url(config)
    upstream = Upstream(
        connect_timeout=config.connect_timeout,
        read_timeout=30,
        user_agent=f"argo-proxy/{__version__}",
    )
    try:
        catalog = catalog_from_upstream(await upstream.get_json(url, timeout=30))
    except UpstreamError as exc:
        print(f"argo-proxy models: {exc.message}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"argo-proxy models: the model list at {url} is unusable: {exc}", file=sys.stderr)
        return 1
    finally:
        await upstream.aclose()
    _print_rows(model_rows(catalog), as_json)
    return 0
