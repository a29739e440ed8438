"""A real SMTP server (aiosmtpd) on a loopback port, in the test's event loop.

It keeps every message it accepts; tests script recipients it refuses and the login it wants.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import warnings
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        """The decoded `text/<subtype>` part."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        assert body.get_content_type() == f"text/{subtype}"
        content: str = body.get_content()
        return content


class SmtpServer:
    def __init__(self) -> None:
        self.received: list[ReceivedMail] = []
        # Address -> the SMTP reply to RCPT TO, e.g. "550 5.1.1 no such user".
        self.refuse: dict[str, str] = {}
        self.credentials: tuple[str, str] | None = None
        self.logins: list[str] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._arrived = asyncio.Event()

    @property
    def recipients(self) -> list[str]:
        return sorted(address for mail in self.received for address in mail.recipients)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    async def wait_for(self, count: int, within_seconds: float = 10) -> None:
        async with asyncio.timeout(within_seconds):
            while len(self.received) < count:
                self._arrived.clear()
                await self._arrived.wait()

    def _protocol(self) -> SMTP:
        with warnings.catch_warnings():
            # Logins over plain text are what a loopback test server is for.
            warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
            return SMTP(
                self,
                hostname="smtp.test",
                auth_required=self.credentials is not None,
                auth_require_tls=False,
                authenticator=self._authenticate,
            )

    def _authenticate(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login = data.login.decode()
        self.logins.append(login)
        ok = self.credentials == (login, data.password.decode())
        return AuthResult(success=ok, handled=False)

    # aiosmtpd handler hooks -------------------------------------------------------------------

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        self._arrived.set()
        return "250 Message accepted"
