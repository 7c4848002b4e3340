"""The documentation as data, for the tests that keep it true (tests/unit/test_docs.py,
tests/e2e/test_docs_examples.py): the pages, their fenced blocks (runnable or not, and
the output block shown after one), their inline code, and the names the code declares.

The convention (docs/contributing.md#examples-that-run): a fenced block right after the
line `<!-- runnable -->` is run by the tests against a simulated daemon; a `text` or
`json` block right after it shows what it prints, and the real output must have its
shape.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
CODE_FOLDERS = (ROOT / "daemon", ROOT / "control")
# The test tooling docs/contributing.md describes: what it says is code too.
TOOLING = (ROOT / "tests" / "downloads.py",)
SCRIPTS = (ROOT / "editor-extension" / "e2e" / "setup.sh",)
RUNNABLE = "<!-- runnable -->"
OUTPUT_KINDS = ("text", "json")  # the info strings of a block that shows an output

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)\s*(?P<info>[^`]*)$")
_INLINE = re.compile(r"(?<!`)`([^`]+?)`(?!`)")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int  # the opening fence's line, from 1
    info: str  # the info string: `sh`, `json`, `python`, `console`, or ""
    text: str
    runnable: bool
    output: Block | None = None  # the block that shows what a runnable block prints

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _raw_blocks(page: Path) -> Iterator[tuple[int, str, str, bool, int]]:
    """(line, info, text, runnable, closing line) of each fenced block."""
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        before = [line.strip() for line in lines[:i] if line.strip()]
        runnable = bool(before) and before[-1] == RUNNABLE
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(fence):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        yield i + 1, opening["info"].strip(), "\n".join(body) + "\n", runnable, j + 1
        i = j + 1


@cache
def blocks(page: Path) -> tuple[Block, ...]:
    """The fenced blocks of `page`, each runnable one with its output block (if shown)."""
    raw = list(_raw_blocks(page))
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    skip: set[int] = set()
    for n, (line, info, text, runnable, end) in enumerate(raw):
        if n in skip:
            continue
        output = None
        if runnable and n + 1 < len(raw):
            nxt = raw[n + 1]
            between = lines[end : nxt[0] - 1]
            if nxt[1] in OUTPUT_KINDS and not nxt[3] and not any(s.strip() for s in between):
                output = Block(page, nxt[0], nxt[1], nxt[2], False)
                skip.add(n + 1)
        found.append(Block(page, line, info, text, runnable, output))
        if output is not None:
            found.append(output)
    return tuple(found)


def runnable_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page) if block.runnable]


def prose(page: Path) -> str:
    """The page without its fenced blocks (their lines left empty, so lines still count)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    for block in blocks(page):
        end = block.line + block.text.count("\n")
        for i in range(block.line - 1, min(end + 1, len(lines))):
            lines[i] = ""
    return "\n".join(lines)


def inline_code(page: Path) -> Iterator[tuple[int, str, str]]:
    """(line number, its paragraph, span) of each inline code span outside the fenced
    blocks; a span broken over two lines is joined with a space."""
    text = prose(page)
    for paragraph in re.finditer(r"(?:.+\n?)+", text):
        start = text.count("\n", 0, paragraph.start()) + 1
        body = paragraph.group(0)
        for found in _INLINE.finditer(body):
            number = start + body.count("\n", 0, found.start())
            yield number, body.replace("\n", " "), " ".join(found.group(1).split())


def code_lines(page: Path) -> Iterator[tuple[int, str, str]]:
    """Every line of shell a reader might copy: inline code, lines of sh/console/plain
    fenced blocks, and indented code blocks; with its line number and its context (the
    paragraph of inline code, else the line itself). A table's `\\|` is a `|`."""
    for number, paragraph, span in inline_code(page):
        yield number, span.replace("\\|", "|"), paragraph
    for block in blocks(page):
        if block.info in ("", "sh", "bash", "console", "shell"):
            for offset, line in enumerate(block.text.splitlines(), 1):
                yield block.line + offset, line, line
    for number, line in enumerate(prose(page).splitlines(), 1):
        if line.startswith("    ") and not line.lstrip().startswith(("|", "-", "*")):
            yield number, line.strip(), line


# ------------------------------------------------------------------- what the code says


def _python_files() -> Iterator[Path]:
    for folder in CODE_FOLDERS:
        yield from sorted(folder.rglob("*.py"))
    yield from TOOLING


@cache
def code_strings() -> tuple[str, ...]:
    """Every string literal of the daemon and the control plane, cut at each place a
    value goes in (an f-string's `{…}`, a log call's `%s`): what the code can say."""
    pieces: list[str] = []
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                pieces.extend(re.split(r"%[-\d.]*[sdrfgx]|\{[^{}]*\}", node.value))
    for script in SCRIPTS:  # a shell script's lines, cut at each `$…` expansion
        for line in script.read_text(encoding="utf-8").splitlines():
            pieces.extend(re.split(r"\$\{[^}]*\}|\$\([^)]*\)|\$\w+", line))
    return tuple(piece for piece in pieces if piece.strip())


@cache
def code_names() -> frozenset[str]:
    """Every identifier and every one-word string literal in the daemon and the control
    plane: constants, environment variables read or set, method names."""
    names: set[str] = set()
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.update(re.findall(r"[A-Za-z_][\w.]*", node.value))
    return frozenset(names)
