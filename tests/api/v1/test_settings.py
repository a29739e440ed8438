from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

URL = "/api/v1/settings/slack"
WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


async def test_first_read_creates_disabled_settings(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    first = await client.get(URL, headers=admin_headers)
    second = await client.get(URL, headers=admin_headers)

    assert first.status_code == 200
    settings = first.json()["slack_settings"]
    assert set(settings) == {
        "id",
        "is_enabled",
        "webhook_url",
        "channel",
        "created_at",
        "updated_at",
    }
    assert (settings["is_enabled"], settings["webhook_url"], settings["channel"]) == (
        False,
        None,
        None,
    )
    assert second.json()["slack_settings"]["id"] == settings["id"]


async def test_enable_with_a_webhook(
    client: httpx.AsyncClient, admin_headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    response = await client.put(
        URL,
        json={"is_enabled": True, "webhook_url": f"  {WEBHOOK} ", "channel": " #alerts "},
        headers=admin_headers,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "Slack settings updated"
    assert body["slack_settings"]["is_enabled"] is True
    assert body["slack_settings"]["webhook_url"] == WEBHOOK  # trimmed
    assert body["slack_settings"]["channel"] == "#alerts"
    stored = (await client.get(URL, headers=admin_headers)).json()["slack_settings"]
    assert stored == body["slack_settings"]
    assert "XXXXSECRET" not in caplog.text  # the webhook URL is a credential


async def test_updates_are_partial_and_empty_strings_clear(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.put(URL, json={"webhook_url": WEBHOOK, "channel": "#a"}, headers=admin_headers)

    enabled = await client.put(URL, json={"is_enabled": True}, headers=admin_headers)
    cleared = await client.put(URL, json={"channel": "   "}, headers=admin_headers)

    assert enabled.json()["slack_settings"]["webhook_url"] == WEBHOOK
    assert cleared.json()["slack_settings"] == {
        **enabled.json()["slack_settings"],
        "channel": None,
        "updated_at": cleared.json()["slack_settings"]["updated_at"],
    }


@pytest.mark.parametrize(
    "body",
    [
        {"is_enabled": True},
        {"is_enabled": True, "webhook_url": "   "},
        {"is_enabled": True, "webhook_url": None},
    ],
)
async def test_enabling_without_a_webhook_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any]
) -> None:
    response = await client.put(URL, json=body, headers=admin_headers)

    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid settings",
        "message": "webhook_url is required when Slack is enabled.",
        "details": None,
    }
    settings = (await client.get(URL, headers=admin_headers)).json()["slack_settings"]
    assert settings["is_enabled"] is False


async def test_clearing_the_webhook_of_enabled_slack_is_400(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    await client.put(URL, json={"is_enabled": True, "webhook_url": WEBHOOK}, headers=admin_headers)

    response = await client.put(URL, json={"webhook_url": ""}, headers=admin_headers)
    disabled = await client.put(
        URL, json={"is_enabled": False, "webhook_url": ""}, headers=admin_headers
    )

    assert response.status_code == 400
    assert disabled.status_code == 200
    assert disabled.json()["slack_settings"]["webhook_url"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"webhook_url": "ftp://hooks.example.com/x"}, "body.webhook_url"),
        ({"webhook_url": "not a url"}, "body.webhook_url"),
        ({"webhook_url": "https://" + "a" * 500 + ".com"}, "body.webhook_url"),
        ({"channel": "x" * 256}, "body.channel"),
        ({"channel": "bad\x00channel"}, "body.channel"),
        ({"is_enabled": None}, "body.is_enabled"),
        ({"is_enabled": "sometimes"}, "body.is_enabled"),
        ({"token": "xoxb"}, "body.token"),
    ],
)
async def test_invalid_values_are_422(
    client: httpx.AsyncClient, admin_headers: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = await client.put(URL, json=body, headers=admin_headers)

    assert response.status_code == 422
    assert any(d["field"].startswith(field) for d in response.json()["details"])


@pytest.mark.parametrize("method", ["GET", "PUT"])
async def test_admins_only(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    viewer_headers: dict[str, str],
    method: str,
) -> None:
    body = {"is_enabled": False} if method == "PUT" else None

    anonymous = await client.request(method, URL, json=body)
    member = await client.request(method, URL, json=body, headers=member_headers)
    viewer = await client.request(method, URL, json=body, headers=viewer_headers)

    assert (anonymous.status_code, member.status_code, viewer.status_code) == (401, 403, 403)
