from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class RefreshToken(Base):
    """A refresh token that may still be exchanged.

    Rotation and logout delete the row, so a validly signed, unexpired refresh token without a
    row has been used before: that reuse revokes every refresh token of its user.
    """

    __tablename__ = "refresh_token"

    jti: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
