"""Editing a config file in place (control/config_edit.py): one setting changes, and every
other byte of the file (comments, order, quoting, line ends) stays as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from argo_proxy.control.config_edit import current_environment, edit_keys, switch_environment
from argo_proxy.daemon.config import ENVIRONMENTS, environment_of, load_config, override_of
from argo_proxy.daemon.errors import ConfigError

PROD, DEV, TEST = ENVIRONMENTS["prod"], ENVIRONMENTS["dev"], ENVIRONMENTS["test"]

COMMENTED = f"""\
# my proxy
user: jdoe   # me
port: 51234

# Upstream
argo_base_url: {DEV}  # switched by hand last week
native_openai_base_url: "{DEV}/v1"
native_anthropic_base_url: >-
  {DEV}
verbose: true
"""


def test_environment_names_cover_the_three_argo_hosts() -> None:
    assert environment_of(PROD) == "prod"
    assert environment_of(DEV + "/") == "dev"
    assert environment_of(TEST) == "test"
    assert environment_of("http://127.0.0.1:9999/argoapi") is None


def test_edit_replaces_only_the_value_and_keeps_the_rest_byte_for_byte() -> None:
    text = "# head\nuser: jdoe  # me\nargo_base_url: 'http://a'   # trailing\nport: 1\n"
    edited = edit_keys(text, {"argo_base_url": PROD})
    assert edited == f"# head\nuser: jdoe  # me\nargo_base_url: {PROD}   # trailing\nport: 1\n"


def test_edit_adds_a_missing_key_at_the_end_and_keeps_crlf() -> None:
    assert edit_keys("user: jdoe", {"argo_base_url": TEST}) == (
        f"user: jdoe\nargo_base_url: {TEST}\n"
    )
    assert edit_keys("user: jdoe\r\n# end\r\n", {"argo_base_url": TEST}) == (
        f"user: jdoe\r\n# end\r\nargo_base_url: {TEST}\r\n"
    )
    assert edit_keys("", {"argo_base_url": TEST}) == f"argo_base_url: {TEST}\n"


def test_edit_removes_block_values_whole_and_a_repeated_key_keeps_its_last_place() -> None:
    edited = edit_keys(COMMENTED, {"argo_base_url": PROD}, remove=("native_anthropic_base_url",))
    assert edited == COMMENTED.replace(f"argo_base_url: {DEV}", f"argo_base_url: {PROD}").replace(
        f"native_anthropic_base_url: >-\n  {DEV}\n", ""
    )
    twice = "argo_base_url: http://a\nuser: jdoe\nargo_base_url: http://b\n"
    assert edit_keys(twice, {"argo_base_url": DEV}) == f"user: jdoe\nargo_base_url: {DEV}\n"


def test_edit_refuses_what_it_cannot_edit_safely() -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        edit_keys("user: [jdoe\n", {"argo_base_url": DEV}, where="c.yaml")
    with pytest.raises(ConfigError, match="mapping of `key: value` lines"):
        edit_keys("- a\n- b\n", {"argo_base_url": DEV})
    with pytest.raises(ConfigError, match="one `\\{...\\}` mapping"):
        edit_keys("{user: jdoe}\n", {"argo_base_url": DEV})


def test_switch_rewrites_the_url_clears_native_roots_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(COMMENTED)
    path.chmod(0o640)
    assert current_environment(path) == (
        "dev",
        DEV,
        ("native_openai_base_url", "native_anthropic_base_url"),
    )
    switch = switch_environment(path, "prod")
    assert (switch.env, switch.argo_base_url, switch.changed, switch.previous) == (
        "prod",
        PROD,
        True,
        "dev",
    )
    assert switch.cleared == ("native_openai_base_url", "native_anthropic_base_url")
    assert path.read_text() == (
        f"# my proxy\nuser: jdoe   # me\nport: 51234\n\n# Upstream\n"
        f"argo_base_url: {PROD}  # switched by hand last week\nverbose: true\n"
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file's mode is kept
    config = load_config(path, environ={})
    assert (config.argo_base_url, config.openai_base) == (PROD, f"{PROD}/v1")
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temporary left


def test_switch_to_the_same_environment_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("user: jdoe\n")  # no key: the default, dev
    before = path.stat().st_mtime_ns
    switch = switch_environment(path, "dev")
    assert (switch.changed, switch.previous) == (False, "dev")
    assert path.read_text() == "user: jdoe\n" and path.stat().st_mtime_ns == before
    assert switch_environment(path, "test").changed
    assert path.read_text() == f"user: jdoe\nargo_base_url: {TEST}\n"


def test_switch_follows_a_symlink_and_reports_a_custom_url(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("argo_base_url: http://127.0.0.1:9/argoapi\n")
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    assert current_environment(link)[0] == "custom"
    assert switch_environment(link, "prod").previous == "custom"
    assert link.is_symlink() and real.read_text() == f"argo_base_url: {PROD}\n"


def test_switch_refuses_an_unknown_name_and_a_file_it_cannot_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("user: jdoe\n")
    with pytest.raises(ConfigError, match="unknown ARGO environment 'staging'"):
        switch_environment(path, "staging")

    def refuse(src: object, dst: object) -> None:  # a read-only folder, even for root
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ConfigError, match="cannot write the config file: Permission denied"):
        switch_environment(path, "prod")
    assert path.read_text() == "user: jdoe\n"
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # the temporary is gone


def test_override_of_names_what_beats_the_file() -> None:
    assert override_of("argo_base_url", {}, {}) is None
    assert override_of("argo_base_url", {"argo_base_url": PROD}, {}) == "option --argo-base-url"
    assert override_of("user", {}, {"ARGO_USER": "x"}) == "environment variable ARGO_USER"
