"""Cron expressions: validation, DST-correct iteration and human descriptions.

Everything that computes a fire time goes through `next_fire_times`, so the preview the API
shows and the slots the scheduler fires are the same instants.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cron_descriptor import Options, get_description
from croniter import CroniterError, croniter

CRON_FIELD_COUNT = 5
# R or H standing alone (not inside a month or weekday name such as APR or THU).
_RANDOMIZED_VALUE = re.compile(r"(?<![A-Za-z])[RrHh](?![A-Za-z])")
_NEVER_FIRES_PROBE = datetime(2000, 1, 1, tzinfo=UTC)


class InvalidCronExpression(ValueError):
    pass


class UnknownTimezone(ValueError):
    pass


@lru_cache(maxsize=4096)
def validate(expression: str) -> str:
    """Return the expression with normalised spacing, or raise InvalidCronExpression."""
    fields = expression.split()
    if len(fields) != CRON_FIELD_COUNT:
        raise InvalidCronExpression(
            f"a cron expression has exactly 5 fields (minute hour day month weekday), "
            f"got {len(fields)}"
        )
    normalized = " ".join(fields)
    if not croniter.is_valid(normalized):
        raise InvalidCronExpression(f"{normalized!r} is not a valid cron expression")
    if _RANDOMIZED_VALUE.search(normalized):
        # croniter picks R/H values at random per iteration: the preview, the stored next run
        # and the slots fired would disagree.
        raise InvalidCronExpression("random (R) and hashed (H) values are not supported")
    try:
        croniter(normalized, _NEVER_FIRES_PROBE).get_next(datetime)
    except CroniterError as exc:  # e.g. `0 0 31 2 *`: valid fields, no matching date
        raise InvalidCronExpression(f"{normalized!r} never fires") from exc
    return normalized


def zone(name: str) -> ZoneInfo:
    # Only names of the IANA database: ZoneInfo alone also opens directories ("America"),
    # over-long paths and files such as "localtime", failing with OSError.
    if name not in _iana_names():
        raise UnknownTimezone(f"{name!r} is not an IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise UnknownTimezone(f"{name!r} is not an IANA time zone") from exc


@cache
def _iana_names() -> frozenset[str]:
    # "localtime" is the host's own setting, not an IANA name.
    return frozenset(available_timezones()) - {"localtime"}


def describe(expression: str) -> str:
    options = Options()
    options.use_24hour_time_format = False
    return str(get_description(validate(expression), options))


def iter_fire_times(expression: str, timezone: str, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, as aware datetimes in the job's time zone.

    A slot in the hour skipped by a DST jump fires at the first instant after it. A slot in the
    hour repeated when clocks go back fires once when the hour field names fixed hours (as
    Vixie cron does), and on both passes when the hour field is a wildcard or a step (`*`,
    `*/2`): those jobs follow elapsed time.
    """
    tz = zone(timezone)
    normalized = validate(expression)
    fixed_hours = "*" not in normalized.split()[1]
    iterator = copy.copy(_parsed(normalized))
    iterator.set_current(after.astimezone(tz), force=True)
    while True:
        candidate: datetime = iterator.get_next(datetime)
        if fixed_hours and _is_repeated_wall_time(candidate, tz):
            continue
        yield candidate


@lru_cache(maxsize=4096)
def _parsed(normalized: str) -> croniter:
    """The expression parsed once (half the cost of a next slot); copied before each use."""
    return croniter(normalized, _NEVER_FIRES_PROBE)


def next_fire_times(expression: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    iterator = iter_fire_times(expression, timezone, after)
    return [next(iterator) for _ in range(count)]


# Jobs share expressions and slots (every job on `*/5 * * * *` in one zone has the same next
# slot after the same instant): the scheduler asks this once per job and claim.
@lru_cache(maxsize=16384)
def next_fire_time(expression: str, timezone: str, after: datetime) -> datetime:
    """The next slot strictly after `after`, in UTC (as the scheduler stores it)."""
    return next(iter_fire_times(expression, timezone, after)).astimezone(UTC)


def _is_repeated_wall_time(instant: datetime, tz: ZoneInfo) -> bool:
    """True for the second occurrence of a wall-clock time that happens twice (DST fall-back)."""
    first_occurrence = instant.replace(tzinfo=None).replace(tzinfo=tz, fold=0)
    return first_occurrence.utcoffset() != instant.utcoffset()
