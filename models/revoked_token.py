from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import TokenType
from models.base import Base, str_enum


class RevokedToken(Base):
    """A JWT that must no longer be accepted; rows are purged once `expires_at` passes."""

    __tablename__ = "revoked_token"

    jti: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    token_type: Mapped[TokenType] = mapped_column(str_enum(TokenType, "token_type"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime]
