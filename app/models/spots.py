"""Spots (places with a QR label) and their versioned SOPs."""
import hashlib
import secrets
from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, bindparam, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import pick
from .base import utcnow

KINDS = ("checkpoint", "zone", "equipment")
STEP_KINDS = ("tick", "reading", "text")


def new_token() -> str:
    """96 random bits in 16 URL-safe characters: short enough for a small QR code."""
    return secrets.token_urlsafe(12)


class Sop(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list["SopVersion"]] = relationship(
        back_populates="sop", order_by="SopVersion.number", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return pick(self.name_zh, self.name_en)

    @property
    def current(self) -> "SopVersion":
        return self.versions[-1]

    def editable_version(self) -> "SopVersion":
        """The version to edit: the current one until a record uses it, then a fresh copy."""
        if self.versions and not self.current.in_use():
            return self.current
        version = SopVersion(number=len(self.versions) + 1)
        if self.versions:
            version.steps = [step.copy() for step in self.current.steps]
        self.versions.append(version)
        return version


class SopVersion(db.Model):
    __table_args__ = (UniqueConstraint("sop_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sop_id: Mapped[int] = mapped_column(ForeignKey("sop.id"))
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sop: Mapped[Sop] = relationship(back_populates="versions")
    steps: Mapped[list["Step"]] = relationship(
        order_by="Step.position", cascade="all, delete-orphan", back_populates="version"
    )

    def fingerprint(self) -> str:
        """Changes whenever a step does: a form shows it, and the submit checks it still holds."""
        steps = [(step.id, *(getattr(step, name) for name in Step.COPIED)) for step in self.steps]
        return hashlib.sha256(repr(steps).encode()).hexdigest()[:16]

    def record_count(self) -> int:
        from .records import Record

        if self.id is None:
            return 0
        return db.session.scalar(
            select(func.count()).select_from(Record).where(Record.sop_version_id == self.id))

    def in_use(self) -> bool:
        return self.record_count() > 0


class Step(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("sop_version.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(10))
    label_zh: Mapped[str] = mapped_column(String(200))
    label_en: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    min_value: Mapped[float | None]
    max_value: Mapped[float | None]
    photo_required: Mapped[bool] = mapped_column(default=False)

    version: Mapped[SopVersion] = relationship(back_populates="steps")

    COPIED = ("position", "kind", "label_zh", "label_en", "unit", "min_value", "max_value",
              "photo_required")

    @property
    def label(self) -> str:
        return pick(self.label_zh, self.label_en)

    def copy(self) -> "Step":
        return Step(**{name: getattr(self, name) for name in self.COPIED})

    def in_range(self, value: float) -> bool:
        if self.min_value is not None and value < self.min_value:
            return False
        if self.max_value is not None and value > self.max_value:
            return False
        return True


class Spot(db.Model):
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(30))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    token: Mapped[str] = mapped_column(String(32), unique=True, default=new_token)
    sop_id: Mapped[int | None] = mapped_column(ForeignKey("sop.id"))
    active: Mapped[bool] = mapped_column(default=True)
    # Equipment ledger (设备台账); empty for checkpoints and zones.
    category: Mapped[str] = mapped_column(String(30), default="")
    model: Mapped[str] = mapped_column(String(100), default="")
    maker: Mapped[str] = mapped_column(String(100), default="")
    installed_on: Mapped[date | None]
    serial: Mapped[str] = mapped_column(String(100), default="")
    # Where the label is (WGS-84, as phones report it) and how far from it counts as there.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    radius: Mapped[int | None]  # metres
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site = relationship("Site")
    sop: Mapped[Sop | None] = relationship()

    @property
    def name(self) -> str:
        return pick(self.name_zh, self.name_en)

    def reissue_label(self) -> None:
        """A new token; the old label stops working at once."""
        self.token = new_token()

    @classmethod
    def by_token(cls, token: str):
        if not token or len(token) > 32:
            return None
        return db.session.scalar(SPOT_BY_TOKEN, {"token": token})


# Built once and run with parameters (bench/RESULTS.md, "Statements built once").
SPOT_BY_TOKEN = select(Spot).where(Spot.token == bindparam("token"), Spot.active.is_(True))
