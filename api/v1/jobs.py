from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, status

from api.deps import (
    CurrentUser,
    EditorUser,
    JobImportServiceDep,
    JobServiceDep,
    SettingsDep,
)
from api.openapi import error_responses
from api.routing import CollectionRouter
from api.uploads import multipart_request_body, read_upload
from core.errors import ValidationFailed
from schemas.job import (
    CronPreview,
    CronPreviewRequest,
    CronValidateRequest,
    CronValidation,
    DeletedJob,
    JobCreate,
    JobCreatedResponse,
    JobDeletedResponse,
    JobListQuery,
    JobListResponse,
    JobMessageResponse,
    JobRead,
    JobResponse,
    JobUpdate,
    SigningSecretResponse,
)
from schemas.job_import import BulkUploadResponse

router = CollectionRouter(prefix="/jobs", tags=["jobs"])

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


@router.get(
    "",
    summary="List jobs",
    description=(
        "Filtered, sorted and paginated; `count` is the number of jobs on this page. "
        "`sort` is a field name, `-` for descending (default `-created_at`); jobs without a "
        "next or last execution sort last either way. `per_page` above 100 is a 422. "
        "Each job carries `last_execution` (its latest execution's id, status and times, "
        "`null` before its first run), read for the whole page in one query."
    ),
    response_model=JobListResponse,
    responses=error_responses(401),
)
async def list_jobs(
    query: Annotated[JobListQuery, Query()], _user: CurrentUser, service: JobServiceDep
) -> JobListResponse:
    page = await service.list(query)
    return JobListResponse.of(page)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create a job",
    description=(
        "The job belongs to the caller (`created_by`). `end_date` must be today or later in "
        "the job's time zone. A `target_url` whose host is, or resolves to, a private, "
        "loopback, link-local, CGNAT, multicast or metadata address is a 422 (unless "
        "ALLOW_PRIVATE_TARGETS); a host that does not resolve yet is accepted, and every run "
        "checks its addresses again; one carrying credentials (`user:password@`) is a 422: "
        "send them in a secret header. `next_execution_at` is in the job's offset, null when "
        "paused or when the next slot falls after `end_date`. The answer carries the job's "
        "`signing_secret`, shown this once (see POST /jobs/{id}/signing-secret)."
    ),
    response_model=JobCreatedResponse,
    responses=error_responses(
        400,
        401,
        403,
        409,
        descriptions={
            400: "Unknown or inactive category or PIC team",
            409: "A job with this name exists",
        },
    ),
)
async def create_job(
    body: JobCreate, actor: EditorUser, service: JobServiceDep
) -> JobCreatedResponse:
    job, secret = await service.create(body, actor)
    return JobCreatedResponse(
        message="Job created successfully", job=JobRead.model_validate(job), signing_secret=secret
    )


@router.post(
    "/validate-cron",
    summary="Check a cron expression",
    description="Always 200: `valid` is false (with `error`) for an unusable expression.",
    response_model=CronValidation,
    response_model_exclude_none=True,
    responses=error_responses(401),
)
async def validate_cron(
    body: CronValidateRequest, _user: CurrentUser, service: JobServiceDep
) -> CronValidation:
    return service.validate_cron(body)


@router.post(
    "/cron-preview",
    summary="Preview the next runs of a cron expression",
    description="The next `count` runs after now, in the given (or default) time zone.",
    response_model=CronPreview,
    responses=error_responses(400, 401, descriptions={400: "Invalid cron expression"}),
)
async def cron_preview(
    body: CronPreviewRequest, _user: CurrentUser, service: JobServiceDep
) -> CronPreview:
    return service.preview(body)


@router.post(
    "/bulk-upload",
    summary="Create jobs from a CSV file",
    description=(
        "One job per row, each validated like `POST /jobs`; good rows are created even when "
        "others fail. `dry_run` validates without writing. Errors and created jobs name the "
        "row number a spreadsheet shows (the header is row 1)."
    ),
    response_model=BulkUploadResponse,
    responses=error_responses(
        400,
        401,
        403,
        413,
        415,
        descriptions={
            400: "Empty, undecodable or malformed file",
            413: "The file is larger than MAX_UPLOAD_BYTES",
            415: "The body is not multipart/form-data",
        },
    ),
    openapi_extra=multipart_request_body(
        "file",
        "CSV, UTF-8 (a BOM is fine). Columns: Job Name, Cron Schedule (JST), Status, "
        "Target URL, Repo, GitHub Owner, Workflow Name, Category, End Date, PIC Team, "
        "Request Body, Branch, Headers (a JSON object of non-secret headers).",
        {
            "default_github_owner": {
                "type": "string",
                "description": "Owner for rows whose Repo names only the repository.",
            },
            "dry_run": {
                "type": "boolean",
                "default": False,
                "description": "Validate every row, write nothing.",
            },
        },
    ),
)
async def bulk_upload(
    request: Request, actor: EditorUser, settings: SettingsDep, service: JobImportServiceDep
) -> BulkUploadResponse:
    upload = await read_upload(request, file_field="file", max_file_bytes=settings.max_upload_bytes)
    return await service.import_csv(
        upload.content,
        actor=actor,
        default_github_owner=upload.fields.get("default_github_owner"),
        dry_run=_form_bool(upload.fields.get("dry_run"), "dry_run"),
    )


