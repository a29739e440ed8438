"""Email through an SMTP server (aiosmtplib): a plain-text part with an HTML alternative."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
from pydantic import SecretStr

from core.config import Settings
from integrations.channels import DeliveryFailed

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True, slots=True)
class SmtpServer:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)
    starttls: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpServer | None:
        """The configured server, or None when SMTP_HOST is unset (email is off)."""
        if settings.smtp_host is None:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password,
            starttls=settings.smtp_starttls,
        )


def build_message(
    *,
    sender: str,
    recipient: str,
    subject: str,
    text: str,
    html: str | None,
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    # Machine-written: vacation responders and the like should not answer it (RFC 3834).
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


async def send(server: SmtpServer, message: EmailMessage, *, timeout_seconds: float) -> None:
    """Hand `message` to the server within `timeout_seconds`; raises DeliveryFailed."""
    implicit_tls = server.port == IMPLICIT_TLS_PORT
    try:
        async with asyncio.timeout(timeout_seconds):
            await aiosmtplib.send(
                message,
                hostname=server.host,
                port=server.port,
                username=server.username,
                password=server.password.get_secret_value() if server.password else None,
                use_tls=implicit_tls,
                start_tls=server.starttls and not implicit_tls,
                timeout=timeout_seconds,
            )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        retryable = all(r.code < 500 for r in exc.recipients)
        raise DeliveryFailed(f"recipient refused: {refused}", retryable=retryable) from None
    except aiosmtplib.SMTPResponseException as exc:
        # 4xx: try again later (RFC 5321 4.2.1); 5xx: the server refuses this message for good.
        raise DeliveryFailed(f"SMTP {exc.code}: {exc.message}", retryable=exc.code < 500) from None
    except TimeoutError:
        raise DeliveryFailed(f"timed out after {timeout_seconds:g}s", retryable=True) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
        raise DeliveryFailed(reason, retryable=True) from None
