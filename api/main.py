"""Application factory. `uvicorn api.main:app` serves the service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.bootstrap import create_admin_from_settings
from api.dashboard import Dashboard
from api.docs import add_api_docs
from api.metrics import router as metrics_router
from api.middleware.body_limit import RequestBodyLimitMiddleware
from api.middleware.errors import register_error_handlers
from api.middleware.request_context import REQUEST_ID_HEADER, RequestContextMiddleware
from api.v1.router import api_router
from core.clock import Clock, SystemClock
from core.config import APP_NAME, VERSION, Settings, get_settings
from core.logging import configure_logging
from scheduler.runtime import running_scheduler
from schemas.common import ErrorResponse, ValidationErrorResponse

logger = logging.getLogger("api")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with running_scheduler(
            settings, app.state.clock, start_loop=settings.scheduler_enabled
        ) as runtime:
            app.state.engine = runtime.engine
            app.state.sessionmaker = runtime.sessionmaker
            app.state.address_guard = runtime.guard
            app.state.dispatcher = runtime.dispatcher
            app.state.scheduler = runtime.scheduler
            await create_admin_from_settings(runtime.sessionmaker, settings)
            logger.info("started %s %s (%s)", APP_NAME, VERSION, runtime.engine.dialect.name)
            yield

    app = FastAPI(
        title=APP_NAME,
        version=VERSION,
        description="Schedule HTTP webhooks and GitHub Actions workflows with cron expressions.",
        lifespan=lifespan,
        docs_url=None,  # served by api/docs.py, without a CDN
        redoc_url=None,
        responses={
            422: {"model": ValidationErrorResponse, "description": "Request validation failed"},
            500: {"model": ErrorResponse, "description": "Unexpected error (quote the request id)"},
        },
    )
    app.state.settings = settings
    app.state.clock = clock or SystemClock()

    register_error_handlers(app)
    app.add_middleware(RequestBodyLimitMiddleware, settings=settings)
    app.include_router(api_router)
    app.include_router(metrics_router)
    add_api_docs(app)
    app.router.default = Dashboard(settings.frontend_dist_dir, not_found=app.router.default)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=[REQUEST_ID_HEADER],
        )
    # Added last so it is outermost: every response, CORS preflights included, carries the id.
    app.add_middleware(RequestContextMiddleware)
    return app


def _create_configured_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)


app = _create_configured_app()
