"""The `from`/`to` query of every listing and the `range` it answers with (rules in
`core/date_range.py`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.date_range import DateRange


class RangeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: str | None = Field(
        default=None, alias="from", description="Inclusive; a date or an ISO datetime."
    )
    to: str | None = Field(
        default=None, description="Exclusive; a date-only value covers that day."
    )


class DateRangeRead(BaseModel):
    from_: datetime | None = Field(serialization_alias="from")
    to: datetime | None

    @classmethod
    def of(cls, window: DateRange) -> DateRangeRead:
        return cls(from_=window.start, to=window.end)
