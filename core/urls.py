"""Reading an outbound URL's shape, with no network: scheme, host (in any spelling a resolver
accepts) and port. Whether the target may be called is `integrations/address_guard.py`'s to say."""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import lru_cache

import httpx

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# Digits, hex (0x..) and dots only: the spellings inet_aton accepts for an IPv4 address.
_NUMERIC_HOST = re.compile(r"(?:0[xX][0-9a-fA-F]*|[0-9]+)(?:\.(?:0[xX][0-9a-fA-F]*|[0-9]+)){0,3}")
_HOST_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


class TargetRefused(ValueError):
    """The URL, host or address may not be called; `reason` says why in plain words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedTarget:
    url: httpx.URL
    scheme: str
    host: str
    """The host as it is resolved: lower-case, IDNA-encoded, no brackets or trailing dot."""
    port: int
    literal: Address | None
    """Set when the host is an IP address (in any spelling) rather than a name."""


def parse_ip_literal(host: str) -> Address | None:
    """The address `host` spells, in any form a resolver would accept, or None for a name.

    Raises TargetRefused for a numeric host that is not a valid address (`999.1.1.1`).
    """
    candidate = host.strip().removeprefix("[").removesuffix("]")
    if "%" in candidate:  # IPv6 zone id (`fe80::1%eth0`, percent-encoded as `%25eth0`)
        candidate = candidate.split("%", 1)[0]
        if ":" not in candidate:
            raise TargetRefused(f"{host!r} is not a valid host")
    candidate = candidate.removesuffix(".")
    try:
        return ipaddress.ip_address(candidate)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(candidate):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(candidate))
        except OSError:
            raise TargetRefused(f"{host!r} is not a valid IP address") from None
    if ":" in candidate:
        raise TargetRefused(f"{host!r} is not a valid IPv6 address")
    return None


@lru_cache(maxsize=8192)
def parse_target_url(url: str) -> ParsedTarget:
    """Check the shape of an outbound URL (no network): scheme, host and port.

    Pure, and called for every run: the answers for recent URLs are kept (httpx's parser costs
    about 0.4 ms a URL). A refused URL is parsed again each time."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise TargetRefused(f"not a valid URL: {exc}") from None
    scheme = parsed.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise TargetRefused("only http and https URLs are allowed")
    try:
        raw_host = parsed.raw_host.decode("ascii")
    except UnicodeDecodeError:
        raise TargetRefused("the host name is not valid") from None
    if not raw_host:
        raise TargetRefused("the URL has no host")
    port = parsed.port if parsed.port is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise TargetRefused(f"port {port} is out of range")
    literal = parse_ip_literal(raw_host)
    if literal is not None:
        return ParsedTarget(parsed, scheme, str(literal), port, literal)
    host = raw_host.lower().removesuffix(".")
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise TargetRefused(f"{raw_host!r} is not a valid host name")
    return ParsedTarget(parsed, scheme, host, port, None)
