"""The repository explains itself and keeps its shape (docs/architecture.md):

- nothing cites a document that is not in it, and every `docs/<page>.md#<anchor>` cited
  in code, tests or docs exists;
- the import graph of the daemon and the control plane has no circles (imports under
  `TYPE_CHECKING` and inside functions count too).
"""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"argo_proxy.daemon": ROOT / "daemon", "argo_proxy.control": ROOT / "control"}
# The design notes this project was started from live outside the repository; a
# reader of the repository cannot follow a citation of them, nor of their section signs.
_OUTSIDE = re.compile(
    "|".join(
        re.escape(name)
        for name in (
            "behaviour" + ".md",
            "argo-upstream" + ".md",
            "llm-rosetta" + ".md",
            "design" + ".md",
            "style" + ".md",
            "../" + "shared",
            "\u00a7",
        )
    )
)
_CITED_ANCHOR = re.compile(r"docs/([\w-]+\.md)#([\w-]+)")
_TEXT_SUFFIXES = {".py", ".md", ".ts", ".mjs", ".js", ".sh", ".toml", ".yml", ".yaml", ".json"}


def _tracked_text_files() -> list[Path]:
    names = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    files = [ROOT / n for n in names if Path(n).suffix in _TEXT_SUFFIXES or n.endswith("run")]
    return [f for f in files if f.is_file() and "package-lock" not in f.name]


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _tracked_text_files()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert not found, "cite the repository's own docs/ instead:\n" + "\n".join(found)


def _slug(heading: str) -> str:
    """A heading's anchor, as MkDocs and GitHub make it for plain-word headings."""
    text = re.sub(r"[^\w\s-]", "", heading.strip().lower())
    return re.sub(r"\s", "-", text)


def _anchors(page: Path) -> set[str]:
    headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", page.read_text(), flags=re.MULTILINE)
    return {_slug(h) for h in headings}


def test_every_cited_docs_anchor_exists() -> None:
    anchors: dict[str, set[str]] = {}
    broken = []
    for path in _tracked_text_files():
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for page, anchor in _CITED_ANCHOR.findall(line):
                target = ROOT / "docs" / page
                if page not in anchors:
                    anchors[page] = _anchors(target) if target.is_file() else set()
                if anchor not in anchors[page]:
                    broken.append(f"{path.relative_to(ROOT)}:{number}: docs/{page}#{anchor}")
    assert not broken, "no such page or heading:\n" + "\n".join(broken)


def _module_names() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join([package, *parts])] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    here = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = here
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            target = (
                (base + ("." + node.module if node.module else "")) if node.level else node.module
            )
            candidates = [target or ""] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                found.add(candidate)
    return found


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return groups


def test_the_import_graph_has_no_circles() -> None:
    modules = _module_names()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert len(graph) > 50  # the walk found the packages
    assert not _circles(graph)


def test_the_circle_finder_finds_a_circle() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
