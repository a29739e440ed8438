"""Email through a real SMTP server (aiosmtpd) on loopback, and what goes wrong on the way."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from email.message import EmailMessage

import pytest
from pydantic import SecretStr

from integrations.channels import DeliveryFailed, email
from tests.conftest import make_settings
from tests.support.ports import closed_port
from tests.support.smtp_server import SmtpServer


def server_at(
    port: int, *, username: str | None = None, password: SecretStr | None = None
) -> email.SmtpServer:
    return email.SmtpServer(
        host="127.0.0.1",
        port=port,
        sender="cron@example.com",
        username=username,
        password=password,
        starttls=False,
    )


def message(
    recipient: str = "ops@example.com", html: str | None = "<p>It <b>failed</b></p>"
) -> EmailMessage:
    return email.build_message(
        sender="cron@example.com",
        recipient=recipient,
        subject="[Cron Job Service] Job failed: nightly",
        text="It failed.\n",
        html=html,
        headers={"X-Cron-Execution-Id": "abc"},
    )


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """Accepts connections and never says a word (a hung mail server)."""

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()


async def test_a_message_arrives_with_text_and_html_parts(smtp_server: SmtpServer) -> None:
    await email.send(server_at(smtp_server.port), message(), timeout_seconds=5)

    [mail] = smtp_server.received
    assert (mail.sender, mail.recipients) == ("cron@example.com", ["ops@example.com"])
    assert mail.subject == "[Cron Job Service] Job failed: nightly"
    assert mail.part("plain").replace("\r\n", "\n") == "It failed.\n"
    assert mail.part("html").strip() == "<p>It <b>failed</b></p>"
    assert mail.message["X-Cron-Execution-Id"] == "abc"
    assert mail.message["Auto-Submitted"] == "auto-generated"
    assert mail.message["Message-ID"].endswith("@example.com>")


async def test_a_text_only_message_has_one_part(smtp_server: SmtpServer) -> None:
    await email.send(server_at(smtp_server.port), message(html=None), timeout_seconds=5)

    [mail] = smtp_server.received
    assert not mail.message.is_multipart()
    assert mail.message.get_content_type() == "text/plain"


async def test_it_logs_in_with_the_configured_account(smtp_server: SmtpServer) -> None:
    smtp_server.credentials = ("mailer", "s3cret-pass")

    await email.send(
        server_at(smtp_server.port, username="mailer", password=SecretStr("s3cret-pass")),
        message(),
        timeout_seconds=5,
    )

    assert smtp_server.logins == ["mailer"]
    assert len(smtp_server.received) == 1


async def test_a_wrong_password_is_a_permanent_failure(smtp_server: SmtpServer) -> None:
    smtp_server.credentials = ("mailer", "right")

    with pytest.raises(DeliveryFailed) as failure:
        await email.send(
            server_at(smtp_server.port, username="mailer", password=SecretStr("wrong")),
            message(),
            timeout_seconds=5,
        )

    assert failure.value.reason.startswith("SMTP 535")
    assert not failure.value.retryable
    assert "wrong" not in failure.value.reason
    assert smtp_server.received == []


@pytest.mark.parametrize(
    ("reply", "retryable"),
    [("550 5.1.1 no such user", False), ("451 4.3.0 try again later", True)],
)
async def test_a_refused_recipient(smtp_server: SmtpServer, reply: str, retryable: bool) -> None:
    smtp_server.refuse["gone@example.com"] = reply

    with pytest.raises(DeliveryFailed) as failure:
        await email.send(
            server_at(smtp_server.port), message("gone@example.com"), timeout_seconds=5
        )

    assert failure.value.retryable is retryable
    assert reply.split()[0] in failure.value.reason
    assert "gone@example.com" in failure.value.reason


async def test_nothing_listening_is_worth_a_retry() -> None:
    with pytest.raises(DeliveryFailed) as failure:
        await email.send(server_at(closed_port()), message(), timeout_seconds=5)

    assert failure.value.retryable
    assert "SMTPConnect" in failure.value.reason


async def test_a_hung_server_is_cut_off_at_the_deadline(silent_server: int) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(DeliveryFailed) as failure:
        await email.send(server_at(silent_server), message(), timeout_seconds=0.5)

    assert loop.time() - started < 3
    assert failure.value.retryable
    assert "0.5" in failure.value.reason


def test_settings_without_a_host_mean_email_is_off() -> None:
    assert email.SmtpServer.from_settings(make_settings("sqlite://", smtp_host="  ")) is None

    server = email.SmtpServer.from_settings(
        make_settings(
            "sqlite://",
            smtp_host="mail.example.com",
            smtp_port=2525,
            smtp_password="pw",
            smtp_from="alerts@example.com",
        )
    )

    assert server is not None
    assert (server.host, server.port, server.sender) == (
        "mail.example.com",
        2525,
        "alerts@example.com",
    )
    assert "pw" not in repr(server)
