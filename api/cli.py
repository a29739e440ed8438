"""Operator commands.

    python -m api.cli create-admin --username NAME --email EMAIL [--password-stdin]

The password is prompted for (twice, not echoed), or read from the first line of standard input
with `--password-stdin`; it never appears in the command line or the output.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from api.bootstrap import create_admin
from core import db
from core.config import Settings, get_settings
from core.errors import DomainError
from models.user import User
from schemas.user import UserCreate


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
    args = parser.parse_args(argv)

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
        user = asyncio.run(_create_admin(settings or get_settings(), data))
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


async def _create_admin(settings: Settings, data: UserCreate) -> User:
    engine = db.create_engine(settings)
    try:
        return await create_admin(db.create_sessionmaker(engine), data)
    finally:
        await engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
