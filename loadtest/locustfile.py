"""Locust scenarios, one user class per scenario; loadtest/run.py names the class to run.

Every user sends its next request as soon as the last one answered (no think time), so N users
are N requests in flight: a closed-loop throughput test. The data the users need comes from the
environment, written by run.py after seeding:

    LOADTEST_TOKEN        an access token of the seeded admin
    LOADTEST_DATA         a JSON file: {"job_ids": [...], "login_names": [...], "password": ...,
                          "pic_team": ..., "target_url": ..., "slow_target_url": ...}

    locust -f loadtest/locustfile.py --headless -u 64 -r 64 -t 15s \
        --host http://127.0.0.1:8100 JobGet
"""

from __future__ import annotations

import json
import os
import random
import uuid
from datetime import date, timedelta
from typing import Any

from locust import FastHttpUser, constant, task


def _load() -> dict[str, Any]:
    path = os.environ.get("LOADTEST_DATA")
    if not path:
        return {
            "job_ids": [],
            "login_names": [],
            "password": "",
            "pic_team": "",
            "target_url": "",
            "slow_target_url": "",
        }
    with open(path, encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


DATA = _load()
JOB_IDS: list[str] = DATA["job_ids"]
AUTH = {"Authorization": f"Bearer {os.environ.get('LOADTEST_TOKEN', '')}"}
PAGES = max(1, len(JOB_IDS) // 20)


class _ApiUser(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    # A request slower than this is an error rather than a hang.
    network_timeout = 60.0
    connection_timeout = 10.0


class JobList(_ApiUser):
    """GET /jobs: a random page of 20 among the seeded jobs."""

    @task
    def list_jobs(self) -> None:
        page = random.randint(1, PAGES)
        self.client.get(
            f"/api/v1/jobs?page={page}&per_page=20", headers=AUTH, name="GET /jobs?page=N"
        )


class JobGet(_ApiUser):
    """GET /jobs/{id}: a random seeded job."""

    @task
    def get_job(self) -> None:
        job_id = random.choice(JOB_IDS)
        self.client.get(f"/api/v1/jobs/{job_id}", headers=AUTH, name="GET /jobs/{id}")


class FailedExecutions(_ApiUser):
    """GET /executions?status=failed&limit=50: the newest failures among 100k executions."""

    @task
    def failed_executions(self) -> None:
        self.client.get(
            "/api/v1/executions?status=failed&limit=50",
            headers=AUTH,
            name="GET /executions?status=failed",
        )


class JobCreate(_ApiUser):
    """POST /jobs: a new webhook job with a unique name (removed by run.py afterwards)."""

    @task
    def create_job(self) -> None:
        body = {
            "name": f"lt-{uuid.uuid4().hex}",
            "cron_expression": "*/5 * * * *",
            "timezone": "Asia/Tokyo",
            "target_url": DATA["target_url"],
            "pic_team": DATA["pic_team"],
            "end_date": (date.today() + timedelta(days=365)).isoformat(),
            "metadata": {"source": "loadtest"},
        }
        self.client.post("/api/v1/jobs", json=body, headers=AUTH, name="POST /jobs")


class Login(_ApiUser):
    """POST /auth/login: argon2 verification, CPU-bound by design."""

    @task
    def login(self) -> None:
        body = {"username": random.choice(DATA["login_names"]), "password": DATA["password"]}
        self.client.post("/api/v1/auth/login", json=body, name="POST /auth/login")


class Execute(_ApiUser):
    """POST /jobs/{id}/execute: a run of a job whose target answers after 50 ms."""

    @task
    def execute(self) -> None:
        job_id = random.choice(JOB_IDS)
        self.client.post(
            f"/api/v1/jobs/{job_id}/execute",
            json={},
            headers=AUTH,
            name="POST /jobs/{id}/execute",
        )


class TestRun(_ApiUser):
    """POST /jobs/test-run: one call to a target that answers after 300 ms, nothing stored."""

    @task
    def test_run(self) -> None:
        body = {
            "target_url": DATA["slow_target_url"],
            "http_method": "POST",
            "metadata": {"source": "loadtest"},
            "timeout_seconds": 30,
        }
        with self.client.post(
            "/api/v1/jobs/test-run",
            json=body,
            headers=AUTH,
            name="POST /jobs/test-run",
            catch_response=True,
        ) as response:
            # A 200 whose call failed is a failure too: the point is calls that completed.
            if response.status_code == 200 and not (response.json() or {}).get("ok"):
                response.failure(f"test run not ok: {response.json().get('message')}")
