"""Router behaviour shared by every domain router.

`ApiRouter` (and `CollectionRouter`) build their routes as `ApiRoute`: the rules every
operation applies to its query and JSON body before FastAPI validates them.

- A query parameter the operation does not define is a 422 naming it (a typo such as
  `?pgae=2` never passes silently as the first page).
- A JSON body must be UTF-8 (RFC 8259); anything else is a 422 like other malformed JSON,
  not the 400 FastAPI answers when `json.loads` cannot decode the bytes.
- Numbers must be finite: Python's parser reads `NaN`, `Infinity` and `1e400` (infinity),
  none of which is JSON, and PostgreSQL refuses them. A 422 names each path.
- An operation that takes a JSON body refuses a body of any other media type (415).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import Scope

from schemas.json_value import non_finite_paths

# Every operation documents its 4xx with this schema (`api/openapi.py`).
ERROR_SCHEMA = "#/components/schemas/ErrorResponse"
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise json.JSONDecodeError(
                    "the body is not UTF-8", body.decode("utf-8", "replace"), exc.start
                ) from None
            self._json = json.loads(text)
        return self._json


class ApiRoute(APIRoute):
    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self.takes_json:
            for status, description in (
                (413, "The body is larger than MAX_REQUEST_BYTES"),
                (415, "The body was not sent as application/json"),
            ):
                self.responses.setdefault(
                    status,
                    {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA}}},
                    },
                )

    @property
    def takes_json(self) -> bool:
        return self.body_field is not None and not isinstance(
            self.body_field.field_info, params.Form
        )

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()
        known_query = _query_parameter_names(self)
        takes_json = self.takes_json

        async def strict_handler(request: Request) -> Response:
            request = StrictJsonRequest(request.scope, request.receive)
            _refuse_unknown_query_parameters(request, known_query)
            if takes_json:
                await _screen_json_body(request)
            return await handler(request)

        return strict_handler


def _query_parameter_names(route: APIRoute) -> frozenset[str]:
    """The query parameters of the operation and of every dependency it solves."""
    names: set[str] = set()
    dependants = [route.dependant]
    while dependants:
        dependant = dependants.pop()
        dependants.extend(dependant.dependencies)
        for field in dependant.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                # A query model (`Annotated[Model, Query()]`): its fields are the parameters.
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
    return frozenset(names)


def _refuse_unknown_query_parameters(request: Request, known: frozenset[str]) -> None:
    unknown = [name for name in dict.fromkeys(request.query_params) if name not in known]
    if unknown:
        raise RequestValidationError(
            [
                {
                    "type": "extra_forbidden",
                    "loc": ("query", name),
                    "msg": "Unknown query parameter; this operation does not define it",
                    "input": request.query_params.getlist(name),
                }
                for name in unknown
            ]
        )


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


async def _screen_json_body(request: StrictJsonRequest) -> None:
    if not await request.body():
        return
    if not _is_json(request.headers.get("content-type")):
        raise HTTPException(
            status_code=415,
            detail="Send the body as JSON, with the header Content-Type: application/json.",
        )
    try:
        document = await request.json()
    except json.JSONDecodeError:
        return  # FastAPI answers it as malformed JSON (422, the position in `field`)
    errors = [
        {
            "type": "finite_number",
            "loc": ("body", *path),
            "msg": "Input should be a finite number (JSON has no NaN or Infinity)",
            "input": None,
        }
        for path in non_finite_paths(document)
    ]
    if errors:
        raise RequestValidationError(errors)


class ApiRouter(APIRouter):
    """The router of every domain: its routes are `ApiRoute`s."""

    def __init__(self, **options: Any) -> None:
        super().__init__(route_class=ApiRoute, **options)


class CollectionRouter(ApiRouter):
    """Collection routes (`""` under the router's prefix, e.g. `/jobs`) also answer at the
    trailing-slash path (`/jobs/`) directly, not with a redirect that a POST would not follow;
    the schema lists each route once."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().add_api_route(path, endpoint, **options)
        if path == "":
            super().add_api_route("/", endpoint, **{**options, "include_in_schema": False})


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route serves at the request's path: the `Allow` of its 405.

    Starlette names only the methods of the first route matching the path, so `/jobs` said
    `GET` though it serves POST, and `/jobs/test-run` named those of `/jobs/{job_id}`.
    """
    routes = scope["app"].router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]
