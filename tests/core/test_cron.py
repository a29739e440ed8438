"""core/cron: validation, time zones, descriptions and DST-correct fire times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import cron


@pytest.mark.parametrize(
    ("expression", "normalized"),
    [
        ("0 2 * * *", "0 2 * * *"),
        ("  */15   9-17 * * 1-5 ", "*/15 9-17 * * 1-5"),
        ("0\t0 1 JAN MON", "0 0 1 JAN MON"),
        ("0 0 29 2 *", "0 0 29 2 *"),
        ("0 0 L * *", "0 0 L * *"),
    ],
)
def test_valid_expressions_are_normalized(expression: str, normalized: str) -> None:
    assert cron.validate(expression) == normalized


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("", "exactly 5 fields"),
        ("* * * *", "exactly 5 fields"),
        ("0 0 * * * *", "exactly 5 fields"),
        ("@daily", "exactly 5 fields"),
        ("60 * * * *", "not a valid"),
        ("0 24 * * *", "not a valid"),
        ("0 0 32 * *", "not a valid"),
        ("0 0 * 13 *", "not a valid"),
        ("0 0 * * 8", "not a valid"),
        ("*/0 * * * *", "not a valid"),
        ("a b c d e", "not a valid"),
        ("R * * * *", "random"),
        ("0 0 31 2 *", "never fires"),
        ("0 0 31 4,6,9,11 *", "never fires"),
    ],
)
def test_invalid_expressions_say_why(expression: str, reason: str) -> None:
    with pytest.raises(cron.InvalidCronExpression, match=reason):
        cron.validate(expression)


@pytest.mark.parametrize("name", ["UTC", "Asia/Tokyo", "Europe/Berlin", "America/New_York"])
def test_iana_zones_are_known(name: str) -> None:
    assert str(cron.zone(name)) == name


@pytest.mark.parametrize(
    "name",
    ["", "Mars/Olympus", "asia/tokyo", "America", "../../etc/passwd", "x" * 500, "localtime"],
)
def test_anything_else_is_an_unknown_zone(name: str) -> None:
    with pytest.raises(cron.UnknownTimezone):
        cron.zone(name)


def test_description_is_human_readable() -> None:
    assert cron.describe("0 2 * * *") == "At 02:00 AM"
    assert "Monday through Friday" in cron.describe("0 9 * * 1-5")


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_berlin_spring_forward_fires_once_a_day_with_the_skipped_slot_moved() -> None:
    # 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    runs = cron.next_fire_times("30 2 * * *", "Europe/Berlin", _utc(2026, 3, 27), 5)

    assert [run.isoformat() for run in runs] == [
        "2026-03-27T02:30:00+01:00",
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
        "2026-03-31T02:30:00+02:00",
    ]
    assert len({run.date() for run in runs}) == 5
    gaps = {b.astimezone(UTC) - a.astimezone(UTC) for a, b in zip(runs, runs[1:], strict=False)}
    # A day apart, except around the skipped hour (23h30 to it, 23h30 after it).
    assert gaps <= {timedelta(hours=24), timedelta(hours=23, minutes=30)}


def test_berlin_fall_back_fires_the_repeated_slot_once() -> None:
    # 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice, fires once.
    runs = cron.next_fire_times("30 2 * * *", "Europe/Berlin", _utc(2026, 10, 23), 5)

    assert [run.isoformat() for run in runs] == [
        "2026-10-23T02:30:00+02:00",
        "2026-10-24T02:30:00+02:00",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
        "2026-10-27T02:30:00+01:00",
    ]
    assert len({run.astimezone(UTC) for run in runs}) == 5
    assert len({run.date() for run in runs}) == 5


def test_wildcard_hours_follow_elapsed_time_through_the_repeated_hour() -> None:
    runs = cron.next_fire_times("*/30 * * * *", "Europe/Berlin", _utc(2026, 10, 24, 23), 6)

    instants = [run.astimezone(UTC) for run in runs]
    assert instants == [_utc(2026, 10, 24, 23, 30) + timedelta(minutes=30 * i) for i in range(6)]


def test_new_york_weekdays_at_nine_track_the_offset_change() -> None:
    spring = cron.next_fire_times("0 9 * * 1-5", "America/New_York", _utc(2026, 3, 5), 4)
    autumn = cron.next_fire_times("0 9 * * 1-5", "America/New_York", _utc(2026, 10, 29), 4)

    assert [run.astimezone(UTC) for run in spring] == [
        _utc(2026, 3, 5, 14),
        _utc(2026, 3, 6, 14),
        _utc(2026, 3, 9, 13),  # EDT from Sunday 8 March
        _utc(2026, 3, 10, 13),
    ]
    assert [run.astimezone(UTC) for run in autumn] == [
        _utc(2026, 10, 29, 13),
        _utc(2026, 10, 30, 13),
        _utc(2026, 11, 2, 14),  # EST from Sunday 1 November
        _utc(2026, 11, 3, 14),
    ]
    assert all(run.hour == 9 and run.weekday() < 5 for run in spring + autumn)


def test_next_fire_time_is_strictly_after_and_in_utc() -> None:
    slot = _utc(2026, 6, 1, 0, 0)

    assert cron.next_fire_time("0 9 * * *", "Asia/Tokyo", slot) == _utc(2026, 6, 2, 0, 0)
    assert cron.next_fire_time("0 9 * * *", "Asia/Tokyo", slot - timedelta(seconds=1)) == slot
    assert cron.next_fire_time("0 9 * * *", "Asia/Tokyo", slot).tzinfo == UTC
