"""SSRF: with private targets refused, no spelling of an internal address reaches a canary.

The canary is a real HTTP server on loopback; every URL below names its port, so a request
that slipped through the guard would land there and show up in `canary.received`.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from integrations import outbound, webhook
from integrations.address_guard import AddressGuard
from tests.support.http_target import HttpTarget, Reply
from tests.support.tls import self_signed

PUBLIC_ADDRESS = "93.184.216.34"  # example.com; there is no internet here, so it never answers

# Answers of the injected resolver; a name missing here does not resolve.
DNS: dict[str, list[str]] = {
    "localhost": ["127.0.0.1"],
    "loopback.test": ["127.0.0.1"],
    "loopback-v6.test": ["::1"],
    "mapped-loopback.test": ["::ffff:127.0.0.1"],
    "metadata.test": ["169.254.169.254"],
    "private.test": ["10.1.2.3"],
    "mixed.test": [PUBLIC_ADDRESS, "127.0.0.1"],
    "mixed-reversed.test": ["127.0.0.1", PUBLIC_ADDRESS],
}

# (id, URL template); `{port}` is the canary's port.
REFUSED_FORMS: list[tuple[str, str]] = [
    ("dotted-quad", "http://127.0.0.1:{port}/"),
    ("short-form", "http://127.1:{port}/"),
    ("hex-short", "http://0x7f.1:{port}/"),
    ("hex-integer", "http://0x7f000001:{port}/"),
    ("decimal-integer", "http://2130706433:{port}/"),
    ("octal-integer", "http://017700000001:{port}/"),
    ("octal-dotted", "http://0177.0.0.1:{port}/"),
    ("hex-dotted", "http://0x7F.0x0.0x0.0x1:{port}/"),
    ("other-loopback", "http://127.0.0.2:{port}/"),
    ("trailing-dot", "http://127.0.0.1.:{port}/"),
    ("https-loopback", "https://127.0.0.1:{port}/"),
    ("ipv6-loopback", "http://[::1]:{port}/"),
    ("ipv6-unspecified", "http://[::]:{port}/"),
    ("ipv4-mapped", "http://[::ffff:127.0.0.1]:{port}/"),
    ("ipv4-mapped-hex", "http://[::ffff:7f00:1]:{port}/"),
    ("ipv4-mapped-long", "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/"),
    ("ipv4-mapped-metadata", "http://[::ffff:169.254.169.254]:{port}/"),
    ("ipv4-translated", "http://[::ffff:0:7f00:1]:{port}/"),
    ("ipv4-compatible", "http://[::127.0.0.1]:{port}/"),
    ("nat64", "http://[64:ff9b::7f00:1]:{port}/"),
    ("6to4", "http://[2002:7f00:1::]:{port}/"),
    ("teredo", "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{port}/"),
    ("localhost", "http://localhost:{port}/"),
    ("localhost-upper-dot", "http://LOCALHOST.:{port}/"),
    ("sub-localhost", "http://sub.localhost:{port}/"),
    ("unspecified", "http://0.0.0.0:{port}/"),
    ("zero", "http://0:{port}/"),
    ("aws-metadata", "http://169.254.169.254:{port}/latest/meta-data/"),
    ("aws-metadata-v6", "http://[fd00:ec2::254]:{port}/"),
    ("alibaba-metadata", "http://100.100.100.200:{port}/"),
    ("gcp-metadata-name", "http://metadata.google.internal:{port}/"),
    ("cgnat", "http://100.64.0.1:{port}/"),
    ("private-10", "http://10.0.0.1:{port}/"),
    ("private-172", "http://172.16.0.1:{port}/"),
    ("private-192", "http://192.168.1.1:{port}/"),
    ("link-local-v6", "http://[fe80::1]:{port}/"),
    ("link-local-v6-zone", "http://[fe80::1%25eth0]:{port}/"),
    ("unique-local-v6", "http://[fc00::1]:{port}/"),
    ("multicast", "http://224.0.0.1:{port}/"),
    ("broadcast", "http://255.255.255.255:{port}/"),
    ("name-to-loopback", "http://loopback.test:{port}/"),
    ("name-to-ipv6-loopback", "http://loopback-v6.test:{port}/"),
    ("name-to-mapped-loopback", "http://mapped-loopback.test:{port}/"),
    ("name-to-metadata", "http://metadata.test:{port}/"),
    ("name-to-private", "http://private.test:{port}/"),
    ("name-to-public-and-loopback", "http://mixed.test:{port}/"),
    ("name-to-loopback-and-public", "http://mixed-reversed.test:{port}/"),
    ("ftp-scheme", "ftp://127.0.0.1:{port}/"),
    ("file-scheme", "file://127.0.0.1:{port}/etc/passwd"),
    ("gopher-scheme", "gopher://127.0.0.1:{port}/"),
    ("userinfo-trick", "http://example.com@127.0.0.1:{port}/"),
    ("userinfo-trick-public-name", f"http://{PUBLIC_ADDRESS}@loopback.test:{{port}}/"),
]


class FakeResolver:
    """Answers from a table (a list per call, the last repeated) and counts the calls."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        script = self.answers.get(host)
        if script is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return script[min(len(self.calls) - 1, len(script) - 1)]


