"""The real coding assistants complete a tool loop through the daemon: the model (the
simulated ARGO, docs/simulator.md#tool-calls) calls a tool the prompt names, the CLI
runs it, sends the result back, and prints the model's answer `Tool result received: …`.

Each tool is harmless: Claude Code's `Read` of a file the test wrote, Codex's
`exec_command` of an `echo`, Gemini CLI's `glob` of the test's folder.

On Claude with thinking on, Claude refuses a follow-up whose tool turn lost the signed
thinking block it began with (docs/translation.md#thinking), so the follow-up ARGO got
is checked for it. Each CLI turns thinking on by itself: Claude Code sends `enabled`
thinking for Sonnet 4.5 (`adaptive` for other models), Codex asks for reasoning summaries
and encrypted reasoning, Gemini CLI for thoughts (`includeThoughts`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import Process
from .helpers import sent
from .test_assistants import assistants, claude_code, codex, gemini_cli

__all__ = ["assistants"]  # the fixture, shared with test_assistants

ANSWER = "Tool result received:"
CLAUDE_NAMES = ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claudesonnet45"]


def _follow_up(sim: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """(first request, the follow-up carrying the tool result) ARGO received."""
    requests = [r["body"] for r in sent(sim, "/") if isinstance(r["body"], dict)]
    requests = [b for b in requests if b.get("messages")]
    assert requests, "ARGO received no request"
    for body in requests:
        last = body["messages"][-1]
        content = last.get("content")
        if last["role"] == "tool" or (
            isinstance(content, list) and any(b.get("type") == "tool_result" for b in content)
        ):
            return requests[0], body
    raise AssertionError(f"no follow-up carried a tool result: {requests}")


def _assert_claude_follow_up(sim: httpx.Client, tool: str, result: str) -> dict[str, Any]:
    """The follow-up went to Claude with thinking on, its tool turn starting with the
    signed thinking block, and the tool's result after it; the first request."""
    first, follow_up = _follow_up(sim)
    for body in (first, follow_up):
        assert body["model"] == "claudesonnet45"
        assert body["thinking"]["type"] == "enabled"
    *_, turn, results = follow_up["messages"]
    assert turn["role"] == "assistant"
    thinking, call = turn["content"][0], turn["content"][-1]
    assert thinking["type"] == "thinking" and thinking["signature"]
    assert call["type"] == "tool_use" and call["name"] == tool
    (block,) = [b for b in results["content"] if b.get("type") == "tool_result"]
    assert block["tool_use_id"] == call["id"]
    assert result in str(block["content"])
    return first


def _read_prompt(home: Path) -> tuple[str, str]:
    """A file named `Read` and its absolute path as the prompt: the simulator calls
    `Read` with `file_path` = the prompt (docs/simulator.md#tool-calls)."""
    target = home / "Read"
    target.write_text("words from the file\n")
    prompt = str(target)
    assert len(prompt) <= 100, "the simulator passes the first 100 characters"
    return prompt, "words from the file"


@pytest.mark.parametrize("model", CLAUDE_NAMES)
def test_claude_code_reads_a_file_on_claude_with_its_thinking(
    assistants: Path, daemon: Process, sim: httpx.Client, tmp_path: Path, model: str
) -> None:
    prompt, words = _read_prompt(tmp_path)
    output = claude_code(assistants, daemon, tmp_path, model, prompt, "--allowedTools", "Read")
    assert ANSWER in output and words in output
    first = _assert_claude_follow_up(sim, "Read", words)
    assert first["thinking"]["budget_tokens"] > 0  # Claude Code's own, for Sonnet 4.5


@pytest.mark.parametrize("model", ["gpt-5", "gemini-2.5-flash"])
def test_claude_code_reads_a_file_on_gpt_and_gemini(
    assistants: Path, daemon: Process, sim: httpx.Client, tmp_path: Path, model: str
) -> None:
    prompt, words = _read_prompt(tmp_path)
    output = claude_code(assistants, daemon, tmp_path, model, prompt, "--allowedTools", "Read")
    assert ANSWER in output and words in output
    first, follow_up = _follow_up(sim)
    assert first["model"] == follow_up["model"] == model.replace("-", "").replace(".", "")
    # Claude Code asks these models for adaptive thinking: it reaches ARGO as an effort.
    assert "reasoning_effort" in first and "reasoning_effort" in follow_up
    *_, turn, result = follow_up["messages"]
    (call,) = turn["tool_calls"]
    assert call["function"]["name"] == "Read"
    assert result["tool_call_id"] == call["id"] and words in str(result["content"])


@pytest.mark.parametrize("settings", [(), ('model_reasoning_effort = "high"',)])
def test_codex_runs_a_command_on_claude_with_its_thinking(
    assistants: Path,
    daemon: Process,
    sim: httpx.Client,
    tmp_path: Path,
    settings: tuple[str, ...],
) -> None:
    # The simulator calls exec_command with `cmd` = the prompt: a harmless echo.
    prompt = "echo exec_command ran"
    output = codex(assistants, daemon, tmp_path, "claude-sonnet-4-5", prompt, *settings)
    assert ANSWER in output and "exec_command ran" in output
    _assert_claude_follow_up(sim, "exec_command", "exec_command ran")


def test_gemini_cli_globs_files_on_claude_with_its_thinking(
    assistants: Path, daemon: Process, sim: httpx.Client, tmp_path: Path
) -> None:
    # The simulator calls glob with `pattern` = the prompt.
    (tmp_path / "notes.glob").write_text("notes\n")
    output = gemini_cli(assistants, daemon, tmp_path, "claude-sonnet-4-5", "*.glob")
    assert ANSWER in output and "notes.glob" in output
    _assert_claude_follow_up(sim, "glob", "notes.glob")
