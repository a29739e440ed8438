"""The routes of a taxonomy (job categories, PIC teams): one factory over `TaxonomyService`."""

# No `from __future__ import annotations`: FastAPI reads the handlers' annotations at runtime,
# and they name the taxonomy's own request schemas, which exist only inside the factory.

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Path, Query, status
from pydantic import BaseModel

from api.deps import AdminUser, AuditServiceDep, CurrentUser, SessionDep
from api.openapi import error_responses
from api.routing import CollectionRouter
from schemas.taxonomy import TaxonomyCreate, TaxonomyResponses, TaxonomyUpdate
from services.taxonomy import TaxonomyService


@dataclass(frozen=True, slots=True, kw_only=True)
class Taxonomy:
    """What the routes of one taxonomy say differently."""

    prefix: str
    tag: str
    service: type[TaxonomyService[Any]]
    create_schema: type[TaxonomyCreate]
    update_schema: type[TaxonomyUpdate]
    responses: TaxonomyResponses
    singular: str
    """In summaries: "job category"."""
    plural: str
    """In summaries: "job categories"."""
    message_noun: str
    """In response messages: "Category" created."""
    handler_noun: tuple[str, str]
    """Route names (operation ids): `list_categories`, `get_category`, ..."""
    id_name: str
    """The path parameter: `category_id`."""
    rename_summary: str


def taxonomy_router(taxonomy: Taxonomy) -> CollectionRouter:
    router = CollectionRouter(prefix=taxonomy.prefix, tags=[taxonomy.tag])
    responses = taxonomy.responses
    one, many = taxonomy.handler_noun
    # Entries that can be neither renamed nor disabled (`general`) make those a 400.
    protected = " and ".join(f"`{slug}`" for slug in sorted(taxonomy.service.protected_slugs))
    create_schema = taxonomy.create_schema
    update_schema = taxonomy.update_schema

    async def get_service(session: SessionDep, audit: AuditServiceDep) -> TaxonomyService[Any]:
        return taxonomy.service(session, audit=audit)

    service_dep = Annotated[TaxonomyService[Any], Depends(get_service)]
    entry_id = Annotated[uuid.UUID, Path(alias=taxonomy.id_name)]
    include_inactive_query = Annotated[
        bool,
        Query(description=f"Admins only: include disabled {taxonomy.plural} (ignored for others)."),
    ]

    async def list_entries(
        actor: CurrentUser, service: service_dep, include_inactive: include_inactive_query = False
    ) -> BaseModel:
        return responses.list_of(await service.list(include_inactive=include_inactive, actor=actor))

    async def create_entry(
        body: create_schema,  # type: ignore[valid-type]
        _admin: AdminUser,
        service: service_dep,
    ) -> BaseModel:
        item = await service.create(body)
        return responses.with_message(f"{taxonomy.message_noun} created", item)

    async def get_entry(id_: entry_id, _user: CurrentUser, service: service_dep) -> BaseModel:
        return responses.one(await service.get(id_))

    async def update_entry(
        id_: entry_id,
        body: update_schema,  # type: ignore[valid-type]
        _admin: AdminUser,
        service: service_dep,
    ) -> BaseModel:
        item, jobs_updated = await service.update(id_, body)
        return responses.with_moved_jobs(f"{taxonomy.message_noun} updated", item, jobs_updated)

    async def disable_entry(id_: entry_id, _admin: AdminUser, service: service_dep) -> BaseModel:
        item = await service.disable(id_)
        return responses.with_message(f"{taxonomy.message_noun} disabled", item)

    item_path = f"/{{{taxonomy.id_name}:uuid}}"
    router.add_api_route(
        "",
        list_entries,
        methods=["GET"],
        name=f"list_{many}",
        summary=f"List {taxonomy.plural}",
        response_model=responses.listing,
        responses=error_responses(401),
    )
    router.add_api_route(
        "",
        create_entry,
        methods=["POST"],
        name=f"create_{one}",
        status_code=status.HTTP_201_CREATED,
        summary=f"Create a {taxonomy.singular}",
        response_model=responses.message,
        responses=error_responses(401, 403, 409, descriptions={409: "The slug or name is taken"}),
    )
    router.add_api_route(
        item_path,
        get_entry,
        methods=["GET"],
        name=f"get_{one}",
        summary=f"Get a {taxonomy.singular}",
        response_model=responses.single,
        responses=error_responses(401, 404),
    )
    router.add_api_route(
        item_path,
        update_entry,
        methods=["PUT"],
        name=f"update_{one}",
        summary=taxonomy.rename_summary,
        description="The slug follows the name; jobs using the old slug move to the new one.",
        response_model=responses.updated,
        responses=error_responses(
            400,
            401,
            403,
            404,
            409,
            descriptions={
                400: f"`slug` sent, nothing to update, or renaming/disabling {protected}"
                if protected
                else "`slug` sent or nothing to update",
                409: "The new slug or name is taken",
            },
        ),
    )
    router.add_api_route(
        item_path,
        disable_entry,
        methods=["DELETE"],
        name=f"disable_{one}",
        summary=f"Disable a {taxonomy.singular}",
        description="Soft delete: existing jobs keep it; it can no longer be chosen.",
        response_model=responses.message,
        responses=error_responses(
            400, 401, 403, 404, descriptions={400: f"{protected} cannot be disabled"}
        )
        if protected
        else error_responses(401, 403, 404),
    )
    return router
