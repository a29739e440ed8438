from __future__ import annotations

import json
import logging

import httpx
import pytest

from core.logging import JsonFormatter, RequestIdFilter


async def test_a_request_id_is_generated_when_none_is_sent(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/health")
    second = await client.get("/api/v1/health")

    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_a_sent_request_id_is_echoed(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health", headers={"X-Request-ID": "abc-123.def"})

    assert response.headers["x-request-id"] == "abc-123.def"


async def test_an_unprintable_request_id_is_replaced(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/health", headers={"X-Request-ID": "a b\tc" + "x" * 200})

    assert response.headers["x-request-id"] != "a b\tc" + "x" * 200
    assert len(response.headers["x-request-id"]) == 32


async def test_error_responses_carry_the_request_id(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/unknown", headers={"X-Request-ID": "r-404"})

    assert response.status_code == 404
    assert response.headers["x-request-id"] == "r-404"


async def test_one_log_line_per_request(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api.request")

    await client.get("/api/v1/executions?page=2", headers={"X-Request-ID": "log-me"})

    lines = [record for record in caplog.records if record.name == "api.request"]
    assert len(lines) == 1
    line = lines[0]
    assert (line.method, line.path, line.status) == ("GET", "/api/v1/executions", 401)  # type: ignore[attr-defined]
    assert line.duration_ms >= 0  # type: ignore[attr-defined]
    assert line.getMessage().startswith("GET /api/v1/executions 401 ")


async def test_json_log_lines_carry_request_fields(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="api.request")

    await client.get("/api/v1/health", headers={"X-Request-ID": "json-line"})

    record = next(r for r in caplog.records if r.name == "api.request")
    RequestIdFilter().filter(record)
    payload = json.loads(JsonFormatter().format(record))
    assert payload["request_id"] == "json-line"
    assert payload["method"] == "GET"
    assert payload["path"] == "/api/v1/health"
    assert payload["status"] == 200
    assert payload["level"] == "INFO"
    assert isinstance(payload["duration_ms"], float)
