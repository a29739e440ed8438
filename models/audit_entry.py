from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UUIDPrimaryKey


class AuditEntry(UUIDPrimaryKey, Base):
    """One change of state that matters, written in the transaction of the change
    (`services/audit.AuditService.record`). Actor and resource ids are plain columns, not
    foreign keys: an entry outlives the user, key or job it names."""

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_resource", "resource_type", "resource_id", "occurred_at"),
        Index("ix_audit_entry_actor", "actor_user_id", "occurred_at"),
    )

    occurred_at: Mapped[datetime] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[uuid.UUID | None]
    actor_user_id: Mapped[uuid.UUID | None]
    actor_api_key_id: Mapped[uuid.UUID | None]
    request_id: Mapped[str | None] = mapped_column(String(128))
    client_address: Mapped[str | None] = mapped_column(String(255))
    # {field: {"before": …, "after": …}}, secret values replaced by "[redacted]".
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
