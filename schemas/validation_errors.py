"""Pydantic's validation errors in the client's words: `{"field", "message", "type"}` with the
field as the client names it (`body.email`) and the message as a sentence.

Pydantic's `loc` also names the branches of a union (`function-after[lower(), ...]`,
`str-enum[UserRole]`) and reports the `None` branch of an optional field as a second error
(`body.email.none: Input should be None`); neither means anything to a client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

# A core-schema name pydantic puts in `loc` for a union member (never a client's key).
_SCHEMA_TAG = re.compile(
    r"^(function-(after|before|wrap|plain)|[a-z]+-enum|lax-or-strict|json-or-python"
    r"|is-instance|chain|nullable|default|union|tagged-union|list|dict|set|frozenset|tuple)\["
)
_TYPE_ERROR_PREFIX = {"str": "string_"}
_BRANCH_TYPES = frozenset(
    {"str", "int", "float", "bool", "bytes", "date", "datetime", "time", "uuid", "decimal"}
)
_PREFIXES = ("Value error, ", "Assertion failed, ")


def client_field(loc: Sequence[int | str], error_type: str = "") -> str:
    parts = [part for part in loc if not (isinstance(part, str) and _SCHEMA_TAG.match(part))]
    # The branch of a scalar union (`bool | <hidden None>`) is named by its type, and so is
    # the error: `is_enabled.bool` with `bool_type`.
    # (Only type names: a field called `value` failing with `value_error` keeps its name.)
    if parts and isinstance(parts[-1], str) and parts[-1] in _BRANCH_TYPES:
        tag = _TYPE_ERROR_PREFIX.get(parts[-1], f"{parts[-1]}_")
        if error_type.startswith(tag) and len(parts) > 2:
            parts.pop()
    return ".".join(str(part) for part in parts)


def client_message(error: dict[str, Any]) -> str:
    message = str(error["msg"])
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    if error["type"] == "json_invalid" and (error.get("ctx") or {}).get("error"):
        message = f"Invalid JSON: {error['ctx']['error']}"
    return message


def field_errors(errors: Iterable[dict[str, Any]]) -> list[dict[str, str]]:
    found = list(errors)
    failed_fields = {
        client_field(error["loc"], error["type"])
        for error in found
        if error["type"] != "none_required"
    }
    details: list[dict[str, str]] = []
    for error in found:
        loc = list(error["loc"])
        if error["type"] == "none_required" and loc[-1:] == ["none"]:
            # The `None` branch of an optional field: only worth saying when nothing else
            # failed there (it never does: our optional fields refuse null in a validator).
            if client_field(loc[:-1]) in failed_fields:
                continue
            loc = loc[:-1]
        details.append(
            {
                "field": client_field(loc, error["type"]),
                "message": client_message(error),
                "type": error["type"],
            }
        )
    return details
