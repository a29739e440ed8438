"""Calls a job's target, whichever kind it is: a webhook or a GitHub workflow dispatch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.config import Settings
from core.enums import ExecutionType
from integrations import github, webhook
from integrations.address_guard import AddressGuard
from integrations.outbound import HttpClient, OutboundResult


@dataclass(frozen=True, slots=True)
class Target:
    execution_type: ExecutionType
    url: str | None
    http_method: str
    github_owner: str | None
    github_repo: str | None
    github_workflow_name: str | None


async def call(
    client: HttpClient,
    guard: AddressGuard,
    settings: Settings,
    target: Target,
    *,
    metadata: dict[str, Any],
    headers: dict[str, str],
    timeout_seconds: float,
    github_token: str | None,
    job_headers: Sequence[tuple[str, str]] = (),
    signing: webhook.Signing | None = None,
) -> OutboundResult:
    """`job_headers` and `signing` apply to webhooks (GitHub jobs carry no headers)."""
    if target.execution_type == ExecutionType.WEBHOOK:
        return await webhook.call(
            client,
            guard,
            method=target.http_method,
            url=target.url or "",
            metadata=metadata,
            headers=headers,
            timeout_seconds=timeout_seconds,
            job_headers=job_headers,
            signing_=signing,
        )
    default_token = settings.github_token
    return await github.dispatch(
        client,
        api_url=settings.github_api_url,
        token=github_token or (default_token.get_secret_value() if default_token else None),
        owner=target.github_owner or "",
        repo=target.github_repo or "",
        workflow=target.github_workflow_name or "",
        metadata=metadata,
        headers=headers,
        timeout_seconds=timeout_seconds,
    )
