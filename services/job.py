"""Job rules: validation that needs state, ownership, scheduling fields, cron tools."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Container, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core import cron
from core.clock import Clock
from core.config import Settings
from core.enums import AuditAction, AuditResource
from core.errors import Conflict, InvalidInput, NotFound, ValidationFailed
from core.secrets import secret_box
from core.urls import TargetRefused, parse_target_url
from integrations.address_guard import AddressGuard, HostUnresolvable
from models.job import Job
from models.job_category import GENERAL_CATEGORY_SLUG
from models.job_execution import JobExecution
from models.user import User
from repositories.base import Page, UniqueViolation
from repositories.job import JobFilters, JobRepository
from repositories.job_category import JobCategoryRepository
from repositories.job_execution import JobExecutionRepository
from repositories.pic_team import PicTeamRepository
from repositories.taxonomy import TaxonomyModelT, TaxonomyRepository
from schemas.job import (
    TARGET_FIELDS,
    CronPreview,
    CronPreviewRequest,
    CronValidateRequest,
    CronValidation,
    JobCreate,
    JobListQuery,
    JobUpdate,
)
from services import authz, job_secrets
from services.audit import REDACTED, AuditService, field_changes
from services.notifications.rules import NotifierService

# Changing one of these moves the next run; other edits keep the slot already scheduled.
SCHEDULE_FIELDS = ("cron_expression", "timezone", "is_active")
# Column values an audit entry never shows, only that they changed.
AUDIT_SECRET_FIELDS = frozenset({"signing_secret"})


def _redact_secret_headers(headers: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A stored header list as the audit log shows it: secret values (ciphertext) redacted."""
    if headers is None:
        return None
    return [{**header, "value": REDACTED} if header["secret"] else header for header in headers]


AUDIT_MASKS = {"headers": _redact_secret_headers}
# Derived columns an update's audit entry leaves out (they follow the fields that were sent).
_AUDIT_DERIVED_FIELDS = frozenset({"next_run_at"})


@dataclass(frozen=True, slots=True)
class JobView:
    """A job with its latest execution (None before the first): what the API shows of a
    stored job. Reads the job's attributes through to it."""

    job: Job
    last_execution: JobExecution | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)


