"""The sync baseline: the load-tested endpoints written the way the Flask service was.

`def` handlers (Starlette runs them in its threadpool, 40 threads unless SYNC_THREADS says
otherwise), one sync SQLAlchemy `Session` on psycopg 3 per request, the same models, the same
request/response schemas, the same SQL statements, the same middleware and error envelope, so
the only difference from the async service is how waiting is done. `POST /jobs/{id}/execute`
calls the target inside the request, as the Flask service did, and answers once the outcome is
recorded; `POST /jobs/test-run` holds its thread for the whole call to the target.

    uvicorn --factory loadtest.sync_app:create_app --host 127.0.0.1 --port 8100

Configuration comes from the same environment variables as the service (DATABASE_URL, pool
sizes, JWT_SECRET_KEY, ALLOW_PRIVATE_TARGETS, ...). Never imported by the service or its tests.
"""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date, datetime, timedelta
from typing import Annotated, Any, cast

import anyio.to_thread
import httpx
from fastapi import APIRouter, FastAPI, Query, Request, status
from passlib.context import CryptContext
from sqlalchemy import case, create_engine, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api.middleware.errors import register_error_handlers
from api.middleware.request_context import RequestContextMiddleware
from core import cron
from core.clock import utcnow
from core.config import Settings
from core.date_range import parse_date_range
from core.enums import ExecutionStatus, ExecutionType, TokenType, TriggerType, UserRole
from core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from core.security import create_access_token, create_refresh_token, decode_token
from core.slugs import slugify
from integrations import webhook
from integrations.outbound import OUTPUT_LIMIT_BYTES, USER_AGENT
from models import Job, JobExecution
from models.job_category import GENERAL_CATEGORY_SLUG, JobCategory
from models.login_attempt import LoginAttempt
from models.pic_team import PicTeam
from models.refresh_token import RefreshToken
from models.revoked_token import RevokedToken
from models.user import User
from repositories.base import Page
from repositories.job import JobFilters, JobRepository
from repositories.job_execution import ExecutionFilters, NamedExecution
from schemas.auth import LoginRequest, LoginResponse
from schemas.execution import (
    ExecuteRequest,
    ExecuteResponse,
    ExecutionListQuery,
    ExecutionPage,
    ExecutionRead,
    TrialRunRequest,
    TrialRunResult,
)
from schemas.job import (
    JobCreate,
    JobListQuery,
    JobListResponse,
    JobMessageResponse,
    JobRead,
    JobResponse,
)
from schemas.user import UserOut
from services.execution_lifecycle import RunSpec, execution_type_of, run_spec, target_of
from services.trial_run import TRIAL_HEADERS

DEFAULT_THREADS = 40  # Starlette's (anyio's) default threadpool size

# The same schemes and parameters as core/security.py.
_passwords = CryptContext(schemes=["argon2", "pbkdf2_sha256"], deprecated="auto")


