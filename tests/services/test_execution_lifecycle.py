"""The execution life cycle inside one transaction: rows made in one place, manual runs'
retries, and what decides that an attempt is its slot's last."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.enums import ExecutionStatus, ExecutionType, TriggerType
from integrations import github
from integrations.outbound import OutboundResult
from models import Job, JobExecution, Notification, User
from models.job_execution import TARGET_MAX_LENGTH
from services.execution_lifecycle import ExecutionLifecycle, Outcome, RunSpec, merged_metadata
from tests.support.clock import FrozenClock
from tests.support.job_factories import create_job

BUSY = OutboundResult(503, "busy", "HTTP 503", retry_after_seconds=7)


async def webhook_job(session: AsyncSession, owner: User, **fields: Any) -> Job:
    return await create_job(
        session,
        owner=owner,
        pic_team="ops",
        target_url="https://hooks.example.com/run",
        max_retries=2,
        job_metadata={"from": "job"},
        **fields,
    )


async def fail(session: AsyncSession, settings: Settings, clock: FrozenClock, run: RunSpec) -> None:
    await ExecutionLifecycle(session, settings, clock).record_outcomes([Outcome(run, BUSY, 0.1)])


async def execution(session: AsyncSession, run: RunSpec) -> JobExecution:
    found = await session.get(JobExecution, run.execution_id, populate_existing=True)
    assert found is not None
    return found


async def test_a_manual_run_is_retried_with_its_own_metadata(
    session: AsyncSession, settings: Settings, clock: FrozenClock, member: User
) -> None:
    job = await webhook_job(session, member)
    lifecycle = ExecutionLifecycle(session, settings, clock)
    _, first = await lifecycle.start_manual(job, metadata={"from": "request"}, github_token=None)
    await fail(session, settings, clock, first)
    assert (await execution(session, first)).next_attempt_at == clock.now() + timedelta(seconds=7)

    clock.advance(timedelta(seconds=6))
    assert await lifecycle.claim_due_retries(10) == []
    clock.advance(timedelta(seconds=1))
    [second] = await lifecycle.claim_due_retries(10)

    assert second.metadata == first.metadata == {"from": "request"}
    assert (second.attempt, second.trigger_type) == (2, TriggerType.MANUAL)
    assert second.scheduled_for == first.scheduled_for  # the same idempotency key
    assert (await execution(session, first)).next_attempt_at is None
    assert (await execution(session, second)).status == ExecutionStatus.RUNNING
    assert await lifecycle.claim_due_retries(10) == []


async def test_a_manual_run_with_a_one_off_token_is_not_retried(
    session: AsyncSession, settings: Settings, clock: FrozenClock, member: User
) -> None:
    """The token is never stored, so no later attempt could carry it: the first is final."""
    job = await webhook_job(session, member)
    _, run = await ExecutionLifecycle(session, settings, clock).start_manual(
        job, metadata=None, github_token="ghp_one_off"
    )
    await fail(session, settings, clock, run)

    failed = await execution(session, run)
    assert (failed.status, failed.next_attempt_at) == (ExecutionStatus.FAILED, None)
    notes = await session.scalars(select(Notification).where(Notification.related_job_id == job.id))
    assert [note.type for note in notes] == ["error"]


async def test_every_row_keeps_the_same_part_of_a_long_target(
    session: AsyncSession, settings: Settings, clock: FrozenClock, member: User
) -> None:
    job = await create_job(
        session,
        owner=member,
        pic_team="ops",
        target_url=None,
        github_owner="o" * 255,
        github_repo="r" * 255,
        github_workflow_name="w" * 255,
        max_retries=1,
    )
    lifecycle = ExecutionLifecycle(session, settings, clock)
    _, manual = await lifecycle.start_manual(job, metadata=None, github_token=None)
    [scheduled] = await lifecycle.start_scheduled([(job, clock.now())], [])
    await fail(session, settings, clock, scheduled)
    clock.advance(timedelta(seconds=7))
    [retry] = await lifecycle.claim_due_retries(10)

    targets = {(await execution(session, run)).target for run in (manual, scheduled, retry)}
    assert targets == {manual.target[:TARGET_MAX_LENGTH]}
    assert len(manual.target) == 3 * 255 + 2
    assert manual.execution_type == ExecutionType.GITHUB_ACTIONS


def test_a_manual_override_keeps_the_branch_of_a_github_job() -> None:
    """Issue 14: run with {"env": "staging"}, a job on `release` dispatched `ref: main`."""
    merged = merged_metadata({"branchDetails": "release", "dataset": "sales"}, {"env": "staging"})

    assert github.dispatch_body(merged) == {
        "ref": "release",
        "inputs": {"dataset": "sales", "env": "staging"},
    }
    assert merged_metadata({"branchDetails": "release"}, {"branchDetails": None}) == {}
    assert merged_metadata({"a": None}, None) == {"a": None}
