"""JSON with comments (Gemini CLI's settings.json, OpenCode's opencode.json): read it,
and set a value at a path while every other byte (comments, layout, order) stays.

No library on PyPI edits JSONC in place, so this is a small scanner: it finds where
each member's value lies in the text, then replaces that span, or inserts a new member
before the closing brace of the deepest object the path already has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["JsoncError", "loads", "set_value"]


class JsoncError(ValueError):
    """The text is not JSON (with comments and trailing commas)."""


@dataclass
class _Object:
    start: int  # the `{`
    end: int = 0  # the `}`
    # key → (where the key starts, where its value starts, where it ends)
    members: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    last_end: int = -1  # where the last member's value ends
    children: dict[str, _Object] = field(default_factory=dict)


_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_WORDS = ("true", "false", "null")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, what: str) -> JsoncError:
        line = self.text.count("\n", 0, self.at) + 1
        return JsoncError(f"{what} at line {line}")

    def skip(self) -> None:
        """Past whitespace and comments."""
        text = self.text
        while self.at < len(text):
            ch = text[self.at]
            if ch in " \t\r\n\ufeff":
                self.at += 1
            elif text.startswith("//", self.at):
                end = text.find("\n", self.at)
                self.at = len(text) if end < 0 else end
            elif text.startswith("/*", self.at):
                end = text.find("*/", self.at + 2)
                if end < 0:
                    raise self.fail("an unclosed comment")
                self.at = end + 2
            else:
                return

    def string(self) -> str:
        start = self.at
        self.at += 1
        text = self.text
        while self.at < len(text):
            ch = text[self.at]
            if ch == "\\":
                self.at += 2
            elif ch == '"':
                self.at += 1
                try:
                    value: str = json.loads(text[start : self.at])
                except json.JSONDecodeError as exc:
                    raise self.fail("a bad string") from exc
                return value
            elif ch == "\n":
                break
            else:
                self.at += 1
        raise self.fail("an unclosed string")

    def value(self) -> tuple[Any, _Object | None]:
        """The value here (as Python), and its object's map when it is an object."""
        self.skip()
        text = self.text
        if self.at >= len(text):
            raise self.fail("a missing value")
        ch = text[self.at]
        if ch == "{":
            return self.object()
        if ch == "[":
            return self.array(), None
        if ch == '"':
            return self.string(), None
        for word, result in zip(_WORDS, (True, False, None), strict=True):
            if text.startswith(word, self.at):
                self.at += len(word)
                return result, None
        match = _NUMBER.match(text, self.at)
        if match is None:
            raise self.fail(f"an unexpected {ch!r}")
        self.at = match.end()
        return json.loads(match.group()), None

    def array(self) -> list[Any]:
        self.at += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.text.startswith("]", self.at):
                self.at += 1
                return items
            items.append(self.value()[0])
            self.skip()
            if self.text.startswith(",", self.at):
                self.at += 1
            elif not self.text.startswith("]", self.at):
                raise self.fail("a missing , or ]")

    def object(self) -> tuple[dict[str, Any], _Object]:
        node = _Object(self.at)
        self.at += 1
        result: dict[str, Any] = {}
        while True:
            self.skip()
            if self.text.startswith("}", self.at):
                node.end = self.at
                self.at += 1
                return result, node
            if not self.text.startswith('"', self.at):
                raise self.fail("a missing key")
            key_start = self.at
            key = self.string()
            self.skip()
            if not self.text.startswith(":", self.at):
                raise self.fail("a missing :")
            self.at += 1
            self.skip()
            value_start = self.at
            result[key], child = self.value()
            node.members[key] = (key_start, value_start, self.at)
            node.last_end = self.at
            if child is not None:
                node.children[key] = child
            self.skip()
            if self.text.startswith(",", self.at):
                self.at += 1
            elif not self.text.startswith("}", self.at):
                raise self.fail("a missing , or }")


def _parse(text: str) -> tuple[Any, _Object | None]:
    scanner = _Scanner(text)
    value, node = scanner.value()
    scanner.skip()
    if scanner.at != len(text):
        raise scanner.fail("more after the value")
    return value, node


def loads(text: str) -> Any:
    """The value of a JSONC text; JsoncError if it is not one."""
    return _parse(text)[0]


def _indent_of(text: str, at: int) -> str:
    """The whitespace that starts the line `at` is on."""
    line_start = text.rfind("\n", 0, at) + 1
    return re.match(r"[ \t]*", text[line_start:]).group()  # type: ignore[union-attr]


def _dump(value: Any, indent: str, step: str) -> str:
    """`value` as JSON, its inner lines indented to sit at `indent`."""
    return json.dumps(value, indent=step, ensure_ascii=False).replace("\n", "\n" + indent)


def set_value(text: str, path: Sequence[str], value: Any) -> str:
    """`text` (a JSONC object; empty means `{}`) with `value` at `path`, all else kept."""
    if not path:
        raise ValueError("an empty path")
    if text.strip() == "":
        text = "{}\n"
    node = _parse(text)[1]
    if node is None:
        raise JsoncError("not a JSON object")
    step = "  "
    if node.members:  # the file's own indent step, from its first member
        step = _indent_of(text, next(iter(node.members.values()))[0]) or step
    depth = 0
    while depth < len(path) - 1 and path[depth] in node.children:
        node = node.children[path[depth]]
        depth += 1
    key = path[depth]
    rest = path[depth + 1 :]
    one_line = "\n" not in text[node.start : node.end]
    if key in node.members and not rest:
        key_start, value_start, value_end = node.members[key]
        if loads(text[value_start:value_end]) == value:
            return text  # as it is: its layout stays too
        if one_line:
            new = json.dumps(value, ensure_ascii=False)
        else:
            new = _dump(value, _indent_of(text, key_start), step)
        return text[:value_start] + new + text[value_end:]
    if key in node.members:  # the path goes through something that is not an object
        raise JsoncError(f"{'.'.join(path[: depth + 1])} is not an object")
    for part in reversed(rest):
        value = {part: value}
    if node.members and one_line:
        # an object on one line stays on one line
        member = f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(value, ensure_ascii=False)}"
        comma = re.match(r"\s*,", text[node.last_end : node.end])
        if comma:
            insert_at = node.last_end + comma.end()
            return f"{text[:insert_at]} {member},{text[insert_at:]}"
        return f"{text[: node.last_end]}, {member}{text[node.last_end :]}"
    outer = _indent_of(text, node.start) if node.members or depth else ""
    if node.members:
        first = next(iter(node.members.values()))
        inner = _indent_of(text, first[0])
        if text.rfind("\n", 0, first[0]) < node.start:  # members on the brace's line
            inner = outer + step
    else:
        inner = outer + step
    member = f"{json.dumps(key, ensure_ascii=False)}: {_dump(value, inner, step)}"
    if not node.members:
        return f"{text[: node.start + 1]}\n{inner}{member}\n{outer}{text[node.end :]}"
    after_last = node.last_end
    tail = text[after_last : node.end]
    comma = re.match(r"\s*,", tail)
    if comma:  # a trailing comma already there: the new member goes after it
        insert_at = after_last + comma.end()
        return f"{text[:insert_at]}\n{inner}{member},{text[insert_at:]}"
    return f"{text[:after_last]},\n{inner}{member}{text[after_last:]}"
