"""On SQLite one process runs the scheduler: the API's own (SCHEDULER_ENABLED) or one
`python -m scheduler`. SQLite has no row locks to share due slots between processes (SKIP
LOCKED is PostgreSQL's), so a second scheduler would fire every slot twice.

The claim is an exclusive `flock` on a file beside the database: the kernel drops it when its
process exits, however it exits (kill -9 included), so a dead scheduler never blocks the next.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from sqlalchemy import make_url

from core.config import Settings


class SchedulerAlreadyRunning(RuntimeError):
    pass


class SchedulerLock:
    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor = descriptor

    @classmethod
    def claim(cls, settings: Settings) -> SchedulerLock | None:
        """Hold the database's scheduler lock, or raise `SchedulerAlreadyRunning`. None on
        PostgreSQL (any number of schedulers share it) and for in-memory databases."""
        if not settings.is_sqlite:
            return None
        database = make_url(settings.database_url).database
        if not database or database == ":memory:":
            return None
        path = Path(f"{database}.scheduler.lock")
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise SchedulerAlreadyRunning(
                f"Another process already runs the scheduler on the SQLite database {database} "
                f"(it holds {path}). On SQLite only one scheduler may run: stop that one, or "
                "start this process with SCHEDULER_ENABLED=false. Several schedulers need "
                "PostgreSQL."
            ) from None
        return cls(path, descriptor)

    def release(self) -> None:
        fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        os.close(self._descriptor)
