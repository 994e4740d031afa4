"""Column helpers shared by the tables."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


# Timezone-aware timestamps (timestamptz on PostgreSQL).
TZ_DATETIME = DateTime(timezone=True)
