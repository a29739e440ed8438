from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from core.config import DEFAULT_DATABASE_URL, DEFAULT_JWT_SECRET, DEFAULT_SECRETS_KEY, Settings


def test_database_defaults_to_embedded_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)

    settings = Settings(_env_file=None)

    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite+aiosqlite:///./cronjobs.db"
    assert settings.is_sqlite


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u:p@db:5432/app", "postgresql+asyncpg://u:p@db:5432/app"),
        ("postgres://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+psycopg2://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("postgresql+asyncpg://u@db/app", "postgresql+asyncpg://u@db/app"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    ],
)
def test_database_urls_are_normalized_to_async_drivers(given: str, expected: str) -> None:
    assert Settings(_env_file=None, database_url=given).database_url == expected


def test_production_refuses_the_default_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET_KEY"):
        Settings(_env_file=None, environment="production", jwt_secret_key=DEFAULT_JWT_SECRET)


def test_production_starts_with_a_real_secret() -> None:
    settings = Settings(
        _env_file=None,
        environment="production",
        jwt_secret_key="x" * 48,
        secrets_key=Fernet.generate_key().decode(),
    )

    assert settings.environment == "production"


def test_production_refuses_the_default_secrets_key_even_as_an_old_key() -> None:
    with pytest.raises(ValidationError, match="SECRETS_KEY") as raised:
        Settings(
            _env_file=None,
            environment="production",
            jwt_secret_key="x" * 48,
            secrets_key=f"{Fernet.generate_key().decode()},{DEFAULT_SECRETS_KEY}",
        )
    assert DEFAULT_SECRETS_KEY not in str(raised.value)


def test_secrets_key_is_a_comma_separated_list_of_fernet_keys() -> None:
    first, second = Fernet.generate_key().decode(), Fernet.generate_key().decode()

    settings = Settings(_env_file=None, secrets_key=f" {first} , {second} ,")

    assert [key.get_secret_value() for key in settings.secrets_key] == [first, second]


def test_a_malformed_secrets_key_is_refused_without_echoing_it() -> None:
    with pytest.raises(ValidationError, match="key 2 of SECRETS_KEY") as raised:
        Settings(_env_file=None, secrets_key=f"{Fernet.generate_key().decode()},not-a-key-xyz")
    assert "not-a-key-xyz" not in str(raised.value)


def test_cors_origins_are_read_as_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example ,")

    assert Settings(_env_file=None).cors_origins == ["https://a.example", "https://b.example"]


def test_unknown_scheduler_timezone_is_refused() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        Settings(_env_file=None, scheduler_timezone="Mars/Olympus")


def test_env_example_lists_every_setting() -> None:
    from pathlib import Path

    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    documented = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}
    documented = {name for name in documented if not name.startswith("#")}

    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"add to .env.example with a comment: {sorted(missing)}"


def test_auth_defaults() -> None:
    settings = Settings(_env_file=None)

    assert (settings.access_token_expire_minutes, settings.refresh_token_expire_days) == (30, 7)
    assert (settings.login_max_failures, settings.login_max_failures_per_address) == (5, 20)
    assert settings.login_window_seconds == 300
    assert settings.admin_username is None


def test_admin_settings_come_together_and_blank_means_unset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADMIN_USERNAME", "root_admin")
    monkeypatch.setenv("ADMIN_EMAIL", "")
    monkeypatch.setenv("ADMIN_PASSWORD", "   ")
    with pytest.raises(ValidationError, match="ADMIN_PASSWORD"):
        Settings(_env_file=None)

    monkeypatch.setenv("ADMIN_USERNAME", "")
    assert Settings(_env_file=None).admin_password is None

    monkeypatch.setenv("ADMIN_USERNAME", "root_admin")
    monkeypatch.setenv("ADMIN_EMAIL", "root@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "a-long-password")
    admin_password = Settings(_env_file=None).admin_password
    assert admin_password is not None
    assert admin_password.get_secret_value() == "a-long-password"
    assert "a-long-password" not in repr(Settings(_env_file=None))


def test_retention_defaults_and_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(_env_file=None)
    assert settings.execution_retention_days == 90
    assert settings.notification_retention_days == 90
    assert settings.outbox_retention_days == 7

    # No "keep forever": 0 (or less) is an error at start-up, not a silent switch.
    for name in ("EXECUTION", "NOTIFICATION", "OUTBOX", "AUDIT"):
        monkeypatch.setenv(f"{name}_RETENTION_DAYS", "0")
        with pytest.raises(ValidationError, match=f"{name.lower()}_retention_days"):
            Settings(_env_file=None)
        monkeypatch.setenv(f"{name}_RETENTION_DAYS", "1")
    assert Settings(_env_file=None).outbox_retention_days == 1
