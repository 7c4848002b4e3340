"""The access checks one by one (daemon/access.py), and the token file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from argo_proxy.daemon.access import AccessGuard, read_or_create_token, write_new_token
from argo_proxy.daemon.config import Config

TOKEN = "ap-unit-token"


def guard(**settings: object) -> AccessGuard:
    return AccessGuard(Config(**settings), TOKEN)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("headers", "query"),
    [
        ({"authorization": f"Bearer {TOKEN}"}, {}),
        ({"authorization": f"bearer {TOKEN}"}, {}),
        ({"x-api-key": TOKEN}, {}),
        ({"x-goog-api-key": TOKEN}, {}),
        ({"api-key": TOKEN}, {}),
        ({}, {"key": TOKEN}),
        ({"x-api-key": "jdoe", "authorization": f"Bearer {TOKEN}"}, {}),
    ],
)
def test_the_token_is_found_where_sdks_put_keys(
    headers: dict[str, str], query: dict[str, str]
) -> None:
    assert guard().check("/v1/messages", headers, query) is None


@pytest.mark.parametrize(
    ("headers", "reason"),
    [({}, "no access token"), ({"x-api-key": "jdoe"}, "wrong access token")],
)
def test_missing_or_wrong_token_is_401(headers: dict[str, str], reason: str) -> None:
    denial = guard().check("/v1/messages", headers, {})
    assert denial is not None and denial.status == 401 and denial.reason == reason
    assert TOKEN not in denial.message


def test_probes_need_no_token_and_auth_none_none_at_all() -> None:
    assert guard().check("/health", {}, {}) is None
    assert guard(auth="none").check("/v1/messages", {}, {}) is None
    assert guard().check("/v1/messages", {}, {}, local_socket=True) is None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:44497",
        "localhost:1",
        "LOCALHOST.",
        "localhost.:80",
        "[::1]:44497",
        "[::1]",
        "[0:0:0:0:0:0:0:1]:1",
        "127.0.0.1",
        " localhost ",
    ],
)
def test_loopback_hosts_pass(host: str) -> None:
    assert guard().check("/health", {"host": host}, {}) is None


@pytest.mark.parametrize(
    "host",
    [
        "[::1].evil.example",  # the literal, then a name of the page's own
        "localhost:80@evil.example",  # userinfo-like: not a host and a port
        "[::1]:80.evil.example",
        "localhost:80:80",
        "127.0.0.1:44497/x",
        "localhost:99999",  # no such port
        "localhost:",
        "::1",  # IPv6 must be bracketed in Host
        "[::1",
        "[localhost]",
        "local host",
        "localhost..",
        "",
        "localhost\x00.evil.example",
    ],
)
def test_a_host_that_only_starts_like_a_loopback_one_is_refused(host: str) -> None:
    denial = guard().check("/health", {"host": host}, {})
    assert denial is not None and denial.status == 403 and "allowed_hosts" in denial.message
    assert guard(allowed_hosts=("evil.example",)).check("/health", {"host": host}, {})


@pytest.mark.parametrize(
    ("settings", "host", "allowed"),
    [
        ({}, "evil.example:44497", False),
        ({}, "127.0.0.1.evil.example", False),
        ({"allowed_hosts": ("argo.internal",)}, "Argo.Internal:8080", True),
        ({"allowed_hosts": ("Argo.Internal.",)}, "argo.internal", True),
        ({"allowed_hosts": ("[fd00::1]",)}, "[fd00:0::1]:44497", True),
        ({"host": "::1"}, "[::1]:1", True),
        ({"allowed_hosts": ("*",)}, "anything:1", True),
        ({"host": "10.1.2.3", "allow_insecure_network": True, "auth": "none"}, "10.1.2.3:1", True),
    ],
)
def test_other_hosts_need_listing(settings: dict[str, object], host: str, allowed: bool) -> None:
    denial = guard(**settings).check("/health", {"host": host}, {})
    assert (denial is None) is allowed
    if denial is not None:
        assert denial.status == 403 and "allowed_hosts" in denial.message


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_browser_requests_are_refused_even_with_auth_none(headers: dict[str, str]) -> None:
    denial = guard(auth="none").check("/v1/messages", headers, {})
    assert denial is not None and denial.status == 403


def test_allowed_origins_pass_the_browser_check_but_not_the_token_check() -> None:
    checker = guard(allowed_origins=("http://localhost:3000/",))
    origin = {"origin": "http://localhost:3000", "sec-fetch-site": "cross-site"}
    assert checker.cors_origin(origin) == "http://localhost:3000"
    denial = checker.check("/v1/messages", origin, {})
    assert denial is not None and denial.status == 401
    assert checker.check("/v1/messages", {**origin, "x-api-key": TOKEN}, {}) is None
    assert guard().cors_origin(origin) is None


def test_a_token_file_is_made_private_random_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "new" / "token"
    token = read_or_create_token(path)
    assert len(token) > 40 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert read_or_create_token(path) == token
    assert read_or_create_token(tmp_path / "other") != token


def test_a_readable_token_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("ap-existing\n")
    path.chmod(0o644)
    assert read_or_create_token(path) == "ap-existing"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_token_file_gets_a_token_and_rotation_replaces_it(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("")
    first = read_or_create_token(path)
    assert first
    second = write_new_token(path)
    assert second != first and read_or_create_token(path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary files left
