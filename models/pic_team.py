from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Timestamps, UUIDPrimaryKey


class PicTeam(UUIDPrimaryKey, Timestamps, Base):
    """The team responsible ("person in charge") for a job; alerts mention its Slack handle."""

    __tablename__ = "pic_team"

    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    slack_handle: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
