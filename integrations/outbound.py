"""Every outbound HTTP call of a run goes through here (aiohttp: a tenth of httpx's CPU cost).

The target is checked by the address guard and the connection goes to an address that was
checked: the connector's resolver answers only with the addresses the guard checked for this
call (it never asks DNS itself), so a resolver that changes its answer between check and
connect cannot steer the call, while the URL keeps the name for TLS SNI, certificate checks and
`Host`. Redirects are never followed, proxies from the environment are ignored, cookies are
never kept, only the first `OUTPUT_LIMIT_BYTES` of a body are read, and the whole exchange has
one deadline. Each call also measures its phases (DNS, TCP connect, TLS, first byte).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json as jsonlib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.client_proto import ResponseHandler
from multidict import CIMultiDictProxy

from core.clock import utcnow
from core.config import VERSION
from core.urls import TargetRefused
from integrations.address_guard import AddressGuard, CheckedTarget, HostUnresolvable

OUTPUT_LIMIT_BYTES = 4096
USER_AGENT = f"cronjob-service/{VERSION}"
DEFAULT_MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 4.0
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Phases:
    """Milliseconds the client spent in each phase of one call; None when the phase did not
    happen (no DNS for an IP address, no connect or TLS on a kept-alive connection, no TLS
    for http, no answer)."""

    dns_ms: float | None = None
    connect_ms: float | None = None
    tls_ms: float | None = None
    first_byte_ms: float | None = None


@dataclass(frozen=True, slots=True)
class OutboundResult:
    status_code: int | None
    output: str | None
    error: str | None
    retry_after_seconds: float | None = None
    # For failures without a response: worth trying again (timeouts, refused connections),
    # as opposed to a target the guard refuses or a run missing its credentials.
    retryable: bool = False
    phases: Phases = field(default_factory=Phases)

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


@dataclass(slots=True)
class _Call:
    """One call in flight: what the resolver may answer, and the instants of its phases."""

    checked: CheckedTarget | None
    """None for a trusted endpoint (no guard): the resolver asks the system."""
    https: bool
    dns_ms: float | None = None
    connect_started: float | None = None
    tcp_connected: float | None = None
    connection_ready: float | None = None
    new_connection: bool = False


_CURRENT: contextvars.ContextVar[_Call] = contextvars.ContextVar("outbound_call")


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 3)


class _CheckedResolver(AbstractResolver):
    """Answers with the addresses the guard checked for the call in progress, and nothing else.

    A call without a check (a trusted endpoint) is resolved by the system; a lookup outside any
    call, or of another host than the one checked, fails.
    """

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        call = _CURRENT.get(None)
        if call is None:
            raise OSError(f"no call in progress may resolve {host!r}")
        if call.checked is None:
            started = time.perf_counter()
            loop = asyncio.get_running_loop()
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            call.dns_ms = _ms(started, time.perf_counter())
            addresses = [str(info[4][0]) for info in infos]
        elif host.lower().removesuffix(".") == call.checked.host:
            addresses = [str(address) for address in call.checked.addresses]
        else:
            raise OSError(f"{host!r} is not the host that was checked")
        call.connect_started = time.perf_counter()
        return [
            {
                "hostname": host,
                "host": address,
                "port": port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class _TimedConnector(aiohttp.TCPConnector):
    """Notes when the TCP connection is up: asyncio makes the protocol right after the TCP
    connect and before the TLS handshake, so the time between is the handshake's."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._factory = functools.partial(_timed_protocol, self._factory)


def _timed_protocol(make_protocol: Callable[[], ResponseHandler]) -> ResponseHandler:
    call = _CURRENT.get(None)
    if call is not None:
        call.tcp_connected = time.perf_counter()
    return make_protocol()


async def _on_connection_create_start(
    _session: aiohttp.ClientSession, _context: SimpleNamespace, _params: object
) -> None:
    call = _CURRENT.get(None)
    if call is not None:
        call.new_connection = True
        call.connect_started = time.perf_counter()


async def _on_connection_ready(
    _session: aiohttp.ClientSession, _context: SimpleNamespace, _params: object
) -> None:
    call = _CURRENT.get(None)
    if call is not None:
        call.connection_ready = time.perf_counter()


def _trace_config() -> aiohttp.TraceConfig:
    trace = aiohttp.TraceConfig()
    trace.on_connection_create_start.append(_on_connection_create_start)
    trace.on_connection_create_end.append(_on_connection_ready)
    trace.on_connection_reuseconn.append(_on_connection_ready)
    return trace


