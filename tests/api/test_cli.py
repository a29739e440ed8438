"""`python -m api.cli create-admin`."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from api import cli
from core.config import Settings
from core.enums import UserRole
from core.security import verify_password
from models.user import User
from tests.conftest import make_settings
from tests.support import databases

ARGS = ["create-admin", "--username", "cli_admin", "--email", "CLI@example.com"]
PASSWORD = "typed-in-secret"


@pytest.fixture
async def cli_settings(server_url: str) -> AsyncIterator[Settings]:
    # The command commits for real: a database of its own, dropped afterwards.
    url = await databases.create_migrated_database(server_url)
    yield make_settings(url)
    await databases.drop_database(server_url, url)


async def run(argv: list[str], settings: Settings) -> int:
    # The command runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(cli.main, argv, settings)


async def stored_users(settings: Settings) -> list[User]:
    engine = create_async_engine(settings.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(User))
            return [User(**row._asdict()) for row in rows]
    finally:
        await engine.dispose()


async def test_create_admin_reads_the_password_from_stdin(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))

    code = await run([*ARGS, "--password-stdin"], cli_settings)

    assert code == 0
    (user,) = await stored_users(cli_settings)
    assert (user.username, user.email, user.role) == (
        "cli_admin",
        "cli@example.com",
        UserRole.ADMIN,
    )
    assert await verify_password(PASSWORD, user.password_hash) == (True, None)
    output = capsys.readouterr()
    assert "cli_admin" in output.out
    assert PASSWORD not in output.out + output.err


async def test_create_admin_prompts_twice(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    assert await run(ARGS, cli_settings) == 0
    assert [user.username for user in await stored_users(cli_settings)] == ["cli_admin"]


async def test_create_admin_stops_when_the_prompts_differ(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([PASSWORD, "something-else"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    with pytest.raises(SystemExit, match="differ"):
        await run(ARGS, cli_settings)
    assert await stored_users(cli_settings) == []


async def test_create_admin_explains_invalid_values_without_echoing_them(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("tiny-pw\n"))

    code = await run(
        ["create-admin", "--username", "cli_admin", "--email", "nope", "--password-stdin"],
        cli_settings,
    )

    assert code == 2
    errors = capsys.readouterr().err
    assert "email:" in errors
    assert "password:" in errors
    assert "tiny-pw" not in errors
    assert await stored_users(cli_settings) == []


async def test_create_admin_refuses_a_taken_username(
    cli_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    assert await run([*ARGS, "--password-stdin"], cli_settings) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))

    code = await run([*ARGS[:4], "other@example.com", "--password-stdin"], cli_settings)

    assert code == 1
    assert "Username already exists" in capsys.readouterr().err


async def test_ensure_local_admin_writes_credentials_to_a_private_file(
    cli_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    credentials = tmp_path / ".local-admin"

    code = await run(["ensure-local-admin", "--credentials-file", str(credentials)], cli_settings)

    assert code == 0
    username, password = (line.split(": ", 1)[1] for line in credentials.read_text().splitlines())
    assert username == "admin"
    assert credentials.stat().st_mode & 0o777 == 0o600
    (user,) = await stored_users(cli_settings)
    assert user.role == UserRole.ADMIN
    assert (await verify_password(password, user.password_hash))[0]
    assert password not in capsys.readouterr().out


async def test_ensure_local_admin_leaves_an_existing_admin_alone(
    cli_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{PASSWORD}\n"))
    await run([*ARGS, "--password-stdin"], cli_settings)
    credentials = tmp_path / ".local-admin"

    code = await run(["ensure-local-admin", "--credentials-file", str(credentials)], cli_settings)

    assert code == 0
    assert not credentials.exists()
    assert [u.username for u in await stored_users(cli_settings)] == ["cli_admin"]


async def test_ensure_local_admin_refuses_production(
    cli_settings: Settings, tmp_path: Path
) -> None:
    production = cli_settings.model_copy(update={"environment": "production"})

    code = await run(["ensure-local-admin", "--credentials-file", str(tmp_path / "x")], production)

    assert code == 2
    assert await stored_users(cli_settings) == []
