"""What job categories and PIC teams share: a name, a slug derived from it, an active flag."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from core.slugs import SLUG_MAX_LENGTH, slugify
from schemas.common import ORMModel, RequestModel
from schemas.text import storable_text

TaxonomyName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255),
    AfterValidator(storable_text),
]


def derived_slug(source: str, what: str) -> str:
    slug = slugify(source)
    if not slug:
        raise ValueError(f"{what} must contain letters or digits to make a slug from")
    return slug


class TaxonomyCreate(RequestModel):
    name: TaxonomyName
    slug: str | None = Field(
        default=None,
        max_length=SLUG_MAX_LENGTH,
        validate_default=True,
        description="Optional; slugified. Defaults to the slugified name.",
        examples=["data-pipelines"],
    )

    @field_validator("slug")
    @classmethod
    def _slugify(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None:
            return derived_slug(value, "slug")
        name = info.data.get("name")
        # No name means the name already failed validation; that error is the one to report.
        return derived_slug(name, "name") if isinstance(name, str) else None


class TaxonomyUpdate(RequestModel):
    name: TaxonomyName | None = Field(
        default=None, description="The slug follows the name; jobs using the old slug move."
    )
    slug: Any = Field(
        default=None,
        description="Not editable: sending it is a 400 (the slug is derived from the name).",
    )
    is_active: bool | None = Field(default=None, description="Re-enable a disabled entry.")

    @field_validator("name", "is_active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value

    @field_validator("name")
    @classmethod
    def _name_makes_a_slug(cls, value: str) -> str:
        derived_slug(value, "name")
        return value


class TaxonomyRead(ORMModel):
    id: uuid.UUID
    slug: str
    name: str
    is_active: bool
    created_at: datetime
    updated_at: datetime
