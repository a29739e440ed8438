"""Concurrent writers against a real server process with its scheduler running.

On SQLite this is the default `make run` setup: one database file, the API and the scheduler
writing to it at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.support import databases
from tests.support.http_target import HttpTarget
from tests.support.server_process import ADMIN_USERNAME, ServerProcess, server_process

CONCURRENCY = 50


@pytest.fixture
async def fresh_database_url(server_url: str) -> AsyncIterator[str]:
    url = await databases.create_migrated_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


class Outcomes:
    """Status codes seen, and requests that got no answer at all (a dropped connection)."""

    def __init__(self) -> None:
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.dropped: list[str] = []

    async def send(
        self, client: httpx.AsyncClient, method: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        try:
            response = await client.request(method, path, **kw)
        except httpx.TransportError as exc:
            self.dropped.append(f"{method} {path}: {exc!r}")
            return None
        self.statuses[(method, response.status_code)] += 1
        return response

    @property
    def server_errors(self) -> int:
        return sum(count for (_, status), count in self.statuses.items() if status >= 500)


def _job_body(team: str, target: str) -> dict[str, Any]:
    return {
        "name": f"job-{uuid.uuid4().hex[:10]}",
        "cron_expression": "* * * * *",
        "target_url": target,
        "pic_team": team,
        "end_date": (date.today() + timedelta(days=365)).isoformat(),
        "max_retries": 1,
    }


async def test_concurrent_writes_with_the_scheduler_running_get_answers_not_500(
    fresh_database_url: str, http_target: HttpTarget
) -> None:
    with server_process(
        fresh_database_url,
        scheduler_enabled=True,
        scheduler_poll_seconds=0.2,
        notification_poll_seconds=0.2,
        allow_private_targets=True,
        # Not the default 10 s, on purpose. What is under test is that nothing fails from
        # locking (no 500, no "database is locked"); the queue's bound is a separate promise.
        # On SQLite every request and scheduler pass queues, first come first served, for the
        # process's one connection (core/db.py), and a wait past DB_POOL_TIMEOUT_SECONDS is
        # shed as a 503, by design. How long the back of the queue waits is the sum of the
        # transactions ahead of it, and each statement through aiosqlite is four hand-offs
        # between the event loop and the driver's thread, each waiting for a CPU slice: on a
        # shared 2-core machine at load 15-28 a transaction held the connection 0.1-1.6 s
        # (measured with pool check-out/check-in events), the burst took 26-41 s of wall time
        # for 5.5-8.6 s of the server's CPU, and with the default bound the last requests
        # were shed: 0, 20, 63 and 93 503s of 250 requests in four runs. The server's own CPU
        # for the burst is already near the 10-s bound, so with it the verdict would be the
        # machine's load; 120 s keeps it out. On PostgreSQL the 50 failed logins, all from
        # one address, take turns on that address's advisory lock (services/auth.py), and at
        # load ~19 the last of them waited past the 10-s statement timeout (13 answered 503):
        # that bound, and the connect one, are lifted the same way.
        db_pool_timeout_seconds=120,
        db_command_timeout_seconds=120,
        db_connect_timeout_seconds=120,
    ) as server:
        outcomes = await _hammer(server, http_target.url)
        log = server.log()

    assert (outcomes.server_errors, len(outcomes.dropped)) == (0, 0), (
        sorted(outcomes.statuses.items()),
        outcomes.dropped[:3],
        log[-3000:],
    )
    assert "database is locked" not in log
    assert "Traceback" not in log


async def _hammer(server: ServerProcess, target: str) -> Outcomes:
    headers = server.admin_headers()
    # Idle connections are let go before uvicorn closes them (5 s), so that a request never
    # goes out on a connection the server is closing (a client-side race, not a drop).
    limits = httpx.Limits(max_connections=4 * CONCURRENCY, keepalive_expiry=2)
    async with httpx.AsyncClient(
        base_url=server.url, headers=headers, timeout=300, limits=limits
    ) as client:
        team = (
            await client.post(
                "/api/v1/pic-teams", json={"name": "On call", "slack_handle": "@oncall"}
            )
        ).json()["pic_team"]["slug"]
        outcomes = Outcomes()
        # Created one after the other (those also failed once with "database is locked").
        job_ids = []
        for _ in range(CONCURRENCY):
            body = _job_body(team, target)
            created = await outcomes.send(client, "POST", "/api/v1/jobs", json=body)
            if created is not None and created.status_code == 201:
                job_ids.append(created.json()["job"]["id"])

        async def pause_then_resume(job_id: str) -> None:
            await outcomes.send(client, "POST", f"/api/v1/jobs/{job_id}/pause")
            await outcomes.send(client, "POST", f"/api/v1/jobs/{job_id}/resume")

        async def failed_login(index: int) -> None:
            # Half on a real account, half on unknown names: both write a failed attempt.
            username = ADMIN_USERNAME if index % 2 else f"nobody-{index}"
            body = {"username": username, "password": "wrong-password"}
            await outcomes.send(client, "POST", "/api/v1/auth/login", json=body, headers={})

        await asyncio.gather(
            *(
                outcomes.send(client, "POST", "/api/v1/jobs", json=_job_body(team, target))
                for _ in range(CONCURRENCY)
            ),
            *(failed_login(index) for index in range(CONCURRENCY)),
            *(pause_then_resume(job_id) for job_id in job_ids),
        )
    return outcomes
