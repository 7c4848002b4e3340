"""`argo-proxy setup [TOOL...] [--dry-run] [--undo] [--json] [--yes]`: point each
assistant's own files at the daemon (control/assistant_files.py), showing the change
as a unified diff first, and take it back with `--undo`.

    argo-proxy setup                 which tools it knows, and which are set up
    argo-proxy setup codex gemini    show the diff, ask (on a terminal), write
    argo-proxy setup codex --dry-run only show the diff
    argo-proxy setup codex --undo    put the files back as they were
    argo-proxy setup codex --json    the plan or the result as JSON (the editor extension)

The daemon's address, token and models come from the running daemon, else from the
config, as for `env` and `run`. What each file held before is kept in argo-proxy's
state folder (0700), for `--undo` (control/file_edits.py). The access token never
appears in what is printed: it is shown as `ap-…`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from argo_proxy.daemon.config import setup_backup_folder
from argo_proxy.daemon.folders import private_folder

from . import file_edits
from .assistant_files import WIRINGS, SetupError, Target, home_places
from .client_setup import Connection, chat_models, served_or_fail

__all__ = ["SETUP_TOOLS", "run_setup"]

SETUP_TOOLS = tuple(WIRINGS)
_HINT = "`argo-proxy setup` keeps the assistants' old settings there"


def _warn(text: str) -> None:
    print(f"argo-proxy setup: {text}", file=sys.stderr, flush=True)


def _record(tool: str) -> Path:
    folder = private_folder(setup_backup_folder(), "the setup backups' folder", _HINT)
    return folder / f"{tool}.json"


def token_command(socket: Path | None) -> str:
    """The shell command that prints the token, for Claude Code's apiKeyHelper: this
    argo-proxy's own path (it may not be on PATH), asking the same daemon."""
    exe = shutil.which(sys.argv[0]) or shutil.which("argo-proxy") or "argo-proxy"
    words = [os.path.abspath(exe) if os.sep in exe else exe, "token"]
    if socket is not None:
        words += ["--control-socket", os.path.abspath(socket)]
    return shlex.join(words)


def _mask(key: str) -> Any:
    return lambda line: line.replace(key, "ap-…") if key else line


def _plan_payload(tool: str, changes: Sequence[file_edits.FileChange], key: str) -> dict[str, Any]:
    wiring = WIRINGS[tool]
    return {
        "tool": tool,
        "label": wiring.label,
        "key_note": wiring.key_note,
        "files": [
            {
                "path": str(c.path),
                "exists": c.before is not None,
                "changes": c.changed,
                "private": c.private,
                "diff": file_edits.diff(c, _mask(key)),
            }
            for c in changes
        ],
    }


def _status(as_json: bool) -> int:
    rows: list[dict[str, Any]] = []
    for tool, wiring in WIRINGS.items():
        record = _record(tool)
        done = file_edits.has_record(record)
        changed = [str(p) for p in file_edits.changed_since(record)]
        rows.append({"tool": tool, "label": wiring.label, "set_up": done, "changed_since": changed})
    if as_json:
        print(json.dumps({"tools": rows}, indent=2), flush=True)
        return 0
    for row in rows:
        state = "set up by argo-proxy (`--undo` takes it back)" if row["set_up"] else "-"
        if row["changed_since"]:
            state += f"; changed since: {', '.join(row['changed_since'])}"
        print(f"{row['tool']:<9} {row['label']:<12} {state}")
    print("\nargo-proxy setup TOOL... [--dry-run]: point a tool's own files at the daemon")
    return 0


def _undo(tools: Sequence[str], as_json: bool) -> int:
    results: dict[str, Any] = {}
    for tool in tools:
        result = file_edits.undo(_record(tool))
        if result is None:
            results[tool] = None
            if not as_json:
                print(f"{WIRINGS[tool].label}: nothing to undo")
            continue
        results[tool] = {
            "restored": [str(p) for p in result.restored],
            "removed": [str(p) for p in result.removed],
            "kept": [str(p) for p in result.kept],
        }
        if not as_json:
            label = WIRINGS[tool].label
            for path in result.restored:
                print(f"{label}: {path} is back as it was")
            for path in result.removed:
                print(f"{label}: {path} removed (it did not exist before)")
            for path in result.kept:
                print(f"{label}: {path} changed since setup wrote it: left as it is")
    if as_json:
        print(json.dumps({"undone": results}, indent=2), flush=True)
    return 0


def _confirm() -> bool:
    try:
        answer = input("Write these changes? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


async def run_setup(
    tools: Sequence[str],
    config_path: str | None,
    socket: Path | None,
    *,
    dry_run: bool,
    undo: bool,
    as_json: bool,
    yes: bool,
) -> int:
    unknown = [t for t in tools if t not in WIRINGS]
    if unknown:
        _warn(f"no such tool: {', '.join(unknown)} (choose from {', '.join(SETUP_TOOLS)})")
        return 2
    if undo:
        return _undo(tools or SETUP_TOOLS, as_json)
    if not tools:
        return _status(as_json)
    served = await served_or_fail(config_path, socket, needed="the assistants need one")
    if isinstance(served, int):
        return served
    connection, base_url = served
    # With `auth: none` there is no token to print: the key is the username.
    helper = token_command(socket) if connection.auth == "token" else None
    target = Target(base_url, connection.key, await chat_models(socket), helper)
    return _plan_and_write(tools, connection, target, dry_run=dry_run, as_json=as_json, yes=yes)


def _plan_and_write(
    tools: Sequence[str],
    connection: Connection,
    target: Target,
    *,
    dry_run: bool,
    as_json: bool,
    yes: bool,
) -> int:
    places = home_places()
    plans: dict[str, list[file_edits.FileChange]] = {}
    for tool in tools:
        try:
            plans[tool] = WIRINGS[tool].changes(places, target)
        except SetupError as exc:
            _warn(str(exc))
            return 1
    payload = [_plan_payload(tool, changes, connection.key) for tool, changes in plans.items()]
    pending = any(c.changed for changes in plans.values() for c in changes)
    if not as_json:
        for plan in payload:
            shown = "".join(f["diff"] for f in plan["files"])
            print(
                shown or f"{plan['label']}: already set up, nothing to change",
                end="" if shown else "\n",
            )
            if shown:
                print(f"# {plan['label']}: {plan['key_note']}")
    if dry_run or not pending:
        if as_json:
            result: dict[str, Any] = {"dry_run": dry_run, "plans": payload}
            if not dry_run:
                result["written"] = {tool: [] for tool in plans}
            print(json.dumps(result, indent=2), flush=True)
        return 0
    if not yes and not as_json and sys.stdin.isatty() and not _confirm():
        print("Nothing written.")
        return 1
    written: dict[str, list[str]] = {}
    for tool, changes in plans.items():
        try:
            written[tool] = [str(p) for p in file_edits.apply(changes, _record(tool))]
        except OSError as exc:
            _warn(f"cannot write {WIRINGS[tool].label}'s files: {exc}")
            return 1
    if as_json:
        print(json.dumps({"dry_run": False, "plans": payload, "written": written}, indent=2))
    else:
        for tool, paths in written.items():
            for path in paths:
                print(f"{WIRINGS[tool].label}: wrote {path}")
        print(f"`argo-proxy setup {' '.join(tools)} --undo` puts them back as they were.")
    return 0
