from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.enums import ExecutionStatus, ExecutionType, TriggerType
from models import Job, JobExecution


async def create_execution(
    session: AsyncSession,
    job: Job,
    *,
    scheduled_for: datetime,
    status: ExecutionStatus = ExecutionStatus.SUCCESS,
    trigger_type: TriggerType = TriggerType.SCHEDULED,
    duration_seconds: float | None = 1.0,
    **fields: Any,
) -> JobExecution:
    finished = status in (ExecutionStatus.SUCCESS, ExecutionStatus.FAILED)
    values: dict[str, Any] = {
        "execution_type": ExecutionType.WEBHOOK,
        "target": job.target_url,
        "started_at": scheduled_for,
        "completed_at": scheduled_for + timedelta(seconds=duration_seconds or 0)
        if finished
        else None,
        "duration_seconds": duration_seconds if finished else None,
        "response_status": 200 if status == ExecutionStatus.SUCCESS else None,
        "attempt": 1,
    }
    values.update(fields)
    execution = JobExecution(
        job_id=job.id,
        scheduled_for=scheduled_for,
        status=status,
        trigger_type=trigger_type,
        **values,
    )
    session.add(execution)
    await session.flush()
    return execution
