"""Who gets in (docs/security.md): the access token in every place an SDK puts its API
key, refusals in each client's own error format, browser-originated requests refused
even with `auth: none`, and the settings that would open the daemon to others."""

from __future__ import annotations

import stat
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from . import api
from .conftest import Process, StartDaemon, new_user, spawn

CHAT = {"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
MESSAGES = {"model": "claude-haiku-4-5", "max_tokens": 20, "messages": CHAT["messages"]}
GOOGLE = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}

# path, body, how the client's error envelope carries the message
ENDPOINTS = {
    "openai_chat": ("/v1/chat/completions", CHAT, lambda b: b["error"]["message"]),
    "openai_responses": (
        "/v1/responses",
        {"model": "argo:gpt-4o", "input": "hi"},
        lambda b: b["error"]["message"],
    ),
    "anthropic": (
        "/v1/messages",
        MESSAGES,
        lambda b: b["type"] == "error" and b["error"]["message"],
    ),
    "google": (
        "/v1beta/models/argo:gpt-4o:generateContent",
        GOOGLE,
        lambda b: b["error"]["status"] == "UNAUTHENTICATED" and b["error"]["message"],
    ),
    "embeddings": (
        "/v1/embeddings",
        {"model": "v3small", "input": "hi"},
        lambda b: b["error"]["message"],
    ),
}


@pytest.mark.parametrize("fmt", list(ENDPOINTS))
@pytest.mark.parametrize("key", [None, "jdoe"], ids=["missing", "wrong"])
def test_without_the_token_every_format_gets_its_own_401(
    daemon: Process, sim: httpx.Client, fmt: str, key: str | None
) -> None:
    path, body, message_of = ENDPOINTS[fmt]
    headers = {"x-api-key": key} if key else {}
    response = httpx.post(daemon.url + path, json=body, headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    message = message_of(response.json())
    assert "argo-proxy token" in message and "auth: none" in message
    assert api.TOKEN not in response.text
    posted = [r for r in sim.get("/__sim/log").json()["requests"] if r["method"] == "POST"]
    assert not posted, "nothing may reach ARGO"


def test_the_token_is_accepted_wherever_an_sdk_puts_its_key(daemon: Process) -> None:
    with openai.OpenAI(base_url=f"{daemon.url}/v1", api_key=api.TOKEN, max_retries=0) as client:
        # Authorization: Bearer
        reply = client.chat.completions.create(model="argo:gpt-4o", messages=CHAT["messages"])
        assert reply.choices[0].message.content == "Echo: hi"
    with anthropic.Anthropic(base_url=daemon.url, api_key=api.TOKEN, max_retries=0) as claude:
        # x-api-key
        assert claude.messages.create(**MESSAGES).content[0].text == "Echo: hi"  # type: ignore[union-attr]
    google = genai.Client(api_key=api.TOKEN, http_options=types.HttpOptions(base_url=daemon.url))
    # x-goog-api-key
    assert google.models.generate_content(model="argo:gpt-4o", contents="hi").text == "Echo: hi"
    # ?key= (Google's REST style)
    url = f"{daemon.url}/v1beta/models/argo:gpt-4o:generateContent?key={api.TOKEN}"
    assert httpx.post(url, json=GOOGLE, timeout=10).status_code == 200


def test_health_answers_without_a_token(daemon: Process) -> None:
    assert httpx.get(f"{daemon.url}/health").json()["status"] == "healthy"
    assert httpx.get(f"{daemon.url}/v1/models").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "https://evil.example"},
        {"origin": "null"},  # sandboxed iframes, file:// pages
        {"sec-fetch-site": "cross-site"},
        {"host": "attacker.example:44497"},  # DNS rebinding: the page's own name
        {"host": "[::1].evil.example"},  # starts like loopback, is the page's name
        {"host": "localhost:80@evil.example"},
    ],
    ids=["origin", "origin-null", "cross-site", "rebinding-host", "ipv6-prefix", "userinfo"],
)
def test_browser_requests_are_refused_even_with_the_token(
    daemon: Process, sim: httpx.Client, headers: dict[str, str]
) -> None:
    # text/plain is what a page can send without a CORS preflight
    response = api.post(
        f"{daemon.url}/v1/chat/completions",
        content=b'{"model": "argo:gpt-4o", "messages": [{"role": "user", "content": "hi"}]}',
        headers={"content-type": "text/plain", **headers},
    )
    assert response.status_code == 403
    assert "docs/security.md" in response.json()["error"]["message"]
    if "host" in headers:  # the foreign-Host refusal, naming the Host it was sent
        assert f"Requests addressed to {headers['host']!r} are refused" in response.text
    assert not sim.get("/__sim/log", params={"path": "/chat"}).json()["requests"]


def test_auth_none_needs_no_token_but_still_refuses_pages(start_daemon: StartDaemon) -> None:
    daemon = start_daemon("auth: none\n")
    assert httpx.post(f"{daemon.url}/v1/chat/completions", json=CHAT, timeout=10).status_code == 200
    page = httpx.post(
        f"{daemon.url}/v1/chat/completions",
        json=CHAT,
        headers={"origin": "http://localhost:3000"},
        timeout=10,
    )
    assert page.status_code == 403


def test_allowed_origins_and_hosts_get_in_with_cors(start_daemon: StartDaemon) -> None:
    daemon = start_daemon(
        "allowed_origins: [http://localhost:3000]\nallowed_hosts: [argo.internal]\n"
    )
    url = f"{daemon.url}/v1/chat/completions"
    origin = {"origin": "http://localhost:3000"}
    preflight = httpx.options(
        url, headers={**origin, "access-control-request-method": "POST"}, timeout=10
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    answer = api.post(url, json=CHAT, headers=origin, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert (
        api.post(url, json=CHAT, headers={"host": "argo.internal"}, timeout=10).status_code == 200
    )
    other = httpx.options(url, headers={"origin": "http://localhost:4000"}, timeout=10)
    assert other.status_code == 403


# ------------------------------------------------------------------- the token file


def test_first_start_creates_a_private_random_token(workdir: Path, simulator: Process) -> None:
    home, env = new_user(
        workdir, "firststart", f"user: jdoe\nport: 0\nargo_base_url: {simulator.url}\n"
    )
    daemon = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env)
    try:
        token_file = home / ".config" / "argo-proxy" / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32  # at least 128 bits of base64url
        assert token not in daemon.log
        answer = httpx.get(
            f"{daemon.url}/v1/models", headers={"authorization": f"Bearer {token}"}, timeout=10
        )
        assert answer.status_code == 200
    finally:
        assert daemon.stop() == 0
    assert token not in daemon.log


def test_username_passthrough_with_the_token_on_is_refused_clearly(workdir: Path) -> None:
    home, env = new_user(workdir, "passthrough", "username_passthrough: true\nport: 0\n")
    proc = spawn(["serve", str(home / "config.yaml")], cwd=home, env=env, wait_for_url=False)
    assert proc.popen.wait(30) == 3
    proc.stop()
    assert "`username_passthrough` takes each client's API key" in proc.log
    assert "`auth: none`" in proc.log
