"""The stack the dashboard's Playwright suite runs against (its globalSetup starts this).

    python -m tests.support.e2e_stack --state FILE

On a fresh, migrated PostgreSQL database (made on TEST_DATABASE_URL's server) it starts the
service as a real uvicorn process serving `frontend/dist`, with a first admin and private targets
allowed, plus a loopback HTTP target that jobs call and that counts what it received. It writes
the addresses, the admin's credentials and the token signing key (so a spec can make an expired
access token) to FILE as JSON, then runs until its standard input
closes (or SIGTERM/SIGINT), and then stops both servers and drops the database.

The target: any method on `/hook/<name>` is recorded and answered with `?status=` (200 by
default) and a small JSON body; `GET /calls/<name>` answers `{"count": n, "headers": {...}}`
with the (lower-cased) headers of the last call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sys
import threading
from collections import Counter
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support import databases

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def target_app(calls: Counter[str]) -> Starlette:
    last_headers: dict[str, dict[str, str]] = {}

    async def hook(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        calls[name] += 1
        last_headers[name] = dict(request.headers)
        status = int(request.query_params.get("status", "200"))
        # `?delay=` seconds before the answer: a run that stays running (to be cancelled).
        await asyncio.sleep(float(request.query_params.get("delay", "0")))
        return JSONResponse({"target": name, "call": calls[name]}, status_code=status)

    async def count(request: Request) -> JSONResponse:
        name = request.path_params["name"]
        return JSONResponse({"count": calls[name], "headers": last_headers.get(name, {})})

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return Starlette(
        routes=[
            Route("/hook/{name}", hook, methods=methods),
            Route("/calls/{name}", count, methods=["GET"]),
        ]
    )


async def _wait_until_healthy(urls: list[str], api: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for _ in range(START_TIMEOUT_SECONDS * 5):
            if api.returncode is not None:
                raise RuntimeError(f"the service exited with {api.returncode} while starting")
            with contextlib.suppress(httpx.HTTPError):
                answers = [await client.get(url) for url in urls]
                if all(answer.status_code == 200 for answer in answers):
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError("the service did not become healthy in time")


async def _until_told_to_stop() -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    def wait_for_stdin_to_close() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(stop.set)

    # Standard input closing (the parent ended, even abruptly) also stops the stack.
    threading.Thread(target=wait_for_stdin_to_close, daemon=True).start()
    await stop.wait()


async def run(state_file: Path) -> None:
    server_url = databases.server_url()
    if databases.is_sqlite(server_url):
        raise SystemExit("the e2e stack needs PostgreSQL: set TEST_DATABASE_URL")
    database_url = await databases.create_migrated_database(server_url)
    calls: Counter[str] = Counter()
    target = uvicorn.Server(
        uvicorn.Config(target_app(calls), host="127.0.0.1", port=_free_port(), log_config=None)
    )
    target_task = asyncio.create_task(target.serve())
    api: asyncio.subprocess.Process | None = None
    try:
        api_port = _free_port()
        admin = {
            "username": "admin",
            "email": "admin@example.com",
            "password": secrets.token_urlsafe(16),
        }
        jwt_secret = secrets.token_urlsafe(32)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ENVIRONMENT": "test",
            "JWT_SECRET_KEY": jwt_secret,
            "ADMIN_USERNAME": admin["username"],
            "ADMIN_EMAIL": admin["email"],
            "ADMIN_PASSWORD": admin["password"],
            "ALLOW_PRIVATE_TARGETS": "true",
            "FRONTEND_DIST_DIR": str(ROOT / "frontend" / "dist"),
            "LOG_LEVEL": "WARNING",
        }
        api = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
            cwd=ROOT,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{api_port}"
        target_url = f"http://127.0.0.1:{target.config.port}"
        await _wait_until_healthy([f"{base_url}/api/v1/health", f"{target_url}/calls/up"], api)
        state = {
            "baseURL": base_url,
            "targetURL": target_url,
            "admin": admin,
            "jwtSecret": jwt_secret,
        }
        await asyncio.to_thread(state_file.write_text, json.dumps(state))
        await _until_told_to_stop()
    finally:
        if api is not None and api.returncode is None:
            api.terminate()
            try:
                await asyncio.wait_for(api.wait(), 15)
            except TimeoutError:
                api.kill()
                await api.wait()
        target.should_exit = True
        await target_task
        await databases.drop_database(server_url, database_url)
        await asyncio.to_thread(state_file.unlink, missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.e2e_stack")
    parser.add_argument("--state", type=Path, required=True)
    args = parser.parse_args()
    asyncio.run(run(args.state))


if __name__ == "__main__":
    main()
