"""Dependencies shared by the routers, exposed as `Annotated` aliases.

Every service a router uses is built here (`JobServiceDep`, ...), from the request's session
and the app's settings, clock and outbound machinery; tests replace any of them with
`app.dependency_overrides[get_...]`.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.clock import Clock
from core.config import Settings
from core.enums import UserRole
from core.errors import DomainError, Unauthorized
from core.security import TokenClaims
from integrations.address_guard import AddressGuard
from models.user import User
from scheduler.dispatcher import Dispatcher
from services import authz
from services.api_key import ApiKeyService
from services.audit import AuditContext, AuditService
from services.auth import AuthService, Principal
from services.dashboard import DashboardService
from services.execution import ExecutionService
from services.execution_lifecycle import ExecutionLifecycle
from services.health import HealthService, SchedulerState
from services.job import JobService
from services.job_import import JobImportService
from services.metrics import MetricsService
from services.notifications.inbox import NotificationService
from services.settings import SettingsService
from services.trial_run import TrialRunService
from services.user import UserService


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request.

    Used with `scope="function"` so the commit happens before the response is sent: a commit
    that fails becomes the response instead of being lost after a 200 went out. A domain error
    rolls the request back unless it says its changes stand (`keep_changes`). Connections are
    handed out first come, first served by the pool (core/db.py `FifoPool`), for as long as a
    transaction lasts, not for the request's life.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except DomainError as exc:
            await (session.commit() if exc.keep_changes else session.rollback())
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


async def get_address_guard(request: Request) -> AddressGuard:
    """The guard the lifespan made for the process (the dispatcher checks with the same rules)."""
    guard: AddressGuard = request.app.state.address_guard
    return guard


async def get_dispatcher(request: Request) -> Dispatcher:
    dispatcher: Dispatcher = request.app.state.dispatcher
    return dispatcher


async def get_scheduler_state(request: Request) -> SchedulerState | None:
    """The in-process scheduler, when this process runs one."""
    scheduler: SchedulerState | None = getattr(request.app.state, "scheduler", None)
    return scheduler


async def get_client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ClientAddress = Annotated[str, Depends(get_client_address)]


async def get_audit_context(request: Request, client_address: ClientAddress) -> AuditContext:
    """This request's identity for the audit log; `get_principal` adds the actor. One object
    per request (FastAPI caches a dependency within a request)."""
    request_id: str | None = getattr(request.state, "request_id", None)
    return AuditContext(request_id=request_id, client_address=client_address)


AuditContextDep = Annotated[AuditContext, Depends(get_audit_context)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
ClockDep = Annotated[Clock, Depends(get_clock)]
AddressGuardDep = Annotated[AddressGuard, Depends(get_address_guard)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
SchedulerStateDep = Annotated[SchedulerState | None, Depends(get_scheduler_state)]


# --- services ----------------------------------------------------------------------------------


async def get_audit_service(
    session: SessionDep, clock: ClockDep, context: AuditContextDep
) -> AuditService:
    return AuditService(session, clock, context)


AuditServiceDep = Annotated[AuditService, Depends(get_audit_service)]


async def get_auth_service(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, audit: AuditServiceDep
) -> AuthService:
    return AuthService(session, settings, clock, audit=audit)


async def get_api_key_service(
    session: SessionDep, clock: ClockDep, audit: AuditServiceDep
) -> ApiKeyService:
    return ApiKeyService(session, clock, audit=audit)


async def get_user_service(
    session: SessionDep, settings: SettingsDep, audit: AuditServiceDep
) -> UserService:
    return UserService(session, settings.scheduler_timezone, audit=audit)


async def get_job_service(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    guard: AddressGuardDep,
    audit: AuditServiceDep,
) -> JobService:
    return JobService(session, settings, clock, guard, audit=audit)


JobServiceDep = Annotated[JobService, Depends(get_job_service)]


async def get_job_import_service(session: SessionDep, jobs: JobServiceDep) -> JobImportService:
    return JobImportService(session, jobs)


async def get_execution_service(
    session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> ExecutionService:
    return ExecutionService(session, settings, clock)


async def get_execution_lifecycle(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, audit: AuditServiceDep
) -> ExecutionLifecycle:
    return ExecutionLifecycle(session, settings, clock, audit=audit)


async def get_trial_run_service(
    dispatcher: DispatcherDep, guard: AddressGuardDep, settings: SettingsDep
) -> TrialRunService:
    return TrialRunService(dispatcher.http_client, guard, settings)


async def get_notification_service(session: SessionDep, clock: ClockDep) -> NotificationService:
    return NotificationService(session, clock)


async def get_dashboard_service(
    session: SessionDep, settings: SettingsDep, clock: ClockDep
) -> DashboardService:
    return DashboardService(session, settings, clock)


async def get_settings_service(session: SessionDep, audit: AuditServiceDep) -> SettingsService:
    return SettingsService(session, audit=audit)


async def get_health_service(
    engine: EngineDep, settings: SettingsDep, scheduler: SchedulerStateDep
) -> HealthService:
    return HealthService(engine, settings, scheduler)


async def get_metrics_service(request: Request, settings: SettingsDep) -> MetricsService:
    return MetricsService(request.app.state.sessionmaker, settings, request.app.state.clock)


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_api_key_service)]
UserServiceDep = Annotated[UserService, Depends(get_user_service)]
JobImportServiceDep = Annotated[JobImportService, Depends(get_job_import_service)]
ExecutionServiceDep = Annotated[ExecutionService, Depends(get_execution_service)]
ExecutionLifecycleDep = Annotated[ExecutionLifecycle, Depends(get_execution_lifecycle)]
TrialRunServiceDep = Annotated[TrialRunService, Depends(get_trial_run_service)]
NotificationServiceDep = Annotated[NotificationService, Depends(get_notification_service)]
SettingsServiceDep = Annotated[SettingsService, Depends(get_settings_service)]
DashboardServiceDep = Annotated[DashboardService, Depends(get_dashboard_service)]
HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]
MetricsServiceDep = Annotated[MetricsService, Depends(get_metrics_service)]


# --- the metrics token -------------------------------------------------------------------------


async def require_metrics_token(request: Request, settings: SettingsDep) -> None:
    """With METRICS_TOKEN set, `/metrics` needs it as a bearer token (compared in constant
    time); without it, `/metrics` is open. Not an OpenAPI security scheme: whether it applies
    depends on the setting (the operation's description says so)."""
    if settings.metrics_token is None:
        return
    scheme, token = get_authorization_scheme_param(request.headers.get("authorization"))
    expected = settings.metrics_token.get_secret_value().encode()
    given = token.encode() if scheme.lower() == "bearer" else b""
    if not secrets.compare_digest(given, expected):
        raise Unauthorized("Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.")


# --- authentication ----------------------------------------------------------------------------

# Swagger's Authorize button offers both: the password flow (it logs in through the form
# endpoint) and a bearer credential to paste an API key into. Both read the same
# `Authorization: Bearer` header; missing credentials are reported by get_principal, in the
# error envelope.
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/login/form",
    auto_error=False,
    description="Sign in with a username (or email) and password; sends the access token.",
)
api_key_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="APIKey",
    bearerFormat="cj_…",
    description=(
        "An API key from `POST /api/v1/auth/api-keys`, sent as `Authorization: Bearer cj_…`; "
        "an access token pasted here works too."
    ),
)


