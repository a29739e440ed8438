"""`GET /metrics`: Prometheus metrics, outside `/api/v1` as scrapers expect (README "Metrics")."""

from __future__ import annotations

from fastapi import Depends, Request, Response

from api.deps import MetricsServiceDep, require_metrics_token
from api.openapi import error_responses
from api.routing import ApiRouter

router = ApiRouter(tags=["operations"])

_EXAMPLE = (
    "# HELP cronjobs_scheduler_fires_total Runs started (first attempts) ...\n"
    "# TYPE cronjobs_scheduler_fires_total counter\n"
    'cronjobs_scheduler_fires_total{trigger_type="scheduled"} 42.0\n'
)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description=(
        "The service's metrics in the Prometheus text format (OpenMetrics when the `Accept` "
        "header asks for it), every worker process's added up when `PROMETHEUS_MULTIPROC_DIR` "
        "is set: HTTP requests by method, route template and status, with their durations; "
        "runs fired, retried, their outcomes, interrupted runs and lateness; due work no "
        "scheduler has claimed, runs in flight; notification deliveries and the outbox's "
        'depth; pooled database connections in use. README "Metrics" lists every metric. '
        "When `METRICS_TOKEN` is set, send it as `Authorization: Bearer <METRICS_TOKEN>`."
    ),
    dependencies=[Depends(require_metrics_token)],
    response_class=Response,
    responses={
        200: {
            "description": "The metrics",
            "content": {
                "text/plain": {"schema": {"type": "string"}, "example": _EXAMPLE},
                "application/openmetrics-text": {"schema": {"type": "string"}},
            },
        },
        **error_responses(401, descriptions={401: "METRICS_TOKEN is set and was not sent"}),
    },
)
async def metrics(request: Request, service: MetricsServiceDep) -> Response:
    body, content_type = await service.exposition(request.headers.get("accept", ""))
    return Response(body, headers={"Content-Type": content_type})
