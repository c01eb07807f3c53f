"""The append-only audit trail: who did what, when (UTC)."""
import json
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import utcnow


class Audit(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(100), default="", index=True)
    detail: Mapped[str] = mapped_column(Text, default="{}")


def audit(action: str, *, user=None, site_id=None, target: str = "", **detail) -> Audit:
    """Add an audit row to the current transaction; it commits with the change it describes."""
    row = Audit(
        action=action,
        user_id=user.id if user is not None else None,
        site_id=site_id,
        target=target,
        detail=json.dumps(detail, ensure_ascii=False, default=str),
    )
    db.session.add(row)
    return row
