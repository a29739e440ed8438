from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict

# The page of every paginated listing: 1-based and bounded, so that OFFSET (page x size)
# stays far inside the 64-bit integer the database takes.
MAX_PAGE = 1_000_000
Page = Annotated[int, Field(ge=1, le=MAX_PAGE, description=f"1-based, at most {MAX_PAGE:,}.")]


class ErrorResponse(BaseModel):
    """The envelope of every error response."""

    error: str
    message: str
    details: Any = None


class FieldError(BaseModel):
    field: str
    message: str
    type: str


class ValidationErrorResponse(ErrorResponse):
    details: list[FieldError]


class MessageResponse(BaseModel):
    message: str


class ORMModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# A JSON boolean in a request body: pydantic's lax mode would also take 0, 1, "yes" and "off",
# which the schema (type: boolean) does not allow. Query parameters stay lax (`?is_active=true`).
Flag = Annotated[bool, Strict()]


def example(body: dict[str, Any], **json_schema: Any) -> ConfigDict:
    """`model_config` of a request body documented with one example that works as it stands
    (Swagger UI's "Try it out" starts from it; tests/api/test_request_examples.py sends each)."""
    return ConfigDict(json_schema_extra={**json_schema, "examples": [body]})


class RequestModel(BaseModel):
    """A request body: unknown fields are rejected (422), so a typo or a field the caller may
    not set never passes silently."""

    model_config = ConfigDict(extra="forbid")
