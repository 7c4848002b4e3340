"""CI runs what the README tells a newcomer to run: `.ci/run`'s test command is the
README's, to the letter, after it has removed any old virtualenv (docs/contributing.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def readme_test_command() -> str:
    """The README's second indented command: the one that installs and runs the tests."""
    commands = [
        line.strip()
        for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("    python3 -m venv .venv")
    ]
    assert len(commands) >= 2, "the README's first lines give two commands"
    return commands[1]


def test_ci_runs_the_readmes_test_command_from_a_clean_virtualenv() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    command = readme_test_command()
    assert "pytest" in command and "npm run test:e2e" in command
    assert lines[-1] == command  # the last thing CI does
    assert "rm -rf .venv" in lines  # nothing left from an earlier run
    assert "set -euo pipefail" in lines  # a failing part fails the run