async def get_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    _api_key: Annotated[HTTPAuthorizationCredentials | None, Depends(api_key_scheme)],
    auth: AuthServiceDep,
    session: SessionDep,
    audit_context: AuditContextDep,
) -> Principal:
    if token is None:
        raise Unauthorized(
            "Send an access token or an API key: Authorization: Bearer <token or cj_ key>."
        )
    principal = await auth.authenticate(token, audit_context.client_address or "unknown")
    audit_context.actor_user_id = principal.user.id
    audit_context.api_key_id = principal.api_key.id if principal.api_key else None
    authz.require_key_scope(principal.api_key, request.method)
    # A write (POST, PUT, PATCH, DELETE) ends the read transaction of authentication now: its
    # own work starts a new one when it first touches the database, and until then no
    # transaction stays open across slow work that needs none (a test run's call to its
    # target, a DNS check, a password hash), which on SQLite would hold the database's one
    # write lock (core/db.py), on PostgreSQL a connection idle in transaction. A read (GET,
    # HEAD) does nothing but database work after this, so it goes on in the same transaction:
    # one BEGIN, COMMIT and pool checkout fewer per request. With an API key the transaction
    # is committed now either way: it may hold the key's `last_used_at`, which a failing
    # request must not roll back.
    if request.method not in _READ_METHODS or principal.api_key is not None:
        await session.commit()
    return principal


_READ_METHODS = frozenset({"GET", "HEAD"})


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


async def get_current_user(principal: CurrentPrincipal) -> User:
    return principal.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_session_claims(principal: CurrentPrincipal) -> TokenClaims:
    """The access token of a signed-in session; an API key is refused (403)."""
    authz.refuse_api_key(principal.api_key, "log out sessions")
    assert principal.claims is not None  # a principal without a key came from a token
    return principal.claims


SessionClaims = Annotated[TokenClaims, Depends(get_session_claims)]


def require_role(*roles: UserRole) -> Callable[[User], Awaitable[User]]:
    """A dependency admitting only users with one of `roles` (authz.require_role)."""

    async def role_dependency(user: CurrentUser) -> User:
        authz.require_role(user, roles)
        return user

    return role_dependency


AdminUser = Annotated[User, Depends(require_role(*authz.ADMINS))]
EditorUser = Annotated[User, Depends(require_role(*authz.EDITORS))]
