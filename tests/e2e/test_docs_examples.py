"""The examples the README and docs/ mark as runnable (`<!-- runnable -->` before the
block, docs/contributing.md#examples-that-run) run, as printed, in a shell of a user
whose daemon is `argo-proxy serve --simulate` (an empty home, argo-proxy on PATH as after
`. .venv/bin/activate`), and exit 0; where the page shows the output next, the real
output has its shape: the same keys for JSON, the same first line and table headers
for text. The default address in an example is the test daemon's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..doc_pages import Block, runnable_blocks
from .conftest import _EXE
from .test_first_hour import Newcomer, start_newcomer

_BIN = str(Path(_EXE).parent)
_DEFAULT_ADDRESS = re.compile(r"(?:127\.0\.0\.1|localhost):44497")
EXAMPLES = runnable_blocks()


@pytest.fixture(scope="module")
def user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newcomer]:
    """A user's daemon on the simulated ARGO, and their shell with argo-proxy on PATH;
    their curl fails on an HTTP error (as `curl -f` would, body shown), and their config
    points `/version`'s check at nothing instead of PyPI."""
    home = tmp_path_factory.mktemp("reader")
    (home / ".curlrc").write_text("fail-with-body\n")
    config = home / ".config" / "argo-proxy" / "config.yaml"
    config.parent.mkdir(parents=True)
    # a fallback chain, as the status example in docs/control.md shows one
    config.write_text(
        "pypi_url: http://127.0.0.1:9/pypi\nfallbacks: {claudeopus46: [claudesonnet46, gpt5]}\n"
    )
    started = start_newcomer(home)
    started.env["PATH"] = os.pathsep.join([_BIN, started.env.get("PATH", "")])
    yield started
    assert started.daemon.stop() == 0


def _run(user: Newcomer, block: Block, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    address = user.daemon.url.removeprefix("http://")
    text = _DEFAULT_ADDRESS.sub(address, block.text)
    if block.info == "python":  # as the README has it: after `eval "$(argo-proxy env)"`
        script = tmp_path / "example.py"
        script.write_text(text, encoding="utf-8")
        command = [_EXE, "run", "--", "python", str(script)]
    else:
        command = ["bash", "-e", "-o", "pipefail", "-c", text]
    return subprocess.run(
        command,
        cwd=user.home,
        env=user.env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def console_commands(block: Block) -> Iterator[tuple[str, str]]:
    """(command, the output shown) of each `$ ` line of a console block."""
    current: str | None = None
    shown: list[str] = []
    for line in block.text.splitlines():
        if line.startswith("$ "):
            if current is not None:
                yield current, "\n".join(shown)
            current, shown = line[2:], []
        else:
            shown.append(line)
    if current is not None:
        yield current, "\n".join(shown)


# ------------------------------------------------------------------------------ shape


def json_shape_problems(shown: Any, real: Any, path: str = "$") -> Iterator[str]:
    """Where `real` lacks a key `shown` has, or has one it does not (nested dicts, and the
    first item of lists); a null on either side stands for anything."""
    if shown is None or real is None:
        return
    if isinstance(shown, dict) and isinstance(real, dict):
        if set(shown) != set(real):
            missing, extra = sorted(set(shown) - set(real)), sorted(set(real) - set(shown))
            yield f"{path}: only the page has {missing}, only the output {extra}"
        for key in set(shown) & set(real):
            yield from json_shape_problems(shown[key], real[key], f"{path}.{key}")
    elif isinstance(shown, list) and isinstance(real, list):
        if shown and real:
            yield from json_shape_problems(shown[0], real[0], f"{path}[0]")
    elif isinstance(shown, (dict, list)) != isinstance(real, (dict, list)):
        yield f"{path}: the page shows {type(shown).__name__}, the output has {type(real).__name__}"


def _plain(line: str) -> str:
    """A line with its spacing and its numbers as they would differ from run to run."""
    return re.sub(r"\d+(?:[.,:\-]\d+)*", "0", " ".join(line.split()))


def _is_header(line: str) -> bool:
    words = line.split()
    return len(words) > 1 and all(re.fullmatch(r"[A-Z][A-Z_]*", word) for word in words)


def text_shape_problems(shown: str, real: str) -> Iterator[str]:
    """The output's first line, and each table header the page shows, are in the real
    output (numbers and spacing aside)."""
    shown_lines = [line for line in shown.splitlines() if line.strip()]
    real_lines = [_plain(line) for line in real.splitlines() if line.strip()]
    if not shown_lines:
        return
    if not real_lines or _plain(shown_lines[0]) != real_lines[0]:
        yield f"first line: the page shows {shown_lines[0]!r}, the output {real.splitlines()[:1]}"
    for line in shown_lines[1:]:
        if _is_header(line) and _plain(line) not in real_lines:
            yield f"no header {line.strip()!r} in the output"


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def shape_problems(output: Block, real: str) -> list[str]:
    if output.info == "json":
        return list(json_shape_problems(json.loads(output.text), _parse_json(real)))
    return list(text_shape_problems(output.text, real))


def test_the_shape_checks_catch_a_changed_output() -> None:
    assert list(json_shape_problems({"a": 1, "b": {"c": 2}}, {"a": 3, "b": {"c": None}})) == []
    assert list(json_shape_problems({"a": 1}, {"a": 1, "z": 2})) != []
    assert list(json_shape_problems({"b": {"c": 2}}, {"b": {"d": 2}})) != []
    assert list(text_shape_problems("TIME  MODEL\n1 2", "TIME   MODEL\n3 4\n")) == []
    assert list(text_shape_problems("x\nTIME  MODEL", "x\nTIME  MODEL  MS")) != []
    assert list(text_shape_problems("argo-proxy 1.2.3", "argo-proxy 4.0.0")) == []
    assert list(text_shape_problems("argo-proxy 1.2.3", "argo_proxy 4.0.0")) != []


# --------------------------------------------------------------------------- examples


def test_the_docs_have_runnable_examples() -> None:
    """The marker is in use: a page that drops it would silently run nothing."""
    pages = {block.page.name for block in EXAMPLES}
    assert {"README.md", "control.md"} <= pages
    assert any(block.output is not None for block in EXAMPLES)


@pytest.mark.parametrize("block", EXAMPLES, ids=[block.where for block in EXAMPLES])
def test_a_runnable_example_runs_as_printed(user: Newcomer, block: Block, tmp_path: Path) -> None:
    if block.info == "console":
        for command, shown in console_commands(block):
            one = Block(block.page, block.line, "sh", command + "\n", True)
            done = _run(user, one, tmp_path)
            assert done.returncode == 0, f"{block.where}: $ {command}\n{done.stderr}"
            problems = list(text_shape_problems(shown, done.stdout))
            assert not problems, f"{block.where}: $ {command}\n{problems}\n{done.stdout}"
        return
    done = _run(user, block, tmp_path)
    assert done.returncode == 0, f"{block.where}: exit {done.returncode}\n{done.stderr}"
    if block.output is not None:
        problems = shape_problems(block.output, done.stdout)
        assert not problems, f"{block.output.where}: {problems}\nthe output:\n{done.stdout}"
