from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPrimaryKey

GENERAL_CATEGORY_SLUG = "general"


class JobCategory(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "job_category"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
