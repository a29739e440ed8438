"""The `from`/`to` query filters shared by every listing: `from` inclusive, `to` exclusive,
`YYYY-MM-DD` or an ISO datetime; a date-only `to` covers that whole day. Dates without a time
and datetimes without an offset are read in UTC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from core.errors import InvalidInput

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class DateRange:
    start: datetime | None = None
    end: datetime | None = None


def parse_date_range(raw_from: str | None, raw_to: str | None) -> DateRange:
    start = _parse(raw_from, "from", end_of_day=False)
    end = _parse(raw_to, "to", end_of_day=True)
    if start is not None and end is not None and start >= end:
        raise InvalidInput('"from" must be earlier than "to".', title="Invalid date range")
    return DateRange(start, end)


def _parse(raw: str | None, name: str, *, end_of_day: bool) -> datetime | None:
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    try:
        if _DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            if end_of_day:
                day += timedelta(days=1)
            return datetime.combine(day, time.min, tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise InvalidInput(
            f'"{name}" must be a date (YYYY-MM-DD) or an ISO 8601 datetime, got {raw!r}.',
            title="Invalid date",
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
