"""CSV bulk import: spreadsheet rows → the same `JobCreate` + `JobService` rules as POST /jobs.

Parsing runs in a worker thread (a 1 MiB file is a lot of Python for the event loop). Each good
row is created inside its own savepoint, so one bad row never undoes the others; all of them
commit with the request. A dry run validates everything and writes nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError, InvalidInput
from models.job import Job
from models.user import User
from schemas.job import JobCreate
from schemas.job_import import (
    BulkUploadJob,
    BulkUploadResponse,
    BulkUploadRowError,
    BulkUploadStats,
)
from schemas.validation_errors import field_errors
from services.job import JobService

# Normalised header (lower-case, `_`/`-` as spaces, single spaces) → field of a row.
HEADER_ALIASES: dict[str, str] = {
    "job name": "name",
    "name": "name",
    "cron schedule (jst)": "cron_expression",
    "cron schedule": "cron_expression",
    "cron expression": "cron_expression",
    "cron": "cron_expression",
    "schedule": "cron_expression",
    "timezone": "timezone",
    "time zone": "timezone",
    "status": "status",
    "target url": "target_url",
    "url": "target_url",
    "webhook url": "target_url",
    "http method": "http_method",
    "method": "http_method",
    "repo": "repo",
    "repository": "repo",
    "github repo": "repo",
    "github owner": "github_owner",
    "owner": "github_owner",
    "workflow name": "github_workflow_name",
    "workflow": "github_workflow_name",
    "github workflow name": "github_workflow_name",
    "category": "category",
    "end date": "end_date",
    "pic team": "pic_team",
    "team": "pic_team",
    "request body": "request_body",
    "metadata": "request_body",
    "branch": "branch",
    "headers": "headers",
    "request headers": "headers",
    "max retries": "max_retries",
    "retries": "max_retries",
    "min backoff seconds": "min_backoff_seconds",
    "max backoff seconds": "max_backoff_seconds",
    "max doublings": "max_doublings",
    "max retry duration seconds": "max_retry_duration_seconds",
    "concurrency policy": "concurrency_policy",
    "concurrency": "concurrency_policy",
    "catchup": "catchup",
    "catch up": "catchup",
    "misfire grace seconds": "misfire_grace_seconds",
}
# Policy columns (issue 13): text cells read as the numbers POST /jobs takes.
INTEGER_COLUMNS = (
    "max_retries",
    "max_doublings",
    "max_retry_duration_seconds",
    "misfire_grace_seconds",
)
NUMBER_COLUMNS = ("min_backoff_seconds", "max_backoff_seconds")
REQUIRED_COLUMNS = {
    "name": "Job Name",
    "cron_expression": "Cron Schedule (JST)",
    "end_date": "End Date",
    "pic_team": "PIC Team",
}
# A schedule column that names its zone: its expressions are read in that zone.
ZONED_CRON_HEADERS = {"cron schedule (jst)": "Asia/Tokyo"}
STATUS_VALUES = {
    **dict.fromkeys(("enable", "enabled", "active", "true", "yes", "on", "1"), True),
    **dict.fromkeys(
        ("disable", "disabled", "inactive", "paused", "false", "no", "off", "0"), False
    ),
}
INSERT_BATCH_SIZE = 200
_SLASHED_DATE = re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})")


class CsvUnreadable(ValueError):
    """The file as a whole cannot be used (empty, not UTF-8, no header, missing columns)."""

    def __init__(self, message: str, title: str = "Invalid CSV") -> None:
        super().__init__(message)
        self.title = title


@dataclass(frozen=True, slots=True)
class CsvRow:
    number: int
    """The row number a spreadsheet shows: the header is row 1."""
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class ParsedCsv:
    rows: list[CsvRow]
    original_row_count: int
    removed_empty_row_count: int
    cron_timezone: str | None = None


class RowProblem(ValueError):
    pass


def parse_csv(content: bytes) -> ParsedCsv:
    """Decode and split a CSV upload (blocking; call it through `asyncio.to_thread`)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvUnreadable(
            f"The file is not UTF-8 text (byte {exc.start} cannot be decoded); "
            "save it as CSV UTF-8.",
            title="Invalid file encoding",
        ) from None
    if not text.strip():
        raise CsvUnreadable("The file is empty.", title="Empty file")
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text)))
    except csv.Error as exc:
        raise CsvUnreadable(f"The file is not a readable CSV: {exc}.") from None

    # Blank lines above the header are skipped but still count as spreadsheet rows.
    header_index = next(
        (i for i, record in enumerate(records) if any(cell.strip() for cell in record)), None
    )
    if header_index is None:  # e.g. only quotes and separators
        raise CsvUnreadable("The file has no header row.", title="Empty file")
    header, data = records[header_index], records[header_index + 1 :]
    columns = _columns(header)
    missing = [label for key, label in REQUIRED_COLUMNS.items() if key not in columns.values()]
    if missing:
        raise CsvUnreadable(
            "Missing column(s): " + ", ".join(missing) + ". Found: " + ", ".join(header) + "."
        )
    rows: list[CsvRow] = []
    removed = 0
    for offset, record in enumerate(data):
        if not any(cell.strip() for cell in record):
            removed += 1
            continue
        values = {
            key: record[index].strip() for index, key in columns.items() if index < len(record)
        }
        rows.append(CsvRow(number=header_index + offset + 2, values=values))
    if not rows:
        raise CsvUnreadable("The file has a header but no rows with data.", title="Empty file")
    cron_header = next(
        (_normalize(h) for h in header if HEADER_ALIASES.get(_normalize(h)) == "cron_expression"),
        "",
    )
    return ParsedCsv(rows, len(data), removed, ZONED_CRON_HEADERS.get(cron_header))


