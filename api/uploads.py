"""Multipart uploads read with their size limit enforced while the body streams in.

FastAPI's `UploadFile` parameters are parsed (and spooled to disk) before the endpoint runs,
whatever their size; endpoints with a limit read the body through `read_upload` instead.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser

from core.errors import InvalidInput, PayloadTooLarge, ValidationFailed

# Room for the multipart framing and the small text fields around the file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
MAX_TEXT_FIELD_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Upload:
    content: bytes
    filename: str | None
    fields: dict[str, str]


def multipart_request_body(
    file_field: str, file_description: str, fields: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The OpenAPI `requestBody` of an endpoint reading its form through `read_upload`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [file_field],
                        "properties": {
                            file_field: {
                                "type": "string",
                                "format": "binary",
                                "description": file_description,
                            },
                            **fields,
                        },
                    }
                }
            },
        }
    }


async def read_upload(request: Request, *, file_field: str, max_file_bytes: int) -> Upload:
    """The one file (at most `max_file_bytes`) and the text fields of a multipart form.

    413 as soon as the body grows past the limit (and the framing allowance), before the rest
    is read; 415 for a body that is not multipart; 422 when the file field is missing.
    """
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("application/x-www-form-urlencoded"):
        raise _missing_file(file_field)  # a form, but one that cannot carry a file
    if not content_type.startswith("multipart/form-data"):
        raise HTTPException(
            status_code=415,
            detail=f"Send the file as multipart/form-data in a field named {file_field!r}.",
        )
    body_limit = max_file_bytes + MULTIPART_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > body_limit:
        raise _too_large(max_file_bytes)
    parser = MultiPartParser(
        request.headers,
        _capped(request.stream(), body_limit, max_file_bytes),
        max_files=1,
        max_fields=20,
        max_part_size=MAX_TEXT_FIELD_BYTES,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(
            f"The upload is not valid multipart/form-data: {exc.message}", title="Invalid upload"
        ) from None
    try:
        upload = form.get(file_field)
        if not isinstance(upload, UploadFile):
            raise _missing_file(file_field)
        content = await upload.read(max_file_bytes + 1)
        if len(content) > max_file_bytes:
            raise _too_large(max_file_bytes)
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
        return Upload(content, upload.filename, fields)
    finally:
        await form.close()


async def _capped(
    stream: AsyncIterator[bytes], limit: int, max_file_bytes: int
) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise _too_large(max_file_bytes)
        yield chunk


def _too_large(max_file_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {max_file_bytes:,}-byte limit (MAX_UPLOAD_BYTES).",
        title="File too large",
    )


def _missing_file(file_field: str) -> ValidationFailed:
    return ValidationFailed(
        f"Field required: attach the file as {file_field!r}.",
        field=f"body.{file_field}",
        type_="missing",
    )