class HttpClient:
    """One aiohttp session (pool of up to `max_connections`) with the guarantees above; calls
    go through `send(client, ...)`. Made in a running event loop; `aclose` when done.
    """

    def __init__(
        self, max_connections: int = DEFAULT_MAX_CONNECTIONS, tls: ssl.SSLContext | None = None
    ) -> None:
        self._tls = tls or ssl.create_default_context()  # the CA bundle is slow to load: once
        self._session = aiohttp.ClientSession(
            connector=_TimedConnector(
                limit=max_connections,
                resolver=_CheckedResolver(),
                use_dns_cache=False,  # the resolver must be asked on every new connection
                ssl=self._tls,
                # Below the 5 s after which common servers (Node, uvicorn) close idle
                # connections: reusing one the server is closing fails the request.
                keepalive_timeout=KEEPALIVE_SECONDS,
            ),
            trust_env=False,  # no proxies (or .netrc) from the environment
            cookie_jar=aiohttp.DummyCookieJar(),  # one job's cookies never reach another
            auto_decompress=False,  # raw bytes are capped; compressed ones could expand past it
            timeout=aiohttp.ClientTimeout(total=None, connect=None, sock_read=None),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
            trace_configs=[_trace_config()],
        )

    async def aclose(self) -> None:
        await self._session.close()

    async def _exchange(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> tuple[aiohttp.ClientResponse, str, float]:
        async with self._session.request(
            method, url, headers=headers, data=body, allow_redirects=False
        ) as response:
            headers_at = time.perf_counter()
            return response, await _read_head(response.content), headers_at


def create_http_client(
    max_connections: int = DEFAULT_MAX_CONNECTIONS, tls: ssl.SSLContext | None = None
) -> HttpClient:
    return HttpClient(max_connections, tls)


async def send(
    client: HttpClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json: Any = None,
    content: bytes | None = None,
    timeout_seconds: float,
    guard: AddressGuard | None,
) -> OutboundResult:
    """Make one request and describe what happened; never raises for network outcomes.

    The body is `json` (encoded here) or `content` (bytes sent as they are: a signed body).
    `guard=None` is for operator-configured endpoints (the GitHub API, Slack), which are
    trusted.
    """
    call = _Call(checked=None, https=url[:6].lower() == "https:")
    token = _CURRENT.set(call)
    try:
        async with asyncio.timeout(timeout_seconds):
            if guard is not None:
                url, headers, call.checked, call.dns_ms = await _check(guard, url, headers)
            if json is not None:
                headers = {**headers, "Content-Type": "application/json"}
            body = content if json is None else _json_dumps(json).encode()
            try:
                response, output, headers_at = await client._exchange(method, url, headers, body)
            except aiohttp.ServerDisconnectedError:
                if call.new_connection:
                    raise
                # A kept-alive connection the server closed as it was taken (no answer
                # came, so the request was not served): once more, on a fresh one.
                response, output, headers_at = await client._exchange(method, url, headers, body)
    except TargetRefused as exc:
        return OutboundResult(None, None, f"target refused: {exc.reason}")
    except HostUnresolvable as exc:
        return OutboundResult(None, None, str(exc), retryable=True, phases=_phases(call))
    except TimeoutError:
        return OutboundResult(
            None,
            None,
            f"timed out after {timeout_seconds:g}s",
            retryable=True,
            phases=_phases(call),
        )
    except (aiohttp.ClientError, OSError) as exc:
        return OutboundResult(None, None, _describe(exc), retryable=True, phases=_phases(call))
    finally:
        _CURRENT.reset(token)
    status = response.status
    return OutboundResult(
        status,
        output,
        None if 200 <= status < 300 else f"HTTP {status}",
        _retry_after_seconds(response.headers),
        phases=_phases(call, headers_at),
    )


async def _check(
    guard: AddressGuard, url: str, headers: dict[str, str]
) -> tuple[str, dict[str, str], CheckedTarget, float | None]:
    """The URL to request (the checked name, or the checked address in its canonical form),
    the headers with `Host`, the checked target, and how long resolving took (None for an
    IP address)."""
    started = time.perf_counter()
    checked = await guard.check_url(url)
    literal = len(checked.addresses) == 1 and str(checked.addresses[0]) == checked.host
    dns_ms = None if literal else _ms(started, time.perf_counter())
    # An IPv6 literal keeps its brackets in the URL and the Host header (RFC 9110 7.2).
    host = f"[{checked.host}]" if ":" in checked.host else checked.host
    host_port = host if checked.port == _DEFAULT_PORTS[checked.scheme] else f"{host}:{checked.port}"
    userinfo = checked.url.userinfo.decode("ascii")
    netloc = f"{userinfo}@{host}:{checked.port}" if userinfo else f"{host}:{checked.port}"
    pinned = f"{checked.scheme}://{netloc}{checked.url.raw_path.decode('ascii')}"
    return pinned, {**headers, "Host": host_port}, checked, dns_ms


def _phases(call: _Call, headers_at: float | None = None) -> Phases:
    connected = call.tcp_connected if call.new_connection else None
    return Phases(
        dns_ms=call.dns_ms,
        connect_ms=_ms(call.connect_started, connected),
        tls_ms=_ms(connected, call.connection_ready) if call.https else None,
        first_byte_ms=_ms(call.connection_ready, headers_at),
    )


async def _read_head(content: aiohttp.StreamReader) -> str:
    """The first OUTPUT_LIMIT_BYTES of the body; the rest is never read into memory (the
    connection is closed when the response is released with its body unread)."""
    collected = bytearray()
    while len(collected) < OUTPUT_LIMIT_BYTES:
        chunk = await content.read(OUTPUT_LIMIT_BYTES - len(collected))
        if not chunk:
            break
        collected.extend(chunk)
    return collected.decode("utf-8", errors="replace")


def _describe(exc: BaseException) -> str:
    """An error message that names what failed; connection failures read `ConnectError: ...`
    whichever library made the call."""
    name = "ConnectError" if isinstance(exc, aiohttp.ClientConnectorError) else type(exc).__name__
    return f"{name}: {exc}".rstrip(": ")


# Compact UTF-8 JSON, the bytes a signature would be computed over; NaN is not JSON.
_json_dumps = functools.partial(
    jsonlib.dumps, ensure_ascii=False, separators=(",", ":"), allow_nan=False
)


def _retry_after_seconds(headers: CIMultiDictProxy[str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None
