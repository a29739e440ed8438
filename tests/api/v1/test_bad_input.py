"""Bad input at the HTTP edge: a clear 4xx in the envelope, never a 500 or a stuck run
(issue 10, item 5)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from models.job_execution import JobExecution
from models.pic_team import PicTeam
from models.user import User
from schemas.json_value import METADATA_MAX_BYTES
from tests.support.job_factories import create_job, job_payload

pytestmark = pytest.mark.usefixtures("fake_dns")

JOBS = "/api/v1/jobs"
JSON = {"Content-Type": "application/json"}
NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400"]


def fields_of(response: httpx.Response) -> list[str]:
    return [detail["field"] for detail in response.json()["details"]]


@pytest.mark.parametrize("number", NON_FINITE)
async def test_non_finite_numbers_in_metadata_are_422_naming_the_field_everywhere(
    client: httpx.AsyncClient,
    session: AsyncSession,
    admin: User,
    admin_headers: dict[str, str],
    team: PicTeam,
    number: str,
) -> None:
    job = await create_job(session, owner=admin, pic_team=team.slug)
    metadata = '{"nested": {"values": [1, ' + number + "]}}"
    create = job_payload(team.slug)
    create_body = (
        "{" + ", ".join(f'"{key}": "{value}"' for key, value in create.items()) + ", "
        f'"metadata": {metadata}' + "}"
    )
    attempts = [
        ("POST", JOBS, create_body),
        ("PUT", f"{JOBS}/{job.id}", '{"metadata": ' + metadata + "}"),
        ("PATCH", f"{JOBS}/{job.id}", '{"metadata": ' + metadata + "}"),
        (
            "POST",
            f"{JOBS}/test-run",
            '{"target_url": "https://hooks.example.com/x", "metadata": ' + metadata + "}",
        ),
        ("POST", f"{JOBS}/{job.id}/execute", '{"metadata": ' + metadata + "}"),
    ]
    for method, url, body in attempts:
        response = await client.request(
            method, url, content=body.encode(), headers={**admin_headers, **JSON}
        )
        assert response.status_code == 422, (method, url, response.text)
        assert response.json()["error"] == "Validation error"
        assert fields_of(response) == ["body.metadata.nested.values.1"], (method, url)
        assert "finite" in response.json()["details"][0]["message"]

    runs = await session.execute(
        select(func.count()).select_from(JobExecution).where(JobExecution.job_id == job.id)
    )
    assert runs.scalar_one() == 0, "a refused manual run must not leave an execution behind"


async def test_non_finite_number_in_a_csv_request_body_is_a_row_error(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    header = (
        "Job Name,Cron Schedule (JST),Status,Target URL,Repo,GitHub Owner,Workflow Name,"
        "Category,End Date,PIC Team,Request Body,Branch\n"
    )
    row = (
        "nan job,0 2 * * *,enable,https://hooks.example.com/x,,,,,2099-01-01,"
        f'{team.slug},"{{""a"": NaN}}",\n'
    )
    response = await client.post(
        f"{JOBS}/bulk-upload",
        headers=admin_headers,
        files={"file": ("jobs.csv", (header + row).encode(), "text/csv")},
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["created_count"] == 0
    assert "finite" in str(result["errors"])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/executions?page=10000000000000000000",
        "/api/v1/jobs?page=10000000000000000000",
        "/api/v1/notifications?page=10000000000000000000",
        "/api/v1/executions?limit=10000000000000000000",
        "/api/v1/jobs?per_page=10000000000000000000",
    ],
)
async def test_every_listing_bounds_its_page(
    client: httpx.AsyncClient, admin_headers: dict[str, str], url: str
) -> None:
    response = await client.get(url, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert fields_of(response)[0].startswith("query.")


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/jobs",
        "/api/v1/executions",
        "/api/v1/executions/statistics",
        "/api/v1/notifications",
        "/api/v1/notifications/unread-count",
        "/api/v1/pic-teams",
        "/api/v1/job-categories",
        "/api/v1/auth/users",
        f"/api/v1/jobs/{uuid.uuid4()}/executions",
    ],
)
async def test_unknown_query_parameters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, admin_headers: dict[str, str], url: str
) -> None:
    response = await client.get(url, params={"pagee": "2"}, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["query.pagee"]


LOGIN = "/api/v1/auth/login"
LATIN_1_LOGIN = '{"username": "jos\u00e9", "password": "x"}'.encode("latin-1")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("POST", LOGIN),
        ("POST", "/api/v1/auth/register"),
        ("POST", f"{JOBS}/validate-cron"),
        ("POST", JOBS),
        ("PUT", "/api/v1/settings/slack"),
    ],
)
async def test_a_body_that_is_not_utf8_is_a_422_like_malformed_json(
    client: httpx.AsyncClient, admin_headers: dict[str, str], method: str, url: str
) -> None:
    response = await client.request(
        method, url, content=LATIN_1_LOGIN, headers={**admin_headers, **JSON}
    )
    assert response.status_code == 422, response.text
    assert response.json()["details"][0]["type"] == "json_invalid"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
async def test_a_body_of_another_media_type_is_a_415_in_the_envelope(
    client: httpx.AsyncClient, admin_headers: dict[str, str], content_type: str | None
) -> None:
    headers = dict(admin_headers)
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post(
        f"{JOBS}/validate-cron", content=b'{"cron_expression": "0 2 * * *"}', headers=headers
    )
    assert response.status_code == 415, response.text
    body = response.json()
    assert body["error"] == "Unsupported media type"
    assert "application/json" in body["message"]


async def test_an_upload_that_is_not_multipart_is_a_415(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{JOBS}/bulk-upload", content=b"Job Name\n", headers={**admin_headers, **JSON}
    )
    assert response.status_code == 415, response.text
    assert "multipart/form-data" in response.json()["message"]


# --- request size ---------------------------------------------------------------------------


async def test_a_body_above_max_request_bytes_is_413_before_it_is_parsed(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    team: PicTeam,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "max_request_bytes", 10_000)
    body = job_payload(team.slug, metadata={"blob": "x" * 20_000})
    response = await client.post(JOBS, json=body, headers=admin_headers)
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "Payload too large"
    assert "MAX_REQUEST_BYTES" in response.json()["message"]

    # Streamed without a length: cut off as soon as it grows past the limit.
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(1_000):
            yield b"x" * 1_000

    streamed = await client.post(JOBS, content=chunks(), headers={**admin_headers, **JSON})
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["error"] == "Payload too large"


async def test_metadata_has_its_own_cap(
    client: httpx.AsyncClient, admin_headers: dict[str, str], team: PicTeam
) -> None:
    body = job_payload(team.slug, metadata={"blob": "x" * (METADATA_MAX_BYTES + 1)})
    response = await client.post(JOBS, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["body.metadata"]
    assert "65,536 bytes" in response.json()["details"][0]["message"]


# --- what a 422 says ----------------------------------------------------------------------------


async def test_422_fields_are_the_clients_names_and_messages_are_sentences(
    client: httpx.AsyncClient, admin: User, admin_headers: dict[str, str]
) -> None:
    url = f"/api/v1/auth/users/{admin.id}"
    bad_email = await client.put(url, json={"email": "not-an-email"}, headers=admin_headers)
    short_password = await client.put(url, json={"password": "short"}, headers=admin_headers)
    bad_role = await client.put(url, json={"role": "king"}, headers=admin_headers)
    null_email = await client.put(url, json={"email": None}, headers=admin_headers)

    for response in (bad_email, short_password, bad_role, null_email):
        assert response.status_code == 422, response.text
    assert fields_of(bad_email) == ["body.email"]
    assert fields_of(short_password) == ["body.password"]
    assert fields_of(bad_role) == ["body.role"]
    assert fields_of(null_email) == ["body.email"]
    assert "at least 8 characters" in short_password.json()["details"][0]["message"]
    flag = await client.put("/api/v1/settings/slack", json={"is_enabled": 0}, headers=admin_headers)
    assert flag.status_code == 422, "0 is not a JSON boolean"
    assert fields_of(flag) == ["body.is_enabled"]
    for response in (bad_email, short_password, bad_role, null_email):
        message = response.json()["details"][0]["message"]
        assert not message.startswith("Value error"), message
        assert "items" not in message, message


async def test_malformed_json_says_what_is_wrong(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.post(
        f"{JOBS}/validate-cron", content=b'{"cron_expression": ', headers={**admin_headers, **JSON}
    )
    assert response.status_code == 422
    assert response.json()["details"][0]["message"].startswith("Invalid JSON: Expecting value")


# --- 405 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("OPTIONS", JOBS, {"GET", "POST"}),
        ("DELETE", JOBS, {"GET", "POST"}),
        ("GET", f"{JOBS}/test-run", {"POST"}),
        ("DELETE", f"{JOBS}/validate-cron", {"POST"}),
        ("POST", f"{JOBS}/{uuid.uuid4()}", {"GET", "PUT", "PATCH", "DELETE"}),
        ("DELETE", "/api/v1/executions/statistics", {"GET"}),
    ],
)
async def test_405_allow_lists_every_method_the_path_serves(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    method: str,
    url: str,
    allowed: set[str],
) -> None:
    response = await client.request(method, url, headers=admin_headers)
    assert response.status_code == 405, response.text
    assert set(response.headers["allow"].split(", ")) == allowed
    assert response.json()["error"] == "Method not allowed"


async def test_a_malformed_id_in_a_path_is_404(
    client: httpx.AsyncClient, admin_headers: dict[str, str]
) -> None:
    response = await client.get(f"{JOBS}/not-a-uuid", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"] == "Not found"
