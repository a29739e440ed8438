"""Running jobs and reading their runs: execute, test-run and /jobs/{id}/executions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import BackgroundTasks, Query, status

from api.deps import (
    CurrentUser,
    DispatcherDep,
    EditorUser,
    ExecutionLifecycleDep,
    ExecutionServiceDep,
    JobServiceDep,
    TrialRunServiceDep,
)
from api.openapi import error_responses
from api.routing import ApiRouter
from repositories.job_execution import NamedExecution
from schemas.execution import (
    EXECUTION_RETENTION,
    ExecuteRequest,
    ExecuteResponse,
    ExecutionRead,
    JobExecutionDetail,
    JobExecutionList,
    JobExecutionListQuery,
    JobExecutionStats,
    JobStatistics,
    TrialRunRequest,
    TrialRunResult,
    cursor_fields,
)

router = ApiRouter(prefix="/jobs", tags=["job runs"])


@router.post(
    "/{job_id:uuid}/execute",
    summary="Run a job now",
    description=(
        "Starts a manual run and answers at once with the execution (`running`); the call "
        "happens in the background. `metadata` and `github_token` apply to this run only; "
        "`metadata` is merged over the job's (top level: given keys win, a key given as null "
        "is removed). The job's headers cannot be overridden. "
        "A failed run is retried like a scheduled one (`max_retries`), with the same `metadata`; "
        "a run given a `github_token` is attempted once, since the token is never stored. "
        "A job past its end date is paused and the request refused (400)."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ExecuteResponse,
    responses=error_responses(400, 401, 403, 404),
)
async def execute_job(
    job_id: uuid.UUID,
    user: EditorUser,
    jobs: JobServiceDep,
    lifecycle: ExecutionLifecycleDep,
    dispatcher: DispatcherDep,
    background: BackgroundTasks,
    body: ExecuteRequest | None = None,
) -> ExecuteResponse:
    job = await jobs.get_for_manual_run(job_id, user)
    execution, run = await lifecycle.start_manual(
        job,
        metadata=body.metadata if body else None,
        github_token=body.github_token if body else None,
    )

    async def dispatch_after_commit() -> None:
        dispatcher.submit(run)

    # Background tasks run after the response, so after the commit: the run exists when it starts.
    background.add_task(dispatch_after_commit)
    return ExecuteResponse(
        message="Job triggered successfully",
        job_id=job.id,
        execution=ExecutionRead.model_validate(NamedExecution(execution, job.name)),
    )


@router.post(
    "/test-run",
    summary="Try a target without creating a job",
    description=(
        "One real request to the webhook or workflow, with the given `headers`; nothing is "
        "stored, and the call is not signed (there is no job, so no signing secret)."
    ),
    response_model=TrialRunResult,
    responses=error_responses(401, 403),
)
async def try_target(
    body: TrialRunRequest, _user: EditorUser, service: TrialRunServiceDep
) -> TrialRunResult:
    return await service.run(body)


@router.get(
    "/{job_id:uuid}/executions",
    summary="List a job's executions",
    description=(
        "Newest slot first, `limit` per page: by number (`page` from 1) or by `cursor` (each "
        "answer's `next_cursor`), as `GET /executions`. `total_executions` and `total_pages` "
        "count every execution matching the filters, exactly up to "
        "EXECUTION_EXACT_COUNT_LIMIT and estimated past it (`total_is_estimate`). "
        f"{EXECUTION_RETENTION}"
    ),
    response_model=JobExecutionList,
    responses=error_responses(400, 401, 404),
)
async def list_job_executions(
    job_id: uuid.UUID,
    query: Annotated[JobExecutionListQuery, Query()],
    _user: CurrentUser,
    jobs: JobServiceDep,
    executions: ExecutionServiceDep,
) -> JobExecutionList:
    job = await jobs.get(job_id)
    page, following = await executions.list_for_job(job, query)
    return JobExecutionList.of(
        page, job_id=job.id, job_name=job.name, **cursor_fields(query, following)
    )


@router.get(
    "/{job_id:uuid}/executions/stats",
    summary="A job's execution statistics",
    response_model=JobExecutionStats,
    responses=error_responses(401, 404),
)
async def job_execution_stats(
    job_id: uuid.UUID,
    _user: CurrentUser,
    jobs: JobServiceDep,
    executions: ExecutionServiceDep,
) -> JobExecutionStats:
    job = await jobs.get(job_id)
    counts, percentiles, latest = await executions.statistics_for_job(job)
    return JobExecutionStats(
        job_id=job.id,
        job_name=job.name,
        statistics=JobStatistics.of(counts, percentiles),
        latest_execution=None if latest is None else ExecutionRead.model_validate(latest),
    )


@router.get(
    "/{job_id:uuid}/executions/{execution_id:uuid}",
    summary="Get one execution of a job",
    response_model=JobExecutionDetail,
    responses=error_responses(401, 404),
)
async def get_job_execution(
    job_id: uuid.UUID,
    execution_id: uuid.UUID,
    _user: CurrentUser,
    jobs: JobServiceDep,
    executions: ExecutionServiceDep,
) -> JobExecutionDetail:
    job = await jobs.get(job_id)
    return JobExecutionDetail(
        job=JobExecutionDetail.JobRef(id=job.id, name=job.name),
        execution=ExecutionRead.model_validate(await executions.get(execution_id, job)),
    )
