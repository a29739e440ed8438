"""Every Prometheus metric of the service, defined once (README "Metrics" lists them).

Counters and histograms are recorded where each concern is owned: HTTP requests by the request
middleware (`api/middleware/request_context.py`), runs by `services/execution_lifecycle.py`,
deliveries by the delivery worker (`services/notifications/sender.py`), pool connections by
the engine's pool events (`core/db.py`). What only the database knows (due work nobody
claimed, runs in flight, the outbox's depth) is counted at scrape time (`scrape_families`,
computed by `services/metrics.py`): one source of truth for every process, and still true
when every scheduler is down, which is when it matters.

Several worker processes: with `PROMETHEUS_MULTIPROC_DIR` set (in the environment before the
process starts), prometheus-client keeps each process's values in memory-mapped files in that
directory and `/metrics`, whichever worker answers, adds up every process's files
(multiprocess mode). Without it, the values live in this process (one worker).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_multiproc_dir = os.environ.get(MULTIPROC_DIR_VARIABLE) or None
if _multiproc_dir is not None and not Path(_multiproc_dir).is_dir():
    raise RuntimeError(
        f"{MULTIPROC_DIR_VARIABLE}={_multiproc_dir} is not a directory: create it (empty) "
        "before the server starts, or unset it to keep metrics per process"
    )
MULTIPROCESS = _multiproc_dir is not None

PREFIX = "cronjobs"
# Where a request that matched no route is counted: one label, whatever the path.
UNMATCHED_ROUTE = "unmatched"
# The dashboard's files and client-side routes (api/dashboard.py) are counted under this label.
DASHBOARD_ROUTE = "dashboard"
# Set in the ASGI scope by an app that serves paths no route declares (the dashboard).
ROUTE_LABEL_SCOPE_KEY = "metrics.route"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Scrape-time counts stop here: the figure says "at least this many" beyond it.
SCRAPE_COUNT_CAP = 10_000

# --- HTTP ------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    f"{PREFIX}_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by method and route template.",
    ["method", "route"],
)

# --- runs (services/execution_lifecycle.py) --------------------------------------------------

RUN_FIRES = Counter(
    f"{PREFIX}_scheduler_fires",
    "Runs started (first attempts): slots fired by a scheduler, manual runs, by trigger type.",
    ["trigger_type"],
)
RUN_RETRIES = Counter(
    f"{PREFIX}_scheduler_retries",
    "Further attempts started after a failed attempt, by trigger type.",
    ["trigger_type"],
)
RUN_OUTCOMES = Counter(
    f"{PREFIX}_scheduler_outcomes",
    "Attempts closed with what their target answered (success, failed: final, retrying: "
    "another attempt is scheduled), slots recorded as missed or skipped, and runs cancelled.",
    ["status"],
)
RUN_INTERRUPTED = Counter(
    f"{PREFIX}_scheduler_interrupted_runs",
    "Runs closed as interrupted: their scheduler stopped renewing their lease.",
)
RUN_LATENESS = Histogram(
    f"{PREFIX}_scheduler_lateness_seconds",
    "How long after its slot a scheduled run was started.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)

# --- notifications (services/notifications/sender.py) ----------------------------------------

DELIVERIES = Counter(
    f"{PREFIX}_notification_deliveries",
    "Email and Slack delivery results recorded, by channel and outcome (sent; retry: failed, "
    "tried again later; failed: given up; dropped: given up unsent, the channel was off or "
    "no attempt was left).",
    ["channel", "outcome"],
)

# --- database (core/db.py) -------------------------------------------------------------------

DB_POOL_CHECKED_OUT = Gauge(
    f"{PREFIX}_db_pool_checked_out_connections",
    "Database connections checked out of the pool, summed over live processes.",
    multiprocess_mode="livesum",
)


# --- recording -------------------------------------------------------------------------------


def route_label(scope: Mapping[str, Any]) -> str:
    """The template of the route that answered (`/api/v1/jobs/{job_id}`), never the raw path.

    FastAPI hands over the route as its router declared it, without the prefixes of the
    routers it is included in (`/jobs/{job_id}` under `/api/v1`); the prefix is the part of the
    path before the segments the route matched (no route here takes a `:path` parameter), and
    is checked against the route's own pattern. Worked out once per route (each is included
    under one prefix) and kept on the route object.
    """
    route = scope.get("route")
    if route is None:
        label = scope.get(ROUTE_LABEL_SCOPE_KEY)
        return label if isinstance(label, str) else UNMATCHED_ROUTE
    known: str | None = getattr(route, _LABEL_ATTRIBUTE, None)
    if known is not None:
        return known
    template = getattr(route, "path_format", None)
    if not isinstance(template, str):
        return UNMATCHED_ROUTE
    path: str = scope["path"]
    cut = _start_of_last_segments(path, template.count("/"))
    pattern = getattr(route, "path_regex", None)
    label = template
    if cut > 0 and pattern is not None and pattern.match(path[cut:]):
        label = path[:cut] + template
    setattr(route, _LABEL_ATTRIBUTE, label)
    return label


_LABEL_ATTRIBUTE = "_metrics_route_label"


def _start_of_last_segments(path: str, segments: int) -> int:
    """Where the last `segments` "/"-started segments of `path` begin (0: all of it)."""
    cut = len(path)
    for _ in range(segments):
        cut = path.rfind("/", 0, cut)
        if cut <= 0:
            return 0
    return cut


# The labelled children of the HTTP metrics, looked up once per method, route and status
# (bounded: a few methods, the app's routes, the statuses it answers).
_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(scope: Mapping[str, Any], status: int, seconds: float) -> None:
    """Count one answered request (the request middleware calls this once per request)."""
    method = scope["method"] if scope["method"] in _METHODS else "other"
    route = route_label(scope)
    children = _http_children.get((method, route, status))
    if children is None:
        children = (
            HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_REQUEST_DURATION.labels(method, route),
        )
        _http_children[(method, route, status)] = children
    children[0].inc()
    children[1].observe(seconds)


_PENDING = "metrics.pending"


def on_commit(session: Any, record: Callable[[], None]) -> None:
    """Run `record` once the transaction of `session` (an AsyncSession or Session) commits;
    forget it if the transaction rolls back. Figures then count what happened, never what a
    rolled-back transaction only tried. Not for work in a savepoint that may roll back alone."""
    info: dict[str, Any] = session.info
    info.setdefault(_PENDING, []).append(record)


def _record_after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction goes on
        return
    for record in session.info.pop(_PENDING, ()):
        record()


def _forget_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


event.listen(Session, "after_commit", _record_after_commit)
event.listen(Session, "after_soft_rollback", _forget_after_rollback)


def track_pool(engine: Any) -> None:
    """Keep DB_POOL_CHECKED_OUT in step with `engine`'s pool (an AsyncEngine). Listened after
    any checkout listener that may refuse the connection (the idle ping): a refused checkout
    never counts."""
    sync_engine = engine.sync_engine

    def checked_out(_dbapi: object, record: Any, _proxy: object) -> None:
        record.info["metrics.checked_out"] = True
        DB_POOL_CHECKED_OUT.inc()

    def checked_in(_dbapi: object, record: Any) -> None:
        if record.info.pop("metrics.checked_out", False):
            DB_POOL_CHECKED_OUT.dec()

    event.listen(sync_engine, "checkout", checked_out)
    event.listen(sync_engine, "checkin", checked_in)


# --- exposition ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DatabaseFigures:
    """What the database says at scrape time (each count capped at SCRAPE_COUNT_CAP)."""

    due_slots: int
    due_retries: int
    runs_in_flight: int
    queue_depth: Mapping[str, int]


def scrape_families(figures: DatabaseFigures) -> list[Metric]:
    due = GaugeMetricFamily(
        f"{PREFIX}_scheduler_due_unclaimed",
        "Work due and not yet claimed by any scheduler: active jobs whose next slot has come "
        "(slot), failed attempts whose retry has come (retry). Counted at scrape time.",
        labels=["kind"],
    )
    due.add_metric(["slot"], figures.due_slots)
    due.add_metric(["retry"], figures.due_retries)
    in_flight = GaugeMetricFamily(
        f"{PREFIX}_scheduler_runs_in_flight",
        "Executions running now, in every process (counted at scrape time).",
        value=figures.runs_in_flight,
    )
    depth = GaugeMetricFamily(
        f"{PREFIX}_notification_queue_depth",
        "Emails and Slack messages waiting to be sent (pending), by channel.",
        labels=["channel"],
    )
    for channel, count in sorted(figures.queue_depth.items()):
        depth.add_metric([channel], count)
    return [due, in_flight, depth]


class _Families:
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


class _ProcessRegistry:
    """The default registry's metrics (this process's), collected into another registry."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def exposition(figures: DatabaseFigures | None, accept: str) -> tuple[bytes, str]:
    """The body and content type of `/metrics`: every process's metrics (multiprocess mode)
    or this one's, and the database figures when they could be counted."""
    registry = CollectorRegistry()
    source: Collector
    if MULTIPROCESS:
        _forget_dead_processes()
        source = MultiProcessCollector(None)  # type: ignore[no-untyped-call]
    else:
        source = _ProcessRegistry()
    registry.register(source)
    if figures is not None:
        registry.register(_Families(scrape_families(figures)))
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


_LIVE_GAUGE_FILE = re.compile(r"^gauge_live[a-z]+_(\d+)\.db$")


def _forget_dead_processes() -> None:
    """Drop the live gauges of processes that died without saying so (SIGKILL, OOM): their
    pool connections are gone with them. Counters stay: what they counted happened."""
    assert _multiproc_dir is not None
    for name in os.listdir(_multiproc_dir):
        found = _LIVE_GAUGE_FILE.match(name)
        if found is not None and not _is_alive(int(found.group(1))):
            mark_process_dead(int(found.group(1)), _multiproc_dir)  # type: ignore[no-untyped-call]


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_this_process() -> None:
    """At a clean exit: this process's live gauges stop counting (multiprocess mode)."""
    if MULTIPROCESS:
        mark_process_dead(os.getpid(), _multiproc_dir)  # type: ignore[no-untyped-call]
