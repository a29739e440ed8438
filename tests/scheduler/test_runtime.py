"""What `running_scheduler` builds: the delivery worker runs where the scheduler loop runs."""

from __future__ import annotations

import logging

import pytest

from core.config import Settings
from scheduler.runtime import running_scheduler
from tests.support.clock import FrozenClock


async def test_the_delivery_worker_runs_beside_the_scheduler_loop(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="scheduler")

    async with running_scheduler(settings, FrozenClock(), start_loop=True) as runtime:
        assert runtime.deliveries is not None
        assert runtime.deliveries.is_running
        assert runtime.deliveries.smtp is None

    assert not runtime.deliveries.is_running
    assert caplog.text.count("SMTP_HOST is not set: email notifications are off") == 1


async def test_without_the_loop_nothing_is_sent_from_this_process(settings: Settings) -> None:
    async with running_scheduler(settings, FrozenClock(), start_loop=False) as runtime:
        assert runtime.deliveries is None
