"""Slack messages through an incoming webhook: plain text, no link unfurling.

The webhook URL is an admin's setting (like the GitHub API URL), so it is called without the
address guard; redirects are still never followed. It is a credential: it never appears in an
error or a log line.
"""

from __future__ import annotations

from typing import Any

from integrations import outbound
from integrations.channels import DeliveryFailed

# Answers worth repeating the request for, besides 5xx.
_RETRYABLE_STATUSES = frozenset({408, 425, 429})


def escape(text: str) -> str:
    """Slack reads `&`, `<` and `>` as markup (links, mentions): user text is escaped, so a
    job name or an error message can never become a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(handle: str) -> str:
    """A team's handle as written: `@team` (resolved by `link_names`) or Slack's own
    `<!subteam^ID>` syntax, kept as markup; anything else is escaped like text."""
    handle = handle.strip()
    if handle.startswith(("<@", "<!")) and handle.endswith(">") and handle.count("<") == 1:
        return handle
    return escape(handle)


def message_payload(text: str, channel: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "text": text,
        "link_names": True,
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if channel:
        payload["channel"] = channel
    return payload


async def post_message(
    client: outbound.HttpClient,
    webhook_url: str,
    text: str,
    *,
    channel: str | None,
    timeout_seconds: float,
) -> None:
    """Post `text` to the webhook; raises DeliveryFailed unless Slack answers 2xx."""
    result = await outbound.send(
        client,
        "POST",
        webhook_url,
        headers={},
        json=message_payload(text, channel),
        timeout_seconds=timeout_seconds,
        guard=None,
    )
    if result.ok:
        return
    reason = (result.error or "failed").replace(webhook_url, "<webhook URL>")
    if result.status_code is not None:
        # Slack names the problem in a short body: `invalid_payload`, `no_service`, ...
        answer = (result.output or "").strip()[:200].replace(webhook_url, "<webhook URL>")
        reason = f"{reason}: {answer}" if answer else reason
        retryable = result.status_code >= 500 or result.status_code in _RETRYABLE_STATUSES
    else:
        retryable = result.retryable
    raise DeliveryFailed(reason, retryable=retryable)
