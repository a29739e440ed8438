"""The ceiling reference: the load-tested read endpoints on bare Starlette and a raw asyncpg pool.

Same URLs, same JSON, same token check (python-jose, plus the user/revocation query), same SQL
as the service issues, but no FastAPI dependency injection, no ORM, no pydantic models and no
explicit transaction: each statement runs on a pooled connection through asyncpg's statement
cache, i.e. as a prepared statement after its first use on that connection, and rows are turned
into JSON by pydantic-core's `to_json`. It tells how far the full stack is from what Python,
asyncpg and this PostgreSQL can do for the same answers.

    uvicorn --factory loadtest.ceiling_app:create_app --host 127.0.0.1 --port 8100
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

import asyncpg
from pydantic_core import to_json
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from api.middleware.request_context import RequestContextMiddleware
from core import cron
from core.clock import utcnow
from core.config import Settings
from core.enums import TokenType
from core.errors import Unauthorized
from core.security import decode_token

JOB_COLUMNS = (
    "id, name, cron_expression, timezone, target_url, http_method, github_owner, github_repo, "
    "github_workflow_name, metadata, category, pic_team, end_date, enable_email_notifications, "
    "notification_emails, notify_on_success, timeout_seconds, max_retries, created_by, "
    "is_active, created_at, updated_at, last_execution_at, next_run_at"
)
CURRENT_USER = (
    'SELECT id, is_active FROM "user" WHERE id = $1 '
    "AND NOT (EXISTS (SELECT revoked_token.jti FROM revoked_token WHERE revoked_token.jti = $2))"
)
JOB_BY_ID = f"SELECT {JOB_COLUMNS} FROM job WHERE id = $1"
JOB_PAGE = (
    f"SELECT {JOB_COLUMNS} FROM job ORDER BY created_at DESC NULLS LAST, id ASC LIMIT $1 OFFSET $2"
)
JOB_COUNT = "SELECT count(*) FROM job"
EXECUTION_PAGE = (
    "SELECT e.id, e.job_id, j.name AS job_name, e.status, e.trigger_type, e.scheduled_for, "
    "e.started_at, e.completed_at, e.duration_seconds, e.execution_type, e.target, "
    "e.response_status, e.error_message, e.output, e.attempt "
    "FROM job_execution e JOIN job j ON j.id = e.job_id WHERE e.status = ANY($1::varchar[]) "
    "ORDER BY e.scheduled_for DESC, e.attempt DESC, e.id LIMIT $2 OFFSET $3"
)
EXECUTION_COUNT = "SELECT count(*) FROM job_execution WHERE status = ANY($1::varchar[])"
EXECUTION_STATUSES = frozenset({"running", "success", "failed", "missed", "skipped", "cancelled"})


def asyncpg_dsn(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url.removeprefix(prefix)
    if url.startswith("postgresql://"):
        return url
    raise ValueError(f"the ceiling reference runs on PostgreSQL only, not {url!r}")


def _json(
    content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(to_json(content), status_code, headers, media_type="application/json")


def _error(status_code: int, error: str, message: str, details: Any = None) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if status_code == 401 else None
    body = {"error": error, "message": message, "details": details}
    return _json(body, status_code, headers)


def _job(row: Mapping[str, Any]) -> dict[str, Any]:
    job = dict(row)
    next_run_at: datetime | None = job.pop("next_run_at")
    job["next_execution_at"] = None
    if job["is_active"] and next_run_at is not None:
        local = next_run_at.astimezone(cron.zone(job["timezone"]))
        end_date: date = job["end_date"]
        job["next_execution_at"] = local if local.date() <= end_date else None
    return job


def _int(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw)  # ValueError becomes a 422 in _handler
    if not low <= value <= high:
        raise ValueError(name)
    return value


class Ceiling:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "the pool is made by the lifespan"
        return self._pool

    async def open(self) -> None:
        async def init(connection: asyncpg.Connection) -> None:
            await connection.set_type_codec(
                "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
            )

        self._pool = await asyncpg.create_pool(
            asyncpg_dsn(self.settings.database_url),
            min_size=self.settings.db_pool_size,
            max_size=self.settings.db_pool_size + self.settings.db_max_overflow,
            timeout=self.settings.db_connect_timeout_seconds,
            init=init,
        )

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()

    async def _authenticate(self, connection: asyncpg.Connection, request: Request) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Send an access token: Authorization: Bearer <token>.")
        claims = decode_token(token, TokenType.ACCESS, self.settings, utcnow())
        user = await connection.fetchrow(CURRENT_USER, claims.user_id, claims.jti)
        if user is None or not user["is_active"]:
            raise Unauthorized(
                "The token has been revoked, or its user no longer exists or is deactivated.",
                title="Invalid token",
            )

    async def list_jobs(self, request: Request) -> Response:
        page = _int(request, "page", 1, 1, 1_000_000)
        per_page = _int(request, "per_page", 20, 1, 100)
        async with self.pool.acquire() as connection:
            await self._authenticate(connection, request)
            rows = await connection.fetch(JOB_PAGE, per_page, (page - 1) * per_page)
            total: int = await connection.fetchval(JOB_COUNT)
        return _json(
            {
                "count": len(rows),
                "total": total,
                "page": page,
                "per_page": per_page,
                "total_pages": math.ceil(total / per_page) if total else 0,
                "jobs": [_job(row) for row in rows],
            }
        )

    async def get_job(self, request: Request) -> Response:
        job_id: uuid.UUID = request.path_params["job_id"]
        async with self.pool.acquire() as connection:
            await self._authenticate(connection, request)
            row = await connection.fetchrow(JOB_BY_ID, job_id)
        if row is None:
            return _error(404, "Not found", f"No job found with ID: {job_id}")
        return _json({"job": _job(row)})

    async def list_executions(self, request: Request) -> Response:
        page = _int(request, "page", 1, 1, 1_000_000)
        limit = _int(request, "limit", 20, 1, 200)
        statuses = [
            part.strip()
            for value in request.query_params.getlist("status")
            for part in value.split(",")
            if part.strip()
        ] or sorted(EXECUTION_STATUSES)
        if not set(statuses) <= EXECUTION_STATUSES:
            raise ValueError("status")
        async with self.pool.acquire() as connection:
            await self._authenticate(connection, request)
            rows = await connection.fetch(EXECUTION_PAGE, statuses, limit, (page - 1) * limit)
            total: int = await connection.fetchval(EXECUTION_COUNT, statuses)
        return _json(
            {
                "executions": [dict(row) for row in rows],
                "total": total,
                "page": page,
                "limit": limit,
                "total_pages": math.ceil(total / limit),
            }
        )


def create_app(settings: Settings | None = None) -> Starlette:
    ceiling = Ceiling(settings or Settings())

    def handler(method: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await method(request)
            except Unauthorized as exc:
                return _error(401, exc.title, exc.message)
            except ValueError as exc:
                return _error(422, "Validation error", f"Invalid query parameter: {exc}")
            return response

        return endpoint

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await ceiling.open()
        try:
            yield
        finally:
            await ceiling.close()

    routes = [
        Route("/api/v1/jobs", handler(ceiling.list_jobs), methods=["GET"]),
        Route("/api/v1/jobs/{job_id:uuid}", handler(ceiling.get_job), methods=["GET"]),
        Route("/api/v1/executions", handler(ceiling.list_executions), methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(RequestContextMiddleware)
    return app
