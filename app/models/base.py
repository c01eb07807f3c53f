"""Small helpers shared by the model modules."""
from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, the one way times are stored (SQLite keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)