def table_resolver() -> FakeResolver:
    return FakeResolver({name: [answer] for name, answer in DNS.items()})


@pytest.fixture
async def http_client() -> AsyncIterator[outbound.HttpClient]:
    client = outbound.create_http_client()
    yield client
    await client.aclose()


@pytest.fixture
async def canary() -> AsyncIterator[HttpTarget]:
    target = HttpTarget()
    await target.start()
    yield target
    await target.stop()


async def call(
    client: outbound.HttpClient, guard: AddressGuard, url: str, timeout_seconds: float = 5
) -> outbound.OutboundResult:
    return await webhook.call(
        client,
        guard,
        method="POST",
        url=url,
        metadata={"probe": True},
        headers={},
        timeout_seconds=timeout_seconds,
    )


def test_at_least_thirty_distinct_forms_are_covered() -> None:
    assert len({template for _, template in REFUSED_FORMS}) >= 30
    assert len({name for name, _ in REFUSED_FORMS}) == len(REFUSED_FORMS)


@pytest.mark.parametrize(
    "template", [template for _, template in REFUSED_FORMS], ids=[n for n, _ in REFUSED_FORMS]
)
async def test_internal_address_forms_never_reach_the_canary(
    http_client: outbound.HttpClient, canary: HttpTarget, template: str
) -> None:
    guard = AddressGuard(allow_private=False, resolver=table_resolver())

    result = await call(http_client, guard, template.format(port=canary.port))

    assert canary.received == []
    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert result.error.startswith("target refused: ")
    # A refusal is final: retrying a forbidden target cannot help.
    assert result.retryable is False


@pytest.mark.parametrize(
    "template",
    [
        "http://127.0.0.1:{port}/",
        "http://127.1:{port}/",
        "http://0x7f.1:{port}/",
        "http://0x7f000001:{port}/",
        "http://2130706433:{port}/",
        "http://017700000001:{port}/",
        "http://localhost:{port}/",
        "http://loopback.test:{port}/",
        "http://example.com@127.0.0.1:{port}/",
    ],
)
async def test_the_same_forms_do_reach_the_canary_when_private_targets_are_allowed(
    http_client: outbound.HttpClient, canary: HttpTarget, template: str
) -> None:
    """Control: the canary is reachable through these spellings, so the refusals above are
    the guard's doing and not a dead canary."""
    guard = AddressGuard(allow_private=True, resolver=table_resolver())

    result = await call(http_client, guard, template.format(port=canary.port))

    assert result.ok, result.error
    assert len(canary.received) == 1


async def test_dns_rebinding_connects_to_the_address_that_was_checked(
    http_client: outbound.HttpClient, canary: HttpTarget
) -> None:
    resolver = FakeResolver({"rebind.test": [[PUBLIC_ADDRESS], ["127.0.0.1"]]})
    guard = AddressGuard(allow_private=False, resolver=resolver)

    started = time.monotonic()
    result = await call(http_client, guard, f"http://rebind.test:{canary.port}/", timeout_seconds=1)

    assert time.monotonic() - started < 5
    assert canary.received == []
    assert resolver.calls == ["rebind.test"]
    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    # The public address does not answer here: a timeout or a connection error, never a
    # refusal (the guard passed it) and never the canary's reply.
    assert "timed out" in result.error or "ConnectError" in result.error, result.error
    assert result.retryable is True


