"""The address guard: every spelling of a private, loopback, link-local, CGNAT, multicast,
reserved or metadata address is refused; public addresses (however wrapped) pass."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from core.urls import TargetRefused, parse_ip_literal, parse_target_url
from integrations.address_guard import (
    AddressGuard,
    HostUnresolvable,
    check_url,
    embedded_ipv4,
    refusal_reason,
    system_resolver,
)
from tests.support.fake_dns import FakeResolver

REFUSED_HOSTS = [
    # loopback, in every spelling a resolver accepts
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "127.255.255.254",
    "0x7f.1",
    "0x7f000001",
    "0x7F.0.0.0x1",
    "2130706433",
    "017700000001",
    "0177.0.0.1",
    "127.000.000.001",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
    # unspecified
    "0.0.0.0",
    "0",
    "[::]",
    # private
    "10.0.0.1",
    "10.255.255.255",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.1.1",
    "0xc0.0xa8.1.1",
    "3232235777",
    "[fc00::1]",
    "[fd12:3456::1]",
    # shared address space (CGNAT)
    "100.64.0.1",
    "100.127.255.254",
    # link-local and cloud metadata
    "169.254.0.1",
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "169.254.170.2",
    "100.100.100.200",
    "[fe80::1]",
    "[fe80::a9fe:a9fe]",
    "[fd00:ec2::254]",
    "metadata.google.internal",
    # multicast, broadcast, reserved, documentation, benchmarking
    "224.0.0.1",
    "239.255.255.250",
    "[ff02::1]",
    "255.255.255.255",
    "240.0.0.1",
    "192.0.2.1",
    "198.51.100.7",
    "203.0.113.9",
    "198.18.0.1",
    "[2001:db8::1]",
    # IPv4 carried inside IPv6
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[0:0:0:0:0:ffff:127.0.0.1]",
    "[::ffff:169.254.169.254]",
    "[::ffff:10.0.0.1]",
    "[::127.0.0.1]",
    "[2002:7f00:1::]",
    "[2002:a9fe:a9fe::1]",
    "[2002:c0a8:101::1]",
    "[64:ff9b::7f00:1]",
    "[64:ff9b::a9fe:a9fe]",
    "[64:ff9b::10.0.0.1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",
]

ALLOWED_HOSTS = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "134744072",  # 8.8.8.8 as one number
    "[2606:4700:4700::1111]",
    "[::ffff:8.8.8.8]",
    "[2002:808:808::1]",
    "[64:ff9b::808:808]",
]


@pytest.fixture
def guard() -> AddressGuard:
    return AddressGuard(resolver=FakeResolver({}))


@pytest.mark.parametrize("host", REFUSED_HOSTS)
async def test_refuses_every_non_public_address_form(guard: AddressGuard, host: str) -> None:
    with pytest.raises(TargetRefused):
        await guard.check_url(f"http://{host}/hook")


@pytest.mark.parametrize("host", ALLOWED_HOSTS)
async def test_allows_public_addresses(guard: AddressGuard, host: str) -> None:
    checked = await guard.check_url(f"https://{host}/hook")

    assert len(checked.addresses) == 1
    assert refusal_reason(checked.addresses[0]) is None


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[fe80::1%25eth0]", "fe80::1"),
        ("example.com", None),
        ("my-host_1.internal.", None),
    ],
)
def test_numeric_hosts_are_read_like_inet_aton(spelling: str, address: str | None) -> None:
    parsed = parse_ip_literal(spelling)

    assert parsed == (ipaddress.ip_address(address) if address else None)


@pytest.mark.parametrize("host", ["999.1.1.1", "1.2.3.256", "0x1ffffffff", "[::1::2]"])
def test_malformed_numeric_hosts_are_refused(host: str) -> None:
    with pytest.raises(TargetRefused):
        parse_ip_literal(host)


@pytest.mark.parametrize(
    ("address", "embedded"),
    [
        ("::ffff:10.1.2.3", ["10.1.2.3"]),
        ("::10.1.2.3", ["10.1.2.3"]),
        ("64:ff9b::10.1.2.3", ["10.1.2.3"]),
        ("2002:0a01:0203::1", ["10.1.2.3"]),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", ["65.54.227.120", "127.0.0.1"]),
        ("2606:4700::1111", []),
    ],
)
def test_ipv4_inside_ipv6_is_unwrapped(address: str, embedded: list[str]) -> None:
    found = embedded_ipv4(ipaddress.IPv6Address(address))

    assert [str(item) for item in found] == embedded


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "//example.com/no-scheme",
        "http:///no-host",
        "http://example.com:0/",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://%31%32%37.0.0.1/",
        "http://-bad-.example.com/",
        "not a url",
    ],
)
def test_malformed_or_non_http_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetRefused):
        parse_target_url(url)


def test_parsed_url_names_host_and_default_port() -> None:
    target = parse_target_url("HTTPS://Hooks.Example.COM./x?y=1")

    assert (target.scheme, target.host, target.port, target.literal) == (
        "https",
        "hooks.example.com",
        443,
        None,
    )


async def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    resolver = FakeResolver({"mixed.example": ["93.184.215.14", "10.0.0.7"]})
    guard = AddressGuard(resolver=resolver)

    with pytest.raises(TargetRefused, match="10.0.0.7"):
        await guard.check_url("https://mixed.example/hook")


async def test_a_name_resolving_to_loopback_is_refused() -> None:
    guard = AddressGuard(resolver=FakeResolver({"rebind.example": ["127.0.0.1"]}))

    with pytest.raises(TargetRefused, match="loopback"):
        await guard.check_url("http://rebind.example:8080/")


async def test_a_name_resolving_to_mapped_metadata_address_is_refused() -> None:
    guard = AddressGuard(resolver=FakeResolver({"sneaky.example": ["::ffff:169.254.169.254"]}))

    with pytest.raises(TargetRefused, match="metadata"):
        await guard.check_url("http://sneaky.example/")


async def test_checked_addresses_are_returned_for_the_connection() -> None:
    resolver = FakeResolver(
        {
            "hooks.example": [
                "93.184.215.14",
                "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
                "93.184.215.14",
            ]
        }
    )
    guard = AddressGuard(resolver=resolver)

    checked = await guard.check_url("https://hooks.example:8443/path")

    assert checked.host == "hooks.example"
    assert checked.port == 8443
    assert [str(address) for address in checked.addresses] == [
        "93.184.215.14",
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]
    assert resolver.calls == [("hooks.example", 8443)]


async def test_literal_addresses_are_not_resolved() -> None:
    resolver = FakeResolver({})
    guard = AddressGuard(resolver=resolver)

    checked = await guard.check_url("http://0x08080808/")

    assert [str(address) for address in checked.addresses] == ["8.8.8.8"]
    assert resolver.calls == []


async def test_unknown_names_are_unresolvable_not_refused() -> None:
    guard = AddressGuard(resolver=FakeResolver({}))

    with pytest.raises(HostUnresolvable):
        await guard.check_url("https://does-not-exist.example/")


async def test_a_slow_resolver_times_out() -> None:
    async def never_answers(host: str, port: int) -> list[str]:
        await asyncio.sleep(10)
        return []

    guard = AddressGuard(resolver=never_answers, resolve_timeout_seconds=0.05)

    with pytest.raises(HostUnresolvable, match="timed out"):
        await guard.check_url("https://slow.example/")


async def test_allow_private_disables_the_check_but_still_resolves() -> None:
    resolver = FakeResolver({"db.internal": ["10.1.2.3"], "localhost": ["127.0.0.1"]})
    guard = AddressGuard(allow_private=True, resolver=resolver)

    loopback = await guard.check_url("http://127.0.0.1:8080/")
    internal = await guard.check_url("http://db.internal/")
    named = await guard.check_url("http://localhost:9000/")

    assert [str(a) for a in loopback.addresses] == ["127.0.0.1"]
    assert [str(a) for a in internal.addresses] == ["10.1.2.3"]
    assert named.host == "localhost"


async def test_allow_private_still_refuses_other_schemes() -> None:
    guard = AddressGuard(allow_private=True)

    with pytest.raises(TargetRefused, match="http and https"):
        await guard.check_url("ftp://127.0.0.1/")


async def test_the_system_resolver_answers_without_blocking() -> None:
    # `localhost` resolves from /etc/hosts, without a network.
    answers = await system_resolver("localhost", 80)

    assert {"127.0.0.1", "::1"} & set(answers)


async def test_the_default_guard_refuses_localhost_by_name() -> None:
    with pytest.raises(TargetRefused):
        await AddressGuard().check_url("http://localhost:8000/")


async def test_module_level_check_url_returns_the_checked_addresses() -> None:
    resolver = FakeResolver({"hooks.example": ["93.184.215.14"]})

    checked = await check_url("https://hooks.example/x", resolver=resolver)

    assert [str(address) for address in checked.addresses] == ["93.184.215.14"]
    with pytest.raises(TargetRefused):
        await check_url("http://[::1]/", resolver=resolver)
