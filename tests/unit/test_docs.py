"""The names the README and docs/ use exist in the code, and the code's are documented:
every `argo-proxy` command and option (from the CLI's own parser), config key (from
the key declarations), environment variable, JSON-RPC method and notification (from the
control server's tables), each quoted error text, and each version shown.

The sets come from the code, so a key, command or method added there is checked here
without touching this file. The examples that run are tests/e2e/test_docs_examples.py's.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import yaml

from argo_proxy.control import cli, client_setup, server
from argo_proxy.daemon import __version__, config
from argo_proxy.daemon.config import KEYS

from ..doc_pages import PAGES, ROOT, blocks, code_lines, code_names, code_strings, inline_code

CONTROL_DOC = ROOT / "docs" / "control.md"
CONFIG_DOC = ROOT / "docs" / "configuration.md"
EXTENSION_README = ROOT / "editor-extension" / "README.md"

# ------------------------------------------------------------------- commands, options

# `argo-proxy WORDS` where a command starts: a line's start, after `$ `, `$(`, `&&`, `|`.
_COMMAND = re.compile(r"(?:^|\$ |\$\(|&& |\| )argo-proxy((?:[ \t]+[^\s#;&)\"'`]+)*)")
_PLACEHOLDER = re.compile(r"^[A-Z][A-Z0-9_.…]*$|^<.*>$|^\.\.\.|^…")


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return dict(parser._option_string_actions)


def _alternatives(word: str) -> list[str]:
    """`[on|off]` → on, off; `{show,validate}` → show, validate; `--by=day` → --by."""
    return [w.split("=")[0] for w in re.split(r"[|,\[\](){}]", word) if w]


def command_problems(words: list[str]) -> Iterator[str]:
    """What in `argo-proxy WORDS...` the CLI's parser does not know."""
    parser = cli._parser()
    commands = _subparsers(parser)
    if not words:
        return
    first = _alternatives(words[0])[0] if _alternatives(words[0]) else ""
    if len(_alternatives(words[0])) > 1:  # `argo-proxy token|env|run`
        unknown = [word for word in _alternatives(words[0]) if word not in commands]
        yield from (f"no command `{word}`" for word in unknown)
        return
    if first.startswith("-"):
        sub = parser if first in _options(parser) else commands["serve"]  # `argo-proxy -v`
        rest = words
    elif first in commands:
        sub, rest = commands[first], words[1:]
    elif any(c in first for c in "./\\") or _PLACEHOLDER.match(first):
        sub, rest = commands["serve"], words[1:]  # `argo-proxy CONFIG` means serve CONFIG
    else:
        yield f"no command `{first}`"
        return
    positionals = [a for a in sub._actions if not a.option_strings and a.choices is not None]
    free = [a for a in sub._actions if not a.option_strings and a.choices is None]
    choices = {str(choice) for action in positionals for choice in action.choices or ()}
    options = _options(sub)
    position = 0
    expecting: argparse.Action | None = None
    for word in rest:
        if word == "--" or word.startswith(("...", "…")):
            break  # `run -- COMMAND`, or "and so on"
        for piece in _alternatives(word):
            if _PLACEHOLDER.match(piece) or not piece:
                continue
            if expecting is not None:
                if expecting.choices is not None and piece not in map(str, expecting.choices):
                    yield f"`{piece}` is not a value of {expecting.option_strings[0]}"
            elif piece.startswith("-"):
                if piece not in options:
                    yield f"`{sub.prog}` has no option {piece}"
            elif position < len(positionals) and piece not in choices:
                yield f"`{sub.prog}` has no `{piece}` (it takes {', '.join(sorted(choices))})"
            elif position >= len(positionals) and not free:
                yield f"`{sub.prog}` takes no `{piece}`"
        last = _alternatives(word)[-1] if _alternatives(word) else ""
        if expecting is not None:
            expecting = None
        elif last.startswith("-") and last in options and options[last].nargs != 0:
            expecting = None if "=" in word else options[last]
        elif not last.startswith("-") and not _PLACEHOLDER.match(last):
            position += 1


