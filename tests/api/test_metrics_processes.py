"""`/metrics` of a real server with several worker processes (uvicorn --workers 2, Prometheus
multiprocess mode): whichever worker answers a scrape, it reports every worker's requests."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from tests.support.metrics import scrape_sync
from tests.support.server_process import server_process

REQUESTS = "cronjobs_http_requests_total"
ME = {"method": "GET", "route": "/api/v1/auth/me", "status": "401"}
SCRAPES = {"method": "GET", "route": "/metrics", "status": "200"}
NO_ADMIN = {"admin_username": "", "admin_email": "", "admin_password": ""}  # no start-up race


def _counted_by_process(directory: Path, labels: dict[str, str]) -> Counter[int]:
    """Each worker's own count of requests with `labels`, read from its file."""
    counts: Counter[int] = Counter()
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.removeprefix("counter_"))
        merged = MultiProcessCollector.merge([str(path)], accumulate=False)  # type: ignore[no-untyped-call]
        for family in merged:
            for sample in family.samples:
                if sample.name == REQUESTS and sample.labels == labels:
                    counts[pid] += int(sample.value)
    return counts


def test_any_worker_reports_the_requests_of_every_worker(database_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    with server_process(
        database_url, workers=2, prometheus_multiproc_dir=directory, **NO_ADMIN
    ) as server:
        sent = 0
        deadline = time.monotonic() + 90
        # A connection per request: the workers take turns accepting them.
        while len(_counted_by_process(directory, ME)) < 2 or sent < 20:
            assert time.monotonic() < deadline, "one worker answered every request"
            assert httpx.get(f"{server.url}/api/v1/auth/me", timeout=30).status_code == 401
            sent += 1
        per_worker = _counted_by_process(directory, ME)
        scrapes = 0
        while len(_counted_by_process(directory, SCRAPES)) < 2 or scrapes < 5:
            assert time.monotonic() < deadline, "one worker answered every scrape"
            figures = scrape_sync(server.url)
            # Every request of every worker, and every scrape before this one, by any worker.
            assert figures.value(REQUESTS, **ME) == sent
            assert figures.value(REQUESTS, **SCRAPES) == scrapes
            assert figures.value("cronjobs_db_pool_checked_out_connections") == 0
            scrapes += 1
        log = server.log()

    assert len(per_worker) == 2, per_worker
    assert sum(per_worker.values()) == sent
    assert min(per_worker.values()) > 0
    # Workers that stopped cleanly took their live gauges with them; counters stay.
    assert not list(directory.glob("gauge_live*.db")), log
    assert len(list(directory.glob("counter_*.db"))) == 2
