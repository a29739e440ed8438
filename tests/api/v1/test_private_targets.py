"""Operators learn how to allow private targets: the refusal names ALLOW_PRIVATE_TARGETS, and
a process running with it on says so once at start-up."""

from __future__ import annotations

import logging

import httpx
import pytest

from core.clock import SystemClock
from models.pic_team import PicTeam
from scheduler.runtime import running_scheduler
from tests.conftest import make_settings
from tests.support.job_factories import job_payload


@pytest.mark.parametrize(
    "target", ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://10.0.0.5/x"]
)
async def test_a_refused_target_says_how_an_operator_allows_it(
    client: httpx.AsyncClient, member_headers: dict[str, str], team: PicTeam, target: str
) -> None:
    response = await client.post(
        "/api/v1/jobs", json=job_payload(team.slug, target_url=target), headers=member_headers
    )
    assert response.status_code == 422, response.text
    assert "ALLOW_PRIVATE_TARGETS=true" in response.json()["details"][0]["message"]


@pytest.mark.parametrize("allowed", [True, False])
async def test_allowing_private_targets_is_one_warning_at_start_up(
    database_url: str, caplog: pytest.LogCaptureFixture, allowed: bool
) -> None:
    settings = make_settings(database_url, allow_private_targets=allowed)
    with caplog.at_level(logging.INFO):
        async with running_scheduler(settings, SystemClock(), start_loop=False):
            pass
    warnings = [
        record
        for record in caplog.records
        if record.levelno == logging.WARNING and "ALLOW_PRIVATE_TARGETS" in record.getMessage()
    ]
    assert len(warnings) == (1 if allowed else 0)
