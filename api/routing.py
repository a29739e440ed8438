"""Router behaviour shared by every domain router."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class CollectionRouter(APIRouter):
    """Collection routes (`""` under the router's prefix, e.g. `/jobs`) also answer at the
    trailing-slash path (`/jobs/`) directly, not with a redirect that a POST would not follow;
    the schema lists each route once."""

    def add_api_route(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        super().add_api_route(path, endpoint, **options)
        if path == "":
            super().add_api_route("/", endpoint, **{**options, "include_in_schema": False})
