"""The one module that decides whether an outbound URL, host or address may be called.

Rules (unless `ALLOW_PRIVATE_TARGETS=true`):
- only `http` and `https`, a valid host and port;
- the host is resolved (without blocking the event loop) and refused when ANY of its addresses is
  private, loopback, link-local, shared/CGNAT (100.64.0.0/10), multicast, unspecified, reserved,
  otherwise not globally routable, or a cloud metadata endpoint;
- IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`,
  NAT64 `64:ff9b::/96`, 6to4 `2002::/16`, Teredo `2001::/32`) are judged by that IPv4 address too;
- numeric host spellings that resolvers accept (`2130706433`, `0x7f.1`, `017700000001`, `127.1`)
  are read the way `inet_aton` reads them, so they cannot hide a loopback address.

`AddressGuard.check_url` returns the addresses it checked: whoever connects afterwards connects
to one of those, never to a second resolution of the name (DNS rebinding).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from core.urls import Address, TargetRefused, parse_ip_literal, parse_target_url

Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolves `(host, port)` to address strings; the default asks the system (getaddrinfo)."""

DEFAULT_RESOLVE_TIMEOUT_SECONDS = 5.0

# Well-known instance metadata endpoints (AWS, ECS, GCP, Azure, Oracle, Alibaba, ...). They all
# sit in ranges refused anyway; naming them keeps the refusal explicit and the reason precise.
METADATA_ADDRESSES: frozenset[Address] = frozenset(
    ipaddress.ip_address(address)
    for address in (
        "169.254.169.254",
        "169.254.169.253",
        "169.254.169.123",
        "169.254.170.2",
        "169.254.170.23",
        "100.100.100.200",
        "192.0.0.192",
        "fd00:ec2::254",
        "fd00:ec2::253",
        "fd00:ec2::23",
        "fe80::a9fe:a9fe",
    )
)
BLOCKED_HOST_NAMES = frozenset({"localhost", "metadata", "metadata.google.internal"})

_SHARED_ADDRESS_SPACE = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64_NETWORKS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
)
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


class HostUnresolvable(Exception):
    """The host name did not resolve (unknown name, resolver failure or timeout)."""


@dataclass(frozen=True, slots=True)
class CheckedTarget:
    url: httpx.URL
    scheme: str
    host: str
    port: int
    addresses: tuple[Address, ...]
    """Every address the host resolved to, each checked; connect to one of these."""


def refusal_reason(address: Address) -> str | None:
    """Why `address` may not be called, or None when it is a public unicast address."""
    if address in METADATA_ADDRESSES:
        return f"{address} is a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = embedded_ipv4(address)
        for inner in embedded:
            reason = refusal_reason(inner)
            if reason is not None:
                return f"{address} embeds {inner}: {reason}"
        if embedded and _is_translation_prefix(address):
            # The IPv6 wrapper is reserved by definition; the embedded address decides.
            return None
    return _range_reason(address)


def _range_reason(address: Address) -> str | None:
    checks: tuple[tuple[bool, str], ...] = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (
            isinstance(address, ipaddress.IPv4Address) and address in _SHARED_ADDRESS_SPACE,
            "a shared (CGNAT) address",
        ),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),
    )
    for refused, what in checks:
        if refused:
            return f"{address} is {what}"
    return None


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in network for network in _NAT64_NETWORKS) or (
        address in _IPV4_COMPATIBLE and int(address) > 1
    ):
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return tuple(found)


def _is_translation_prefix(address: ipaddress.IPv6Address) -> bool:
    return (
        address.ipv4_mapped is not None
        or address in _IPV4_COMPATIBLE
        or any(address in network for network in _NAT64_NETWORKS)
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """Resolve with the system resolver in the loop's executor (never blocking the loop)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# How an operator allows what the guard refuses, said with every refusal of an address.
ALLOW_PRIVATE_HINT = " (an operator allows such targets with ALLOW_PRIVATE_TARGETS=true)"


class AddressGuard:
    """Checks outbound targets. Stateless: one per process or one per request, as convenient."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver = system_resolver,
        resolve_timeout_seconds: float = DEFAULT_RESOLVE_TIMEOUT_SECONDS,
    ) -> None:
        self.allow_private = allow_private
        self._resolver = resolver
        self._resolve_timeout_seconds = resolve_timeout_seconds

    def check_address(self, address: Address) -> None:
        """Raise TargetRefused unless `address` may be called."""
        if self.allow_private:
            return
        reason = refusal_reason(address)
        if reason is not None:
            raise TargetRefused(f"{reason}{ALLOW_PRIVATE_HINT}")

    async def check_url(self, url: str) -> CheckedTarget:
        """Parse, resolve and check `url`; every address it resolves to must be allowed.

        Raises TargetRefused (bad shape or a refused address) or HostUnresolvable.
        """
        target = parse_target_url(url)
        addresses = await self.check_host(target.host, target.port)
        return CheckedTarget(target.url, target.scheme, target.host, target.port, addresses)

    async def check_host(self, host: str, port: int) -> tuple[Address, ...]:
        literal = parse_ip_literal(host)
        if literal is not None:
            self.check_address(literal)
            return (literal,)
        name = host.lower().removesuffix(".")
        if not self.allow_private and (name in BLOCKED_HOST_NAMES or name.endswith(".localhost")):
            raise TargetRefused(
                f"{host!r} names this machine or a metadata service{ALLOW_PRIVATE_HINT}"
            )
        addresses = await self._resolve(name, port)
        for address in addresses:
            self.check_address(address)
        return addresses

    async def _resolve(self, host: str, port: int) -> tuple[Address, ...]:
        try:
            async with asyncio.timeout(self._resolve_timeout_seconds):
                answers = await self._resolver(host, port)
        except TimeoutError:
            raise HostUnresolvable(f"resolving {host!r} timed out") from None
        except OSError as exc:  # socket.gaierror and friends
            raise HostUnresolvable(f"{host!r} does not resolve: {exc}") from None
        addresses: list[Address] = []
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer.split("%", 1)[0])
            except ValueError:
                raise HostUnresolvable(f"{host!r} resolved to {answer!r}") from None
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise HostUnresolvable(f"{host!r} has no addresses")
        return tuple(addresses)


async def check_url(
    url: str, *, allow_private: bool = False, resolver: Resolver = system_resolver
) -> CheckedTarget:
    """`AddressGuard(...).check_url(url)` for one-off callers: the checked addresses to use."""
    return await AddressGuard(allow_private=allow_private, resolver=resolver).check_url(url)
