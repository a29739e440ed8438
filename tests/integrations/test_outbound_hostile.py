"""Hostile and ordinary targets: hangs, huge bodies, refused ports, status codes, Retry-After;
and the retry policy built on the outcome (`is_retryable`, `backoff_seconds`)."""

from __future__ import annotations

import asyncio
import random
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from email.utils import format_datetime

import pytest

from core.clock import utcnow
from integrations import outbound
from integrations.address_guard import AddressGuard
from integrations.outbound import OUTPUT_LIMIT_BYTES, OutboundResult
from services.execution_lifecycle import Backoff, RetryPolicy, backoff_seconds, is_retryable
from tests.conftest import make_settings
from tests.support.http_target import HttpTarget, Reply

LOOPBACK_ALLOWED = AddressGuard(allow_private=True)


@pytest.fixture
async def http_client() -> AsyncIterator[outbound.HttpClient]:
    client = outbound.create_http_client()
    yield client
    await client.aclose()


async def send(
    client: outbound.HttpClient, url: str, *, timeout_seconds: float = 5
) -> OutboundResult:
    return await outbound.send(
        client,
        "POST",
        url,
        headers={},
        json={"run": 1},
        timeout_seconds=timeout_seconds,
        guard=LOOPBACK_ALLOWED,
    )


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_target_that_never_answers_is_cut_at_the_timeout(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(hang=True))

    started = time.monotonic()
    result = await send(http_client, http_target.url, timeout_seconds=1)
    elapsed = time.monotonic() - started

    assert len(http_target.received) == 1  # the request was made; the answer never came
    assert elapsed < 5
    assert elapsed >= 0.9
    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert "timed out" in result.error
    assert result.retryable is True
    assert is_retryable(result)


async def test_a_slow_target_within_the_job_timeout_is_waited_for(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    """The job's `timeout_seconds` is the deadline, not the HTTP library's 5 s default."""
    http_target.respond(Reply(body=b"done", delay_seconds=5.5))

    result = await send(http_client, http_target.url, timeout_seconds=10)

    assert result.ok, result.error
    assert result.output == "done"


async def test_a_50_mb_body_keeps_4_kib_and_is_never_read_into_memory(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    size = 50_000_000
    http_target.respond(Reply(stream_bytes=size))

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = await send(http_client, http_target.url)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await asyncio.sleep(0.2)  # let the target notice the closed connection

    assert result.ok, result.error
    assert result.output is not None
    assert len(result.output) == OUTPUT_LIMIT_BYTES == 4096
    assert result.output == "x" * 4096
    assert http_target.bytes_sent < 20_000_000
    assert peak < 5_000_000, f"peak traced memory {peak} bytes"


async def test_a_multibyte_character_cut_at_the_limit_does_not_fail(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(body=b"a" + "é".encode() * 3000))

    result = await send(http_client, http_target.url)

    assert result.ok
    assert result.output is not None
    assert result.output.startswith("aé")
    assert len(result.output.encode()) <= OUTPUT_LIMIT_BYTES + 2  # at most one replacement


async def test_a_refused_port_is_a_retryable_failure(http_client: outbound.HttpClient) -> None:
    result = await send(http_client, f"http://127.0.0.1:{closed_port()}/")

    assert not result.ok
    assert result.status_code is None
    assert result.error is not None
    assert "ConnectError" in result.error
    assert result.retryable is True
    assert is_retryable(result)


async def test_a_500_is_a_failure_with_its_status(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(status=500, body=b"boom"))

    result = await send(http_client, http_target.url)

    assert not result.ok
    assert result.status_code == 500
    assert result.error == "HTTP 500"
    assert result.output == "boom"
    assert is_retryable(result)


async def test_a_200_is_a_success(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(status=200, body=b'{"accepted": true}'))

    result = await send(http_client, http_target.url)

    assert result.ok
    assert result.status_code == 200
    assert result.error is None
    assert result.output == '{"accepted": true}'
    assert result.retry_after_seconds is None


async def test_retry_after_in_seconds_is_parsed(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    http_target.respond(Reply(status=429, headers={"Retry-After": "1"}))

    result = await send(http_client, http_target.url)

    assert result.status_code == 429
    assert result.retry_after_seconds == 1.0
    assert is_retryable(result)


async def test_retry_after_as_an_http_date_is_parsed(
    http_client: outbound.HttpClient, http_target: HttpTarget
) -> None:
    when = utcnow() + timedelta(seconds=120)
    http_target.respond(
        Reply(status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    )

    result = await send(http_client, http_target.url)

    assert result.status_code == 503
    assert result.retry_after_seconds is not None
    assert 100 <= result.retry_after_seconds <= 120


@pytest.mark.parametrize(
    ("value", "expected"),
    [("Thu, 01 Jan 2015 00:00:00 GMT", 0.0), ("soon", None), ("-5", None), (" 7 ", 7.0)],
)
async def test_past_or_unreadable_retry_after(
    http_client: outbound.HttpClient, http_target: HttpTarget, value: str, expected: float | None
) -> None:
    http_target.respond(Reply(status=503, headers={"Retry-After": value}))

    result = await send(http_client, http_target.url)

    assert result.status_code == 503
    assert result.retry_after_seconds == expected


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (OutboundResult(500, "", "HTTP 500"), True),
        (OutboundResult(502, "", "HTTP 502"), True),
        (OutboundResult(503, "", "HTTP 503"), True),
        (OutboundResult(408, "", "HTTP 408"), True),
        (OutboundResult(425, "", "HTTP 425"), True),
        (OutboundResult(429, "", "HTTP 429"), True),
        (OutboundResult(400, "", "HTTP 400"), False),
        (OutboundResult(401, "", "HTTP 401"), False),
        (OutboundResult(404, "", "HTTP 404"), False),
        (OutboundResult(422, "", "HTTP 422"), False),
        (OutboundResult(None, None, "timed out after 1s", retryable=True), True),
        (OutboundResult(None, None, "target refused: 127.0.0.1 is a loopback address"), False),
        (OutboundResult(None, None, "no GitHub token"), False),
    ],
)
def test_is_retryable(result: OutboundResult, expected: bool) -> None:
    assert is_retryable(result) is expected


@pytest.fixture
def backoff_settings() -> Backoff:
    """A job's retry policy left to the global settings: base 2 s, cap 10 s."""
    settings = make_settings(
        "sqlite+aiosqlite://", retry_backoff_base_seconds=2, retry_backoff_max_seconds=10
    )
    return RetryPolicy().backoff(settings)


@pytest.mark.parametrize(("retry_after", "expected"), [(0.0, 0.0), (3.0, 3.0), (100.0, 10.0)])
def test_retry_after_wins_over_backoff_and_is_capped(
    backoff_settings: Backoff, retry_after: float, expected: float
) -> None:
    for attempt in (1, 2, 5):
        assert backoff_seconds(backoff_settings, attempt, retry_after) == expected


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2), (2, 4), (3, 8), (4, 10), (9, 10)])
def test_backoff_ceiling_doubles_per_attempt_up_to_the_cap(
    backoff_settings: Backoff,
    monkeypatch: pytest.MonkeyPatch,
    attempt: int,
    ceiling: float,
) -> None:
    bounds: list[tuple[float, float]] = []

    def highest(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", highest)  # the module services.execution_lifecycle uses

    assert backoff_seconds(backoff_settings, attempt, None) == ceiling
    assert bounds == [(0, ceiling)]


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 2), (3, 8), (6, 10)])
def test_backoff_is_full_jitter_within_the_ceiling(
    backoff_settings: Backoff, attempt: int, ceiling: float
) -> None:
    samples = [backoff_seconds(backoff_settings, attempt, None) for _ in range(400)]

    assert all(0 <= sample <= ceiling for sample in samples)
    # Full jitter spreads over the whole range, not a fixed delay or a narrow band.
    assert min(samples) < ceiling * 0.1
    assert max(samples) > ceiling * 0.9
    assert len(set(samples)) > 300


