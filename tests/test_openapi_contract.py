"""Property-based contract test: generated requests against the live service never get a 5xx
and every response matches what /openapi.json documents."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok

from api.main import create_app
from tests.conftest import make_settings
from tests.support import databases
from tests.support.live_server import serve


@pytest.fixture(scope="session")
async def contract_database_url(server_url: str) -> AsyncIterator[str]:
    # A database of its own: generated requests commit whatever they create.
    url = await databases.create_migrated_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


@pytest.fixture(scope="session")
def live_server_url(contract_database_url: str) -> Iterator[str]:
    with serve(create_app(make_settings(contract_database_url))) as url:
        yield url


@pytest.fixture(scope="session")
def api_schema(live_server_url: str) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{live_server_url}/openapi.json")


def test_api_conforms_to_its_openapi_schema(api_schema: schemathesis.BaseSchema) -> None:
    # Driven through Hypothesis directly: schemathesis' pytest plugin lags behind pytest.
    operations = []
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), f"the schema has an invalid operation: {result!r}"
        operations.append(result.ok())
    assert operations

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate()

        check()


def test_every_operation_is_documented(api_schema: schemathesis.BaseSchema) -> None:
    document = api_schema.raw_schema
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert operation.get("summary"), f"{where} has no summary"
            assert operation.get("tags"), f"{where} has no tags"