def _delimiter(text: str) -> str:
    """Comma, unless the header line clearly uses semicolons or tabs (regional Excel)."""
    first_line = text.split("\n", 1)[0]
    counts = {delimiter: first_line.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > counts[","] else ","


def _normalize(header: str) -> str:
    return " ".join(header.replace("_", " ").replace("-", " ").lower().split())


def _columns(header: list[str]) -> dict[int, str]:
    """Column index → row field; empty and unknown headers are dropped."""
    columns: dict[int, str] = {}
    seen: dict[str, str] = {}
    for index, raw in enumerate(header):
        key = HEADER_ALIASES.get(_normalize(raw))
        if key is None:
            continue
        if key in seen:
            raise CsvUnreadable(f'Columns "{seen[key]}" and "{raw}" both give {key}.')
        seen[key] = raw
        columns[index] = key
    return columns


@dataclass(frozen=True, slots=True)
class CreatedJob:
    """A job made from CSV row `row`; reads the job's attributes through to it."""

    row: int
    job: Job

    def __getattr__(self, name: str) -> Any:
        return getattr(self.job, name)


@dataclass
class ImportOutcome:
    created: list[CreatedJob] = field(default_factory=list)
    errors: list[BulkUploadRowError] = field(default_factory=list)


class JobImportService:
    def __init__(self, session: AsyncSession, jobs: JobService) -> None:
        self.session = session
        self.jobs = jobs

    async def import_csv(
        self,
        content: bytes,
        *,
        actor: User,
        default_github_owner: str | None = None,
        dry_run: bool = False,
    ) -> BulkUploadResponse:
        try:
            parsed = await asyncio.to_thread(parse_csv, content)
        except CsvUnreadable as exc:
            raise InvalidInput(str(exc), title=exc.title) from None
        owner = (default_github_owner or "").strip() or None
        outcome = await self._import_rows(parsed, actor, owner, dry_run)
        return BulkUploadResponse(
            dry_run=dry_run,
            stats=BulkUploadStats(
                original_row_count=parsed.original_row_count,
                removed_empty_row_count=parsed.removed_empty_row_count,
                processed_row_count=len(parsed.rows),
            ),
            created_count=len(outcome.created),
            error_count=len(outcome.errors),
            errors=outcome.errors,
            jobs=[BulkUploadJob.model_validate(created) for created in outcome.created],
        )

    async def _import_rows(
        self, parsed: ParsedCsv, actor: User, owner: str | None, dry_run: bool
    ) -> ImportOutcome:
        outcome = ImportOutcome()
        validated: list[tuple[CsvRow, JobCreate]] = []
        # Schema validation is CPU work too (cron parsing for every row): off the loop.
        for row, result in await asyncio.to_thread(validate_rows, parsed, owner):
            if isinstance(result, JobCreate):
                validated.append((row, result))
            else:
                outcome.errors.append(_row_error(row, result))

        # Names already stored, in a few queries instead of one per row.
        taken = await self.jobs.taken_names([data.name for _, data in validated])
        built: list[tuple[CsvRow, Job]] = []
        first_row_by_name: dict[str, int] = {}
        for row, data in validated:
            if data.name in first_row_by_name:
                first = first_row_by_name[data.name]
                message = f'name "{data.name}" is already used by row {first}'
                outcome.errors.append(_row_error(row, message))
                continue
            try:
                job = await self.jobs.build(data, actor, taken_names=taken)
            except DomainError as exc:
                outcome.errors.append(_row_error(row, exc.message))
            else:
                first_row_by_name[data.name] = row.number
                built.append((row, job))

        if dry_run:
            now = self.jobs.clock.now()
            for _, job in built:
                # Never stored: give the preview the timestamps a stored job would show.
                job.created_at = job.updated_at = now
            kept = built
        else:
            kept = await self._store(built, outcome.errors)
        outcome.created = [CreatedJob(row.number, job) for row, job in kept]
        outcome.errors.sort(key=lambda error: error.row)
        return outcome

    async def _store(
        self, built: list[tuple[CsvRow, Job]], errors: list[BulkUploadRowError]
    ) -> list[tuple[CsvRow, Job]]:
        """Insert in batches, each in a savepoint; a batch that fails (a name taken since it
        was checked) is retried row by row, so only the offending rows are lost."""
        stored: list[tuple[CsvRow, Job]] = []
        for start in range(0, len(built), INSERT_BATCH_SIZE):
            batch = built[start : start + INSERT_BATCH_SIZE]
            try:
                async with self.session.begin_nested():
                    await self.jobs.add_all([job for _, job in batch])
            except DomainError:
                for row, job in batch:
                    try:
                        async with self.session.begin_nested():
                            await self.jobs.add(job)
                    except DomainError as exc:
                        errors.append(_row_error(row, exc.message))
                    else:
                        stored.append((row, job))
            else:
                stored.extend(batch)
        return stored


def validate_rows(
    parsed: ParsedCsv, default_owner: str | None
) -> list[tuple[CsvRow, JobCreate | str]]:
    """Each row as the `JobCreate` POST /jobs would accept, or why it is not one (blocking)."""
    results: list[tuple[CsvRow, JobCreate | str]] = []
    for row in parsed.rows:
        try:
            payload = row_payload(row, default_owner, parsed.cron_timezone)
            results.append((row, JobCreate.model_validate(payload)))
        except ValidationError as exc:
            results.append((row, _describe_validation(exc.errors())))
        except RowProblem as exc:
            results.append((row, str(exc)))
    return results


def row_payload(
    row: CsvRow, default_owner: str | None, cron_timezone: str | None
) -> dict[str, Any]:
    """The JSON body POST /jobs would get for this row (blank cells are left out)."""
    values = {key: value for key, value in row.values.items() if value}
    payload: dict[str, Any] = {
        key: values[key]
        for key in (
            "name",
            "cron_expression",
            "timezone",
            "target_url",
            "http_method",
            "github_workflow_name",
            "category",
            "pic_team",
            "concurrency_policy",
            "catchup",
        )
        if key in values
    }
    payload.update(_numbers(values))
    if "timezone" not in payload and cron_timezone is not None:
        payload["timezone"] = cron_timezone
    if "end_date" in values:
        payload["end_date"] = _SLASHED_DATE.sub(
            lambda m: f"{m[1]}-{int(m[2]):02d}-{int(m[3]):02d}", values["end_date"]
        )
    if "status" in values:
        status = STATUS_VALUES.get(values["status"].lower())
        if status is None:
            raise RowProblem(f'Status must be "enable" or "disable", not "{values["status"]}"')
        payload["is_active"] = status
    payload.update(_github_repo(values.get("repo"), values.get("github_owner"), default_owner))
    metadata = _metadata(values.get("request_body"))
    if "branch" in values:
        metadata.setdefault("branchDetails", values["branch"])
    if metadata:
        payload["metadata"] = metadata
    if "headers" in values:
        payload["headers"] = _headers(values["headers"])
    return payload


def _headers(cell: str) -> list[dict[str, Any]]:
    """`Headers`: a JSON object of non-secret headers (`{"X-Team": "data"}`); secret ones are
    set through the API or the dashboard, never in a spreadsheet."""
    try:
        headers = json.loads(cell)
    except json.JSONDecodeError as exc:
        raise RowProblem(f"Headers is not valid JSON: {exc.msg}") from None
    if not isinstance(headers, dict) or not all(
        isinstance(value, str) for value in headers.values()
    ):
        raise RowProblem('Headers must be a JSON object of strings, e.g. {"X-Team": "data"}')
    return [{"name": name, "value": value, "secret": False} for name, value in headers.items()]


def _numbers(values: dict[str, str]) -> dict[str, int | float]:
    """The policy columns' numbers; a cell that is not one is the row's error."""
    numbers: dict[str, int | float] = {}
    for key in (*INTEGER_COLUMNS, *NUMBER_COLUMNS):
        if key not in values:
            continue
        text = values[key]
        try:
            number = float(text) if key in NUMBER_COLUMNS else int(text)
        except ValueError:
            kind = "a number" if key in NUMBER_COLUMNS else "a whole number"
            raise RowProblem(f'{key} must be {kind}, not "{text}"') from None
        numbers[key] = number
    return numbers


def _github_repo(repo: str | None, owner: str | None, default_owner: str | None) -> dict[str, str]:
    """`Repo` holds `owner/repo` or `repo` (a github.com URL works too)."""
    if repo is None:
        return {"github_owner": owner} if owner else {}
    path = repo.removesuffix(".git").rstrip("/")
    if "github.com/" in path:
        path = path.split("github.com/", 1)[1]
    if "/" in path:
        repo_owner, _, name = path.partition("/")
        if owner and owner.lower() != repo_owner.lower():
            raise RowProblem(
                f'Repo "{repo}" names owner "{repo_owner}" but GitHub Owner is "{owner}"'
            )
        owner, path = repo_owner, name
    result = {"github_repo": path}
    resolved_owner = owner or default_owner
    if resolved_owner:
        result["github_owner"] = resolved_owner
    return result


def _metadata(request_body: str | None) -> dict[str, Any]:
    if request_body is None:
        return {}
    try:
        metadata = json.loads(request_body)
    except json.JSONDecodeError as exc:
        raise RowProblem(f"Request Body is not valid JSON: {exc.msg}") from None
    if not isinstance(metadata, dict):
        raise RowProblem("Request Body must be a JSON object")
    return metadata


def _describe_validation(errors: Iterable[Any]) -> str:
    return "; ".join(
        f"{error['field']}: {error['message']}" if error["field"] else error["message"]
        for error in field_errors(errors)
    )


def _row_error(row: CsvRow, message: str) -> BulkUploadRowError:
    return BulkUploadRowError(row=row.number, name=row.values.get("name") or None, error=message)
