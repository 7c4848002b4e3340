"""Bytes a body or a header may hold that the daemon cannot pass on as they are: a 400
(or a 401) in the client's own envelope, or the request served safely, never a 5xx
(docs/translation.md#bad-requests, docs/security.md#odd-bytes-in-headers).

The official Python SDKs refuse to send any of this (they encode bodies as strict
UTF-8 JSON and headers as ASCII); JavaScript clients send lone surrogates when they cut
a text inside an emoji, and other tools send headers in Latin-1. So requests here go
as raw httpx bytes, or over a raw socket for bytes httpx does not send.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from . import api
from .conftest import Process, StartDaemon, StartStdioDaemon
from .test_bad_input_property import check_answer
from .test_errors import still_serving

MARK = "@MARK@"  # where the flaw goes in a body's JSON text
GPT, CLAUDE, GEMINI, EMBED = "argo:gpt-4o", "claude-sonnet-4-6", "gemini-2.5-flash", "v3small"
TEXT = f"hi {MARK}"


def chat(model: str = GPT) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": TEXT}]}


GOOGLE = {"contents": [{"role": "user", "parts": [{"text": TEXT}]}]}
GOOGLE_PATH = "/v1beta/models/{model}:"

# (path, body, the client format of its errors, where the text is); `stream` is added
# where the endpoint takes it in its body.
ENDPOINTS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "chat": ("/v1/chat/completions", chat(), "openai_chat", "messages[0].content"),
    "chat-claude": ("/v1/chat/completions", chat(CLAUDE), "openai_chat", "messages[0].content"),
    "responses": (
        "/v1/responses",
        {"model": GPT, "input": [{"role": "user", "content": TEXT}]},
        "openai_responses",
        "input[0].content",
    ),
    "responses-tokens": (
        "/v1/responses/input_tokens",
        {"model": GPT, "input": TEXT},
        "openai_responses",
        "input",
    ),
    "messages": (
        "/v1/messages",
        {**chat(CLAUDE), "max_tokens": 20},
        "anthropic",
        "messages[0].content",
    ),
    "messages-gpt": (
        "/v1/messages",
        {**chat(GPT), "max_tokens": 20},
        "anthropic",
        "messages[0].content",
    ),
    "messages-tokens": (
        "/v1/messages/count_tokens",
        chat(CLAUDE),
        "anthropic",
        "messages[0].content",
    ),
    "google": (
        GOOGLE_PATH.format(model=GEMINI) + "generateContent",
        GOOGLE,
        "google",
        "contents[0].parts[0].text",
    ),
    "google-stream": (
        GOOGLE_PATH.format(model=CLAUDE) + "streamGenerateContent?alt=sse",
        GOOGLE,
        "google",
        "contents[0].parts[0].text",
    ),
    "google-tokens": (
        GOOGLE_PATH.format(model=GEMINI) + "countTokens",
        GOOGLE,
        "google",
        "contents[0].parts[0].text",
    ),
    "embeddings": (
        "/v1/embeddings",
        {"model": EMBED, "input": ["ok", TEXT]},
        "openai_chat",
        "input[1]",
    ),
}
LEGACY_ENDPOINTS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "chat": ENDPOINTS["chat"],
    "responses": ENDPOINTS["responses"],
    "gateway-chat": ("/v1/chat", chat(), "gateway", "messages[0].content"),
    "completions": ("/v1/completions", {"model": GPT, "prompt": TEXT}, "openai_chat", "prompt"),
    "embed": ("/v1/embed", {"model": EMBED, "prompt": TEXT}, "openai_chat", "prompt"),
    "embeddings": ENDPOINTS["embeddings"],
}
STREAMS = {"/v1/chat/completions", "/v1/responses", "/v1/messages", "/v1/chat", "/v1/completions"}

SURROGATE = b"\\ud83d"  # a JSON escape: half of an emoji
NOT_UTF8 = b"\xed\xa0\x80"  # the UTF-8 form of a surrogate, which UTF-8 forbids
MESSAGES = {
    SURROGATE: "is not valid text: it holds a lone UTF-16 surrogate (\\ud83d, at character 3)",
    NOT_UTF8: "is not valid text: it holds bytes that are not UTF-8 (\\xed\\xa0\\x80, at "
    "character 3)",
}


def raw_body(body: dict[str, Any], flaw: bytes, stream: bool, path: str) -> bytes:
    if path.split("?")[0] in STREAMS:
        body = {**body, "stream": stream}
    return json.dumps(body).encode().replace(MARK.encode(), flaw)


def message_of(fmt: str, response: httpx.Response) -> str:
    check_answer(fmt, response)  # the client's own envelope
    return str(response.json()["error"]["message"])


def posted(sim: httpx.Client) -> list[dict[str, Any]]:
    return [r for r in sim.get("/__sim/log").json()["requests"] if r["method"] == "POST"]


def refused(
    daemon: Process, sim: httpx.Client, endpoint: tuple[str, Any, str, str], raw: bytes
) -> str:
    """The 400's message for `raw`, sent to `endpoint`; nothing reached ARGO."""
    path, _, fmt, _ = endpoint
    response = api.post(daemon.url + path, content=raw, timeout=30)
    assert response.status_code == 400, response.text
    assert not posted(sim), "nothing may reach ARGO"
    return message_of(fmt, response)


