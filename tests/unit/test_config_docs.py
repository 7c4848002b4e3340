"""docs/configuration.md's tables say what the key declarations in daemon/config.py say:
every key is documented, with its default, its environment variable and its range."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from argo_proxy.daemon.config import KEYS, Config

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
DEFAULTS = Config()


def section_rows(title: str) -> Iterator[list[str]]:
    """The cells of each body row of the first table under the heading `title`."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"\n{title}\n", 1)[1]
    table = re.search(r"^\|.*?(?=\n[^|])", section, re.MULTILINE | re.DOTALL)
    assert table is not None, f"no table under {title}"
    for line in table.group(0).splitlines()[2:]:  # past the header and |---|
        yield [cell.strip() for cell in line.strip().strip("|").split("|")]


def names(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented_default(name: str) -> str:
    """The default as the key table should state it, from the declaration."""
    spec = KEYS[name]
    value: Any = getattr(DEFAULTS, name)
    if spec.shown:
        return spec.shown
    if value == "":
        return "none"
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, (tuple, Mapping)):
        text = json.dumps(list(value) if isinstance(value, tuple) else dict(value))
    elif isinstance(value, str) and yaml.safe_load(value) != value:
        text = json.dumps(value)  # `"3"`: written bare, YAML would read a number
    else:
        text = str(value)
    return f"`{text}`"


def key_table() -> dict[str, str]:
    """Key → its default cell; a row of several keys gives one default each."""
    table: dict[str, str] = {}
    for cells in section_rows("## Keys"):
        keys = names(cells[0])
        defaults = [cells[1]] if len(keys) == 1 else cells[1].split(", ")
        assert len(defaults) == len(keys), f"one default per key: {cells[:2]}"
        for name, default in zip(keys, defaults, strict=True):
            assert name not in table, f"`{name}` has two rows"
            table[name] = default
    return table


def test_every_key_is_in_the_key_table_and_no_other() -> None:
    assert sorted(key_table()) == sorted(KEYS)


def test_the_key_table_states_each_default() -> None:
    stated = key_table()
    wrong = {
        name: (stated.get(name), documented_default(name))
        for name in KEYS
        if stated.get(name) != documented_default(name)
    }
    assert not wrong, "key: (docs/configuration.md says, the declaration says)"


def test_the_environment_variables_are_those_declared() -> None:
    documented: dict[str, str] = {}
    for cells in section_rows("## Environment variables"):
        keys = [name for name in names(cells[1]) if name in KEYS]
        if not keys:  # CONFIG_PATH: the file, not a key
            continue
        variables = names(cells[0])
        assert len(variables) == len(keys), f"one variable per key: {cells}"
        documented.update(zip(variables, keys, strict=True))
    declared = {spec.env: name for name, spec in KEYS.items() if spec.env is not None}
    assert documented == declared


def test_the_ranges_are_those_declared() -> None:
    documented: dict[str, str] = {}
    for cells in section_rows("### What each value accepts"):
        for name in names(cells[0]):
            documented[name] = cells[1]
    numbers = {name for name, spec in KEYS.items() if spec.range is not None}
    assert set(documented) == numbers
    for name in numbers:
        bounds = KEYS[name].range
        assert bounds is not None
        low, high = (str(int(bound)) for bound in (bounds.low, bounds.high))
        if bounds.above:
            expected = f"more than {low} and at most {high}"
        else:
            expected = f"{low}–{high}"
        assert expected in documented[name], (name, documented[name])


def test_every_field_but_the_origin_is_a_key() -> None:
    fields = [f.name for f in dataclasses.fields(Config)]
    assert fields == [*KEYS, "source", "notes"]


def test_the_keys_applied_at_start_are_those_a_reload_leaves() -> None:
    said = {
        name
        for cells in section_rows("## Keys")
        if "Applied at start" in cells[2]
        for name in names(cells[0])
        if name in KEYS
    }
    assert said == {name for name, spec in KEYS.items() if "restart" in spec.effects}
