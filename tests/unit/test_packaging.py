"""pyproject.toml ships every package: a folder with an `__init__.py` left out of
`packages` is missing from the wheel (the editor extension installs that wheel), while
an editable install hides the gap."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_folder_is_in_the_wheel() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {
        "argo_proxy." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("daemon", "control")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert found - listed == set(), "add these to [tool.setuptools] packages"
