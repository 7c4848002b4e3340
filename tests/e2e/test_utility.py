"""Utility endpoints: health, version (offline), refresh, the root pages, unknown routes."""

from __future__ import annotations

import time

import httpx

from . import api
from .conftest import Process, StartDaemon
from .helpers import inject


def test_health(daemon: Process) -> None:
    body = api.get(f"{daemon.url}/health").json()
    assert body["status"] == "healthy"
    assert body["models"] == "upstream"


def test_version_offline_says_it_could_not_check(daemon: Process) -> None:
    started = time.monotonic()
    body = api.get(f"{daemon.url}/version", timeout=10).json()
    assert time.monotonic() - started < 3  # never blocks long on PyPI
    assert body["version"]
    assert body["up_to_date"] is None
    assert body["message"].startswith("Could not check PyPI")
    assert body["dependencies"]["llm-rosetta"]["installed"].startswith("0.13")


def test_refresh_reports_counts(daemon: Process) -> None:
    body = api.post(f"{daemon.url}/refresh").json()
    assert body["status"] == "ok"
    assert body["message"] == "Model list refreshed successfully"
    current = body["current"]
    assert current["chat_models"] > 20 and current["embed_models"] == 3
    assert current["unique_models"] == current["chat_models"] + current["embed_models"]
    assert set(body["previous"]) == {"unique_models", "total_aliases"}


def test_refresh_failure_keeps_the_list_and_says_so(daemon: Process, sim: httpx.Client) -> None:
    before = api.get(f"{daemon.url}/v1/models").json()["data"]
    inject(sim, fault="status", code=503, path="/v1/models")
    response = api.post(f"{daemon.url}/refresh")
    assert response.status_code == 502
    assert response.json()["status"] == "error"
    assert "keeping the previous list" in response.json()["message"]
    assert api.get(f"{daemon.url}/v1/models").json()["data"] == before


def test_daemon_serves_builtin_models_before_upstream_answers(start_daemon: StartDaemon) -> None:
    daemon = start_daemon("argo_base_url: http://127.0.0.1:9\n")
    body = api.get(f"{daemon.url}/v1/models").json()
    assert any(m["id"] == "argo:gpt-4o" for m in body["data"])
    assert api.get(f"{daemon.url}/health").json()["models"] == "builtin"


def test_root_pages_and_unknown_routes(daemon: Process) -> None:
    assert "Welcome to the Argo-Proxy API" in api.get(f"{daemon.url}/").json()["message"]
    v1 = api.get(f"{daemon.url}/v1")
    assert v1.status_code == 404 and "<h1>404 Not Found</h1>" in v1.text
    missing = api.get(f"{daemon.url}/v2/nothing")
    assert missing.status_code == 404 and "No endpoint" in missing.json()["error"]["message"]
    wrong = api.get(f"{daemon.url}/v1/messages")
    assert wrong.status_code == 405 and wrong.json()["type"] == "error"
