"""Pure ASGI middleware: a request body larger than its limit is a 413 before it is parsed.

The limit is MAX_REQUEST_BYTES, or for a multipart upload MAX_UPLOAD_BYTES plus the framing
allowance (`api/uploads.py` then holds the file itself to MAX_UPLOAD_BYTES). A declared
`Content-Length` above it is refused without reading a byte; a body that streams past it
(chunked, or longer than declared) is cut off as soon as it does.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware.errors import ResponseTracker, error_body
from api.uploads import MULTIPART_OVERHEAD_BYTES
from core.config import Settings


class RequestBodyTooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTP exceptions met while reading a body on to
    the error handlers (anything else there becomes a 400)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(
            status_code=413,
            detail=f"The request body is larger than the {limit:,}-byte limit ({setting}).",
        )
        self.limit = limit


class RequestBodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        too_large = self._error_for(headers)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > too_large.limit:
            await _answer(too_large, scope, receive, send)
            return

        received = 0
        tracked = ResponseTracker(send)

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > too_large.limit:
                    raise too_large
            return message

        try:
            await self.app(scope, limited_receive, tracked.send)
        except RequestBodyTooLarge as exc:
            if tracked.started:
                raise
            await _answer(exc, scope, receive, send)

    def _error_for(self, headers: Headers) -> RequestBodyTooLarge:
        """The answer to this request's body growing too large (read per request: tests and
        operators may change the settings of a running app)."""
        if headers.get("content-type", "").lower().startswith("multipart/form-data"):
            limit = self.settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES
            return RequestBodyTooLarge(limit, "MAX_UPLOAD_BYTES, plus the multipart framing")
        return RequestBodyTooLarge(self.settings.max_request_bytes, "MAX_REQUEST_BYTES")


async def _answer(exc: HTTPException, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(error_body("Payload too large", exc.detail), status_code=413)
    await response(scope, receive, send)