# ---------------------------------------------------------------- text in a body


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("flaw", [SURROGATE, NOT_UTF8], ids=["surrogate", "not-utf8"])
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_text_that_is_not_unicode_is_a_400_naming_the_field(
    daemon: Process, sim: httpx.Client, name: str, flaw: bytes, stream: bool
) -> None:
    endpoint = ENDPOINTS[name]
    path, body, _, field = endpoint
    message = refused(daemon, sim, endpoint, raw_body(body, flaw, stream, path))
    assert message.startswith(f"'{field}' {MESSAGES[flaw]}"), message


@pytest.fixture(scope="module")
def legacy_daemon(start_daemon: StartDaemon) -> Process:
    return start_daemon("use_legacy_argo: true\n")


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("flaw", [SURROGATE, NOT_UTF8], ids=["surrogate", "not-utf8"])
@pytest.mark.parametrize("name", list(LEGACY_ENDPOINTS))
def test_legacy_mode_refuses_it_too(
    legacy_daemon: Process, sim: httpx.Client, name: str, flaw: bytes, stream: bool
) -> None:
    endpoint = LEGACY_ENDPOINTS[name]
    path, body, _, field = endpoint
    message = refused(legacy_daemon, sim, endpoint, raw_body(body, flaw, stream, path))
    assert message.startswith(f"'{field}' {MESSAGES[flaw]}"), message


