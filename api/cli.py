"""Operator commands.

    python -m api.cli create-admin --username NAME --email EMAIL [--password-stdin]
    python -m api.cli ensure-local-admin [--credentials-file .local-admin]
    python -m api.cli reencrypt-secrets

The password is prompted for (twice, not echoed), or read from the first line of standard input
with `--password-stdin`; it never appears in the command line or the output.

`ensure-local-admin` is what `make run` calls: when no admin exists yet (and ENVIRONMENT is not
production) it creates `admin` with a generated password and writes the credentials to a file
only the current user can read, never to the terminal.

`reencrypt-secrets` encrypts every stored secret (secret headers, signing secrets) with the first
key of SECRETS_KEY: the step between putting a new key first and dropping the old one.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.bootstrap import create_admin, ensure_admin
from core import db
from core.config import Settings, get_settings
from core.errors import DomainError
from core.secrets import SecretUnreadable
from schemas.user import UserCreate
from services import job_secrets

LOCAL_CREDENTIALS_FILE = ".local-admin"
T = TypeVar("T")


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-admin", help="create an admin user")
    create.add_argument("--username", required=True)
    create.add_argument("--email", required=True)
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input instead of prompting",
    )
    local = commands.add_parser(
        "ensure-local-admin", help="create a first admin for local use when none exists"
    )
    local.add_argument("--credentials-file", default=LOCAL_CREDENTIALS_FILE)
    commands.add_parser(
        "reencrypt-secrets", help="encrypt every stored secret with the first SECRETS_KEY key"
    )
    args = parser.parse_args(argv)
    settings = settings or get_settings()
    if args.command == "ensure-local-admin":
        return _ensure_local_admin(settings, Path(args.credentials_file))
    if args.command == "reencrypt-secrets":
        return _reencrypt_secrets(settings)

    password = _read_password(from_stdin=args.password_stdin)
    try:
        data = UserCreate.model_validate(
            {"username": args.username, "email": args.email, "password": password}
        )
    except ValidationError as exc:
        for error in exc.errors(include_input=False):
            field = ".".join(str(part) for part in error["loc"])
            sys.stderr.write(f"{field}: {error['msg']}\n")
        return 2
    try:
        user = asyncio.run(_with_sessions(settings, create_admin, data))
    except DomainError as exc:
        sys.stderr.write(f"{exc.title}: {exc.message}\n")
        return 1
    sys.stdout.write(
        f"Created admin {user.username!r} ({user.id}).\n"
        "Log in with POST /api/v1/auth/login, or with the Authorize button of /docs.\n"
    )
    return 0


def _read_password(*, from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat the password: ") != password:
        raise SystemExit("The passwords differ; nothing was created.")
    return password


def _ensure_local_admin(settings: Settings, credentials_file: Path) -> int:
    if settings.environment == "production":
        sys.stderr.write("ensure-local-admin is for local use; use create-admin in production.\n")
        return 2
    password = secrets.token_urlsafe(12)
    data = UserCreate.model_validate(
        {"username": "admin", "email": "admin@example.com", "password": password}
    )
    try:
        admin = asyncio.run(_with_sessions(settings, ensure_admin, data))
    except DomainError as exc:
        sys.stderr.write(f"{exc.title}: {exc.message}\n")
        return 1
    if admin is None:
        sys.stdout.write("An admin exists already; log in with its credentials.\n")
        return 0
    credentials_file.touch(mode=0o600, exist_ok=True)
    credentials_file.chmod(0o600)
    credentials_file.write_text(f"username: admin\npassword: {password}\n")
    sys.stdout.write(
        f"Created the local admin 'admin'; its password is in {credentials_file} "
        "(readable only by you). Change it with PUT /api/v1/auth/users/{id}.\n"
    )
    return 0


def _reencrypt_secrets(settings: Settings) -> int:
    async def run() -> int:
        engine = db.create_engine(settings)
        try:
            async with db.create_sessionmaker(engine).begin() as session:
                return await job_secrets.reencrypt_all(session, settings)
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(run())
    except SecretUnreadable as exc:
        sys.stderr.write(f"{exc}; nothing was changed.\n")
        return 1
    sys.stdout.write(f"Re-encrypted the secrets of {count} jobs with the first SECRETS_KEY key.\n")
    return 0


async def _with_sessions(
    settings: Settings,
    action: Callable[[async_sessionmaker[AsyncSession], UserCreate], Awaitable[T]],
    data: UserCreate,
) -> T:
    engine = db.create_engine(settings)
    try:
        return await action(db.create_sessionmaker(engine), data)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
