"""The envelope every Frontdesk event carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


def new_id(prefix: str) -> str:
    """A random id with a readable prefix, e.g. ``turn-3f2a...``."""
    return f"{prefix}-{uuid.uuid4().hex}"


class Event(BaseModel):
    """Base event: frozen, versioned, tenant-scoped; readers ignore unknown fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    routing_key: ClassVar[str] = ""

    event_id: str = Field(default_factory=lambda: new_id("evt"))
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    tenant_id: str
    correlation_id: str
    version: int = 1