def test_whole_characters_pass_however_they_are_written(daemon: Process, sim: httpx.Client) -> None:
    """An escaped pair and its UTF-8 bytes are the same emoji, and reach ARGO as one."""
    for flaw in (b"\\ud83d\\ude00", b"\\uD83D\\uDE00", "😀".encode()):
        raw = raw_body(chat(), flaw, False, "/v1/chat/completions")
        response = api.post(f"{daemon.url}/v1/chat/completions", content=raw, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == "Echo: hi 😀"
    assert len(posted(sim)) == 3


# ---------------------------------------------------------------- numbers


def with_literal(body: dict[str, Any], field: str, literal: str) -> bytes:
    """`body` as JSON with one more field whose value is written as `literal`."""
    return (json.dumps(body)[:-1] + f', "{field}": {literal}}}').encode()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_a_timeout_that_is_not_finite_is_a_400(
    daemon: Process, sim: httpx.Client, stream: bool, literal: str
) -> None:
    raw = with_literal({**chat(), "stream": stream}, "timeout", literal)
    message = refused(daemon, sim, ENDPOINTS["chat"], raw.replace(MARK.encode(), b"x"))
    assert message.startswith(f"'timeout' must be a finite number; got {literal}"), message
    still_serving(daemon.url)


@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_numbers_json_does_not_have_never_reach_argo(
    daemon: Process, sim: httpx.Client, name: str
) -> None:
    endpoint = ENDPOINTS[name]
    path, body, _, _ = endpoint
    if name.startswith("google"):
        first = "generationConfig.temperature"
        body = {**body, "generationConfig": {"temperature": 0.5, "topP": 1.5}}
    else:
        first = "temperature"
        body = {**body, "temperature": 0.5, "top_p": 1.5}
    raw = raw_body(body, b"there", True, path).replace(b"0.5", b"NaN")
    message = refused(daemon, sim, endpoint, raw.replace(b"1.5", b"Infinity"))
    assert message == f"'{first}' must be a finite number; got NaN, which JSON does not have."


# ---------------------------------------------------------------- headers


def raw_request(base: str, path: str, headers: list[bytes], body: bytes) -> bytes:
    """One HTTP/1.1 POST with header lines exactly as given; the whole answer."""
    url = urlsplit(base)
    head = [
        f"POST {path} HTTP/1.1".encode(),
        f"Host: {url.netloc}".encode(),
        b"Content-Type: application/json",
        b"Content-Length: %d" % len(body),
        b"Connection: close",
        *headers,
    ]
    with socket.create_connection((url.hostname, url.port), timeout=30) as conn:
        conn.sendall(b"\r\n".join(head) + b"\r\n\r\n" + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def status_and_body(answer: bytes) -> tuple[int, Any]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


def log_since(daemon: Process, since: int, text: str, timeout: float = 10) -> str:
    """The daemon's log from line `since`, once a line with `text` is among it."""
    deadline = time.monotonic() + timeout
    while not any(text in line for line in daemon.lines[since:]):
        if time.monotonic() > deadline:
            raise AssertionError(f"no line with {text!r} in:\n{daemon.log}")
        time.sleep(0.02)
    return "".join(daemon.lines[since:])


CREDENTIALS = {  # a key header, the endpoint whose envelope a refusal takes
    b"Authorization: Bearer ": "chat",
    b"x-api-key: ": "messages",
    b"x-goog-api-key: ": "google",
    b"api-key: ": "embeddings",
}


@pytest.mark.parametrize("key", [b"\xff\xfe", b"\xed\xa0\x80", b"M\xfcller", b"ap-\x00\x7f"])
@pytest.mark.parametrize("header", list(CREDENTIALS))
def test_a_key_with_odd_bytes_is_a_plain_401(
    daemon: Process, sim: httpx.Client, header: bytes, key: bytes
) -> None:
    path, body, fmt, _ = ENDPOINTS[CREDENTIALS[header]]
    since = len(daemon.lines)
    answer = raw_request(daemon.url, path, [header + key], raw_body(body, b"x", False, path))
    status, error = status_and_body(answer)
    assert status == 401, answer
    assert "is not argo-proxy's access token" in json.dumps(error), error
    assert not posted(sim)
    log = log_since(daemon, since, "wrong access token")
    assert "Traceback" not in log and "internal error" not in log, log


@pytest.mark.parametrize(
    ("agent", "sent"),
    [
        ("MyTool/1.0 (Müller)".encode(), "MyTool/1.0 (M%C3%BCller)"),
        (b"MyTool/1.0 (M\xfcller)", "MyTool/1.0 (M%EF%BF%BDller)"),  # not UTF-8: U+FFFD
        (b"MyTool/1.0 \x01\x7f\t(x)", "MyTool/1.0 %01%7F%09(x)"),
    ],
    ids=["utf8", "latin1", "controls"],
)
def test_any_user_agent_is_an_ordinary_request(
    daemon: Process, sim: httpx.Client, agent: bytes, sent: str
) -> None:
    token = b"Authorization: Bearer " + api.TOKEN.encode()
    for name in ("chat", "messages-gpt", "google-stream", "embeddings"):
        path, body, _, _ = ENDPOINTS[name]
        raw = raw_body(body, b"there", True, path)
        answer = raw_request(daemon.url, path, [token, b"User-Agent: " + agent], raw)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:500]
    agents = {r["headers"]["user-agent"] for r in posted(sim)}
    assert len(agents) == 1, agents
    (argo_got,) = agents
    assert argo_got.startswith("argo-proxy/") and argo_got.endswith(" " + sent)


def test_records_name_the_client_behind_an_odd_user_agent(
    start_stdio_daemon: StartStdioDaemon,
) -> None:
    daemon = start_stdio_daemon()
    daemon.notification("models.refreshed")
    path, body, _, _ = ENDPOINTS["chat"]
    token = b"Authorization: Bearer " + api.TOKEN.encode()
    for agent in ("MyTool/1.0 (Müller)".encode(), b"MyTool/2.0 (M\xfcller)"):
        raw = raw_body(body, b"there", False, path)
        answer = raw_request(daemon.url, path, [token, b"User-Agent: " + agent], raw)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:500]
    records = daemon.call("requests.list", {"limit": 2})["requests"]
    assert [(r["client"], r["client_version"]) for r in records] == [
        ("mytool", "2.0"),
        ("mytool", "1.0"),
    ]


