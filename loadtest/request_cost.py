"""The cost of one request: milliseconds of server CPU per request, per endpoint.

    python -m loadtest.request_cost                    # GET /jobs/{id} and GET /jobs, async stack
    python -m loadtest.request_cost --profile          # and where the time goes (py-spy)
    python -m loadtest.request_cost --endpoints job_get --requests 5000 --repeat 5
    python -m loadtest.request_cost --stacks async sync ceiling

Seeds a fresh PostgreSQL database as the load test does (`loadtest.run.seed`: 1,000 jobs,
100,000 executions), serves a stack with uvicorn as the load test does (one worker, uvloop,
httptools, access log off), and sends each endpoint `--requests` requests from this process
(aiohttp, `--concurrency` at once, so always a few in flight). The figure is the server
process's CPU time (user + system of all its threads, from /proc/<pid>/stat) over the run,
divided by the requests served: on a machine other work shares, CPU time per request moves
far less than throughput does (the server's own work is what is counted, not its waits for
a core). Each endpoint is run `--repeat` times, after a warm-up; the median is the figure,
min and max show the spread. Every response must be 200.

With `--against COMMIT...`, each commit's code (a `git archive` copy) is served too, on its own
port against the same database, and the runs take turns (A, B, A, B, ...): on a shared
machine only figures measured back to back compare. The trees must share this one's
migrations.

With `--profile`, one more run per endpoint with py-spy attached writes
profile-<stack>-<endpoint>.txt (the load test's summary of frames) and the table groups the
samples by what they were doing (authentication, dependency solving, the endpoint's service,
serialization, ...) as shares and as ms of the measured CPU per request.

Results go to loadtest/results/request-cost/<--label>/: table.md (what is printed),
figures.json and the profiles.

Needs `make .venv/.installed-loadtest` (py-spy for --profile). Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from loadtest import run

RESULTS = run.RESULTS
DEFAULT_ENDPOINTS = ("job_get", "jobs_list")
THIS_TREE = "this tree"


@dataclass(frozen=True)
class Endpoint:
    key: str
    title: str
    path: Callable[[dict[str, Any], random.Random], str]
    api_key: bool = False  # authenticate with an API key instead of the access token
    stacks: tuple[str, ...] = ("async", "sync", "ceiling")


def _job_path(data: dict[str, Any], rng: random.Random) -> str:
    return f"/api/v1/jobs/{rng.choice(data['job_ids'])}"


def _page_path(data: dict[str, Any], rng: random.Random) -> str:
    pages = max(1, len(data["job_ids"]) // 20)
    return f"/api/v1/jobs?page={rng.randint(1, pages)}&per_page=20"


ENDPOINTS = {
    endpoint.key: endpoint
    for endpoint in (
        Endpoint("job_get", "GET /jobs/{id}", _job_path),
        Endpoint("jobs_list", "GET /jobs (page of 20)", _page_path),
        Endpoint("job_get_api_key", "GET /jobs/{id}, API key", _job_path, True, ("async",)),
    )
}

# What a sample was doing: the first category (in this order) one of its frames matches. A
# frame reads "function (path)", the path relative to site-packages, the standard library or
# the project. The order puts the narrower questions first: a sample inside the user lookup's
# query counts as authentication, not as the endpoint's ORM work.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("authentication (token, user lookup)", r"^get_principal \(api/deps\.py"),
    ("session: begin, commit, close, pool", r"^get_session \(api/deps\.py"),
    ("dependencies: building services", r"^get_\w+ \(api/deps\.py"),
    ("response serialization (FastAPI)", r"^serialize_response \(fastapi/"),
    ("endpoint: response models", r"^model_validate \(pydantic/|\(schemas/"),
    ("endpoint: service + repository (ORM, SQL)", r"\((services|repositories)/"),
    ("dependency solving (the rest)", r"^solve_dependencies \(fastapi/"),
    ("routing, middleware, request", r"\((starlette|fastapi|api)/"),
    ("uvicorn, HTTP, event loop", r"\((uvicorn|asyncio|httptools)/"),
)
# SQLAlchemy's asyncio layer runs the ORM in a greenlet; py-spy samples a greenlet's own stack,
# which starts at the function greenlet_spawn called (Session.execute, ...) and so does not
# say which layer's query it was. Those samples are counted by that function.
GREENLET_QUERIES = "SQLAlchemy greenlet: Session.execute (ORM, compile, asyncpg)"
GREENLET_COMMIT = "SQLAlchemy greenlet: Session.commit / close"
GREENLET_OTHER = "SQLAlchemy / asyncpg, caller not sampled"
_PATTERNS = [(name, re.compile(pattern)) for name, pattern in CATEGORIES]
_PREFIXES = (
    "site-packages/",
    f"{run.ROOT}/",
    f"python{sys.version_info[0]}.{sys.version_info[1]}/",
)


@dataclass
class Measurement:
    code: str  # "this tree", or a commit given with --against
    stack: str
    endpoint: str
    requests: int
    concurrency: int
    cpu_ms_per_request: list[float] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    profile: dict[str, float] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.cpu_ms_per_request)


@dataclass(frozen=True)
class Served:
    """One stack of one tree, served on its own port."""

    code: str
    stack: str
    base: str
    pid: int


async def _drive(
    base: str,
    paths: Sequence[str],
    headers: dict[str, str],
    concurrency: int,
) -> tuple[float, list[float], Counter[int]]:
    """Send every path, `concurrency` at a time: (seconds, latencies in ms, statuses)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    queue = iter(paths)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector) as client:

        async def worker() -> None:
            for path in queue:
                started = time.perf_counter()
                async with client.get(path) as response:
                    await response.read()
                    statuses[response.status] += 1
                latencies.append(1000 * (time.perf_counter() - started))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies, statuses


