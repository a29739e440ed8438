"""Jobs from before migration 0010: credentials move out of their URLs (migration for the
execution rows, start-up for the jobs), and each gets a signing secret at its first run.
Retries of a slot carry the slot's webhook-id, verified by the reference library. Key
rotation: re-encryption lets an old key go; a secret no key opens fails its run uncalled."""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from standardwebhooks.webhooks import Webhook

from api import cli
from core.config import Settings
from core.enums import ExecutionStatus
from core.secrets import SecretBox, secret_box
from models import Job
from services import job_secrets
from tests.conftest import make_settings
from tests.scheduler.conftest import Rig, run_pass
from tests.support import databases
from tests.support.http_target import Reply


async def test_retries_of_a_slot_share_its_webhook_id_and_each_verifies(
    rig: Rig,
    settings: Settings,
) -> None:
    start = datetime.now(UTC).replace(second=0, microsecond=0)
    rig.clock.set(start)
    job = await rig.job("* * * * *", max_retries=1)
    assert job.signing_secret is None  # as a job stored before migration 0010
    rig.http_target.respond(Reply(status=503), Reply(status=200))
    scheduler = rig.make_scheduler(retry_backoff_base_seconds=2)
    rig.clock.set(start + timedelta(minutes=1))
    await run_pass(scheduler)
    [first] = await rig.executions(job)
    assert first.next_attempt_at is not None
    rig.clock.set(first.next_attempt_at)
    await run_pass(scheduler)

    executions = await rig.executions(job)
    assert [e.attempt for e in executions] == [1, 2]
    stored = await rig.stored(job)
    assert stored.signing_secret is not None  # made at the first run
    secret = secret_box(settings).decrypt(stored.signing_secret)
    first_call, retry = rig.http_target.received
    assert first_call.headers["webhook-id"] == retry.headers["webhook-id"]
    assert retry.headers["webhook-id"] == retry.headers["idempotency-key"]
    for call in (first_call, retry):
        Webhook(secret).verify(call.body, call.headers, json_parse=False)


async def test_start_up_moves_url_credentials_into_a_secret_header_with_the_same_call(
    rig: Rig,
    settings: Settings,
) -> None:
    rig.clock.set(datetime(2026, 6, 1, tzinfo=UTC))
    url = f"http://deploy%40ci:p%3Ass-w0rd@127.0.0.1:{rig.http_target.port}/hook"
    job = await rig.make_job(cron_expression="* * * * *", target_url=url)

    async with rig.committing.begin() as session:
        assert await job_secrets.upgrade_stored_jobs(session, settings) == 1
    async with rig.committing.begin() as session:
        assert await job_secrets.upgrade_stored_jobs(session, settings) == 0  # idempotent

    stored = await rig.stored(job)
    assert stored.target_url == f"http://127.0.0.1:{rig.http_target.port}/hook"
    [header] = stored.headers
    assert (header["name"], header["secret"]) == ("Authorization", True)
    assert "w0rd" not in header["value"]
    rig.clock.set(datetime(2026, 6, 1, 0, 1, tzinfo=UTC))
    await run_pass(rig.make_scheduler())
    [call] = rig.http_target.received
    assert (
        call.headers["authorization"]
        == "Basic " + base64.b64encode(b"deploy@ci:p:ss-w0rd").decode()
    )
    [execution] = await rig.executions(job)
    assert execution.target == f"http://127.0.0.1:{rig.http_target.port}/hook"


@pytest.fixture
async def empty_database_url(server_url: str) -> AsyncIterator[str]:
    url = await databases.create_empty_database(server_url)
    yield url
    await databases.drop_database(server_url, url)


