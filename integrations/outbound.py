"""Every outbound HTTP call of a run goes through here.

The target is checked by the address guard and the connection goes to the address that was
checked (the Host header and TLS SNI keep the name), so a resolver that changes its answer
between check and connect cannot steer the call. Redirects are never followed, proxies from
the environment are ignored, only the first `OUTPUT_LIMIT_BYTES` of a body are read, and the
whole exchange has one deadline.
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from core.clock import utcnow
from core.config import VERSION
from core.urls import TargetRefused
from integrations.address_guard import AddressGuard, HostUnresolvable

OUTPUT_LIMIT_BYTES = 4096
USER_AGENT = f"cronjob-service/{VERSION}"


CONNECTIONS_PER_CLIENT = 8


def create_http_client(
    max_connections: int = CONNECTIONS_PER_CLIENT, tls: ssl.SSLContext | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        verify=tls or ssl.create_default_context(),
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        ),
        # Raw bytes are read and capped; compressed bodies could expand far past the cap.
        headers={"User-Agent": USER_AGENT, "Accept-Encoding": "identity"},
    )


class HttpClients:
    """Several small httpx clients used in turn.

    httpcore's pool does bookkeeping proportional to requests x connections on every event, so
    one client with hundreds of connections spends its time there; clients of a few dozen
    connections each keep that cost flat as concurrency grows.
    """

    def __init__(self, max_connections: int) -> None:
        count = max(1, -(-max_connections // CONNECTIONS_PER_CLIENT))
        tls = ssl.create_default_context()  # loading the CA bundle is slow: once, shared
        self._clients = [create_http_client(tls=tls) for _ in range(count)]
        self._turn = itertools.cycle(self._clients)

    def next(self) -> httpx.AsyncClient:
        return next(self._turn)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


@dataclass(frozen=True, slots=True)
class OutboundResult:
    status_code: int | None
    output: str | None
    error: str | None
    retry_after_seconds: float | None = None
    # For failures without a response: worth trying again (timeouts, refused connections),
    # as opposed to a target the guard refuses or a run missing its credentials.
    retryable: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.status_code is not None and 200 <= self.status_code < 300


async def send(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    headers: dict[str, str],
    json: Any = None,
    timeout_seconds: float,
    guard: AddressGuard | None,
) -> OutboundResult:
    """Make one request and describe what happened; never raises for network outcomes.

    `guard=None` is for operator-configured endpoints (the GitHub API), which are trusted.
    """
    try:
        async with asyncio.timeout(timeout_seconds):
            request = await _build_request(client, method, url, headers, json, guard)
            response = await client.send(request, stream=True)
            try:
                output = await _read_head(response)
            finally:
                await response.aclose()
    except TargetRefused as exc:
        return OutboundResult(None, None, f"target refused: {exc.reason}")
    except HostUnresolvable as exc:
        return OutboundResult(None, None, str(exc), retryable=True)
    except TimeoutError:
        return OutboundResult(None, None, f"timed out after {timeout_seconds:g}s", retryable=True)
    except httpx.HTTPError as exc:
        message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        return OutboundResult(None, None, message, retryable=True)
    error = None if response.is_success else f"HTTP {response.status_code}"
    return OutboundResult(
        response.status_code, output, error, _retry_after_seconds(response.headers)
    )


async def _build_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    json: Any,
    guard: AddressGuard | None,
) -> httpx.Request:
    # `timeout=None`: the caller's `asyncio.timeout` is the one deadline. httpx's own default
    # (5 s per phase) would otherwise cut jobs whose `timeout_seconds` is longer.
    if guard is None:
        return client.build_request(method, url, headers=headers, json=json, timeout=None)
    checked = await guard.check_url(url)
    pinned = checked.url.copy_with(host=str(checked.addresses[0]))
    default_port = {"http": 80, "https": 443}[checked.scheme]
    # An IPv6 literal keeps its brackets in the Host header (RFC 9110 7.2, RFC 3986 3.2.2).
    host = f"[{checked.host}]" if ":" in checked.host else checked.host
    host_header = host if checked.port == default_port else f"{host}:{checked.port}"
    extensions = {"sni_hostname": checked.host} if checked.scheme == "https" else {}
    return client.build_request(
        method,
        pinned,
        headers={**headers, "Host": host_header},
        json=json,
        extensions=extensions,
        timeout=None,
    )


async def _read_head(response: httpx.Response) -> str:
    """The first OUTPUT_LIMIT_BYTES of the body; the rest is never read into memory."""
    collected = bytearray()
    async for chunk in response.aiter_raw():
        collected.extend(chunk[: OUTPUT_LIMIT_BYTES - len(collected)])
        if len(collected) >= OUTPUT_LIMIT_BYTES:
            break
    return collected.decode("utf-8", errors="replace")


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - utcnow()).total_seconds())
    except (TypeError, ValueError):
        return None
