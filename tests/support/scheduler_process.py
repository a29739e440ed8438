"""`python -m scheduler` as a real process of its own, to kill without cleanup and restart."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class SchedulerProcess:
    """One scheduler process slot: started, killed (SIGKILL) and started again at will; every
    generation's output goes to the same log file."""

    def __init__(self, env: Mapping[str, str], log_path: Path, code: Path = ROOT) -> None:
        self.env = {**os.environ, "PYTHONPATH": str(code), **env}
        self.log_path = log_path
        self.code = code
        self.starts = 0
        self._process: asyncio.subprocess.Process | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.returncode is None

    async def start(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "scheduler",
                cwd=self.code,
                env=self.env,
                stdout=log,
                stderr=log,
            )

    async def kill(self) -> None:
        """As a crash or an OOM kill would: no signal handler, no draining, no cleanup."""
        if self._process is not None and self.alive:
            self._process.send_signal(signal.SIGKILL)
            await self._process.wait()

    async def stop(self, within_seconds: float = 20) -> int | None:
        """SIGTERM, as an orchestrator stops it; SIGKILL if it does not exit in time."""
        if self._process is None:
            return None
        if self.alive:
            self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self._process.wait(), within_seconds)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        return self._process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
