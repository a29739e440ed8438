"""Text that can be stored: PostgreSQL refuses NUL characters (in text and in JSONB), and a
lone UTF-16 surrogate cannot be encoded at all. Both are refused at the edge (422), never
left to become a database error."""

from __future__ import annotations

from typing import Any


def storable_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no unpaired surrogates)") from None
    return value


def storable_json(value: Any) -> Any:
    """`storable_text` for every key and string inside a JSON value."""
    if isinstance(value, str):
        storable_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            storable_text(key)
            storable_json(item)
    elif isinstance(value, list):
        for item in value:
            storable_json(item)
    return value