@router.get(
    "/{job_id:uuid}",
    summary="Get a job",
    response_model=JobResponse,
    responses=error_responses(401, 404),
)
async def get_job(job_id: uuid.UUID, _user: CurrentUser, service: JobServiceDep) -> JobResponse:
    return JobResponse(job=JobRead.model_validate(await service.get_view(job_id)))


_UPDATE_ERRORS = error_responses(
    400,
    401,
    403,
    404,
    409,
    descriptions={
        400: "Unknown category or team, nothing to update, or enabling a job past its end_date",
        403: "Viewers, and users changing a job they did not create",
        409: "A job with this name exists",
    },
)


@router.put(
    "/{job_id:uuid}",
    summary="Update a job",
    description=(
        "Partial update: only the fields sent change (same as PATCH). Switching between a "
        "webhook and a GitHub workflow needs the other kind's fields sent as null. Enabling "
        "a job past its `end_date` is a 400. An empty body is a 400. `headers`, when sent, "
        "replaces the list: a secret header sent without `value` keeps its stored value, "
        "`value: null` removes it."
    ),
    response_model=JobMessageResponse,
    responses=_UPDATE_ERRORS,
)
@router.patch(
    "/{job_id:uuid}",
    summary="Update a job (partial)",
    response_model=JobMessageResponse,
    responses=_UPDATE_ERRORS,
)
async def update_job(
    job_id: uuid.UUID, body: JobUpdate, actor: EditorUser, service: JobServiceDep
) -> JobMessageResponse:
    job = await service.update(job_id, body, actor)
    return JobMessageResponse(message="Job updated successfully", job=JobRead.model_validate(job))


@router.delete(
    "/{job_id:uuid}",
    summary="Delete a job and its executions",
    response_model=JobDeletedResponse,
    responses=error_responses(401, 403, 404),
)
async def delete_job(
    job_id: uuid.UUID, actor: EditorUser, service: JobServiceDep
) -> JobDeletedResponse:
    job = await service.delete(job_id, actor)
    return JobDeletedResponse(
        message="Job deleted successfully", deleted_job=DeletedJob(id=job.id, name=job.name)
    )


@router.post(
    "/{job_id:uuid}/pause",
    summary="Pause a job",
    response_model=JobMessageResponse,
    responses=error_responses(401, 403, 404),
)
async def pause_job(
    job_id: uuid.UUID, actor: EditorUser, service: JobServiceDep
) -> JobMessageResponse:
    job = await service.pause(job_id, actor)
    return JobMessageResponse(message="Job paused successfully", job=JobRead.model_validate(job))


@router.post(
    "/{job_id:uuid}/resume",
    summary="Resume a paused job",
    response_model=JobMessageResponse,
    responses=error_responses(
        400, 401, 403, 404, descriptions={400: "The job is past its end_date"}
    ),
)
async def resume_job(
    job_id: uuid.UUID, actor: EditorUser, service: JobServiceDep
) -> JobMessageResponse:
    job = await service.resume(job_id, actor)
    return JobMessageResponse(message="Job resumed successfully", job=JobRead.model_validate(job))


@router.post(
    "/{job_id:uuid}/signing-secret",
    summary="Rotate a job's signing secret",
    description=(
        "Every webhook call is signed as Standard Webhooks 1.0 says: `webhook-id` (the run's "
        "`Idempotency-Key`, the same for every attempt of a slot), `webhook-timestamp` (Unix "
        "seconds of the attempt) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "
        '"id.timestamp.body">`). This makes a new secret and answers it, the only time it is '
        "shown. For SIGNING_ROTATION_OVERLAP_HOURS (default 24) calls carry a second "
        "signature made with the previous secret (space-separated), so the receiver can "
        "switch without refusing a call; a second rotation within that time drops the oldest "
        "secret. The job's owner or an admin."
    ),
    response_model=SigningSecretResponse,
    responses=error_responses(401, 403, 404),
)
async def rotate_signing_secret(
    job_id: uuid.UUID, actor: EditorUser, service: JobServiceDep
) -> SigningSecretResponse:
    job, secret = await service.rotate_signing_secret(job_id, actor)
    return SigningSecretResponse(
        message="Signing secret rotated",
        signing_secret=secret,
        previous_secret_valid_until=service.previous_secret_valid_until(job),
    )


def _form_bool(value: str | None, field: str) -> bool:
    normalized = (value or "").strip().lower()
    if normalized in _TRUE:
        return True
    if normalized in _FALSE:
        return False
    raise ValidationFailed(
        f"{field} must be true or false, not {value!r}.",
        field=f"body.{field}",
        type_="bool_parsing",
    )
