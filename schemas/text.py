"""Text that can be stored: PostgreSQL refuses NUL characters (in text and in JSONB), and a
lone UTF-16 surrogate cannot be encoded at all. Both are refused at the edge (422), never
left to become a database error."""

from __future__ import annotations

from typing import Any

from pydantic import AfterValidator, Field, SecretStr
from pydantic.fields import FieldInfo


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


def secret_length(*, min_length: int, max_length: int) -> tuple[AfterValidator, FieldInfo]:
    """Length rules of a `SecretStr`, in characters, for `Annotated[SecretStr, *rules]`.
    Pydantic's own length rules on a secret say "at least 8 items"."""

    def check(value: SecretStr) -> SecretStr:
        length = len(value.get_secret_value())
        if length < min_length:
            raise ValueError(f"must be at least {min_length} characters")
        if length > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    schema = Field(json_schema_extra={"minLength": min_length, "maxLength": max_length})
    return AfterValidator(check), schema
