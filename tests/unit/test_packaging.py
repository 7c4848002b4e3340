"""pyproject.toml ships every package: a folder with an `__init__.py` left out of
`packages` is missing from the wheel (the editor extension installs that wheel), while
an editable install hides the gap. The editor extension carries the daemon's version."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from packaging.version import Version

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


# The semver VS Code requires of an extension's `version` (docs: the extension manifest).
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(-(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
)
_PRE = {"a": "alpha", "b": "beta", "rc": "rc"}


def semver_of(pep440: str) -> str:
    """The daemon's PEP 440 version as semver: `4.0.0.dev0` → `4.0.0-dev.0`."""
    version = Version(pep440)
    assert version.post is None and version.local is None, f"no semver for {pep440}"
    core = ".".join(str(part) for part in (*version.release, 0, 0)[:3])
    tags = [] if version.pre is None else [_PRE[version.pre[0]], str(version.pre[1])]
    tags += [] if version.dev is None else ["dev", str(version.dev)]
    return core + ("-" + ".".join(tags) if tags else "")


@pytest.mark.parametrize(
    ("pep440", "semver"),
    [
        ("4.0.0.dev0", "4.0.0-dev.0"),
        ("4.0.0", "4.0.0"),
        ("4.1", "4.1.0"),
        ("4.0.0rc2", "4.0.0-rc.2"),
    ],
)
def test_semver_of(pep440: str, semver: str) -> None:
    assert semver_of(pep440) == semver and _SEMVER.fullmatch(semver)


def test_the_editor_extension_has_the_daemons_version() -> None:
    """One version for the daemon and the extension that runs it; the extension's in
    the semver form VS Code and vsce accept."""
    daemon = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    folder = ROOT / "editor-extension"
    manifest = json.loads((folder / "package.json").read_text())["version"]
    lock = json.loads((folder / "package-lock.json").read_text())
    assert _SEMVER.fullmatch(manifest), f"not semver: {manifest}"
    assert manifest == semver_of(daemon), "set editor-extension/package.json's version"
    assert lock["version"] == lock["packages"][""]["version"] == manifest, "run npm install"