def sync_database_url(url: str) -> str:
    """The service's URL on the psycopg (3) driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    raise ValueError(f"the sync baseline runs on PostgreSQL only, not {url!r}")


class SyncService:
    """Everything a request needs: the engine, sessions, settings and an HTTP client."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The same pool settings as core/db.py.
        self.engine = create_engine(
            sync_database_url(settings.database_url),
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_seconds,
            pool_pre_ping=True,
            connect_args={"connect_timeout": math.ceil(settings.db_connect_timeout_seconds)},
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        threads = int(os.environ.get("SYNC_THREADS", DEFAULT_THREADS))
        self.http = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
        )

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One session, one transaction, committed before the response (as api/deps.py)."""
        with self.sessions() as session:
            try:
                yield session
            except DomainError as exc:
                if exc.keep_changes:
                    session.commit()
                else:
                    session.rollback()
                raise
            except BaseException:
                session.rollback()
                raise
            else:
                session.commit()

    # --- auth ----------------------------------------------------------------------------------

    def current_user(self, session: Session, request: Request) -> User:
        """Decode the bearer token and load its user unless the token was revoked (the same
        one query as repositories/user.py:get_unless_revoked)."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
        claims = decode_token(token, TokenType.ACCESS, self.settings, utcnow())
        revoked = select(RevokedToken.jti).where(RevokedToken.jti == claims.jti).exists()
        statement = select(User).where(User.id == claims.user_id, ~revoked)
        user = session.execute(statement).scalars().first()
        if user is None or not user.is_active:
            raise Unauthorized(
                "The token has been revoked, or its user no longer exists or is deactivated.",
                title="Invalid token",
            )
        return user

    def login(self, session: Session, login: str, password: str, address: str) -> LoginResponse:
        now = utcnow()
        settings = self.settings
        user = (
            session.execute(
                select(User).where(or_(User.username == login, User.email == login.lower()))
            )
            .scalars()
            .first()
        )
        account = str(user.id) if user is not None else login.lower()
        window = timedelta(seconds=settings.login_window_seconds)
        limit_reached_at = _nth_latest(
            session, LoginAttempt.account == account, settings.login_max_failures, now - window
        ) or _nth_latest(
            session,
            LoginAttempt.client_address == address,
            settings.login_max_failures_per_address,
            now - window,
        )
        if limit_reached_at is not None:
            retry_after = math.ceil((limit_reached_at + window - now).total_seconds())
            raise TooManyRequests(
                f"Too many failed logins; try again in {retry_after} seconds.",
                retry_after_seconds=retry_after,
                title="Too many login attempts",
            )
        if user is None:
            _passwords.dummy_verify()
            matches, new_hash = False, None
        else:
            matches, new_hash = _passwords.verify_and_update(password, user.password_hash)
        if user is None or not matches:
            session.add(LoginAttempt(account=account, client_address=address, attempted_at=now))
            session.flush()
            raise Unauthorized(
                "Invalid email/username or password",
                title="Invalid credentials",
                keep_changes=True,
            )
        if not user.is_active:
            raise Forbidden("This account is deactivated.", title="Account inactive")
        if new_hash is not None:
            user.password_hash = new_hash
        session.execute(delete(LoginAttempt).where(LoginAttempt.account == account))
        session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
        session.execute(delete(RefreshToken).where(RefreshToken.expires_at <= now))
        session.execute(delete(LoginAttempt).where(LoginAttempt.attempted_at <= now - window))
        access = create_access_token(user.id, settings, now)
        refresh = create_refresh_token(user.id, settings, now)
        session.add(
            RefreshToken(
                jti=refresh.jti, user_id=user.id, issued_at=now, expires_at=refresh.expires_at
            )
        )
        session.flush()
        return LoginResponse(
            message="Login successful",
            access_token=access.token,
            refresh_token=refresh.token,
            user=UserOut.model_validate(user),
        )

    # --- jobs ----------------------------------------------------------------------------------

    def get_job(self, session: Session, job_id: uuid.UUID) -> Job:
        job = session.execute(select(Job).where(Job.id == job_id)).scalar_one_or_none()
        if job is None:
            raise NotFound(f"No job found with ID: {job_id}")
        return job

    def create_job(self, session: Session, data: JobCreate, actor: User) -> Job:
        """JobService.build + add for webhook jobs, query for query."""
        _require_editor(actor)
        timezone = data.timezone or self.settings.scheduler_timezone
        today = _today(timezone)
        if data.end_date < today:
            raise ValidationFailed(
                f"end_date {data.end_date.isoformat()} is in the past; today in {timezone} "
                f"is {today.isoformat()}.",
                field="body.end_date",
            )
        if data.target_url is None or data.github_repo or data.github_workflow_name:
            raise ValidationFailed(
                "The sync baseline creates webhook jobs only.", field="body.target_url"
            )
        # ALLOW_PRIVATE_TARGETS is set for the benchmark: the service skips the DNS check too.
        if session.execute(select(select(Job).where(Job.name == data.name).exists())).scalar_one():
            raise _duplicate_name(data.name)
        job = Job(
            id=uuid.uuid4(),
            name=data.name,
            cron_expression=data.cron_expression,
            timezone=timezone,
            target_url=data.target_url,
            http_method=data.http_method,
            github_owner=None,
            github_repo=None,
            github_workflow_name=None,
            job_metadata=data.metadata,
            category=_reference_slug(session, JobCategory, data.category or GENERAL_CATEGORY_SLUG),
            pic_team=_reference_slug(session, PicTeam, data.pic_team),
            end_date=data.end_date,
            enable_email_notifications=data.enable_email_notifications,
            notification_emails=[str(email) for email in data.notification_emails],
            notify_on_success=data.notify_on_success,
            timeout_seconds=data.timeout_seconds,
            max_retries=data.max_retries,
            created_by=actor.id,
            is_active=data.is_active,
            last_execution_at=None,
            consecutive_failures=0,
            next_run_at=(
                cron.next_fire_time(data.cron_expression, timezone, after=utcnow())
                if data.is_active and data.end_date >= today
                else None
            ),
        )
        session.add(job)
        try:
            session.flush()
        except IntegrityError as exc:
            raise _duplicate_name(data.name) from exc
        return job

    def start_manual(
        self, session: Session, job_id: uuid.UUID, actor: User, body: ExecuteRequest | None
    ) -> tuple[Job, JobExecution, RunSpec]:
        _require_editor(actor)
        job = self.get_job(session, job_id)
        if actor.role != UserRole.ADMIN and job.created_by != actor.id:
            raise Forbidden("You can only change jobs you created.")
        if job.end_date < _today(job.timezone):
            job.is_active = False
            job.next_run_at = None
            raise InvalidInput(
                f"The job ended on {job.end_date.isoformat()} and has been paused; "
                "set a later end_date to run it.",
                title="Job expired",
                keep_changes=True,
            )
        now = utcnow()
        execution = JobExecution(
            job_id=job.id,
            status=ExecutionStatus.RUNNING,
            trigger_type=TriggerType.MANUAL,
            execution_type=execution_type_of(job),
            target=target_of(job)[:500],
            scheduled_for=now,
            started_at=now,
            attempt=1,
            lease_expires_at=now + timedelta(seconds=self.settings.execution_lease_seconds),
        )
        session.add(execution)
        session.flush()
        job.last_execution_at = now
        spec = run_spec(
            job,
            execution.id,
            now,
            trigger_type=TriggerType.MANUAL,
            metadata=body.metadata if body else None,
            github_token=body.github_token if body else None,
        )
        return job, execution, spec

    def call_target(self, run: RunSpec) -> tuple[int | None, str | None, str | None]:
        """The webhook, synchronously: (status code, first 4 KiB of the body, error)."""
        if run.execution_type != ExecutionType.WEBHOOK:
            return None, None, "the sync baseline calls webhooks only"
        body = None if run.http_method == "GET" else run.metadata
        headers = webhook.run_headers(run.job_id, run.scheduled_for, run.attempt)
        return self._send(run.http_method, run.target, headers, body, run.timeout_seconds)

    def try_target(self, request: TrialRunRequest) -> TrialRunResult:
        """services/trial_run.py for webhooks: one call, nothing stored, on this thread."""
        if request.target_url is None:
            return TrialRunResult(
                ok=False,
                type=ExecutionType.GITHUB_ACTIONS,
                status_code=None,
                message="the sync baseline calls webhooks only",
            )
        headers = {**TRIAL_HEADERS, **{h.name: h.value or "" for h in request.headers}}
        body = None if request.http_method == "GET" else request.metadata
        status_code, _, error = self._send(
            request.http_method, request.target_url, headers, body, request.timeout_seconds
        )
        ok = error is None and status_code is not None
        return TrialRunResult(
            ok=ok,
            type=ExecutionType.WEBHOOK,
            status_code=status_code,
            message=f"The target answered {status_code}." if ok else error or "failed",
        )

    def _send(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: Any,
        timeout: float,
    ) -> tuple[int | None, str | None, str | None]:
        try:
            with self.http.stream(
                method, url, headers=headers, json=body, timeout=timeout
            ) as response:
                collected = bytearray()
                for chunk in response.iter_raw():
                    collected.extend(chunk[: OUTPUT_LIMIT_BYTES - len(collected)])
                    if len(collected) >= OUTPUT_LIMIT_BYTES:
                        break
        except httpx.HTTPError as exc:
            return None, None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        error = None if response.is_success else f"HTTP {response.status_code}"
        return response.status_code, collected.decode("utf-8", errors="replace"), error

    def record_outcome(
        self,
        session: Session,
        execution: JobExecution,
        outcome: tuple[int | None, str | None, str | None],
        duration: float,
    ) -> None:
        status_code, output, error = outcome
        ok = error is None and status_code is not None and 200 <= status_code < 300
        now = utcnow()
        values: dict[str, Any] = {
            "status": ExecutionStatus.SUCCESS if ok else ExecutionStatus.FAILED,
            "completed_at": now,
            "duration_seconds": round(duration, 3),
            "response_status": status_code,
            "output": output,
            "error_message": error,
            "lease_expires_at": None,
            "updated_at": now,
        }
        session.execute(
            update(JobExecution)
            .where(JobExecution.id == execution.id, JobExecution.status == "running")
            .values(values)
        )
        session.execute(
            update(Job)
            .where(Job.id == execution.job_id)
            .values(consecutive_failures=0 if ok else Job.consecutive_failures + 1)
        )
        for field, value in values.items():
            setattr(execution, field, value)


