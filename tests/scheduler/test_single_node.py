"""`python -m scheduler` as a real process: a CLI with --help, and on SQLite only one scheduler
at a time (a second would fire every slot twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support import databases

STARTED = "scheduler started"


@pytest.fixture
async def sqlite_url() -> AsyncIterator[str]:
    url = await databases.create_migrated_database("sqlite+aiosqlite://")
    yield url
    await databases.drop_database("sqlite+aiosqlite://", url)


def scheduler_env(database_url: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database_url,
        "SCHEDULER_POLL_SECONDS": "0.2",
    }


@contextmanager
def scheduler_process(database_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "scheduler"],
            env=scheduler_env(database_url),
            cwd=log.parent,  # no .env of the work tree
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_for(log: Path, text: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if text in log.read_text(errors="replace"):
            return
        assert process.poll() is None, log.read_text(errors="replace")
        time.sleep(0.1)
    raise AssertionError(f"no {text!r} in: {log.read_text(errors='replace')}")


def test_help_prints_usage_and_starts_nothing(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scheduler", "--help"],
        env=scheduler_env(f"sqlite+aiosqlite:///{tmp_path}/never.db"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m scheduler")
    assert "SCHEDULER_ENABLED=false" in result.stdout
    assert STARTED not in result.stdout + result.stderr
    assert not (tmp_path / "never.db").exists()


def test_a_second_scheduler_on_sqlite_refuses_to_start(sqlite_url: str, tmp_path: Path) -> None:
    first_log, second_log, third_log = (tmp_path / f"{n}.log" for n in ("a", "b", "c"))
    with scheduler_process(sqlite_url, first_log) as first:
        wait_for(first_log, STARTED, first)

        with scheduler_process(sqlite_url, second_log) as second:
            assert second.wait(timeout=60) == 1
        refusal = second_log.read_text()
        assert "Another process already runs the scheduler" in refusal
        assert "SCHEDULER_ENABLED=false" in refusal
        assert STARTED not in refusal
        assert first.poll() is None, "the running scheduler is left alone"

        first.kill()  # no clean-up: the kernel releases the lock with the process
        first.wait()

    with scheduler_process(sqlite_url, third_log) as third:
        wait_for(third_log, STARTED, third)