async def test_migration_0010_removes_credentials_from_execution_targets(
    empty_database_url: str,
) -> None:
    await databases.upgrade(empty_database_url, "0009")
    engine = create_async_engine(empty_database_url)
    job_id, execution_id = uuid.uuid4(), uuid.uuid4()
    sqlite = databases.is_sqlite(empty_database_url)

    def key(value: uuid.UUID) -> object:
        return value.hex if sqlite else value

    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO job (id, name, cron_expression, timezone, target_url, "
                    "http_method, metadata, category, pic_team, end_date, "
                    "enable_email_notifications, notification_emails, notify_on_success, "
                    "timeout_seconds, max_retries, is_active, consecutive_failures) VALUES "
                    "(:id, 'old', '* * * * *', 'UTC', :url, 'POST', '{}', 'general', 'ops', "
                    "'2030-01-01', false, '[]', false, 30, 0, true, 0)"
                ),
                {"id": key(job_id), "url": "https://u:pw-1@hooks.example.com/x"},
            )
            await connection.execute(
                text(
                    "INSERT INTO job_execution (id, job_id, status, trigger_type, "
                    "execution_type, scheduled_for, target, attempt) VALUES (:id, :job, "
                    "'success', 'scheduled', 'webhook', '2026-06-01 00:00:00', :target, 1)"
                ),
                {
                    "id": key(execution_id),
                    "job": key(job_id),
                    "target": "https://u:pw-1@hooks.example.com/x",
                },
            )
        await databases.upgrade(empty_database_url)
        async with engine.connect() as connection:
            target = (await connection.execute(text("SELECT target FROM job_execution"))).scalar()
            headers = (await connection.execute(text("SELECT headers FROM job"))).scalar()
        assert target == "https://hooks.example.com/x"
        assert headers in ([], "[]")
        await databases.downgrade(empty_database_url, "0009")
    finally:
        await engine.dispose()


async def test_reencrypt_secrets_lets_the_old_key_go(server_url: str) -> None:
    url = await databases.create_migrated_database(server_url)
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    old = make_settings(url, secrets_key=old_key)
    engine = create_async_engine(old.database_url)
    try:
        async with async_sessionmaker(engine).begin() as session:
            session.add(
                Job(
                    name="enc",
                    cron_expression="* * * * *",
                    timezone="UTC",
                    target_url="https://hooks.example.com/x",
                    category="general",
                    pic_team="ops",
                    end_date=datetime(2030, 1, 1).date(),
                    headers=job_secrets.settle_headers(
                        [{"name": "X-Key", "value": "v-123", "secret": True}],
                        None,
                        secret_box(old),
                    ),
                    signing_secret=secret_box(old).encrypt("whsec_abc"),
                )
            )
        both = make_settings(url, secrets_key=f"{new_key},{old_key}")
        code = await asyncio.to_thread(cli.main, ["reencrypt-secrets"], both)
        assert code == 0
        async with async_sessionmaker(engine)() as session:
            job = (await session.scalars(select(Job))).one()
        only_new = secret_box(make_settings(url, secrets_key=new_key))
        assert job_secrets.call_headers(job.headers, only_new) == [("X-Key", "v-123")]
        assert only_new.decrypt(job.signing_secret or "") == "whsec_abc"
    finally:
        await engine.dispose()
        await databases.drop_database(server_url, url)


@pytest.mark.parametrize("unreadable", ["secret header", "signing secret"])
async def test_a_secret_no_key_opens_fails_the_run_without_calling_the_target(
    rig: Rig,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    unreadable: str,
) -> None:
    """README (Key rotation): "A run whose secret no key opens fails with an error saying so,
    without calling the target." Here SECRETS_KEY lost the key the job's secret was stored with."""
    caplog.set_level(logging.DEBUG)
    start = datetime(2026, 6, 1, tzinfo=UTC)
    rig.clock.set(start)
    new_key = Fernet.generate_key().decode()
    old_box, new_box = secret_box(settings), SecretBox([new_key])
    header_plaintext, signing_plaintext = "Bearer tok-lost-key-4711", "whsec_lost-key-0815"
    job = await rig.job(
        "* * * * *",
        max_retries=0,
        headers=job_secrets.settle_headers(
            [{"name": "Authorization", "value": header_plaintext, "secret": True}],
            None,
            old_box if unreadable == "secret header" else new_box,
        ),
        signing_secret=(old_box if unreadable == "signing secret" else new_box).encrypt(
            signing_plaintext
        ),
    )
    stored = await rig.stored(job)
    scheduler = rig.make_scheduler(secrets_key=[SecretStr(new_key)])
    rig.clock.set(start + timedelta(minutes=1))
    await run_pass(scheduler)

    assert rig.http_target.received == []
    [execution] = await rig.executions(job)
    assert execution.status == ExecutionStatus.FAILED
    assert execution.response_status is None
    assert execution.error_message == (
        "a stored secret cannot be decrypted with any key of SECRETS_KEY (was a key removed?); "
        "the call was not made"
    )
    stored_secrets = [
        header_plaintext,
        signing_plaintext,
        stored.headers[0]["value"],
        stored.signing_secret or "",
    ]
    row_text = f"{execution.error_message} {execution.output} {execution.target}"
    for secret in stored_secrets:
        assert secret not in row_text
        assert secret not in caplog.text
