"""Slack messages against a Slack-like webhook on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from integrations import outbound
from integrations.channels import DeliveryFailed, slack
from tests.support.http_target import HttpTarget, Reply

SECRET_PATH = "/services/T000/B000/XXXXSECRET"


@pytest.fixture
async def http_client() -> AsyncIterator[outbound.HttpClient]:
    client = outbound.create_http_client()
    yield client
    await client.aclose()


async def post(client: outbound.HttpClient, url: str, channel: str | None = "#alerts") -> None:
    await slack.post_message(client, url, "Job failed", channel=channel, timeout_seconds=2)


async def test_posts_plain_text_without_unfurling(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    await post(http_client, http_target.url + SECRET_PATH)

    [request] = http_target.received
    assert (request.method, request.path) == ("POST", SECRET_PATH)
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "text": "Job failed",
        "channel": "#alerts",
        "link_names": True,
        "unfurl_links": False,
        "unfurl_media": False,
    }


async def test_no_channel_posts_to_the_webhooks_own(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    await post(http_client, http_target.url + SECRET_PATH, channel=None)

    assert "channel" not in http_target.received[0].json()


@pytest.mark.parametrize(
    ("reply", "retryable", "reason"),
    [
        (Reply(status=500, body=b"oops"), True, "HTTP 500: oops"),
        (Reply(status=429, body=b"rate_limited"), True, "HTTP 429: rate_limited"),
        (Reply(status=404, body=b"no_service"), False, "HTTP 404: no_service"),
        (Reply(status=400, body=b"invalid_payload"), False, "HTTP 400: invalid_payload"),
        # A redirect is not followed: the message was not posted.
        (Reply(status=302, headers={"Location": "http://127.0.0.1:1/"}), False, "HTTP 302"),
    ],
)
async def test_answers_other_than_2xx_fail(
    http_client: outbound.HttpClient,
    http_target: HttpTarget,
    reply: Reply,
    retryable: bool,
    reason: str,
) -> None:
    http_target.respond(reply)

    with pytest.raises(DeliveryFailed) as failure:
        await post(http_client, http_target.url + SECRET_PATH)

    assert failure.value.retryable is retryable
    assert failure.value.reason.startswith(reason)
    assert len(http_target.received) == 1


async def test_a_hung_webhook_is_cut_off_and_retryable(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(hang=True))

    with pytest.raises(DeliveryFailed) as failure:
        await slack.post_message(
            http_client, http_target.url + SECRET_PATH, "x", channel=None, timeout_seconds=0.3
        )

    assert failure.value.retryable
    assert "timed out" in failure.value.reason


async def test_the_webhook_url_never_appears_in_an_error(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    url = http_target.url + SECRET_PATH
    http_target.respond(Reply(status=500, body=f"cannot post to {url}".encode()))

    with pytest.raises(DeliveryFailed) as failure:
        await post(http_client, url)

    assert "SECRET" not in failure.value.reason
    assert "<webhook URL>" in failure.value.reason


def test_escape_keeps_user_text_from_becoming_markup() -> None:
    assert slack.escape("<https://x.example|click> & <!here>") == (
        "&lt;https://x.example|click&gt; &amp; &lt;!here&gt;"
    )


@pytest.mark.parametrize(
    ("handle", "written"),
    [
        ("@data-oncall", "@data-oncall"),
        (" <!subteam^S0123|data> ", "<!subteam^S0123|data>"),
        ("<@U0123>", "<@U0123>"),
        ("<https://evil.example|x>", "&lt;https://evil.example|x&gt;"),
        ("<!here> <https://evil.example>", "&lt;!here&gt; &lt;https://evil.example&gt;"),
    ],
)
def test_a_team_handle_is_a_mention_never_a_link(handle: str, written: str) -> None:
    assert slack.mention(handle) == written