class JobService:
    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        clock: Clock,
        guard: AddressGuard,
        *,
        audit: AuditService | None = None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.guard = guard
        self.audit = audit or AuditService(session, clock)
        self.box = secret_box(settings)
        self.jobs = JobRepository(session)
        self.executions = JobExecutionRepository(session)
        self.categories = JobCategoryRepository(session)
        self.teams = PicTeamRepository(session)
        # Per-instance memos (an instance lives for one request): a CSV of 1,000 rows naming
        # one team and one host resolves each once.
        self._reference_slugs: dict[tuple[str, str], str] = {}
        self._target_verdicts: dict[tuple[str, int], str | None] = {}

    # --- reads -------------------------------------------------------------------------------

    async def list(self, query: JobListQuery) -> Page[JobView]:
        """A page of jobs with their latest executions: three queries whatever the page size
        and however many jobs match (the page, its total, the page's latest executions)."""
        filters = JobFilters(
            search=query.search,
            category=query.category,
            pic_team=query.pic_team,
            is_active=query.is_active,
            created_by=query.created_by,
        )
        page = await self.jobs.list_page(
            filters, page=query.page, per_page=query.per_page, sort=query.sort
        )
        return Page(
            items=await self._views(page.items),
            total=page.total,
            page=page.page,
            per_page=page.per_page,
        )

    async def get(self, job_id: uuid.UUID) -> Job:
        job = await self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"No job found with ID: {job_id}")
        return job

    async def get_view(self, job_id: uuid.UUID) -> JobView:
        """The job as GET /jobs/{id} shows it, with its latest execution (one query)."""
        found = await self.jobs.get_with_latest(job_id)
        if found is None:
            raise NotFound(f"No job found with ID: {job_id}")
        return JobView(found.job, found.latest)

    async def _view(self, job: Job) -> JobView:
        return (await self._views([job]))[0]

    async def _views(self, jobs: Sequence[Job]) -> Sequence[JobView]:
        latest = await self.executions.latest_by_job([job.id for job in jobs])
        return [JobView(job, latest.get(job.id)) for job in jobs]

    # --- writes ------------------------------------------------------------------------------

    async def create(self, data: JobCreate, actor: User) -> tuple[Job, str]:
        """The stored job and its signing secret, in plaintext for this one answer."""
        job = await self.build(data, actor)
        secret, job.signing_secret = job_secrets.new_signing_secret(self.box)
        return await self.add(job), secret

    async def build(
        self, data: JobCreate, actor: User, *, taken_names: Container[str] | None = None
    ) -> Job:
        """Every rule of a new job, without writing: the (transient) job that `add` stores.

        `taken_names` (from `taken_names()`) replaces the per-job uniqueness query in bulk.
        """
        authz.require_editor(actor)
        values = await self._settle(None, data.model_dump(), taken_names=taken_names)
        return Job(
            id=uuid.uuid4(),
            created_by=actor.id,
            last_execution_at=None,
            consecutive_failures=0,
            # Jobs made in bulk get a secret nobody has seen: a rotation shows one.
            signing_secret=job_secrets.new_signing_secret(self.box)[1],
            **values,
        )

    async def add(self, job: Job) -> Job:
        """Store a job made by `build` (a concurrent twin's name is still a 409)."""
        try:
            await self.jobs.add(job)
        except UniqueViolation as exc:
            raise _duplicate_name(job.name) from exc
        await self._record_created(job)
        return job

    async def add_all(self, jobs: Sequence[Job]) -> None:
        """Store many jobs made by `build` in one flush (409 when any name is taken)."""
        try:
            await self.jobs.add_all(jobs)
        except UniqueViolation as exc:
            raise Conflict("A job name is taken already.", title="Duplicate job name") from exc
        for job in jobs:
            await self._record_created(job)

    async def taken_names(self, names: Collection[str]) -> set[str]:
        return await self.jobs.existing_names(names)

    async def update(self, job_id: uuid.UUID, data: JobUpdate, actor: User) -> JobView:
        job = await self._get_for_change(job_id, actor)
        changes = data.model_dump(exclude_unset=True)
        if not changes:
            raise InvalidInput(
                "Send at least one field to change.", title="No valid fields to update"
            )
        values = await self._settle(job, changes)
        audited = {
            _audit_name(field): value
            for field, value in values.items()
            if field not in _AUDIT_DERIVED_FIELDS
        }
        before = {_audit_name(field): getattr(job, field) for field in values}
        await self._save(job, values)
        diff = field_changes(before, audited, secret=AUDIT_SECRET_FIELDS, masks=AUDIT_MASKS)
        if diff:
            await self.audit.record(
                AuditAction.JOB_UPDATED, AuditResource.JOB, job.id, changes=diff
            )
        return await self._view(job)

    async def delete(self, job_id: uuid.UUID, actor: User) -> Job:
        """Delete the job; its executions go with it (ON DELETE CASCADE)."""
        job = await self._get_for_change(job_id, actor)
        await self.jobs.delete(job)
        await self.audit.record(
            AuditAction.JOB_DELETED, AuditResource.JOB, job.id, details={"name": job.name}
        )
        return job

    async def pause(self, job_id: uuid.UUID, actor: User) -> JobView:
        job = await self._get_for_change(job_id, actor)
        return await self._view(await self._pause(job))

    async def _pause(self, job: Job, **details: Any) -> Job:
        if job.is_active:
            await self.audit.record(
                AuditAction.JOB_PAUSED, AuditResource.JOB, job.id, details=details or None
            )
        return await self._save(job, {"is_active": False, "next_run_at": None})

    async def resume(self, job_id: uuid.UUID, actor: User) -> JobView:
        job = await self._get_for_change(job_id, actor)
        self._check_can_enable(job.end_date, job.timezone)
        if job.is_active and job.next_run_at is not None:
            return await self._view(job)  # running already: keep the slot it is waiting for
        next_run_at = self._next_run_at(
            job.cron_expression, job.timezone, is_active=True, end_date=job.end_date
        )
        await self.audit.record(AuditAction.JOB_RESUMED, AuditResource.JOB, job.id)
        return await self._view(
            await self._save(job, {"is_active": True, "next_run_at": next_run_at})
        )

    async def rotate_signing_secret(self, job_id: uuid.UUID, actor: User) -> tuple[Job, str]:
        """A new signing secret for the job (shown once); the previous one keeps signing
        calls for SIGNING_ROTATION_OVERLAP_HOURS."""
        job = await self.get(job_id)
        authz.require_signing_secret_rotation(actor, job)
        secret = job_secrets.rotate_signing_secret(job, self.box, self.clock.now())
        await self.session.flush()
        await self.audit.record(AuditAction.JOB_SIGNING_SECRET_ROTATED, AuditResource.JOB, job.id)
        return job, secret

    def previous_secret_valid_until(self, job: Job) -> datetime | None:
        if job.previous_signing_secret is None or job.signing_secret_rotated_at is None:
            return None
        return job_secrets.previous_valid_until(job.signing_secret_rotated_at, self.settings)

    async def get_for_manual_run(self, job_id: uuid.UUID, actor: User) -> Job:
        """The job `actor` may run by hand now (admin: any; user: own; viewer: none).

        A job past its end date is paused (the pause stands although the request is refused,
        and its owner is told, as when the scheduler pauses it) and refused with 400.
        """
        job = await self._get_for_change(job_id, actor)
        if job.end_date < self._today(job.timezone):
            was_active = job.is_active
            await self._pause(job, reason="end_date passed")
            if was_active:
                await NotifierService(self.session, self.settings, self.clock).on_jobs_ended([job])
            raise InvalidInput(
                f"The job ended on {job.end_date.isoformat()} and has been paused; "
                "set a later end_date to run it.",
                title="Job expired",
                keep_changes=True,  # the pause stands although the run is refused
            )
        return job

    # --- cron tools --------------------------------------------------------------------------

    def validate_cron(self, request: CronValidateRequest) -> CronValidation:
        """Always an answer, never an error: `valid` says whether the expression is usable."""
        try:
            expression = cron.validate(request.cron_expression)
            if request.timezone is not None:
                cron.zone(request.timezone)
        except (cron.InvalidCronExpression, cron.UnknownTimezone) as exc:
            return CronValidation(valid=False, error=str(exc))
        return CronValidation(
            valid=True, cron_expression=expression, description=_describe(expression)
        )

    def preview(self, request: CronPreviewRequest) -> CronPreview:
        timezone = request.timezone or self.settings.scheduler_timezone
        try:
            expression = cron.validate(request.cron_expression)
        except cron.InvalidCronExpression as exc:
            raise InvalidInput(str(exc), title="Invalid cron expression") from None
        runs = cron.next_fire_times(
            expression, timezone, after=self.clock.now(), count=request.count
        )
        return CronPreview(
            cron_expression=expression, timezone=timezone, count=len(runs), next_runs=runs
        )

    # --- rules -------------------------------------------------------------------------------

    async def _settle(
        self,
        job: Job | None,
        changes: dict[str, Any],
        *,
        taken_names: Container[str] | None = None,
    ) -> dict[str, Any]:
        """The one validation path of a job's fields: `changes` (request field names) checked
        against the rules that need state and turned into column values. `job` is the stored
        job being changed, None for a new one (every field then counts as changed)."""

        def current(field: str) -> Any:
            return None if job is None else getattr(job, field)

        values = dict(changes)
        if "timezone" in values:
            values["timezone"] = values["timezone"] or self.settings.scheduler_timezone
        timezone: str = values.get("timezone", current("timezone"))
        end_date: date = values.get("end_date", current("end_date"))
        if "end_date" in values:
            self._check_end_date(end_date, timezone)
        if any(field in values for field in TARGET_FIELDS):
            merged = {field: values.get(field, current(field)) for field in TARGET_FIELDS}
            values.update(self._resolve_target(merged))
            if values["target_url"] not in (None, current("target_url")):
                await self._check_target_url(values["target_url"])
        name = values.get("name", current("name"))
        if name != current("name") and (
            name in taken_names
            if taken_names is not None
            else await self.jobs.name_taken(name, exclude_id=current("id"))
        ):
            raise _duplicate_name(name)
        if "category" in values:
            values["category"] = await self._category_slug(
                values["category"] or GENERAL_CATEGORY_SLUG
            )
        if "pic_team" in values:
            values["pic_team"] = await self._team_slug(values["pic_team"])
        if values.get("is_active") and not current("is_active"):
            self._check_can_enable(end_date, timezone)
        if "min_backoff_seconds" in values or "max_backoff_seconds" in values:
            self._check_backoff_order(
                values.get("min_backoff_seconds", current("min_backoff_seconds")),
                values.get("max_backoff_seconds", current("max_backoff_seconds")),
            )
        if "metadata" in values:
            values["job_metadata"] = values.pop("metadata")
        if "headers" in values:
            values["headers"] = job_secrets.settle_headers(
                values["headers"], None if job is None else job.headers, self.box
            )
        if (
            values.get("headers", current("headers"))
            and values.get("target_url", current("target_url")) is None
        ):
            raise ValidationFailed(
                "Headers are sent to webhook targets only; a GitHub job sends none "
                "(send headers: [] to clear them).",
                field="body.headers",
            )
        if "notification_emails" in values:
            values["notification_emails"] = [str(email) for email in values["notification_emails"]]
        if any(
            field in values and values[field] != current(field) for field in SCHEDULE_FIELDS
        ) or (current("next_run_at") is None and "end_date" in values):
            values["next_run_at"] = self._next_run_at(
                values.get("cron_expression", current("cron_expression")),
                timezone,
                is_active=values.get("is_active", current("is_active")),
                end_date=end_date,
            )
        return values

    async def _get_for_change(self, job_id: uuid.UUID, actor: User) -> Job:
        job = await self.get(job_id)
        authz.require_job_change(actor, job)
        return job

    def _today(self, timezone: str) -> date:
        return self.clock.now().astimezone(cron.zone(timezone)).date()

    def _check_end_date(self, end_date: date, timezone: str) -> None:
        today = self._today(timezone)
        if end_date < today:
            raise ValidationFailed(
                f"end_date {end_date.isoformat()} is in the past; today in {timezone} "
                f"is {today.isoformat()}.",
                field="body.end_date",
            )

    def _check_backoff_order(self, low: float | None, high: float | None) -> None:
        """The retry policy's bounds, null ones being the global settings', must be in order."""
        low = self.settings.retry_backoff_base_seconds if low is None else low
        high = self.settings.retry_backoff_max_seconds if high is None else high
        if low > high:
            raise ValidationFailed(
                f"min_backoff_seconds ({low:g}) may not exceed max_backoff_seconds ({high:g}); "
                "a null bound is the global RETRY_BACKOFF_BASE_SECONDS / "
                "RETRY_BACKOFF_MAX_SECONDS.",
                field="body.min_backoff_seconds",
            )

    def _check_can_enable(self, end_date: date, timezone: str) -> None:
        if end_date < self._today(timezone):
            raise InvalidInput(
                f"The job ended on {end_date.isoformat()}; set a later end_date to enable it.",
                title="Job expired",
            )

    def _next_run_at(
        self, expression: str, timezone: str, *, is_active: bool, end_date: date
    ) -> datetime | None:
        """The next slot (UTC) the scheduler will fire, or None when it will fire none."""
        if not is_active or end_date < self._today(timezone):
            return None
        return cron.next_fire_time(expression, timezone, after=self.clock.now())

    def _resolve_target(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Exactly one target: a webhook URL, or a GitHub workflow (owner defaulted)."""
        url = values["target_url"]
        owner, repo, workflow = (
            values["github_owner"],
            values["github_repo"],
            values["github_workflow_name"],
        )
        if url is not None and (repo is not None or workflow is not None):
            raise ValidationFailed(
                "Give either target_url or the GitHub workflow fields, not both "
                "(send null to clear the other kind).",
                field="body.target_url",
            )
        if url is not None:
            return {
                "target_url": url,
                "github_owner": None,
                "github_repo": None,
                "github_workflow_name": None,
            }
        if repo is None and workflow is None:
            raise ValidationFailed(
                "A target is required: target_url, or github_repo + github_workflow_name.",
                field="body.target_url",
                type_="missing",
            )
        if repo is None:
            raise ValidationFailed(
                "github_repo is required with github_workflow_name.",
                field="body.github_repo",
                type_="missing",
            )
        if workflow is None:
            raise ValidationFailed(
                "github_workflow_name is required with github_repo.",
                field="body.github_workflow_name",
                type_="missing",
            )
        owner = owner or self.settings.github_default_owner
        if owner is None:
            raise ValidationFailed(
                "github_owner is required (no GITHUB_DEFAULT_OWNER is configured).",
                field="body.github_owner",
                type_="missing",
            )
        return {
            "target_url": None,
            "github_owner": owner,
            "github_repo": repo,
            "github_workflow_name": workflow,
        }

    async def _check_target_url(self, url: str) -> None:
        """Refuse a URL whose host is, or resolves to, an address the guard forbids.

        A name that does not resolve today is accepted: it proves nothing, and every run
        checks the addresses again before connecting.
        """
        if self.guard.allow_private:
            return
        try:
            target = parse_target_url(url)
        except TargetRefused as exc:
            raise ValidationFailed(exc.reason, field="body.target_url") from None
        key = (target.host, target.port)
        if key not in self._target_verdicts:
            try:
                await self.guard.check_host(target.host, target.port)
                self._target_verdicts[key] = None
            except HostUnresolvable:
                self._target_verdicts[key] = None
            except TargetRefused as exc:
                self._target_verdicts[key] = exc.reason
        reason = self._target_verdicts[key]
        if reason is not None:
            raise ValidationFailed(
                f"target_url may not point at this host: {reason}.", field="body.target_url"
            )

    async def _category_slug(self, reference: str) -> str:
        return await self._reference_slug(self.categories, "category", reference)

    async def _team_slug(self, reference: str) -> str:
        return await self._reference_slug(self.teams, "PIC team", reference)

    async def _reference_slug(
        self,
        repository: TaxonomyRepository[TaxonomyModelT],
        what: str,
        reference: str,
    ) -> str:
        key = (what, reference.strip().lower())
        if key not in self._reference_slugs:
            found = await repository.find_active(reference)
            if found is None:
                raise InvalidInput(
                    f'No active {what} matches "{reference}".', title=f"Invalid {what}"
                )
            self._reference_slugs[key] = found.slug
        return self._reference_slugs[key]

    async def _record_created(self, job: Job) -> None:
        await self.audit.record(
            AuditAction.JOB_CREATED, AuditResource.JOB, job.id, details={"name": job.name}
        )

    async def _save(self, job: Job, changes: Mapping[str, Any]) -> Job:
        try:
            return await self.jobs.update(job, changes)
        except UniqueViolation as exc:
            raise _duplicate_name(job.name) from exc


def _audit_name(column: str) -> str:
    """The API's name of a job column (`job_metadata` is `metadata`)."""
    return "metadata" if column == "job_metadata" else column


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f'A job named "{name}" already exists.', title="Duplicate job name")


def _describe(expression: str) -> str:
    try:
        return cron.describe(expression)
    except Exception:  # cron-descriptor has no common error base; a description is optional
        return expression
