"""Webhook runs: the job's method and URL, its metadata as the JSON body, its headers, and
a Standard Webhooks signature.

The request is described first (`build_request`: headers, signature and the exact body bytes
that were signed), then handed to the guarded client (integrations/outbound.py), so the
transport never sees a job, a secret store or a signing key.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations import outbound, signing
from integrations.address_guard import AddressGuard


def idempotency_key(job_id: uuid.UUID, scheduled_for: datetime) -> str:
    """The same for every attempt of a slot: `Idempotency-Key` and `webhook-id`."""
    return f"{job_id}:{scheduled_for.isoformat()}"


def run_headers(job_id: uuid.UUID, scheduled_for: datetime, attempt: int) -> dict[str, str]:
    """Headers that let a target recognise a run and de-duplicate retries of the same slot."""
    slot = scheduled_for.isoformat()
    return {
        "Idempotency-Key": idempotency_key(job_id, scheduled_for),
        "X-Cron-Job-Id": str(job_id),
        "X-Cron-Scheduled-For": slot,
        "X-Cron-Attempt": str(attempt),
    }


@dataclass(frozen=True, slots=True)
class Signing:
    """How to sign one attempt: `msg_id` is the slot's idempotency key, `timestamp` the
    attempt's Unix seconds, `secrets` the plaintext signing secrets (current first)."""

    msg_id: str
    timestamp: int
    secrets: Sequence[str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    content: bytes | None = field(repr=False)


def encode_body(method: str, metadata: dict[str, Any]) -> bytes | None:
    """A GET carries no body; every other method sends the metadata object as compact JSON."""
    if method == "GET":
        return None
    return json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode()


def build_request(
    *,
    method: str,
    url: str,
    metadata: dict[str, Any],
    service_headers: dict[str, str],
    job_headers: Iterable[tuple[str, str]] = (),
    signing_: Signing | None = None,
) -> WebhookRequest:
    """The request of one attempt. Job headers may replace `Content-Type`, never a header
    the service sets (the schema refuses those names; the service's win here all the same)."""
    body = encode_body(method, metadata)
    content_type = {} if body is None else {"Content-Type": "application/json"}
    signature = (
        {}
        if signing_ is None or not signing_.secrets
        else signing.signature_headers(
            signing_.secrets, signing_.msg_id, signing_.timestamp, body or b""
        )
    )
    headers = _merge(content_type.items(), job_headers, service_headers.items(), signature.items())
    return WebhookRequest(method, url, headers, body)


async def send(
    client: outbound.HttpClient,
    guard: AddressGuard,
    request: WebhookRequest,
    *,
    timeout_seconds: float,
) -> outbound.OutboundResult:
    return await outbound.send(
        client,
        request.method,
        request.url,
        headers=request.headers,
        content=request.content,
        timeout_seconds=timeout_seconds,
        guard=guard,
    )


async def call(
    client: outbound.HttpClient,
    guard: AddressGuard,
    *,
    method: str,
    url: str,
    metadata: dict[str, Any],
    headers: dict[str, str],
    timeout_seconds: float,
    job_headers: Iterable[tuple[str, str]] = (),
    signing_: Signing | None = None,
) -> outbound.OutboundResult:
    request = build_request(
        method=method,
        url=url,
        metadata=metadata,
        service_headers=headers,
        job_headers=job_headers,
        signing_=signing_,
    )
    return await send(client, guard, request, timeout_seconds=timeout_seconds)


def _merge(*layers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Later layers win, names compared ignoring case (one header per name)."""
    merged: dict[str, tuple[str, str]] = {}
    for layer in layers:
        for name, value in layer:
            merged[name.lower()] = (name, value)
    return dict(merged.values())
