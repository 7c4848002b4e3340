"""Image URLs are fetched by the daemon and sent to ARGO inline, in every client format."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from . import api
from .clients import PNG
from .conftest import Process, StartDaemon
from .helpers import last_sent

BIG_PNG = PNG[:16] + b"\0" * (2 * 1024 * 1024)


class _Files(BaseHTTPRequestHandler):
    files = {"/cat.png": PNG, "/notes.txt": b"not an image", "/big.png": BIG_PNG}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        data = self.files.get(self.path)
        self.send_response(200 if data else 404)
        self.send_header("Content-Length", str(len(data or b"")))
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def request_with_image(fmt: str, url: str) -> tuple[str, dict[str, Any]]:
    if fmt == "openai_chat":
        return "/v1/chat/completions", {
            "model": "argo:gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is this?"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        }
    if fmt == "openai_responses":
        return "/v1/responses", {
            "model": "argo:gpt-4o",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "What is this?"},
                        {"type": "input_image", "image_url": url},
                    ],
                }
            ],
        }
    if fmt == "anthropic":
        return "/v1/messages", {
            "model": "claude-sonnet-4-6",
            "max_tokens": 50,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "url", "url": url}},
                        {"type": "text", "text": "What is this?"},
                    ],
                }
            ],
        }
    return "/v1beta/models/gemini-2.5-flash:generateContent", {
        "contents": [
            {
                "role": "user",
                "parts": [
                    {"text": "What is this?"},
                    {"fileData": {"mimeType": "image/png", "fileUri": url}},
                ],
            }
        ]
    }


def sent_image(sim: httpx.Client, fmt: str) -> bytes:
    if fmt == "anthropic":
        content = last_sent(sim, "/v1/messages")["body"]["messages"][-1]["content"]
        (image,) = [p for p in content if p["type"] == "image"]
        assert image["source"]["media_type"] == "image/png"
        return base64.b64decode(image["source"]["data"])
    content = last_sent(sim, "/v1/chat/completions")["body"]["messages"][-1]["content"]
    (image,) = [p for p in content if p["type"] == "image_url"]
    prefix = "data:image/png;base64,"
    assert image["image_url"]["url"].startswith(prefix)
    return base64.b64decode(image["image_url"]["url"][len(prefix) :])


FORMATS = ["openai_chat", "openai_responses", "anthropic", "google"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_image_url_is_inlined(daemon: Process, sim: httpx.Client, files: str, fmt: str) -> None:
    path, body = request_with_image(fmt, f"{files}/cat.png")
    response = api.post(daemon.url + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert sent_image(sim, fmt) == PNG


@pytest.mark.parametrize(
    ("name", "fragment"), [("missing.png", "HTTP 404"), ("notes.txt", "not a PNG")]
)
@pytest.mark.parametrize("fmt", ["openai_chat", "anthropic"])
def test_unusable_image_url_is_a_clear_400(
    daemon: Process, files: str, fmt: str, name: str, fragment: str
) -> None:
    path, body = request_with_image(fmt, f"{files}/{name}")
    response = api.post(daemon.url + path, json=body, timeout=30)
    assert response.status_code == 400
    assert fragment in response.text and name in response.text


def test_oversized_image_is_refused(start_daemon: StartDaemon, files: str) -> None:
    daemon = start_daemon("max_payload_size: 1\n")
    path, body = request_with_image("anthropic", f"{files}/big.png")
    response = api.post(daemon.url + path, json=body, timeout=30)
    assert response.status_code == 413, response.text
    assert "1 MiB" in response.json()["error"]["message"]
