"""What job categories and PIC teams share: a name, a slug derived from it, an active flag."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import GenericAlias
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    create_model,
    field_validator,
)

from core.slugs import SLUG_MAX_LENGTH, slugify
from schemas.common import Flag, ORMModel, RequestModel
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
    is_active: Flag | None = Field(default=None, description="Re-enable a disabled entry.")

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


@dataclass(frozen=True, slots=True)
class TaxonomyResponses:
    """The response bodies of one taxonomy's routes; they differ from the other taxonomy's only
    in the keys (`categories`/`category`, `pic_teams`/`pic_team`)."""

    read: type[TaxonomyRead]
    list_key: str
    item_key: str
    listing: type[BaseModel]
    single: type[BaseModel]
    message: type[BaseModel]
    updated: type[BaseModel]

    @classmethod
    def of(
        cls, read: type[TaxonomyRead], *, schema_name: str, list_key: str, item_key: str
    ) -> TaxonomyResponses:
        """`schema_name` prefixes the models' names in the OpenAPI (`JobCategoryResponse`)."""
        item: Any = (read, ...)
        items: Any = (GenericAlias(list, read), ...)
        message = create_model(
            f"{schema_name}MessageResponse", message=(str, ...), **{item_key: item}
        )
        return cls(
            read=read,
            list_key=list_key,
            item_key=item_key,
            listing=create_model(f"{schema_name}ListResponse", **{list_key: items}),
            single=create_model(f"{schema_name}Response", **{item_key: item}),
            message=message,
            updated=create_model(
                f"{schema_name}UpdatedResponse", __base__=message, jobs_updated=(int, ...)
            ),
        )

    def list_of(self, items: Sequence[object]) -> BaseModel:
        return self.listing(**{self.list_key: [self.read.model_validate(i) for i in items]})

    def one(self, item: object) -> BaseModel:
        return self.single(**{self.item_key: self.read.model_validate(item)})

    def with_message(self, message: str, item: object) -> BaseModel:
        return self.message(message=message, **{self.item_key: self.read.model_validate(item)})

    def with_moved_jobs(self, message: str, item: object, jobs_updated: int) -> BaseModel:
        return self.updated(
            message=message,
            jobs_updated=jobs_updated,
            **{self.item_key: self.read.model_validate(item)},
        )
