"""Webhook runs: the job's method and URL, its metadata as the JSON body."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from integrations import outbound
from integrations.address_guard import AddressGuard


def run_headers(job_id: uuid.UUID, scheduled_for: datetime, attempt: int) -> dict[str, str]:
    """Headers that let a target recognise a run and de-duplicate retries of the same slot."""
    slot = scheduled_for.isoformat()
    return {
        "Idempotency-Key": f"{job_id}:{slot}",
        "X-Cron-Job-Id": str(job_id),
        "X-Cron-Scheduled-For": slot,
        "X-Cron-Attempt": str(attempt),
    }


async def call(
    client: outbound.HttpClient,
    guard: AddressGuard,
    *,
    method: str,
    url: str,
    metadata: dict[str, Any],
    headers: dict[str, str],
    timeout_seconds: float,
) -> outbound.OutboundResult:
    # A GET carries no body; every other method sends the metadata object as JSON.
    body = None if method == "GET" else metadata
    return await outbound.send(
        client,
        method,
        url,
        headers=headers,
        json=body,
        timeout_seconds=timeout_seconds,
        guard=guard,
    )
