from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import ApiKeyScope
from models.base import Base, UUIDPrimaryKey, str_enum


class ApiKey(UUIDPrimaryKey, Base):
    """A long-lived credential acting as its user. Only a hash of the key is stored
    (`core/security.hash_api_key`); revoking deletes the row, so a revoked key matches nothing."""

    __tablename__ = "api_key"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[ApiKeyScope] = mapped_column(str_enum(ApiKeyScope, "api_key_scope"))
    # The first characters of the key ("cj_" and 8 more), shown in listings to tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
