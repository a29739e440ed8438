"""The phases the client measures (DNS, TCP connect, TLS, first byte), on real loopback servers."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence

from integrations import outbound
from integrations.address_guard import AddressGuard
from tests.support.http_target import HttpTarget, Reply
from tests.support.tls import self_signed


class SlowResolver:
    """Answers after `delay_seconds`, as a distant DNS server would."""

    def __init__(self, answers: dict[str, list[str]], delay_seconds: float) -> None:
        self.answers = answers
        self.delay_seconds = delay_seconds

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        await asyncio.sleep(self.delay_seconds)
        return self.answers[host]


async def send(
    client: outbound.HttpClient, guard: AddressGuard, url: str
) -> outbound.OutboundResult:
    return await outbound.send(
        client, "POST", url, headers={}, json={"n": 1}, timeout_seconds=5, guard=guard
    )


async def test_a_new_http_connection_to_an_address_has_connect_and_first_byte_only(
    http_target: HttpTarget,
) -> None:
    http_target.respond(Reply(delay_seconds=0.2))
    client = outbound.create_http_client()
    try:
        first = await send(client, AddressGuard(allow_private=True), f"{http_target.url}/a")
        again = await send(client, AddressGuard(allow_private=True), f"{http_target.url}/b")
    finally:
        await client.aclose()

    assert first.ok, first.error
    phases = first.phases
    assert phases.dns_ms is None  # an IP address: nothing to resolve
    assert phases.tls_ms is None  # plain http
    assert phases.connect_ms is not None
    assert 0 <= phases.connect_ms < 1000
    assert phases.first_byte_ms is not None
    assert 200 <= phases.first_byte_ms < 2000  # the target's delay is in the first byte
    # The second call reuses the kept-alive connection: no connect phase.
    assert again.ok, again.error
    assert again.phases.connect_ms is None
    assert again.phases.first_byte_ms is not None
    assert again.phases.first_byte_ms < 200


async def test_a_name_has_its_resolution_time() -> None:
    target = HttpTarget()
    await target.start()
    guard = AddressGuard(
        allow_private=True, resolver=SlowResolver({"slow.test": ["127.0.0.1"]}, 0.15)
    )
    client = outbound.create_http_client()
    try:
        result = await send(client, guard, f"http://slow.test:{target.port}/")
    finally:
        await client.aclose()
        await target.stop()

    assert result.ok, result.error
    assert result.phases.dns_ms is not None
    assert 150 <= result.phases.dns_ms < 2000


async def test_https_has_a_tls_phase() -> None:
    certificate = self_signed("tls.test")
    target = HttpTarget(tls=certificate.server)
    await target.start()
    guard = AddressGuard(allow_private=True, resolver=SlowResolver({"tls.test": ["127.0.0.1"]}, 0))
    client = outbound.create_http_client(tls=certificate.client)
    try:
        result = await send(client, guard, f"https://tls.test:{target.port}/")
    finally:
        await client.aclose()
        await target.stop()

    assert result.ok, result.error
    phases = result.phases
    assert phases.connect_ms is not None
    assert phases.tls_ms is not None
    assert phases.tls_ms > 0
    assert phases.first_byte_ms is not None


async def test_a_refused_connection_has_no_first_byte() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = outbound.create_http_client()
    try:
        result = await send(client, AddressGuard(allow_private=True), f"http://127.0.0.1:{port}/")
    finally:
        await client.aclose()

    assert not result.ok
    assert result.phases.first_byte_ms is None
    assert result.phases.tls_ms is None