def _one_run(
    pid: int,
    base: str,
    paths: Sequence[str],
    headers: dict[str, str],
    concurrency: int,
) -> tuple[float, float, float]:
    """(server CPU ms per request, rps, p50 ms) of one run of `paths`."""
    run.wait_until_idle(pid)
    cpu_before = run.cpu_seconds(pid)
    seconds, latencies, statuses = asyncio.run(_drive(base, paths, headers, concurrency))
    cpu = run.cpu_seconds(pid) - cpu_before
    if set(statuses) != {200}:
        raise SystemExit(f"expected only 200 responses, got {dict(statuses)}")
    return (
        round(1000 * cpu / len(paths), 3),
        round(len(paths) / seconds, 1),
        round(statistics.median(latencies), 2),
    )


def categorize(collapsed: Path) -> dict[str, float]:
    """Shares of the samples per category (CATEGORIES; the rest is "other")."""
    counts: Counter[str] = Counter()
    total = 0
    for stack, count in run.read_profile(collapsed):
        total += count
        counts[_category(stack)] += count
    if not total:
        return {}
    names = [name for name, _ in CATEGORIES]
    names += [GREENLET_QUERIES, GREENLET_COMMIT, GREENLET_OTHER, "other"]
    return {name: round(counts[name] / total, 4) for name in names}


def _category(stack: Sequence[str]) -> str:
    frames = [_normal(frame) for frame in stack]
    root = frames[0]
    if root.startswith(("Session.execute ", "Session.scalar")):
        return GREENLET_QUERIES
    if root.startswith(("Session.commit ", "Session.close ", "Session.rollback ")):
        return GREENLET_COMMIT
    if "(sqlalchemy/" in root or "(asyncpg/" in root:
        return GREENLET_OTHER
    for name, pattern in _PATTERNS:
        if any(pattern.search(frame) for frame in frames):
            return name
    return "other"


def _normal(frame: str) -> str:
    """A frame without its line, its path shortened: "get (/x/site-packages/sqlalchemy/orm/
    session.py:12)" becomes "get (sqlalchemy/orm/session.py)"."""
    name, _, location = frame.partition(" (")
    path = location.rstrip(")").rsplit(":", 1)[0]
    for prefix in _PREFIXES:
        if prefix in path:
            path = path.split(prefix, 1)[1]
            break
    return f"{name} ({path})"


