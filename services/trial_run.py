"""`POST /jobs/test-run`: one real request to a target before a job exists; nothing stored."""

from __future__ import annotations

from core.config import Settings
from core.enums import ExecutionType
from integrations import targets
from integrations.address_guard import AddressGuard
from integrations.outbound import HttpClient
from schemas.execution import TrialRunRequest, TrialRunResult

TRIAL_HEADERS = {"X-Cron-Test-Run": "true"}


class TrialRunService:
    def __init__(self, client: HttpClient, guard: AddressGuard, settings: Settings) -> None:
        self.client = client
        self.guard = guard
        self.settings = settings

    async def run(self, request: TrialRunRequest) -> TrialRunResult:
        kind = ExecutionType.WEBHOOK if request.target_url else ExecutionType.GITHUB_ACTIONS
        owner = request.github_owner or self.settings.github_default_owner
        if kind == ExecutionType.GITHUB_ACTIONS and owner is None:
            return TrialRunResult(
                ok=False,
                type=kind,
                status_code=None,
                message="github_owner is required (no GITHUB_DEFAULT_OWNER is configured).",
            )
        result = await targets.call(
            self.client,
            self.guard,
            self.settings,
            targets.Target(
                execution_type=kind,
                url=request.target_url,
                http_method=request.http_method,
                github_owner=owner,
                github_repo=request.github_repo,
                github_workflow_name=request.github_workflow_name,
            ),
            metadata=request.metadata,
            headers=TRIAL_HEADERS,
            timeout_seconds=request.timeout_seconds,
            github_token=request.github_token,
            # Nothing is stored, so there is no signing secret: a test run is unsigned.
            job_headers=[(header.name, header.value or "") for header in request.headers],
        )
        if result.ok:
            message = f"The target answered {result.status_code}."
        else:
            message = result.error or "The request failed."
        return TrialRunResult(
            ok=result.ok, type=kind, status_code=result.status_code, message=message
        )
