"""The built dashboard (`frontend/dist`) served at `/` by the API process itself.

It is the router's default app, which Starlette calls only when no route matched, not even by
path alone: FastAPI's own routes (`/api/v1/...`, `/docs`, `/redoc`, `/openapi.json`) always win,
whenever they were added, and a wrong method on one of them is still `405`. It answers GET and
HEAD outside `/api`; anything else (an unknown `/api/...` path, a POST to `/jobs`) goes on to the
router's usual JSON `404`.
Hashed files under `/assets/` are cached for a year; everything else, `index.html` above all,
is revalidated on each load so a new build is picked up at once. A path that names no file falls
back to `index.html`, which lets the client-side router handle it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import metrics

ASSETS_PREFIX = "assets/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_BUILT_MESSAGE = (
    "The dashboard is not built. Run `make run` (it builds it when npm is installed), or "
    "`make frontend`, then reload."
)


def _is_api_path(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


class Dashboard:
    def __init__(self, dist_dir: Path, not_found: ASGIApp) -> None:
        self.dist_dir = dist_dir
        self.not_found = not_found
        self._files = StaticFiles(directory=dist_dir, check_dir=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in ("GET", "HEAD")
            or _is_api_path(scope["path"])
        ):
            await self.not_found(scope, receive, send)
            return
        scope[metrics.ROUTE_LABEL_SCOPE_KEY] = metrics.DASHBOARD_ROUTE
        relative = scope["path"].lstrip("/")
        cache_control = IMMUTABLE if relative.startswith(ASSETS_PREFIX) else REVALIDATE
        try:
            response = await self._files.get_response(relative or "index.html", scope)
        except HTTPException as exc:
            # A missing hashed asset is a real 404 (an old page asking for a file a new build
            # replaced); any other unknown path is a client-side route.
            if exc.status_code != 404 or relative.startswith(ASSETS_PREFIX):
                raise
            response = await self._index(scope)
            cache_control = REVALIDATE

        async def send_with_cache_control(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Cache-Control"] = cache_control
            await send(message)

        await response(scope, receive, send_with_cache_control)

    async def _index(self, scope: Scope) -> Response:
        try:
            return await self._files.get_response("index.html", scope)
        except HTTPException as exc:
            if exc.status_code == 404:
                raise HTTPException(404, NOT_BUILT_MESSAGE) from exc
            raise
