"""The notification channels (email, Slack) and what they raise when a message could not be
delivered."""

from __future__ import annotations


class DeliveryFailed(Exception):
    """The message was not delivered. `retryable`: the same message may get through later (a
    server down or slow, a 5xx); otherwise the channel refused it for good (a rejected
    recipient, a webhook that does not exist)."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
