"""A job's secrets: its request headers (secret values encrypted at rest) and its Standard
Webhooks signing secrets. The only module that turns them into plaintext, for a call.

Stored header: `{"name", "value", "secret"}`, where a secret header's `value` is a Fernet
token (core/secrets.py). Responses never show it (schemas/job.py `JobRead`), runs decrypt it
when they call (`call_headers`), and nothing else reads it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.errors import ValidationFailed
from core.secrets import SecretBox, secret_box
from integrations import signing
from models.job import Job

logger = logging.getLogger("services.job_secrets")


def settle_headers(
    requested: Sequence[Mapping[str, Any]],
    stored: Sequence[Mapping[str, Any]] | None,
    box: SecretBox,
) -> list[dict[str, Any]]:
    """The header list to store for `requested` (request bodies, unset keys left out) over
    the job's `stored` list (None for a new job). Secret values are encrypted here."""
    kept = {header["name"].lower(): header for header in stored or ()}
    settled: list[dict[str, Any]] = []
    for index, header in enumerate(requested):
        name, secret = header["name"], bool(header.get("secret", False))
        field = f"body.headers.{index}.value"
        if "value" in header and header["value"] is None:
            if stored is None:
                raise ValidationFailed(f"The header {name} needs a value.", field=field)
            continue  # null removes the header
        if "value" in header:
            value = header["value"]
        else:
            previous = kept.get(name.lower())
            if previous is None:
                raise ValidationFailed(
                    f"The header {name} has no stored value to keep; send its value.",
                    field=field,
                    type_="missing",
                )
            if previous["secret"] and not secret:
                raise ValidationFailed(
                    f"Send the value of {name} to make it a non-secret header.",
                    field=field,
                    type_="missing",
                )
            if previous["secret"]:
                settled.append({"name": name, "value": previous["value"], "secret": True})
                continue
            value = previous["value"]
        settled.append(
            {"name": name, "value": box.encrypt(value) if secret else value, "secret": secret}
        )
    return settled


def call_headers(stored: Sequence[Mapping[str, Any]], box: SecretBox) -> list[tuple[str, str]]:
    """The headers a call sends, secret values decrypted (SecretUnreadable if a key is gone)."""
    return [
        (header["name"], box.decrypt(header["value"]) if header["secret"] else header["value"])
        for header in stored
    ]


def secret_values(
    stored: Sequence[Mapping[str, Any]], sent: Sequence[tuple[str, str]]
) -> list[str]:
    """The plaintext values among `sent` (from `call_headers`) that are secret."""
    return [value for header, (_, value) in zip(stored, sent, strict=True) if header["secret"]]


REDACTED = "[secret]"


def redact(text: str | None, secrets: Sequence[str]) -> str | None:
    """`text` with every secret value replaced: a target that echoes its request headers
    (httpbin's /headers) must not put a credential into an execution's `output`."""
    if text is None:
        return None
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def signing_secrets(
    current: str | None,
    previous: str | None,
    rotated_at: datetime | None,
    *,
    box: SecretBox,
    settings: Settings,
    now: datetime,
) -> list[str]:
    """The secrets a call made at `now` is signed with: the current one, and the previous one
    during the overlap after a rotation."""
    secrets = [] if current is None else [box.decrypt(current)]
    if (
        previous is not None
        and rotated_at is not None
        and now < previous_valid_until(rotated_at, settings)
    ):
        secrets.append(box.decrypt(previous))
    return secrets


def previous_valid_until(rotated_at: datetime, settings: Settings) -> datetime:
    return rotated_at + timedelta(hours=settings.signing_rotation_overlap_hours)


def new_signing_secret(box: SecretBox) -> tuple[str, str]:
    """A fresh signing secret: (plaintext, stored form)."""
    secret = signing.new_secret()
    return secret, box.encrypt(secret)


def ensure_signing_secret(job: Job, box: SecretBox) -> None:
    """Jobs from before migration 0010 get their secret at their first run (in the
    transaction that starts it). Nobody has seen it: a rotation shows one."""
    if job.signing_secret is None:
        job.signing_secret = new_signing_secret(box)[1]


def rotate_signing_secret(job: Job, box: SecretBox, now: datetime) -> str:
    """A new current secret; the one it replaces stays valid for the overlap (a second
    rotation within it drops the oldest)."""
    secret, stored = new_signing_secret(box)
    job.previous_signing_secret = job.signing_secret
    job.signing_secret = stored
    job.signing_secret_rotated_at = now
    return secret


# --- start-up upgrade and key rotation --------------------------------------------------------


def split_userinfo(url: str) -> tuple[str, str | None]:
    """`url` without `user:password@`, and the `Authorization` value httpx made of them."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    username, _, password = userinfo.partition(":")
    credentials = f"{unquote(username)}:{unquote(password)}".encode()
    return urlunsplit(parts._replace(netloc=host)), "Basic " + base64.b64encode(credentials).decode(
        "ascii"
    )


async def upgrade_stored_jobs(session: AsyncSession, settings: Settings) -> int:
    """Jobs stored before migration 0010 whose `target_url` carries credentials: the URL
    loses them and the job gets the secret `Authorization: Basic` header the call sent
    before (what httpx made of them), so the call stays the same and no viewer reads the
    password any more. Idempotent; run at every start-up. Returns the number of jobs moved."""
    box = secret_box(settings)
    jobs = await session.scalars(select(Job).where(Job.target_url.like("%@%")).with_for_update())
    moved = 0
    for job in jobs:
        url, authorization = split_userinfo(job.target_url or "")
        if authorization is None:
            continue
        headers = [h for h in job.headers if h["name"].lower() != "authorization"]
        job.headers = [
            {"name": "Authorization", "value": box.encrypt(authorization), "secret": True},
            *headers,
        ]
        job.target_url = url
        moved += 1
    if moved:
        logger.warning(
            "moved the credentials of %d job target URLs into secret Authorization headers",
            moved,
            extra={"action": "jobs.credentials_moved", "count": str(moved)},
        )
    return moved


async def reencrypt_all(session: AsyncSession, settings: Settings) -> int:
    """Encrypt every stored secret with the first SECRETS_KEY key (after a key was put
    first), so older keys can then be dropped. Returns the number of jobs rewritten."""
    box = secret_box(settings)
    count = 0
    for job in await session.scalars(select(Job).with_for_update()):
        job.headers = [
            {**header, "value": box.reencrypt(header["value"])} if header["secret"] else header
            for header in job.headers
        ]
        if job.signing_secret is not None:
            job.signing_secret = box.reencrypt(job.signing_secret)
        if job.previous_signing_secret is not None:
            job.previous_signing_secret = box.reencrypt(job.previous_signing_secret)
        count += 1
    return count
