"""Rows for job tests: categories, PIC teams, jobs, and request bodies for POST /jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.slugs import slugify
from models.job import Job
from models.job_category import JobCategory
from models.pic_team import PicTeam
from models.user import User

# The FrozenClock's default instant; jobs made here are scheduled as of then.
DEFAULT_NOW = datetime(2026, 6, 1, tzinfo=UTC)
DEFAULT_END_DATE = date(2026, 12, 31)
PUBLIC_TARGET = "https://hooks.example.com/cron"
# A job's policy fields (issue 13) as a job made without them shows them.
POLICY_DEFAULTS = {
    "max_retries": 0,
    "min_backoff_seconds": None,
    "max_backoff_seconds": None,
    "max_doublings": 5,
    "max_retry_duration_seconds": 0,
    "concurrency_policy": "allow",
    "catchup": "latest",
    "misfire_grace_seconds": None,
}


async def create_category(
    session: AsyncSession, *, name: str | None = None, is_active: bool = True
) -> JobCategory:
    name = name or f"Category {uuid.uuid4().hex[:8]}"
    category = JobCategory(name=name, slug=slugify(name), is_active=is_active)
    session.add(category)
    await session.flush()
    return category


async def create_team(
    session: AsyncSession,
    *,
    name: str | None = None,
    slack_handle: str = "@oncall",
    is_active: bool = True,
) -> PicTeam:
    name = name or f"Team {uuid.uuid4().hex[:8]}"
    team = PicTeam(name=name, slug=slugify(name), slack_handle=slack_handle, is_active=is_active)
    session.add(team)
    await session.flush()
    return team


async def create_job(
    session: AsyncSession,
    *,
    owner: User | None,
    pic_team: str,
    name: str | None = None,
    category: str = "general",
    cron_expression: str = "0 2 * * *",
    timezone: str = "Asia/Tokyo",
    end_date: date = DEFAULT_END_DATE,
    is_active: bool = True,
    now: datetime = DEFAULT_NOW,
    **fields: Any,
) -> Job:
    """A stored webhook job, scheduled as the service would schedule it at `now`."""
    values: dict[str, Any] = {
        "target_url": PUBLIC_TARGET,
        "job_metadata": {},
        "notification_emails": [],
        "next_run_at": cron.next_fire_time(cron_expression, timezone, after=now)
        if is_active
        else None,
    }
    values.update(fields)
    job = Job(
        name=name or f"job-{uuid.uuid4().hex[:10]}",
        cron_expression=cron_expression,
        timezone=timezone,
        category=category,
        pic_team=pic_team,
        end_date=end_date,
        is_active=is_active,
        created_by=owner.id if owner else None,
        **values,
    )
    session.add(job)
    await session.flush()
    return job


def job_payload(pic_team: str, **overrides: Any) -> dict[str, Any]:
    """A valid POST /jobs body (webhook target); `overrides` replace or add fields."""
    payload: dict[str, Any] = {
        "name": f"job-{uuid.uuid4().hex[:10]}",
        "cron_expression": "0 2 * * *",
        "target_url": PUBLIC_TARGET,
        "pic_team": pic_team,
        "end_date": DEFAULT_END_DATE.isoformat(),
    }
    payload.update(overrides)
    return payload