def _profile(
    server: Served,
    measurement: Measurement,
    paths: Sequence[str],
    headers: dict[str, str],
    directory: Path,
) -> Path:
    name = "" if server.code == THIS_TREE else f"-{server.code}"
    output = directory / f"profile-{server.stack}-{measurement.endpoint}{name}.txt"
    pid, base = server.pid, server.base
    collapsed = RESULTS / "raw" / f"{output.stem}.collapsed"
    collapsed.parent.mkdir(parents=True, exist_ok=True)
    run.wait_until_idle(pid)
    # Long enough for every request of the run; py-spy stops by itself at the end.
    expected = len(paths) * measurement.median / 1000 * 1.5 + 3
    spy = run.start_py_spy(pid, collapsed, expected, rate=250)
    time.sleep(1)  # py-spy attaches
    seconds, _, statuses = asyncio.run(_drive(base, paths, headers, measurement.concurrency))
    spy.wait(timeout=expected + 60)
    if set(statuses) != {200}:
        raise SystemExit(f"expected only 200 responses, got {dict(statuses)}")
    measurement.profile = categorize(collapsed)
    heading = (
        f"py-spy, {measurement.code}, {measurement.stack} stack, "
        f"{ENDPOINTS[measurement.endpoint].title}, "
        f"{len(paths)} requests, {measurement.concurrency} at a time, "
        f"{len(paths) / seconds:.0f} rps under the profiler"
    )
    lines = ["By category (loadtest/request_cost.py CATEGORIES):", ""]
    for name, share in measurement.profile.items():
        lines.append(f"{100 * share:8.1f}%  {share * measurement.median:6.3f} ms  {name}")
    output.write_text(
        run.summarize_profile(collapsed, heading) + "\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    return output


def _api_key(base: str, token: dict[str, str]) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/api-keys",
        json={"name": "request cost", "scope": "read"},
        headers=token,
        timeout=30,
    )
    response.raise_for_status()
    key: str = response.json()["key"]
    return key


