from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UUIDPrimaryKey


class LoginAttempt(UUIDPrimaryKey, Base):
    """A failed login. Kept in the database so the throttle holds across processes; rows older
    than the throttle window are purged."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_account_attempted", "account", "attempted_at"),
        Index("ix_login_attempt_client_address_attempted", "client_address", "attempted_at"),
    )

    # The user's id when the name or email matched one, else the name as typed (lower-cased).
    account: Mapped[str] = mapped_column(String(255))
    client_address: Mapped[str] = mapped_column(String(255))
    attempted_at: Mapped[datetime]
