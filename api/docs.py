"""Swagger UI (`/docs`) and ReDoc (`/redoc`) served with their assets from the service itself,
so they work on a machine without internet or behind a strict proxy (FastAPI's own pages load
them from a CDN). The assets come from `fastapi-standalone-docs`, a maintained package that
bundles swagger-ui-dist and ReDoc's standalone build; `swagger-ui-bundle` was passed over as it
still ships Swagger UI 4 and bundles no ReDoc.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
ASSETS_URL = "/docs/assets"
_PACKAGE = "fastapi_standalone_docs"


def add_api_docs(app: FastAPI) -> None:
    """Serve the two documentation pages; the app is created with `docs_url=None` and
    `redoc_url=None` so that FastAPI's CDN pages are not registered."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS_URL, StaticFiles(packages=[(_PACKAGE, "static")]), name="docs-assets")
    # The bundled ReDoc loads its logo from the page's own path: /redoc/logo-mini.svg.
    app.mount(REDOC_URL, StaticFiles(packages=[(_PACKAGE, "static/redoc")]), name="redoc-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/fastapi/favicon.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            init_oauth=app.swagger_ui_init_oauth,
            # No badge from the online validator at swagger.io.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/fastapi/favicon.png",
            with_google_fonts=False,
        )


def _root_path(request: Request) -> str:
    """The prefix a proxy serves the app under, as FastAPI's own pages honour it."""
    root_path: str = request.scope.get("root_path", "")
    return root_path.rstrip("/")
