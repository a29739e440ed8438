"""The service as a real separate process: `uvicorn api.main:app` on a loopback port.

For promises about what a running server does under concurrency and faults, seen only from
outside: its own event loop, its own engine and pool, its scheduler, its log on stderr.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.databases import ROOT

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin-password-for-tests"


@dataclass
class ServerProcess:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def admin_headers(self) -> dict[str, str]:
        answer = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"username": ADMIN_USERNAME, "password": ADMIN_PASSWORD},
            timeout=30,
        )
        answer.raise_for_status()
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server_process(
    database_url: str,
    *,
    workers: int = 1,
    app_factory: str | None = None,
    **settings: object,
) -> Iterator[ServerProcess]:
    """Run the service on a migrated `database_url` until the block ends.

    `settings` become environment variables (`scheduler_enabled=True` → SCHEDULER_ENABLED=true);
    a first admin (ADMIN_USERNAME / ADMIN_PASSWORD above) is created at start-up. `workers`
    above 1 is uvicorn's `--workers`: that many processes behind one port. `app_factory`
    ("module:function") serves the app that function makes instead of `api.main:app`.
    """
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "DB_", "SCHEDULER_", "LOGIN_", "ADMIN_"))
    }
    values: Mapping[str, object] = {
        "database_url": database_url,
        "environment": "test",
        "jwt_secret_key": "test-secret-key-that-is-long-enough-for-hs256",
        "admin_username": ADMIN_USERNAME,
        "admin_email": "admin@example.com",
        "admin_password": ADMIN_PASSWORD,
        "scheduler_enabled": False,
        **settings,
    }
    for key, value in values.items():
        env[key.upper()] = str(value).lower() if isinstance(value, bool) else str(value)
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept open for the process's life
        prefix="cronjobs-server-", suffix=".log", delete=False
    )
    log_path = Path(log_file.name)
    app = ["--factory", app_factory] if app_factory is not None else ["api.main:app"]
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *app, "--host", "127.0.0.1"]
        + ["--port", str(port), "--timeout-graceful-shutdown", "10"]
        + (["--workers", str(workers)] if workers > 1 else []),
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    server = ServerProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log_file.close()
        log_path.unlink(missing_ok=True)


def _wait_until_serving(server: ServerProcess) -> None:
    deadline = time.monotonic() + 120  # imports alone take seconds on a busy machine
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server process exited at start-up:\n{server.log()}")
        try:
            httpx.get(f"{server.url}/api/v1/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"the server process did not start:\n{server.log()}")