def _nth_latest(session: Session, where: Any, n: int, since: datetime) -> datetime | None:
    statement = (
        select(LoginAttempt.attempted_at)
        .where(where, LoginAttempt.attempted_at > since)
        .order_by(LoginAttempt.attempted_at.desc())
        .offset(n - 1)
        .limit(1)
    )
    found: datetime | None = session.execute(statement).scalar_one_or_none()
    return found


def _reference_slug(session: Session, model: type[JobCategory | PicTeam], reference: str) -> str:
    """repositories/taxonomy.py:find_active, sync."""
    slug = slugify(reference)
    by_slug = model.slug == slug
    by_name = func.lower(model.name) == reference.strip().lower()
    statement = (
        select(model)
        .where(model.is_active.is_(True), or_(by_slug, by_name))
        .order_by(case((by_slug, 0), else_=1))
        .limit(1)
    )
    found = cast("JobCategory | PicTeam | None", session.execute(statement).scalars().first())
    if found is None:
        what = "category" if model is JobCategory else "PIC team"
        raise InvalidInput(f'No active {what} matches "{reference}".', title=f"Invalid {what}")
    return found.slug


def _today(timezone: str) -> date:
    return utcnow().astimezone(cron.zone(timezone)).date()


def _require_editor(actor: User) -> None:
    if actor.role not in (UserRole.ADMIN, UserRole.USER):
        raise Forbidden("Viewers cannot change jobs.")


