"""The service for a real server process that must call no one: `uvicorn --factory
tests.support.offline_app:create_app` (server_process(..., app_factory=OFFLINE_APP)).

Its address guard looks every name up in an empty table and refuses every address, so that
the targets a fuzzer generates (any host, any IP literal) never reach DNS or the network:
creating a job with such a target still works (a name that does not resolve is accepted), a
run or a test run of it fails the way an unreachable target does. Passwords are hashed with
argon2's cheapest parameters: a fuzzer registers users and changes passwords by the hundred,
and the contract does not depend on the hashing cost. Everything else is the app
`uvicorn api.main:app` serves, configured from the environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from passlib.context import CryptContext

from api import main
from api.deps import get_address_guard
from core import security
from core.config import get_settings
from core.urls import Address, TargetRefused
from integrations.address_guard import AddressGuard
from tests.support.fake_dns import FakeResolver


class OfflineGuard(AddressGuard):
    def __init__(self) -> None:
        super().__init__(resolver=FakeResolver({}))

    def check_address(self, address: Address) -> None:
        raise TargetRefused(f"{address} is not called from this test server")


def create_app() -> FastAPI:
    security._passwords = CryptContext(
        schemes=["argon2", "pbkdf2_sha256"],
        argon2__rounds=1,
        argon2__memory_cost=8,
        argon2__parallelism=1,
    )
    app = main.create_app(get_settings())
    guard = OfflineGuard()
    app.dependency_overrides[get_address_guard] = lambda: guard
    served = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with served(app):
            # The lifespan made the process's guard and dispatcher: both use this one.
            app.state.address_guard = guard
            app.state.dispatcher.guard = guard
            yield

    app.router.lifespan_context = lifespan
    return app
