from __future__ import annotations

from fastapi import APIRouter

from api.v1 import (
    api_keys,
    audit_log,
    auth,
    dashboard,
    executions,
    health,
    job_categories,
    job_runs,
    jobs,
    notifications,
    pic_teams,
    settings,
    users,
)

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(health.router)
api_router.include_router(auth.router)
api_router.include_router(api_keys.router)
api_router.include_router(users.router)
api_router.include_router(jobs.router)
api_router.include_router(job_runs.router)
api_router.include_router(job_categories.router)
api_router.include_router(pic_teams.router)
api_router.include_router(executions.router)
api_router.include_router(notifications.router)
api_router.include_router(settings.router)
api_router.include_router(dashboard.router)
api_router.include_router(audit_log.router)