def _duplicate_name(name: str) -> Conflict:
    return Conflict(f'A job named "{name}" already exists.', title="Duplicate job name")


def _routes(service: SyncService) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/auth/login", response_model=LoginResponse)
    def login(body: LoginRequest, request: Request) -> LoginResponse:
        address = request.client.host if request.client else "unknown"
        with service.unit_of_work() as session:
            return service.login(session, body.login, body.password.get_secret_value(), address)

    @router.get("/jobs", response_model=JobListResponse)
    def list_jobs(query: Annotated[JobListQuery, Query()], request: Request) -> JobListResponse:
        with service.unit_of_work() as session:
            service.current_user(session, request)
            filters = JobFilters(
                search=query.search,
                category=query.category,
                pic_team=query.pic_team,
                is_active=query.is_active,
                created_by=query.created_by,
            )
            where = JobRepository._where(filters)
            jobs = (
                session.execute(
                    select(Job)
                    .where(*where)
                    .order_by(*JobRepository._order_by(query.sort))
                    .offset((query.page - 1) * query.per_page)
                    .limit(query.per_page)
                )
                .scalars()
                .all()
            )
            total = session.execute(
                select(func.count()).select_from(Job).where(*where)
            ).scalar_one()
        return JobListResponse.of(
            Page(items=jobs, total=total, page=query.page, per_page=query.per_page)
        )

    @router.get("/jobs/{job_id}", response_model=JobResponse)
    def get_job(job_id: uuid.UUID, request: Request) -> JobResponse:
        with service.unit_of_work() as session:
            service.current_user(session, request)
            return JobResponse(job=JobRead.model_validate(service.get_job(session, job_id)))

    @router.post("/jobs", status_code=status.HTTP_201_CREATED, response_model=JobMessageResponse)
    def create_job(body: JobCreate, request: Request) -> JobMessageResponse:
        with service.unit_of_work() as session:
            actor = service.current_user(session, request)
            job = service.create_job(session, body, actor)
        return JobMessageResponse(
            message="Job created successfully", job=JobRead.model_validate(job)
        )

    @router.post(
        "/jobs/{job_id}/execute",
        status_code=status.HTTP_202_ACCEPTED,
        response_model=ExecuteResponse,
    )
    def execute_job(
        job_id: uuid.UUID, request: Request, body: ExecuteRequest | None = None
    ) -> ExecuteResponse:
        with service.unit_of_work() as session:
            actor = service.current_user(session, request)
            job, execution, run = service.start_manual(session, job_id, actor, body)
        # Committed: the connection is back in the pool while the thread waits for the target.
        started = time.perf_counter()
        outcome = service.call_target(run)
        duration = time.perf_counter() - started
        with service.unit_of_work() as session:
            service.record_outcome(session, execution, outcome, duration)
        return ExecuteResponse(
            message="Job triggered successfully",
            job_id=job.id,
            execution=ExecutionRead.model_validate(NamedExecution(execution, job.name)),
        )

    @router.post("/jobs/test-run", response_model=TrialRunResult)
    def try_target(body: TrialRunRequest, request: Request) -> TrialRunResult:
        """As the Flask service did: the pool thread waits for the target's answer (the
        database connection goes back to the pool first, as in execute)."""
        with service.unit_of_work() as session:
            actor = service.current_user(session, request)
        _require_editor(actor)
        return service.try_target(body)

    @router.get("/executions", response_model=ExecutionPage)
    def list_executions(
        query: Annotated[ExecutionListQuery, Query()], request: Request
    ) -> ExecutionPage:
        window = parse_date_range(query.from_, query.to)
        filters = ExecutionFilters(
            job_id=query.job_id,
            statuses=query.status,
            trigger_type=query.trigger_type,
            execution_type=query.execution_type,
            start=window.start,
            end=window.end,
        )
        with service.unit_of_work() as session:
            service.current_user(session, request)
            rows = session.execute(
                select(JobExecution, Job.name)
                .join(Job, Job.id == JobExecution.job_id)
                .where(*filters.where())
                .order_by(
                    JobExecution.scheduled_for.desc(),
                    JobExecution.attempt.desc(),
                    JobExecution.id,
                )
                .offset((query.page - 1) * query.limit)
                .limit(query.limit)
            ).all()
            total = session.execute(
                select(func.count()).select_from(JobExecution).where(*filters.where())
            ).scalar_one()
        named = [NamedExecution(execution, name) for execution, name in rows]
        return ExecutionPage.of(
            Page(items=named, total=total, page=query.page, per_page=query.limit)
        )

    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    service = SyncService(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = int(os.environ.get("SYNC_THREADS", DEFAULT_THREADS))
        try:
            yield
        finally:
            service.close()

    app = FastAPI(title="Cron Job Service (sync baseline)", lifespan=lifespan)
    register_error_handlers(app)
    app.include_router(_routes(service))
    app.add_middleware(RequestContextMiddleware)
    return app