async def test_the_connection_is_pinned_to_the_checked_address_and_keeps_the_host_name(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    # First answer: the target. A second lookup would get 127.0.0.2, where nothing listens.
    resolver = FakeResolver({"pinned.test": [["127.0.0.1"], ["127.0.0.2"]]})
    guard = AddressGuard(allow_private=True, resolver=resolver)

    result = await call(http_client, guard, f"http://pinned.test:{http_target.port}/hook?x=1")

    assert result.ok, result.error
    assert resolver.calls == ["pinned.test"]
    [request] = http_target.received
    assert request.headers["host"] == f"pinned.test:{http_target.port}"
    assert request.path == "/hook?x=1"


async def test_proxies_from_the_environment_are_not_used(
    http_target: HttpTarget, canary: HttpTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy would connect wherever it likes, past the guard: the canary plays one."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{canary.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    guard = AddressGuard(
        allow_private=True, resolver=FakeResolver({"direct.test": [["127.0.0.1"]]})
    )
    client = outbound.create_http_client()
    try:
        result = await call(client, guard, f"http://direct.test:{http_target.port}/hook")
    finally:
        await client.aclose()

    assert result.ok, result.error
    assert canary.received == []
    assert [request.path for request in http_target.received] == ["/hook"]


async def test_an_ipv6_address_is_pinned_in_brackets_and_the_host_header_is_valid() -> None:
    """A name resolving to an IPv6 address, and an IPv6 literal, on the IPv6 loopback."""
    target = HttpTarget(host="::1")
    await target.start()
    resolver = FakeResolver({"v6.test": [["::1"]]})
    guard = AddressGuard(allow_private=True, resolver=resolver)
    client = outbound.create_http_client()
    try:
        by_name = await call(client, guard, f"http://v6.test:{target.port}/run")
        by_literal = await call(client, guard, f"http://[::1]:{target.port}/run")
    finally:
        await client.aclose()
        await target.stop()

    assert by_name.ok, by_name.error
    assert by_literal.ok, by_literal.error
    named, literal = target.received
    assert named.headers["host"] == f"v6.test:{target.port}"
    assert named.path == literal.path == "/run"
    assert literal.headers["host"] == f"[::1]:{target.port}"


async def test_https_keeps_the_name_for_sni_and_the_certificate_check() -> None:
    """The connection goes to the checked address, and TLS is made with the name: the server
    sees the name in SNI, and the certificate (issued to the name) is verified against it."""
    certificate = self_signed("tls.test")
    target = HttpTarget(tls=certificate.server)
    await target.start()
    # A second lookup would get 127.0.0.2, where nothing listens.
    resolver = FakeResolver({"tls.test": [["127.0.0.1"], ["127.0.0.2"]]})
    guard = AddressGuard(allow_private=True, resolver=resolver)
    client = outbound.create_http_client(tls=certificate.client)
    try:
        result = await call(client, guard, f"https://tls.test:{target.port}/secure")
        # The same certificate does not vouch for the address itself.
        by_address = await call(client, guard, f"https://127.0.0.1:{target.port}/secure")
    finally:
        await client.aclose()
        await target.stop()

    assert result.ok, result.error
    assert resolver.calls == ["tls.test"]
    assert target.server_names[0] == "tls.test"
    [request] = target.received
    assert request.headers["host"] == f"tls.test:{target.port}"
    assert not by_address.ok
    assert by_address.error is not None
    assert "certificate" in by_address.error.lower()


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/",
        "http://169.254.169.254:{port}/latest/meta-data/",
        "http://[::1]:{port}/",
        "/internal",
    ],
)
async def test_redirects_are_returned_not_followed(
    http_client: outbound.HttpClient,
    http_target: HttpTarget,
    canary: HttpTarget,
    location: str,
) -> None:
    http_target.respond(
        Reply(status=302, body=b"moved", headers={"Location": location.format(port=canary.port)})
    )
    guard = AddressGuard(allow_private=True)

    result = await call(http_client, guard, f"{http_target.url}/start")

    assert result.status_code == 302
    assert not result.ok
    assert result.error == "HTTP 302"
    assert [request.path for request in http_target.received] == ["/start"]
    assert canary.received == []
