"""Header values with bytes that are not printable ASCII, where the daemon reads them:
the token check (access.py), and the headers and username that go to ARGO (routing.py).
Sanic reads a byte that is not UTF-8 as a lone surrogate (`surrogateescape`), and the
HTTP layer makes it U+FFFD; both must be safe here (docs/security.md#odd-bytes-in-headers)."""

from __future__ import annotations

import pytest

from argo_proxy.daemon.access import AccessGuard
from argo_proxy.daemon.config import Config
from argo_proxy.daemon.errors import ClientRequestError, UnauthorizedError
from argo_proxy.daemon.routing import resolve_identity, upstream_headers
from argo_proxy.daemon.web import _as_text

TOKEN = "ap-unit-token"
ODD = ["M\u00fcller", "\udcff\udcfe", "\ufffd", "a\x00b", "\ud83d", "tab\there", "\x7f"]


@pytest.mark.parametrize("key", ODD)
@pytest.mark.parametrize("header", ["authorization", "x-api-key", "x-goog-api-key", "api-key"])
def test_any_key_that_is_not_the_token_is_a_plain_401(header: str, key: str) -> None:
    value = f"Bearer {key}" if header == "authorization" else key
    denial = AccessGuard(Config(), TOKEN).check("/v1/messages", {header: value}, {})
    assert denial is not None and denial.status == 401
    assert denial.reason == "wrong access token"


def test_the_token_beside_an_odd_key_still_gets_in() -> None:
    headers = {"x-api-key": "\udcff", "authorization": f"Bearer {TOKEN}"}
    assert AccessGuard(Config(), TOKEN).check("/v1/messages", headers, {"key": "\ufffd"}) is None


def agent_sent(client_agent: str) -> str:
    headers = upstream_headers(
        "openai_chat", "jdoe", {"user-agent": client_agent}, stream=False, user_agent="ap/1"
    )
    agent = headers["User-Agent"]
    agent.encode("ascii")  # what httpx does with it
    assert agent.isprintable()
    return agent


@pytest.mark.parametrize(
    ("client_agent", "sent"),
    [
        ("MyTool/1.0 (Müller)", "ap/1 MyTool/1.0 (M%C3%BCller)"),
        ("x\ufffd", "ap/1 x%EF%BF%BD"),
        ("a\x00b\tc\x7f", "ap/1 a%00b%09c%7F"),
        ("curl/8.5 (100%)", "ap/1 curl/8.5 (100%)"),  # printable ASCII goes as it came
    ],
)
def test_the_clients_user_agent_goes_to_argo_in_printable_ascii(
    client_agent: str, sent: str
) -> None:
    assert agent_sent(client_agent) == sent


def test_an_odd_anthropic_version_is_a_400_and_a_plain_one_is_forwarded() -> None:
    def version(value: str) -> str:
        headers = upstream_headers(
            "anthropic", "jdoe", {"anthropic-version": value}, stream=True, user_agent="ap/1"
        )
        return headers["anthropic-version"]

    assert version("2023-06-01") == "2023-06-01"
    assert version("") == "2023-06-01"
    with pytest.raises(ClientRequestError) as caught:
        version("2023-\u00e9")
    assert caught.value.status == 400
    assert caught.value.message == (
        "The anthropic-version header must be a version such as 2023-06-01, in plain ASCII; "
        "got '2023-\\xe9'."
    )


def test_a_passthrough_username_that_is_not_plain_ascii_is_a_401() -> None:
    config = Config(user="jdoe", auth="none", username_passthrough=True)
    assert resolve_identity(config, {"x-api-key": "Alice"}, {}) == "alice"
    assert resolve_identity(config, {}, {}) == "jdoe"
    for key in ODD:
        with pytest.raises(UnauthorizedError) as caught:
            resolve_identity(config, {"authorization": f"Bearer {key}"}, {})
        assert caught.value.status == 401 and key not in caught.value.message


@pytest.mark.parametrize(
    ("sanic_read", "text"),
    [
        ("MyTool/1.0", "MyTool/1.0"),
        ("M\u00fcller", "M\u00fcller"),  # UTF-8 on the wire: text as it is
        ("M\udcfcller", "M\ufffdller"),  # Latin-1 on the wire: Sanic's surrogate escape
        ("\udced\udca0\udc80", "\ufffd\ufffd\ufffd"),  # a surrogate's UTF-8 form
        ("a\ud800b", "a\ufffd\ufffd\ufffdb"),  # a surrogate no decoder made
    ],
)
def test_header_bytes_that_are_not_utf8_become_u_fffd(sanic_read: str, text: str) -> None:
    assert _as_text(sanic_read) == text