@contextlib.contextmanager
def _trees(against: Sequence[str]) -> Iterator[list[tuple[str, Path]]]:
    """This tree, and a copy of each commit of `against` (git archive) to serve."""
    trees = [(THIS_TREE, run.ROOT)]
    with contextlib.ExitStack() as stack:
        for ref in against:
            commit = subprocess.run(
                ["git", "rev-parse", "--short", ref],
                cwd=run.ROOT,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="request-cost-"))
            archive = subprocess.run(
                ["git", "archive", commit], cwd=run.ROOT, check=True, capture_output=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
            trees.append((commit, Path(directory)))
        yield trees


def measure(args: argparse.Namespace) -> list[Measurement]:
    raw = RESULTS / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    measurements: list[Measurement] = []
    # The seeded jobs' target is never called by these endpoints.
    with (
        run.seeded_database("http://127.0.0.1:9/hook") as seeded,
        _trees(args.against) as trees,
        contextlib.ExitStack() as servers,
    ):
        env = run.server_environment(seeded.database_url)
        port = args.port
        for stack_key in args.stacks:
            stack = run.STACK_BY_KEY[stack_key]
            served: list[Served] = []
            for code, tree in trees:
                port = run.free_port(port + 1)
                base = f"http://127.0.0.1:{port}"
                log = raw / f"request-cost-server-{stack_key}-{port}.log"
                server = servers.enter_context(
                    run.serving(stack, port, env, log, seeded.probe(base), cwd=tree)
                )
                served.append(Served(code, stack_key, base, server.pid))
            for endpoint in (ENDPOINTS[key] for key in args.endpoints):
                if stack_key in endpoint.stacks:
                    measurements += _measure_endpoint(args, seeded, served, endpoint)
    return measurements


def _measure_endpoint(
    args: argparse.Namespace, seeded: run.Seeded, served: Sequence[Served], endpoint: Endpoint
) -> list[Measurement]:
    """`--repeat` runs of the endpoint on each server in turn (A, B, A, B, ...), so that the
    trees are compared under the same load."""
    token = {"Authorization": f"Bearer {seeded.token}"}
    headers: dict[str, dict[str, str]] = {}
    rng = random.Random(11)
    results = {}
    for server in served:
        headers[server.base] = token
        if endpoint.api_key:
            headers[server.base] = {"Authorization": f"Bearer {_api_key(server.base, token)}"}
        warm = [endpoint.path(seeded.data, rng) for _ in range(args.warmup)]
        asyncio.run(_drive(server.base, warm, headers[server.base], args.concurrency))
        results[server.base] = Measurement(
            server.code, server.stack, endpoint.key, args.requests, args.concurrency
        )
    for _ in range(args.repeat):
        paths = [endpoint.path(seeded.data, rng) for _ in range(args.requests)]
        for server in served:
            measurement = results[server.base]
            cpu, rps, p50 = _one_run(
                server.pid, server.base, paths, headers[server.base], args.concurrency
            )
            measurement.cpu_ms_per_request.append(cpu)
            measurement.rps.append(rps)
            measurement.p50_ms.append(p50)
            print(
                f"{server.code:10} {server.stack:8} {endpoint.key:16} {cpu:7.3f} ms "
                f"CPU/request ({rps:.0f} rps, p50 {p50:.1f} ms)",
                flush=True,
            )
    if args.profile:
        paths = [endpoint.path(seeded.data, rng) for _ in range(args.requests)]
        for server in served:
            output = _profile(
                server, results[server.base], paths, headers[server.base], args.output
            )
            print(f"profile written to {output.relative_to(run.ROOT)}", flush=True)
    return list(results.values())


def calibration_ms() -> float:
    """CPU time of a fixed piece of pure-Python work in this process: how much other work on
    the machine slows every process down, to set figures taken at different times side by
    side."""
    started = time.process_time()
    total = 0
    for number in range(1_000_000):
        total += number % 7
    return round(1000 * (time.process_time() - started), 1)


def render(
    measurements: Sequence[Measurement], load: tuple[float, float], calibration: Sequence[float]
) -> str:
    lines = [
        f"server CPU per request (median of runs; load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after; calibration {min(calibration):.0f}–{max(calibration):.0f} ms, "
        "see calibration_ms)",
        "",
        "| code | stack | endpoint | requests × runs | ms CPU / request | min – max | rps "
        "| p50 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        lines.append(
            f"| {m.code} | {m.stack} | {ENDPOINTS[m.endpoint].title} | {m.requests} × "
            f"{len(m.cpu_ms_per_request)} | **{m.median:.2f}** | "
            f"{min(m.cpu_ms_per_request):.2f} – {max(m.cpu_ms_per_request):.2f} | "
            f"{statistics.median(m.rps):.0f} | {statistics.median(m.p50_ms):.1f} |"
        )
    lines += _comparison(measurements)
    profiled = [m for m in measurements if m.profile]
    if profiled:
        lines += ["", "where it goes (py-spy samples; ms = share × the median above)", ""]
        header = "| category |" + "".join(
            f" {m.code}: {ENDPOINTS[m.endpoint].title} |" for m in profiled
        )
        lines += [header, "|---|" + "---:|" * len(profiled)]
        for name in profiled[0].profile:
            row = f"| {name} |"
            for m in profiled:
                share = m.profile.get(name, 0.0)
                row += f" {share * m.median:.2f} ms ({100 * share:.0f} %) |"
            lines.append(row)
    return "\n".join(lines) + "\n"


def _comparison(measurements: Sequence[Measurement]) -> list[str]:
    """This tree against --against: the median of the run-by-run ratios (each pair of runs
    was made back to back, so under about the same load)."""
    mine = {(m.stack, m.endpoint): m for m in measurements if m.code == THIS_TREE}
    lines: list[str] = []
    for m in measurements:
        this = mine.get((m.stack, m.endpoint))
        if m.code == THIS_TREE or this is None:
            continue
        ratios = [a / b for a, b in zip(this.cpu_ms_per_request, m.cpu_ms_per_request, strict=True)]
        if not lines:
            lines = ["", "this tree against each commit (median of paired runs' ratios)", ""]
        lines.append(
            f"- {m.stack}, {ENDPOINTS[m.endpoint].title}, against {m.code}: {m.median:.2f} → "
            f"{this.median:.2f} ms (× {statistics.median(ratios):.2f})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--endpoints", nargs="+", default=list(DEFAULT_ENDPOINTS), choices=ENDPOINTS
    )
    parser.add_argument("--stacks", nargs="+", default=["async"], choices=run.STACK_BY_KEY)
    parser.add_argument("--requests", type=int, default=2000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per endpoint")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--warmup", type=int, default=300, help="requests before measuring")
    parser.add_argument("--profile", action="store_true", help="one more run under py-spy")
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        nargs="*",
        default=[],
        help="also serve these commits' code, and take the runs in turn",
    )
    parser.add_argument("--port", type=int, default=8100, help="first port to try")
    parser.add_argument(
        "--label",
        default="latest",
        help="results go to loadtest/results/request-cost/LABEL/ (figures.json, table.md, "
        "profiles)",
    )
    args = parser.parse_args(argv)
    args.output = RESULTS / "request-cost" / args.label
    args.output.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    calibration = [calibration_ms()]
    measurements = measure(args)
    calibration.append(calibration_ms())
    load_after = os.getloadavg()[0]
    table = render(measurements, (load_before, load_after), calibration)
    print()
    print(table)
    (args.output / "table.md").write_text(table, encoding="utf-8")
    (args.output / "figures.json").write_text(
        json.dumps(
            {
                "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join(["python -m loadtest.request_cost", *sys.argv[1:]]),
                "load_average": [load_before, load_after],
                "calibration_ms": calibration,
                "measurements": [
                    {**asdict(m), "median_cpu_ms_per_request": m.median} for m in measurements
                ],
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
