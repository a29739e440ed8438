"""Property-based contract test: requests generated from /openapi.json, sent as an admin to
the live service, never get a 5xx, and every response matches what the schema documents.

`positive_data_acceptance` is left out: schema-valid requests are refused on purpose by rules
a JSON schema cannot state (a cron expression that never fires, an end date already past, an
unknown PIC team, a duplicate name), with the documented 400/409/422.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok

from api.deps import get_address_guard
from api.main import create_app
from core import db
from core.clock import utcnow
from core.config import Settings
from core.enums import UserRole
from core.security import create_access_token
from integrations.address_guard import AddressGuard
from tests.conftest import make_settings
from tests.support import databases
from tests.support.factories import create_user
from tests.support.fake_dns import FakeResolver
from tests.support.job_factories import create_category, create_job, create_team
from tests.support.live_server import serve

# Addresses a mail system accepts. `format: email` also admits reserved domains such as
# `x@y.test`, which the API refuses (422) as email-validator does.
schemathesis.openapi.format(
    "email",
    st.from_regex(r"\A[a-z0-9]{1,10}([._+-][a-z0-9]{1,10}){0,2}@[a-z0-9]{1,20}\.(com|org|net)\Z"),
)


@dataclass(frozen=True)
class Contract:
    settings: Settings
    admin_id: uuid.UUID
    base_url: str


@pytest.fixture(scope="session")
async def contract_database_url(server_url: str) -> AsyncIterator[str]:
    # A database of its own: generated requests commit whatever they create.
    url = await databases.create_migrated_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


@pytest.fixture(scope="session")
async def contract_admin_id(contract_database_url: str) -> uuid.UUID:
    engine = db.create_engine(make_settings(contract_database_url))
    try:
        async with db.create_sessionmaker(engine)() as session, session.begin():
            admin = await create_user(session, role=UserRole.ADMIN)
            team = await create_team(session, name="Data Platform")
            await create_category(session, name="Reports")
            await create_job(session, owner=admin, pic_team=team.slug, name="Seeded job")
            return admin.id
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def contract(contract_database_url: str, contract_admin_id: uuid.UUID) -> Iterator[Contract]:
    contract_settings = make_settings(contract_database_url)
    app = create_app(contract_settings)
    with serve(app) as base_url:
        # Generated host names are looked up in an empty table, never on the network.
        offline = AddressGuard(resolver=FakeResolver({}))
        app.dependency_overrides[get_address_guard] = lambda: offline
        app.state.dispatcher.guard = offline
        yield Contract(contract_settings, contract_admin_id, base_url)


@pytest.fixture(scope="session")
def api_schema(contract: Contract) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{contract.base_url}/openapi.json")


def test_api_conforms_to_its_openapi_schema(
    api_schema: schemathesis.BaseSchema, contract: Contract
) -> None:
    # Driven through Hypothesis directly: schemathesis' pytest plugin lags behind pytest.
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result!r}"
        operations.append(result.ok())
    assert len(operations) >= 40

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            # A fresh token each time: a generated logout revokes the one it carries.
            token = create_access_token(contract.admin_id, contract.settings, utcnow()).token
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        check()


def test_every_operation_is_documented(api_schema: schemathesis.BaseSchema) -> None:
    document = api_schema.raw_schema
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("tags"), f"{where} has no tags"
            assert operation.get("responses"), f"{where} documents no responses"
