"""A job's request headers at the HTTP edge: `{name, value, secret}`, at most 20.

Names are RFC 9110 tokens, and the ones the service sets itself or that would break the
exchange are refused; values are one line of printable ASCII. A secret header's value is
write-only: it is never shown (`value` is null in every response) and never echoed in an
error message.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from schemas.common import Flag, RequestModel

MAX_HEADERS = 20
HEADER_NAME_MAX_LENGTH = 100
HEADER_VALUE_MAX_LENGTH = 4096
# RFC 9110 5.6.2: token = 1*tchar.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Printable ASCII and tabs: one line that every HTTP stack accepts as it is.
_FIELD_VALUE = re.compile(r"[\x20-\x7e\t]*")
# Headers the service sets on every call (the idempotency key, the run's own headers, the
# Standard Webhooks signature) or that describe the connection and the message framing.
FORBIDDEN_NAMES = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-connection",
        "expect",
        "accept-encoding",
        "idempotency-key",
    }
)
FORBIDDEN_PREFIXES = ("x-cron-", "webhook-")


def _header_name(value: str) -> str:
    if not _TOKEN.fullmatch(value):
        raise ValueError(
            "a header name is an RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~ only"
        )
    lowered = value.lower()
    if lowered in FORBIDDEN_NAMES or lowered.startswith(FORBIDDEN_PREFIXES):
        raise ValueError(
            f"{value} is set by the service or by HTTP itself and cannot be sent by a job "
            "(refused: Host, Content-Length, Transfer-Encoding, Connection and the other "
            "hop-by-hop headers, Accept-Encoding, Idempotency-Key, X-Cron-*, webhook-*)"
        )
    return value


def _header_value(value: str) -> str:
    # The value is never quoted back: it may be a credential.
    if not _FIELD_VALUE.fullmatch(value):
        raise ValueError(
            "a header value is one line of printable ASCII (no line breaks or control characters)"
        )
    return value


HeaderName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=HEADER_NAME_MAX_LENGTH),
    AfterValidator(_header_name),
]
HeaderValue = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=HEADER_VALUE_MAX_LENGTH),
    AfterValidator(_header_value),
]


class HeaderWrite(RequestModel):
    """One request header. On an update, a secret header sent without `value` keeps its
    stored value; `"value": null` removes the header."""

    name: HeaderName = Field(examples=["Authorization"])
    value: HeaderValue | None = Field(
        default=None,
        repr=False,
        description=(
            f"One line of printable ASCII, at most {HEADER_VALUE_MAX_LENGTH} characters. "
            "Required on create and for non-secret headers; on an update leave it out to "
            "keep a secret header's stored value, or send null to remove the header."
        ),
    )
    secret: Flag = Field(
        default=False,
        description="Write-only: stored encrypted, never shown again (`value` reads null).",
    )


def _distinct_names(headers: list[HeaderWrite]) -> list[HeaderWrite]:
    seen: set[str] = set()
    for header in headers:
        if header.name.lower() in seen:
            raise ValueError(f"the header {header.name} is given twice (names ignore case)")
        seen.add(header.name.lower())
    return headers


HeaderList = Annotated[
    list[HeaderWrite], Field(max_length=MAX_HEADERS), AfterValidator(_distinct_names)
]


class HeaderRead(BaseModel):
    name: str
    value: str | None = Field(description="null for a secret header, whoever asks.")
    secret: bool