async def test_a_kept_alive_connection_closed_by_the_server_is_replaced_once() -> None:
    """A server that closes an idle connection just as it is reused (the keep-alive race):
    the request, never answered there, is made once more on a new connection."""
    requests_per_connection: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = len(requests_per_connection)
        requests_per_connection.append(0)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                requests_per_connection[number] += 1
                if number == 0 and requests_per_connection[number] == 2:
                    return  # closed with the second request unanswered
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except asyncio.IncompleteReadError:
            return
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = outbound.create_http_client()
    try:
        first = await send(client, f"http://127.0.0.1:{port}/")
        second = await send(client, f"http://127.0.0.1:{port}/")
    finally:
        await client.aclose()
        server.close()

    assert first.ok, first.error
    assert second.ok, second.error
    assert requests_per_connection == [2, 1]


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 0.5), (2, 1), (3, 2), (4, 4), (5, 4), (8, 4)])
def test_a_jobs_policy_stops_doubling_after_max_doublings(
    monkeypatch: pytest.MonkeyPatch, attempt: int, ceiling: float
) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    settings = make_settings("sqlite+aiosqlite://")
    policy = RetryPolicy(min_backoff_seconds=0.5, max_backoff_seconds=30, max_doublings=3)

    assert backoff_seconds(policy.backoff(settings), attempt, None) == ceiling


def test_a_jobs_policy_caps_retry_after_at_its_own_max_backoff() -> None:
    settings = make_settings("sqlite+aiosqlite://", retry_backoff_max_seconds=60)
    policy = RetryPolicy(max_backoff_seconds=7)

    assert backoff_seconds(policy.backoff(settings), 1, 120.0) == 7
    assert backoff_seconds(policy.backoff(settings), 1, 3.0) == 3
    assert backoff_seconds(RetryPolicy().backoff(settings), 1, 120.0) == 60
