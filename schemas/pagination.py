"""The one response shape of every paginated listing."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from repositories.base import Page

ItemT = TypeVar("ItemT")


class PageResponse(BaseModel, Generic[ItemT]):
    """A page of a listing and where it stands. Each listing names its items' key (and may
    rename `per_page`) with a `serialization_alias` on the field it redeclares."""

    model_config = ConfigDict(from_attributes=True, serialize_by_alias=True)

    items: list[ItemT]
    total: int
    page: int
    per_page: int
    total_pages: int
    total_is_estimate: bool = Field(
        default=False,
        description="True when `total` (and so `total_pages`) is an estimate: listings that "
        "can hold millions of rows count exactly up to a limit and estimate past it.",
    )

    @classmethod
    def of(cls, page: Page[Any], /, **more: Any) -> Self:
        """The response for a repository page; `more` fills the listing's other fields."""
        return cls.model_validate(
            {
                "items": page.items,
                "total": page.total,
                "page": page.page,
                "per_page": page.per_page,
                "total_pages": page.total_pages,
                "total_is_estimate": page.total_is_estimate,
                **more,
            }
        )