def named_commands(page: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line number, context, words after `argo-proxy`) of each command the page shows;
    `argo-proxy token: …` (a message's prefix) and `argo-proxy :44497` (a label) are none."""
    for number, line, context in code_lines(page):
        for found in _COMMAND.finditer(line):
            words = found.group(1).split()
            if words and (words[0].endswith(":") or not re.match(r"[\w.\-/\[]", words[0])):
                continue
            yield number, context, words


def test_the_checker_finds_a_stale_command_and_option() -> None:
    assert list(command_problems(["ctl", "status", "--json"])) == []
    assert list(command_problems(["ctl", "status|refresh|legacy", "on|off|reload"])) == []
    assert list(command_problems(["ctl", "usage", "[--by", "model|client|day]"])) == []
    assert list(command_problems(["run", "--", "codex", "--nonsense"])) == []
    assert list(command_problems(["reboot"])) == ["no command `reboot`"]
    assert list(command_problems(["ctl", "status", "--jsn"])) == [
        "`argo-proxy ctl` has no option --jsn"
    ]
    assert list(command_problems(["ctl", "usage", "--by", "week"])) == [
        "`week` is not a value of --by"
    ]
    assert list(command_problems(["ctl", "restart"])) != []


def test_every_command_and_option_the_docs_name_exists() -> None:
    wrong = [
        f"{page.relative_to(ROOT)}:{number}: argo-proxy {' '.join(words)}: {problem}"
        for page in (*PAGES, EXTENSION_README)
        for number, line, words in named_commands(page)
        # a near miss shown with the answer it gets
        if "Did you mean" not in line
        for problem in command_problems(words)
    ]
    assert not wrong, "\n".join(wrong)


def test_every_command_is_documented() -> None:
    """Each command appears in the docs, and each `ctl`/`config` action in docs/control.md."""
    pages = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    text = CONTROL_DOC.read_text(encoding="utf-8")
    commands = _subparsers(cli._parser())
    missing = [name for name in commands if f"argo-proxy {name}" not in pages]
    for name in ("ctl", "config"):
        actions = next(a for a in commands[name]._actions if a.dest == "action")
        missing += [
            f"{name} {choice}"
            for choice in actions.choices or ()
            if not re.search(rf"`{choice}`|{name} {choice}\b|\|{choice}\b|\b{choice}\|", text)
        ]
    assert not missing


# ------------------------------------------------------------------------ config keys

# Keys a config file may hold besides the declared ones: argo-proxy's old keys, read and
# ignored or migrated (docs/compatibility.md#config-files).
_OLD_KEYS = {
    *config._IGNORED_KEYS,
    *config._KEY_ALIASES,
    *config._V1_URL_SUFFIXES,
}
_KEY_VALUE = re.compile(r"^([a-z][a-z0-9_]*): \S")


def named_keys(page: Path) -> Iterator[tuple[int, str]]:
    """Config keys the page names: the top-level keys of its YAML config examples (a
    block with any declared key is one), `key: value` in inline code, and the first
    column of its tables headed `key`."""
    for block in blocks(page):
        if block.info == "yaml":
            loaded = yaml.safe_load(block.text)
            if isinstance(loaded, dict) and set(loaded) & set(KEYS):
                for key in loaded:
                    yield block.line, str(key)
    for number, paragraph, span in inline_code(page):
        found = _KEY_VALUE.match(span)
        if found and "_" in found[1] and re.search(r"\bconfig\b", paragraph):
            yield number, found[1]
    lines = page.read_text(encoding="utf-8").splitlines()
    in_key_table = False
    for number, line in enumerate(lines, 1):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            in_key_table = False
        elif cells[0] in ("key", "keys"):
            in_key_table = True
        elif in_key_table and not set(cells[0]) <= set("-: "):
            for name in re.findall(r"`([a-z][a-z0-9_]*)`", cells[0]):
                yield number, name


def test_every_config_key_the_docs_name_exists() -> None:
    wrong = [
        f"{page.relative_to(ROOT)}:{number}: `{key}`"
        for page in PAGES
        for number, key in named_keys(page)
        if key not in KEYS and key not in _OLD_KEYS
    ]
    assert not wrong, "\n".join(wrong)


def test_every_config_key_is_in_a_key_table() -> None:
    """The reverse (docs/configuration.md's table is checked in full by test_config_docs)."""
    named = {key for _, key in named_keys(CONFIG_DOC)}
    assert set(KEYS) <= named


# -------------------------------------------------------------- environment variables

_ENV = re.compile(
    r"\b((?:ARGO|ANTHROPIC|OPENAI|GEMINI|GOOGLE|CLAUDE|CODEX|AIDER|XDG)_[A-Z0-9_]+)(?![A-Z0-9_*])"
)
# What the docs say is NOT read (docs/compatibility.md, docs/security.md): checked to be so.
_NOT_READ = {"HOST", "DEV_MODE", "SKIP_URL_VALIDATION"}


def declared_variables() -> set[str]:
    """The environment variables the code reads or sets."""
    return {
        *(spec.env for spec in KEYS.values() if spec.env),
        config.CONTROL_SOCKET_ENV,
        "CONFIG_PATH",
        *client_setup.client_variables("http://127.0.0.1:1", "key"),
    }


def named_variables(page: Path) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        for name in _ENV.findall(line):
            yield number, name.rstrip("_")
        for name in re.findall(r"`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)`", line):
            if "variable" in line or name in declared_variables():
                yield number, name


def test_every_environment_variable_the_docs_name_exists() -> None:
    known = declared_variables() | code_names()
    wrong = [
        f"{page.relative_to(ROOT)}:{number}: {name}"
        for page in PAGES
        for number, name in named_variables(page)
        if name not in known and name not in _NOT_READ and not name.startswith("XDG_")
    ]
    assert not wrong, "\n".join(wrong)


def test_the_variables_the_docs_say_are_not_read_are_not() -> None:
    assert not _NOT_READ & declared_variables()
    assert not _NOT_READ & set(code_strings())


def test_every_variable_argo_proxy_env_prints_is_documented() -> None:
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    missing = [name for name in declared_variables() if f"`{name}`" not in text]
    assert not missing


# --------------------------------------------------------------------- JSON-RPC methods


def _method_tables(page: Path) -> Iterator[tuple[int, str]]:
    """The names in the `method` column of the page's tables."""
    column: int | None = None
    for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            column = None
        elif column is None:
            column = cells.index("method") if "method" in cells else None
        elif column < len(cells) and not set(cells[column]) <= set("-: "):
            yield from ((number, name) for name in re.findall(r"`([\w.]+)`", cells[column]))


_FILE_ENDINGS = {"py", "ts", "mjs", "js", "md", "yaml", "json", "sock", "lock", "db", "log"}


def named_methods(page: Path) -> Iterator[tuple[int, str]]:
    """Methods and notifications the page names: its method tables, and every dotted
    name in inline code with a known method's namespace (`config.…`, `token.…`)."""
    yield from _method_tables(page)
    spaces = {name.split(".")[0] for name in (*server.METHODS, *server.NOTIFICATIONS)}
    for number, paragraph, span in inline_code(page):
        found = re.fullmatch(r"([a-z]+)\.([a-z][A-Za-z]*)(?: \{.*)?", span)
        if (
            found
            and found[1] in spaces
            and found[2] not in _FILE_ENDINGS
            and re.search(r"\bmethod|\bnotification|JSON-RPC|\bRPC\b", paragraph)
        ):
            yield number, f"{found[1]}.{found[2]}"


def test_every_method_the_docs_name_exists() -> None:
    known = {*server.METHODS, *server.NOTIFICATIONS}
    wrong = [
        f"{page.relative_to(ROOT)}:{number}: `{name}`"
        for page in (*PAGES, EXTENSION_README)
        for number, name in named_methods(page)
        if name not in known
    ]
    assert not wrong, "\n".join(wrong)


def test_every_method_and_notification_is_in_control_md_tables() -> None:
    documented = {name for _, name in _method_tables(CONTROL_DOC)}
    assert set(server.METHODS) <= documented
    assert set(server.NOTIFICATIONS) <= documented


def test_the_method_tuple_is_the_servers_table() -> None:
    """METHODS, which the checks above read, lists what a server really answers."""
    table = server.ControlServer(cast(Any, None)).methods  # the runtime is only kept
    assert list(table) == list(server.METHODS)


# --------------------------------------------------------------------------- texts

# A placeholder in a quoted message: N, PATH, URL, <env>, …, a word with a digit (a
# number, 0xff, UTF-8), a file name, a quoted value: what the code fills in.
_HOLE = re.compile(
    r"\b[A-Z][A-Z_]*\b|<[^>]*>|\{.*\}|…|\.\.\.|\S*\d\S*|\S+\.(?:yaml|json|md)\b|'[^']*'|\"[^\"]*\""
)
_MESSAGE_WORDS = re.compile(r"\b(error|refus\w*|fails?|says|prints|message|exit|answer\w*)\b")


def quoted_messages(page: Path) -> Iterator[tuple[int, str]]:
    """Inline code of four words or more in a sentence about what the daemon says (an
    error, a refusal, what a command prints), that is no command, JSON or path."""
    for number, paragraph, span in inline_code(page):
        if len(span.split()) < 4 or not _MESSAGE_WORDS.search(paragraph):
            continue
        if span[0] in "{[\"'(<$" or re.match(r"(argo-proxy|ctl) |\w+ -|\w+\(", span):
            continue  # JSON, a command, a formula
        yield number, span


def _pieces(message: str) -> list[str]:
    """The literal parts of a documented message: what the code must hold as written."""
    parts = [part.strip(" :;,.()`") for part in _HOLE.split(message)]
    return [part for part in parts if len(part.split()) >= 2]


def said_by_the_code(piece: str, strings: tuple[str, ...]) -> bool:
    """Whether `piece` is the code's text: the longest run of its words found in one
    string, then the next, and so on (a message is often built from a template and a
    part, `must be` + `a port number`), with at most one run of a single word."""
    tokens = [(t.start(), t.end(), t[0][0].isalnum()) for t in re.finditer(r"\w+|[^\w\s]", piece)]
    singles = 0
    while tokens:
        for size in range(len(tokens), 0, -1):
            run = piece[tokens[0][0] : tokens[size - 1][1]]
            if any(run in string for string in strings):
                break
        else:
            return False
        singles += sum(word for _, _, word in tokens[:size]) == 1
        tokens = tokens[size:]
    return singles <= 1


def test_the_message_checker_finds_a_stale_message() -> None:
    strings = code_strings()
    assert said_by_the_code("legacy mode on (from the next request", strings)
    assert said_by_the_code("config reloaded from", strings)
    assert not said_by_the_code("the config was reloaded from", strings)
    assert not said_by_the_code("port is out of range, pick another", strings)


def test_every_quoted_message_is_one_the_code_can_say() -> None:
    strings = tuple(" ".join(string.split()) for string in code_strings())
    wrong = [
        f"{page.relative_to(ROOT)}:{number}: `{message}`: {piece!r} is not in the code"
        for page in PAGES
        for number, message in quoted_messages(page)
        for piece in _pieces(message)
        if not said_by_the_code(piece, strings)
    ]
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------------- versions


def test_every_version_shown_is_this_version() -> None:
    """A JSON example's `version`, `argo-proxy --version`'s line and the extension's
    package name carry the daemon's version (or the extension's, the same one)."""
    shown: list[tuple[str, str]] = []
    for page in (*PAGES, EXTENSION_README):
        for block in blocks(page):
            if block.info == "json":
                for found in re.finditer(r'"version": "([^"]+)"', block.text):
                    shown.append((block.where, found[1]))
            for found in re.finditer(r"^argo-proxy (\d+\.\d+\S*)$", block.text, re.MULTILINE):
                shown.append((block.where, found[1]))  # `argo-proxy --version`'s line
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            for found in re.finditer(r"argo-proxy-(\d[\w.-]*?)\.vsix", line):
                shown.append((f"{page.relative_to(ROOT)}:{number}", found[1]))
    package = json.loads((ROOT / "editor-extension" / "package.json").read_text())
    expected = {__version__, package["version"]}
    assert shown, "no version shown anywhere: the pattern is stale"
    assert [(where, v) for where, v in shown if v not in expected] == []
