"""How routers document their error responses: the envelope, plus the headers some carry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.common import ErrorResponse

_DESCRIPTIONS = {
    400: "A rule that needs stored state refused the request",
    401: "Missing, invalid, expired or revoked token",
    403: "Authenticated, but not allowed",
    404: "Not found",
    409: "Conflicts with an existing record",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many attempts; retry after the given number of seconds",
}

_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The authentication scheme to use: `Bearer`",
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer"},
        }
    },
}


def error_responses(
    *statuses: int, descriptions: Mapping[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each status with the error envelope, a description (the
    route's own when given) and the headers that status always carries."""
    own = descriptions or {}
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "model": ErrorResponse,
            "description": own.get(status, _DESCRIPTIONS[status]),
        }
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[status] = response
    return responses
