"""GitHub Actions runs against a fake GitHub API on loopback."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from integrations import github, outbound, webhook
from tests.support.http_target import HttpTarget, Reply

TOKEN = "ghp_test_token_123"
RUN_HEADERS = webhook.run_headers(
    uuid.UUID("6f1c2b9e-2f7e-4d57-9a39-3f1b1d0f9a01"), datetime(2025, 5, 1, 9, 30, tzinfo=UTC), 1
)


@pytest.fixture
async def http_client() -> AsyncIterator[outbound.HttpClient]:
    client = outbound.create_http_client()
    yield client
    await client.aclose()


async def dispatch(
    client: outbound.HttpClient,
    api_url: str,
    *,
    token: str | None = TOKEN,
    owner: str = "acme",
    repo: str = "backend",
    workflow: str = "nightly.yml",
    metadata: dict[str, Any] | None = None,
) -> outbound.OutboundResult:
    return await github.dispatch(
        client,
        api_url=api_url,
        token=token,
        owner=owner,
        repo=repo,
        workflow=workflow,
        metadata={} if metadata is None else metadata,
        headers=RUN_HEADERS,
        timeout_seconds=5,
    )


async def test_a_dispatch_posts_workflow_dispatch_with_auth_ref_and_inputs(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(status=204, body=b""))
    metadata = {
        "branchDetails": "release/2.1",
        "environment": "staging",
        "count": 3,
        "dry_run": True,
        "ratio": 0.5,
        "options": {"fast": [1, 2]},
        "nothing": None,
    }

    result = await dispatch(http_client, http_target.url, metadata=metadata)

    assert result.ok, result.error
    assert result.status_code == 204
    assert result.error is None
    [request] = http_target.received
    assert request.method == "POST"
    assert request.path == "/repos/acme/backend/actions/workflows/nightly.yml/dispatches"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["accept"] == "application/vnd.github+json"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("cronjob-service/")
    assert request.headers["idempotency-key"] == RUN_HEADERS["Idempotency-Key"]
    body = request.json()
    assert body == {
        "ref": "release/2.1",
        "inputs": {
            "environment": "staging",
            "count": "3",
            "dry_run": "true",
            "ratio": "0.5",
            "options": json.dumps({"fast": [1, 2]}),
            "nothing": "null",
        },
    }
    assert all(isinstance(value, str) for value in body["inputs"].values())
    assert "branchDetails" not in body["inputs"]


@pytest.mark.parametrize(
    "metadata",
    [{}, {"branchDetails": ""}, {"branchDetails": None}],
    ids=["absent", "empty", "null"],
)
async def test_the_ref_defaults_to_main(
    http_client: outbound.HttpClient, http_target: HttpTarget, metadata: dict[str, Any]
) -> None:
    http_target.respond(Reply(status=204, body=b""))

    result = await dispatch(http_client, http_target.url, metadata=metadata)

    assert result.ok
    assert http_target.received[0].json() == {"ref": "main", "inputs": {}}


@pytest.mark.parametrize("status", [401, 404, 422, 500])
async def test_a_non_2xx_answer_is_a_failure_with_its_status(
    http_client: outbound.HttpClient, http_target: HttpTarget, status: int
) -> None:
    message = b'{"message": "Workflow does not have \'workflow_dispatch\' trigger"}'
    http_target.respond(Reply(status=status, body=message))

    result = await dispatch(http_client, http_target.url)

    assert not result.ok
    assert result.status_code == status
    assert result.error == f"HTTP {status}"
    assert result.output == message.decode()
    assert len(http_target.received) == 1


@pytest.mark.parametrize("token", [None, ""])
async def test_a_missing_token_fails_without_sending_anything(
    http_client: outbound.HttpClient, http_target: HttpTarget, token: str | None
) -> None:
    result = await dispatch(http_client, http_target.url, token=token)

    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert "token" in result.error.lower()
    assert result.retryable is False
    assert http_target.received == []


async def test_odd_characters_in_owner_repo_and_workflow_are_percent_encoded(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(status=204, body=b""))

    result = await dispatch(
        http_client,
        http_target.url,
        owner="my org",
        repo="a/b?c#d",
        workflow="deploy prod%.yml",
    )

    assert result.ok, result.error
    [request] = http_target.received
    assert request.path == (
        "/repos/my%20org/a%2Fb%3Fc%23d/actions/workflows/deploy%20prod%25.yml/dispatches"
    )


async def test_an_enterprise_api_url_with_a_path_prefix_is_kept(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(status=204, body=b""))

    result = await dispatch(http_client, f"{http_target.url}/api/v3/")

    assert result.ok
    assert http_target.received[0].path == (
        "/api/v3/repos/acme/backend/actions/workflows/nightly.yml/dispatches"
    )


def test_dispatch_url_and_body_helpers() -> None:
    assert github.dispatch_url("https://api.github.com/", "o", "r", "w.yml") == (
        "https://api.github.com/repos/o/r/actions/workflows/w.yml/dispatches"
    )
    assert github.dispatch_url("https://api.github.com", "o", "r", "12345") == (
        "https://api.github.com/repos/o/r/actions/workflows/12345/dispatches"
    )
    assert github.dispatch_body({"branchDetails": "dev", "x": 1}) == {
        "ref": "dev",
        "inputs": {"x": "1"},
    }
