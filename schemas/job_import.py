from __future__ import annotations

from pydantic import BaseModel, Field

from schemas.job import JobRead


class BulkUploadStats(BaseModel):
    original_row_count: int = Field(description="Data rows in the file (the header excluded).")
    removed_empty_row_count: int = Field(description="Rows with every cell empty, skipped.")
    processed_row_count: int = Field(description="Rows validated (and created unless dry run).")


class BulkUploadRowError(BaseModel):
    row: int = Field(description="The row number a spreadsheet shows (the header is row 1).")
    name: str | None
    error: str


class BulkUploadJob(JobRead):
    row: int = Field(description="The row it comes from, numbered as in `errors`.")


class BulkUploadResponse(BaseModel):
    dry_run: bool
    stats: BulkUploadStats
    created_count: int = Field(description="Jobs created (on a dry run: that would be created).")
    error_count: int
    errors: list[BulkUploadRowError]
    jobs: list[BulkUploadJob] = Field(
        description="The jobs created, in row order. On a dry run, previews whose ids were "
        "never stored."
    )
