"""GitHub Actions runs: a `workflow_dispatch` on the job's workflow."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from integrations import outbound

DEFAULT_REF = "main"
BRANCH_KEY = "branchDetails"


def dispatch_url(api_url: str, owner: str, repo: str, workflow: str) -> str:
    parts = (quote(part, safe="") for part in (owner, repo, workflow))
    owner_part, repo_part, workflow_part = parts
    return (
        f"{api_url.rstrip('/')}/repos/{owner_part}/{repo_part}"
        f"/actions/workflows/{workflow_part}/dispatches"
    )


def dispatch_body(metadata: dict[str, Any]) -> dict[str, Any]:
    """`ref` from `metadata.branchDetails` (default main); the rest become string inputs."""
    ref = metadata.get(BRANCH_KEY) or DEFAULT_REF
    inputs = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in metadata.items()
        if key != BRANCH_KEY
    }
    return {"ref": str(ref), "inputs": inputs}


async def dispatch(
    client: outbound.HttpClient,
    *,
    api_url: str,
    token: str | None,
    owner: str,
    repo: str,
    workflow: str,
    metadata: dict[str, Any],
    headers: dict[str, str],
    timeout_seconds: float,
) -> outbound.OutboundResult:
    if not token:
        return outbound.OutboundResult(
            None, None, "no GitHub token: set GITHUB_TOKEN or pass github_token"
        )
    return await outbound.send(
        client,
        "POST",
        dispatch_url(api_url, owner, repo, workflow),
        headers={
            **headers,
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        },
        json=dispatch_body(metadata),
        timeout_seconds=timeout_seconds,
        # The GitHub API URL is the operator's setting, not user input.
        guard=None,
    )