@pytest.mark.parametrize("version", ["2023-06-01 é".encode(), b"2023-06-01\xff", b"2023-\x0006-01"])
def test_an_anthropic_version_that_is_not_printable_ascii_is_a_400(
    daemon: Process, sim: httpx.Client, version: bytes
) -> None:
    path, body, fmt, _ = ENDPOINTS["messages"]
    for stream in (False, True):
        raw = raw_body(body, b"there", stream, path)
        answer = raw_request(
            daemon.url,
            path,
            [b"x-api-key: " + api.TOKEN.encode(), b"anthropic-version: " + version],
            raw,
        )
        status, error = status_and_body(answer)
        assert status == 400 and error["type"] == "error", answer
        assert error["error"]["message"].startswith(
            "The anthropic-version header must be a version such as 2023-06-01, in plain "
            "ASCII; got '2023-"
        )
    assert not posted(sim)
    # a plain one goes to ARGO as the client sent it
    answer = raw_request(
        daemon.url,
        path,
        [b"x-api-key: " + api.TOKEN.encode(), b"anthropic-version: 2023-01-01"],
        raw_body(body, b"there", False, path),
    )
    assert answer.startswith(b"HTTP/1.1 200"), answer[:500]
    assert posted(sim)[-1]["headers"]["anthropic-version"] == "2023-01-01"


def test_a_passthrough_username_that_is_not_plain_ascii_is_a_401(
    start_daemon: StartDaemon, sim: httpx.Client
) -> None:
    daemon = start_daemon("auth: none\nusername_passthrough: true\n")
    for name in ("chat", "messages", "google", "embeddings"):
        path, body, fmt, _ = ENDPOINTS[name]
        for key in (b"M\xc3\xbcller", b"M\xfcller", b"a\x01b"):
            header = b"x-goog-api-key: " if fmt == "google" else b"x-api-key: "
            since = len(daemon.lines)
            answer = raw_request(
                daemon.url, path, [header + key], raw_body(body, b"x", False, path)
            )
            status, error = status_and_body(answer)
            assert status == 401, answer
            assert "the API key is your ARGO username" in json.dumps(error)
            assert "Traceback" not in log_since(daemon, since, "answering 401")
    assert not posted(sim)
    response = httpx.post(
        daemon.url + "/v1/chat/completions", json=chat(), headers={"x-api-key": "Alice"}, timeout=30
    )
    assert response.status_code == 200
    assert posted(sim)[-1]["headers"]["authorization"] == "Bearer alice"
