"""Every request body documented in /openapi.json has an example that works as it stands:
posted as Swagger UI's "Try it out" would post it, each is answered 2xx."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.enums import UserRole
from integrations.address_guard import AddressGuard
from scheduler.dispatcher import Dispatcher
from tests.support.clock import FrozenClock
from tests.support.dispatchers import dispatcher_in_transaction
from tests.support.factories import auth_headers, create_user
from tests.support.fake_dns import FakeResolver
from tests.support.job_factories import create_job

# Bodies that carry a token a static example cannot hold, and the OAuth2 form of Swagger's
# Authorize button (not JSON).
NO_EXAMPLE = {
    ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/login/form"),
    ("post", "/api/v1/jobs/bulk-upload"),
}
# The team and category the other examples name are created by their own examples first.
FIRST = [("post", "/api/v1/pic-teams"), ("post", "/api/v1/job-categories")]
LAST = [("put", "/api/v1/settings/slack")]


@pytest.fixture
async def loopback_only(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> AsyncIterator[Dispatcher]:
    """Example targets (hooks.example.com) resolve to this machine, where nothing listens."""
    guard = AddressGuard(
        allow_private=True, resolver=FakeResolver({"hooks.example.com": ["127.0.0.1"]})
    )
    saved_guard = getattr(app.state, "address_guard", None)
    app.state.address_guard = guard
    try:
        async with dispatcher_in_transaction(app, sessionmaker, clock, guard) as dispatcher:
            yield dispatcher
    finally:
        app.state.address_guard = saved_guard


def documented_bodies(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any] | None]]:
    schemas = document["components"]["schemas"]
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if (method, path) in NO_EXAMPLE or "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            refs = [schema, *schema.get("anyOf", [])]
            name = next(s["$ref"].rsplit("/", 1)[1] for s in refs if "$ref" in s)
            examples = schemas[name].get("examples") or [None]
            found.append((method, path, examples[0]))
    order = {key: index for index, key in enumerate(FIRST)}
    last = {key: index for index, key in enumerate(LAST)}
    return sorted(found, key=lambda item: (last.get(item[:2], -1), order.get(item[:2], len(order))))


async def test_every_documented_request_example_is_accepted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    settings: Settings,
    clock: FrozenClock,
    loopback_only: Dispatcher,
) -> None:
    admin = await create_user(
        session, role=UserRole.ADMIN, username="admin", password="correct-horse-battery"
    )
    headers = auth_headers(settings, clock, admin)
    document = (await client.get("/openapi.json")).json()
    bodies = documented_bodies(document)
    assert len(bodies) >= 17
    missing = [f"{method.upper()} {path}" for method, path, body in bodies if body is None]
    assert not missing, f"request bodies without an example: {missing}"

    ids: dict[str, str] = {"user_id": str(admin.id)}
    for method, path, body in bodies:
        if "{job_id}" in path and "job_id" not in ids:
            job = await create_job(session, owner=admin, pic_team="data-platform")
            ids["job_id"] = str(job.id)
        url = path.format(**ids)
        response = await client.request(method, url, json=body, headers=headers)
        # A manual run goes on in the background, in this test's one connection.
        await loopback_only.drain(grace_seconds=10)
        assert 200 <= response.status_code < 300, (method, path, body, response.text)
        created = response.json()
        for key, id_name in (("pic_team", "team_id"), ("category", "category_id")):
            if method == "post" and isinstance(created.get(key), dict):
                ids[id_name] = created[key]["id"]
