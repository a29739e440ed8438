"""The one place where errors become HTTP responses in the `{"error","message","details"}`
envelope (README "Errors")."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.routing import allowed_methods
from core import db, errors
from schemas.validation_errors import field_errors

logger = logging.getLogger("api.errors")


class ResponseTracker:
    """Wraps `send` so a middleware knows whether the response has started: after that, an
    error can no longer be answered, only logged."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.ValidationFailed: 422,
    errors.TooManyRequests: 429,
    errors.ServiceUnavailable: 503,
}

_HTTP_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Payload too large",
    415: "Unsupported media type",
}


def error_body(error: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": error, "message": message, "details": details}


def status_for(exc: errors.DomainError) -> int:
    for error_type in type(exc).__mro__:
        if error_type in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[error_type]
    return 400


async def handle_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    return domain_error_response(exc, request.method, request.url.path)


def domain_error_response(exc: errors.DomainError, method: str, path: str) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, errors.Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.TooManyRequests | errors.ServiceUnavailable):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    if isinstance(exc, errors.ServiceUnavailable):
        # An outage, not a bug: one line per request, without a traceback.
        cause = exc.__cause__
        logger.warning(
            "%s %s answered 503: %s%s",
            method,
            path,
            exc.message,
            f" ({type(cause).__name__}: {cause})" if cause is not None else "",
        )
    return JSONResponse(
        error_body(exc.title, exc.message, jsonable_encoder(exc.details)),
        status_code=status_for(exc),
        headers=headers,
    )


async def handle_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = field_errors(exc.errors())
    return JSONResponse(
        error_body("Validation error", "The request is not valid; see details.", details),
        status_code=422,
    )


async def handle_http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = _HTTP_TITLES.get(exc.status_code, "Error")
    message = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and message == "Not Found":
        message = f"No route matches {request.method} {request.url.path}."
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request.scope))}
        if message == "Method Not Allowed":
            message = f"{request.method} is not allowed on {request.url.path}."
    return JSONResponse(error_body(title, message), status_code=exc.status_code, headers=headers)


class UnexpectedErrorMiddleware:
    """Answers an exception no handler took with the 500 envelope, and logs it once; one
    that means the database is away or too slow (`db.as_unavailable`) is a 503 instead.

    Starlette's own last-resort handler (ServerErrorMiddleware) re-raises after answering, so
    uvicorn logged each error a second time ("Exception in ASGI application") and, seeing a
    response already sent, closed the keep-alive connection: the client's next request on it
    was dropped. Nothing leaves this middleware. It sits inside RequestContextMiddleware, so
    the log line carries the request id. An error after the response started (a background
    task) can only be logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = ResponseTracker(send)
        try:
            await self.app(scope, receive, tracked.send)
        except Exception as exc:
            response_started = tracked.started
            unavailable = db.as_unavailable(exc)
            if unavailable is not None and not response_started:
                unavailable.__cause__ = exc
                response = domain_error_response(unavailable, scope["method"], scope["path"])
                await response(scope, receive, send)
                return
            logger.exception(
                "unhandled error on %s %s%s",
                scope["method"],
                scope["path"],
                " after the response started" if response_started else "",
            )
            if not response_started:
                await _internal_error_response(scope)(scope, receive, send)


def _internal_error_response(scope: Scope) -> JSONResponse:
    request_id = scope.get("state", {}).get("request_id")
    return JSONResponse(
        error_body(
            "Internal server error",
            "Something went wrong on our side; quote the request id when reporting it.",
            {"request_id": request_id},
        ),
        status_code=500,
    )


def register_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(errors.DomainError, handle_domain_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_exception)
    # Added before any other middleware, so it is the innermost: CORS and the request id
    # middleware still see (and decorate) the 500 it sends.
    app.add_middleware(UnexpectedErrorMiddleware)
