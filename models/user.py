from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.config import get_settings
from core.enums import UserRole
from models.base import Base, Timestamps, UUIDPrimaryKey, str_enum


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "user"

    username: Mapped[str] = mapped_column(String(80), unique=True)
    # Stored lower-cased so uniqueness and login are case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(120), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "role"), default=UserRole.VIEWER)
    is_active: Mapped[bool] = mapped_column(default=True)
    # IANA zone of the user's own day (digests). The service sets it on creation; a row made
    # without one gets the configured SCHEDULER_TIMEZONE.
    timezone: Mapped[str] = mapped_column(
        String(64), default=lambda: get_settings().scheduler_timezone
    )
