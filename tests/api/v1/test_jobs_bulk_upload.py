"""POST /jobs/bulk-upload: CSV rows validated like POST /jobs, partial success, dry runs,
header variants, encodings and size limits."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from models.job import Job
from models.pic_team import PicTeam
from models.user import User
from services.job import JobService
from tests.support.job_factories import POLICY_DEFAULTS, create_category, create_job

pytestmark = pytest.mark.usefixtures("fake_dns")

UPLOAD = "/api/v1/jobs/bulk-upload"
SHEET_HEADER = (
    "Job Name,Cron Schedule (JST),Status,Target URL,Repo,GitHub Owner,Workflow Name,"
    "Category,End Date,PIC Team,Request Body,Branch"
)


def csv_text(*lines: str, newline: str = "\n") -> str:
    return newline.join(lines) + newline


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes | str,
    **fields: Any,
) -> httpx.Response:
    data = content.encode() if isinstance(content, str) else content
    return await client.post(
        UPLOAD,
        files={"file": ("jobs.csv", data, "text/csv")},
        data={
            key: str(value).lower() if isinstance(value, bool) else value
            for key, value in fields.items()
        },
        headers=headers,
    )


async def stored_jobs(session: AsyncSession) -> list[Job]:
    return list((await session.execute(select(Job).order_by(Job.name))).scalars())


async def test_spreadsheet_export_imports_every_column(
    client: httpx.AsyncClient,
    member: User,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    await create_category(session, name="Reports")
    content = csv_text(
        SHEET_HEADER,
        "Webhook job,0 2 * * *,enable,https://hooks.example.com/a,,,,Reports,2026-12-31,"
        'Data Platform,"{""env"": ""prod""}",',
        "GitHub job,30 4 * * 1-5,disable,,acme/etl,,nightly.yml,,2026/12/1,data-platform,"
        '"{""dataset"": ""sales""}",release',
    )

    response = await upload(client, member_headers, content)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "dry_run",
        "stats",
        "created_count",
        "error_count",
        "errors",
        "jobs",
    }
    assert body["dry_run"] is False
    assert body["stats"] == {
        "original_row_count": 2,
        "removed_empty_row_count": 0,
        "processed_row_count": 2,
    }
    assert (body["created_count"], body["error_count"], body["errors"]) == (2, 0, [])
    webhook, github = body["jobs"]
    assert webhook["target_url"] == "https://hooks.example.com/a"
    assert webhook["category"] == "reports"
    assert webhook["metadata"] == {"env": "prod"}
    assert webhook["timezone"] == "Asia/Tokyo"  # the column says JST
    assert webhook["is_active"] is True
    assert webhook["created_by"] == str(member.id)
    assert (github["github_owner"], github["github_repo"], github["github_workflow_name"]) == (
        "acme",
        "etl",
        "nightly.yml",
    )
    assert github["metadata"] == {"dataset": "sales", "branchDetails": "release"}
    assert github["is_active"] is False
    assert github["next_execution_at"] is None
    assert github["end_date"] == "2026-12-01"
    assert [job.name for job in await stored_jobs(session)] == ["GitHub job", "Webhook job"]


async def test_policy_columns_are_imported_and_bad_cells_are_row_errors(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team,Max Retries,"
        "Min Backoff Seconds,Max Backoff Seconds,Max Doublings,Max Retry Duration Seconds,"
        "Concurrency Policy,Catchup,Misfire Grace Seconds",
        "Policies,0 2 * * *,https://hooks.example.com/a,2026-12-31,data-platform,"
        "4,0.5,120,2,600,forbid,all,900",
        "Defaults,0 3 * * *,https://hooks.example.com/b,2026-12-31,data-platform,,,,,,,,",
        "Bad retries,0 4 * * *,https://hooks.example.com/c,2026-12-31,data-platform,three,,,,,,,",
        "Bad catchup,0 5 * * *,https://hooks.example.com/d,2026-12-31,data-platform,"
        ",,,,,,sometimes,",
        "Too many,0 6 * * *,https://hooks.example.com/e,2026-12-31,data-platform,11,,,,,,,",
    )

    response = await upload(client, member_headers, content)

    assert response.status_code == 200, response.text
    body = response.json()
    policies, defaults = body["jobs"]
    assert {key: policies[key] for key in POLICY_DEFAULTS} == {
        "max_retries": 4,
        "min_backoff_seconds": 0.5,
        "max_backoff_seconds": 120,
        "max_doublings": 2,
        "max_retry_duration_seconds": 600,
        "concurrency_policy": "forbid",
        "catchup": "all",
        "misfire_grace_seconds": 900,
    }
    assert (defaults["max_retries"], defaults["catchup"], defaults["misfire_grace_seconds"]) == (
        0,
        "latest",
        None,
    )
    errors = {error["name"]: error["error"] for error in body["errors"]}
    assert errors["Bad retries"] == 'max_retries must be a whole number, not "three"'
    assert errors["Bad catchup"].startswith("catchup: ")
    assert errors["Too many"].startswith("max_retries: ")
    assert body["error_count"] == 3


async def test_mixed_rows_create_the_good_ones_and_report_the_rest(
    client: httpx.AsyncClient,
    admin: User,
    admin_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    await create_job(session, owner=admin, pic_team=team.slug, name="Existing")
    content = csv_text(
        "name,cron_expression,target_url,end_date,pic_team,Request Body,Status",
        "ok-1,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform,,",
        "bad-cron,0 1 * *,https://hooks.example.com/2,2026-12-31,data-platform,,",
        "ok-2,0 2 * * *,https://hooks.example.com/3,2026-12-31,data-platform,,",
        "Existing,0 3 * * *,https://hooks.example.com/4,2026-12-31,data-platform,,",
        "no-team,0 4 * * *,https://hooks.example.com/5,2026-12-31,nobody,,",
        "past,0 5 * * *,https://hooks.example.com/6,2026-01-01,data-platform,,",
        "private,0 6 * * *,http://192.168.0.10/x,2026-12-31,data-platform,,",
        "no-target,0 7 * * *,,2026-12-31,data-platform,,",
        "bad-body,0 8 * * *,https://hooks.example.com/7,2026-12-31,data-platform,[1],",
        "bad-status,0 9 * * *,https://hooks.example.com/8,2026-12-31,data-platform,,maybe",
        "ok-2,0 10 * * *,https://hooks.example.com/9,2026-12-31,data-platform,,",
        ",0 11 * * *,https://hooks.example.com/10,2026-12-31,data-platform,,",
    )

    response = await upload(client, admin_headers, content)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["created_count"] == 2
    # Created rows carry their row number too: one table of every row can be drawn from both.
    assert [(job["row"], job["name"]) for job in body["jobs"]] == [(2, "ok-1"), (4, "ok-2")]
    assert body["jobs"][0]["last_execution"] is None
    errors = {(error["row"], error["name"]): error["error"] for error in body["errors"]}
    assert list(errors) == [
        (3, "bad-cron"),
        (5, "Existing"),
        (6, "no-team"),
        (7, "past"),
        (8, "private"),
        (9, "no-target"),
        (10, "bad-body"),
        (11, "bad-status"),
        (12, "ok-2"),
        (13, None),
    ]
    assert body["error_count"] == 10
    assert "cron_expression" in errors[(3, "bad-cron")]
    assert "already exists" in errors[(5, "Existing")]
    assert "nobody" in errors[(6, "no-team")]
    assert "end_date" in errors[(7, "past")]
    assert "private" in errors[(8, "private")]
    assert "target" in errors[(9, "no-target")]
    assert "JSON object" in errors[(10, "bad-body")]
    assert "Status" in errors[(11, "bad-status")]
    assert "row 4" in errors[(12, "ok-2")]
    assert "name" in errors[(13, None)]
    assert [job.name for job in await stored_jobs(session)] == ["Existing", "ok-1", "ok-2"]


async def test_dry_run_validates_and_writes_nothing(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam, session: AsyncSession
) -> None:
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
        "one,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform",
        "two,bad,https://hooks.example.com/2,2026-12-31,data-platform",
    )

    response = await upload(client, member_headers, content, dry_run=True)

    body = response.json()
    assert response.status_code == 200
    assert body["dry_run"] is True
    assert (body["created_count"], body["error_count"]) == (1, 1)
    assert (body["jobs"][0]["row"], body["jobs"][0]["name"]) == (2, "one")
    assert body["jobs"][0]["next_execution_at"] == "2026-06-02T01:00:00+09:00"
    assert body["errors"][0]["row"] == 3
    assert await stored_jobs(session) == []


@pytest.mark.parametrize(
    "header",
    [
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
        "name,cron_expression,target_url,end_date,pic_team",
        "JOB NAME,cron schedule (jst),TARGET_URL,End_Date,pic team",
        " Job  Name ,Cron-Expression,Target Url,END DATE,Pic_Team",
    ],
)
async def test_header_variants(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam, header: str
) -> None:
    content = csv_text(
        header, "variant,0 1 * * *,https://hooks.example.com/x,2026-12-31,data-platform"
    )

    response = await upload(client, member_headers, content)

    assert response.status_code == 200, response.text
    assert response.json()["created_count"] == 1


async def test_bom_and_windows_line_endings(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
        "first,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform",
        "second,0 2 * * *,https://hooks.example.com/2,2026-12-31,data-platform",
        newline="\r\n",
    )

    response = await upload(client, member_headers, b"\xef\xbb\xbf" + content.encode())

    assert response.status_code == 200, response.text
    assert response.json()["created_count"] == 2
    assert [job["name"] for job in response.json()["jobs"]] == ["first", "second"]


async def test_empty_header_columns_and_empty_rows_are_dropped(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    content = csv_text(
        "Job Name,,Cron Schedule (JST),Target URL,End Date,PIC Team,,Notes",
        "first,junk,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform,,x",
        ",,,,,,,",
        "",
        "second,,0 2 * * *,,2026-12-31,data-platform,,",
        " , ,  ,,,,,",
        '"multi-line ""name""\nsecond line",,0 3 * * *,https://hooks.example.com/3,2026-12-31,'
        "data-platform,,",
        "last,,0 4 * * *,https://hooks.example.com/4,2026-12-31,data-platform,,",
    )

    response = await upload(client, member_headers, content)

    body = response.json()
    assert body["stats"] == {
        "original_row_count": 7,
        "removed_empty_row_count": 3,
        "processed_row_count": 4,
    }
    # Rows keep the numbers a spreadsheet shows: the empty rows still count.
    assert [(error["row"], error["name"]) for error in body["errors"]] == [(5, "second")]
    assert [(job["row"], job["name"]) for job in body["jobs"]] == [
        (2, "first"),
        (7, 'multi-line "name"\nsecond line'),
        (8, "last"),
    ]


async def test_repo_forms_and_default_owner(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "github_default_owner", "settings-org")
    content = csv_text(
        "Job Name,Cron Schedule (JST),Repo,GitHub Owner,Workflow Name,End Date,PIC Team",
        "slash,0 1 * * *,acme/etl,,a.yml,2026-12-31,data-platform",
        "column,0 1 * * *,etl,column-org,a.yml,2026-12-31,data-platform",
        "form,0 1 * * *,etl,,a.yml,2026-12-31,data-platform",
        "url,0 1 * * *,https://github.com/acme/site.git,,a.yml,2026-12-31,data-platform",
        "clash,0 1 * * *,acme/etl,other,a.yml,2026-12-31,data-platform",
    )

    response = await upload(client, member_headers, content, default_github_owner="form-org")

    body = response.json()
    owners = {job["name"]: (job["github_owner"], job["github_repo"]) for job in body["jobs"]}
    assert owners == {
        "slash": ("acme", "etl"),
        "column": ("column-org", "etl"),
        "form": ("form-org", "etl"),
        "url": ("acme", "site"),
    }
    assert [(error["row"], error["name"]) for error in body["errors"]] == [(6, "clash")]


async def test_settings_owner_is_the_last_default(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    content = csv_text(
        "Job Name,Cron Schedule (JST),Repo,Workflow Name,End Date,PIC Team",
        "bare,0 1 * * *,etl,a.yml,2026-12-31,data-platform",
    )

    without = await upload(client, member_headers, content, dry_run=True)
    monkeypatch.setattr(settings, "github_default_owner", "settings-org")
    with_setting = await upload(client, member_headers, content, dry_run=True)

    assert "github_owner" in without.json()["errors"][0]["error"]
    assert with_setting.json()["jobs"][0]["github_owner"] == "settings-org"


async def test_a_thousand_rows(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
) -> None:
    lines = [SHEET_HEADER]
    for index in range(1000):
        lines.append(
            f"job-{index:04d},{index % 60} {index % 24} * * *,enable,"
            f"https://hooks.example.com/{index},,,,,2026-12-31,data-platform,,"
        )
    started = time.perf_counter()

    response = await upload(client, member_headers, csv_text(*lines))

    elapsed = time.perf_counter() - started
    body = response.json()
    assert response.status_code == 200, response.text[:500]
    assert body["stats"]["original_row_count"] == 1000
    assert (body["created_count"], body["error_count"]) == (1000, 0)
    assert len(body["jobs"]) == 1000
    count = await session.execute(select(func.count()).select_from(Job))
    assert count.scalar_one() == 1000
    assert elapsed < 60


@pytest.mark.parametrize(
    ("content", "title"),
    [
        (b"", "Empty file"),
        (b"\xef\xbb\xbf \r\n\r\n", "Empty file"),
        (b'"', "Empty file"),
        (b',,,\n" ",\n', "Empty file"),
        (
            b"Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team\r\n,,,,\r\n",
            "Empty file",
        ),
        (b"Job Name,Cron Schedule (JST)\nx,0 1 * * *\n", "Invalid CSV"),
        (
            "Job Name,Cron Schedule (JST),End Date,PIC Team\nCafé,0 1 * * *,2026-12-31,t\n".encode(
                "cp1252"
            ),
            "Invalid file encoding",
        ),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "Invalid file encoding"),
        (b"name,Job Name,cron,end date,pic team\n", "Invalid CSV"),
    ],
)
async def test_unusable_files_are_400(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    session: AsyncSession,
    content: bytes,
    title: str,
) -> None:
    response = await upload(client, member_headers, content)

    assert response.status_code == 400, response.text
    assert response.json()["error"] == title
    assert await stored_jobs(session) == []


async def test_oversized_file_is_413(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    team: PicTeam,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "max_upload_bytes", 1024)
    header = "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team\n"
    row = "x,0 1 * * *,https://hooks.example.com/x,2026-12-31,data-platform\n"
    just_fits = (header + row * 20).encode()[:1024]
    too_big = (header + row * 20).encode()[:1025]

    fits = await upload(client, member_headers, just_fits, dry_run=True)
    over = await upload(client, member_headers, too_big, dry_run=True)
    huge = await upload(client, member_headers, b"x" * 10_000_000)

    assert fits.status_code == 200
    assert over.status_code == 413
    assert over.json()["error"] == "File too large"
    assert huge.status_code == 413


async def test_an_unbounded_body_is_cut_off_while_streaming(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "max_upload_bytes", 1024)
    sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
        while sent < 50_000_000:
            sent += 65536
            yield b"a" * 65536

    response = await client.post(
        UPLOAD,
        content=endless(),
        headers={**member_headers, "Content-Type": "multipart/form-data; boundary=b"},
    )

    assert response.status_code == 413
    assert sent < 1_000_000  # stopped reading long before the end


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"data": {"dry_run": "true"}}, 422, "body.file"),
        ({"files": {"attachment": ("a.csv", b"x", "text/csv")}}, 422, "body.file"),
        (
            {"files": {"other": ("a.csv", b"x", "text/csv")}, "data": {"file": "a,b"}},
            422,
            "body.file",
        ),
        (
            {"content": b"--x\r\nbroken", "headers": {"Content-Type": "multipart/form-data"}},
            400,
            None,
        ),
        ({"json": {"file": "a,b"}}, 415, None),
        ({"content": b"a,b", "headers": {"Content-Type": "text/csv"}}, 415, None),
        (
            {"files": {"file": ("a.csv", b"x", "text/csv")}, "data": {"dry_run": "perhaps"}},
            422,
            "body.dry_run",
        ),
    ],
)
async def test_malformed_requests(
    client: httpx.AsyncClient,
    member_headers: dict[str, str],
    kwargs: dict[str, Any],
    status: int,
    field: str | None,
) -> None:
    headers = {**member_headers, **kwargs.pop("headers", {})}

    response = await client.post(UPLOAD, headers=headers, **kwargs)

    assert response.status_code == status, response.text
    if field is not None:
        assert field in {detail["field"] for detail in response.json()["details"]}


@pytest.mark.parametrize(("actor", "status"), [("admin", 200), ("viewer", 403), ("anonymous", 401)])
async def test_rbac(
    client: httpx.AsyncClient,
    admin_headers: dict[str, str],
    viewer_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
    actor: str,
    status: int,
) -> None:
    headers = {"admin": admin_headers, "viewer": viewer_headers, "anonymous": {}}[actor]
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
        "rbac,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform",
    )

    response = await upload(client, headers, content)

    assert response.status_code == status
    assert len(await stored_jobs(session)) == (1 if status == 200 else 0)


async def test_rows_follow_the_same_rules_as_post_jobs(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    # Each cell problem surfaces with the field POST /jobs would name.
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team,Timezone,Request Body",
        f"long,0 1 * * *,https://hooks.example.com/{'a' * 500},2026-12-31,data-platform,,",
        "zone,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform,Mars/Base,",
        "date,0 1 * * *,https://hooks.example.com/1,31.12.2026,data-platform,,",
        "json,0 1 * * *,https://hooks.example.com/1,2026-12-31,data-platform,," + json.dumps("{"),
    )

    response = await upload(client, member_headers, content)

    errors = [error["error"] for error in response.json()["errors"]]
    assert errors[0].startswith("target_url")
    assert errors[1].startswith("timezone")
    assert errors[2].startswith("end_date")
    assert "JSON" in errors[3]


async def test_a_name_taken_after_the_check_loses_only_its_row(
    client: httpx.AsyncClient,
    admin: User,
    member_headers: dict[str, str],
    team: PicTeam,
    session: AsyncSession,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if another request stored "b" between the name check and the insert.
    await create_job(session, owner=admin, pic_team=team.slug, name="b")

    async def nothing_taken(self: JobService, names: object) -> set[str]:
        return set()

    monkeypatch.setattr(JobService, "taken_names", nothing_taken)
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team",
        *(
            f"{name},0 1 * * *,https://hooks.example.com/x,2026-12-31,data-platform"
            for name in "abc"
        ),
    )

    response = await upload(client, member_headers, content)

    body = response.json()
    assert response.status_code == 200, response.text
    assert [(job["row"], job["name"]) for job in body["jobs"]] == [(2, "a"), (4, "c")]
    assert body["errors"] == [{"row": 3, "name": "b", "error": 'A job named "b" already exists.'}]
    assert [job.name for job in await stored_jobs(session)] == ["a", "b", "c"]


async def test_a_headers_column_gives_non_secret_headers(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam
) -> None:
    content = csv_text(
        "Job Name,Cron Schedule (JST),Target URL,End Date,PIC Team,Headers",
        "With headers,0 2 * * *,https://hooks.example.com/a,2026-12-31,data-platform,"
        '"{""X-Team"": ""data"", ""Accept"": ""application/json""}"',
        'Not an object,0 2 * * *,https://hooks.example.com/b,2026-12-31,data-platform,"[1]"',
        "Refused name,0 2 * * *,https://hooks.example.com/c,2026-12-31,data-platform,"
        '"{""Host"": ""x""}"',
        "Bad JSON,0 2 * * *,https://hooks.example.com/d,2026-12-31,data-platform,{oops",
    )

    response = await upload(client, member_headers, content)

    assert response.status_code == 200, response.text
    body = response.json()
    [job] = body["jobs"]
    assert job["headers"] == [
        {"name": "X-Team", "value": "data", "secret": False},
        {"name": "Accept", "value": "application/json", "secret": False},
    ]
    errors = {error["name"]: error["error"] for error in body["errors"]}
    assert set(errors) == {"Not an object", "Refused name", "Bad JSON"}
    assert "JSON object of strings" in errors["Not an object"]
    assert errors["Refused name"].startswith("headers.0.name: ")
    assert "not valid JSON" in errors["Bad JSON"]
