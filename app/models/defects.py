"""Defects and incidents, tracked from the finding to a fix someone else has verified.

open -> assigned -> fixed -> verified, or fixed -> reopened -> fixed again. A defect is
raised by a record (a step not OK, a reading out of range) or reported by hand as an
incident. Every transition is a conditional UPDATE, so two people acting at once cannot
both win, and is written to the audit trail, which is also the defect's timeline.
"""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .audit import audit
from .base import utcnow

SEVERITIES = ("high", "medium", "low")
INCIDENT_KINDS = ("water_leak", "fire_alarm", "power_cut", "lift_entrapment", "security",
                  "damage", "other")
# A step found not OK or out of range; incidents use INCIDENT_KINDS.
FINDING = "finding"
STATUSES = ("open", "assigned", "fixed", "reopened", "verified")
UNRESOLVED = ("open", "assigned", "reopened")  # someone still has to fix it
# Hours to respond (assign someone) and to fix, per severity, unless the site sets its own.
DEFAULT_HOURS = {"high": (24, 24), "medium": (24, 72), "low": (24, 168)}


class Conflict(Exception):
    """The defect changed meanwhile (someone else acted first), or the step is not allowed."""


def wall_clock_plus(start: datetime, hours: int, timezone: str) -> datetime:
    """`hours` after `start` on the site's wall clock, as naive UTC.

    24 hours after 18:00 is 18:00 the next day there, also on a day the clocks change.
    """
    zone, utc = ZoneInfo(timezone), ZoneInfo("UTC")
    local = start.replace(tzinfo=utc).astimezone(zone).replace(tzinfo=None)
    later = (local + timedelta(hours=hours)).replace(tzinfo=zone)
    return later.astimezone(utc).replace(tzinfo=None)


class Defect(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    spot_id: Mapped[int | None] = mapped_column(ForeignKey("spot.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # FINDING or one of INCIDENT_KINDS
    severity: Mapped[str] = mapped_column(String(10))
    # For findings: the step first found failing, and what makes a later one "the same
    # step" across SOP versions (the SOP and the step's Chinese label).
    step_id: Mapped[int | None] = mapped_column(ForeignKey("step.id", ondelete="SET NULL"))
    step_key: Mapped[str | None] = mapped_column(String(250))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    # An incident's key from its form: the same form sent twice is one incident.
    submission_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    respond_by: Mapped[datetime]
    fix_by: Mapped[datetime]
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    responded_at: Mapped[datetime | None]  # first assignment
    fixed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    fixed_at: Mapped[datetime | None]
    fix_note: Mapped[str] = mapped_column(Text, default="")
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    verified_at: Mapped[datetime | None]

    site = relationship("Site")
    spot = relationship("Spot")
    step = relationship("Step")
    reported_by = relationship("User", foreign_keys=[reported_by_id])
    assignee = relationship("User", foreign_keys=[assignee_id])
    fixed_by = relationship("User", foreign_keys=[fixed_by_id])
    verified_by = relationship("User", foreign_keys=[verified_by_id])
    findings: Mapped[list["Finding"]] = relationship(
        back_populates="defect", order_by="Finding.id", lazy="selectin")
    photos = relationship("Photo", order_by="Photo.id", lazy="selectin",
                          back_populates="defect")

    @property
    def is_incident(self) -> bool:
        return self.kind != FINDING

    @property
    def unresolved(self) -> bool:
        return self.status in UNRESOLVED

    def response_overdue(self, now: datetime) -> bool:
        return self.responded_at is None and now >= self.respond_by

    def fix_overdue(self, now: datetime) -> bool:
        return self.unresolved and now >= self.fix_by

    def overdue(self, now: datetime) -> bool:
        return self.response_overdue(now) or self.fix_overdue(now)

    @property
    def before_photos(self) -> list:
        """The incident's own photos, then the photos of every record that found it."""
        own = [photo for photo in self.photos if photo.stage == "before"]
        return own + [photo for finding in self.findings for photo in finding.record.photos]

    @property
    def after_photos(self) -> list:
        return [photo for photo in self.photos if photo.stage == "after"]

    def _move(self, allowed: tuple, now: datetime, *conditions, **values) -> None:
        """Change status and fields only if the row is still in an allowed status."""
        result = db.session.execute(
            update(Defect).where(Defect.id == self.id, Defect.status.in_(allowed), *conditions)
            .values(**values).execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(self.id)
        db.session.refresh(self)

    def assign(self, by, to, now: datetime) -> None:
        first = self.responded_at is None
        self._move(UNRESOLVED, now, assignee_id=to.id, status="assigned",
                   responded_at=self.responded_at or now)
        audit("defect_assigned", user=by, site_id=self.site_id, target=f"defect:{self.id}",
              to=to.username, to_name=to.display_name, first=first)

    def fix(self, by, note: str, photos: list, now: datetime, supervisor=False) -> None:
        """By the assignee (still the assignee at this instant) or a supervisor."""
        if not photos or not note:
            raise Conflict(self.id)
        mine = () if supervisor else (Defect.assignee_id == by.id,)
        self._move(("assigned", "reopened"), now, *mine, status="fixed", fixed_by_id=by.id,
                   fixed_at=now, fix_note=note)
        for photo in photos:
            photo.defect_id, photo.stage = self.id, "after"
        audit("defect_fixed", user=by, site_id=self.site_id, target=f"defect:{self.id}",
              note=note, photos=len(photos))

    def verify(self, by, now: datetime) -> None:
        if by.id == self.fixed_by_id:
            raise Conflict(self.id)
        result = db.session.execute(
            update(Defect).where(Defect.id == self.id, Defect.status == "fixed",
                                 Defect.fixed_by_id != by.id)
            .values(status="verified", verified_by_id=by.id, verified_at=now)
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            raise Conflict(self.id)
        db.session.refresh(self)
        audit("defect_verified", user=by, site_id=self.site_id, target=f"defect:{self.id}")

    def reopen(self, by, reason: str, now: datetime) -> None:
        """Back to whoever is assigned, with the reason. The rejected fix stays in the
        timeline; its photos are no longer the defect's "after"."""
        self._move(("fixed",), now, status="reopened", fixed_at=None, fix_note="")
        for photo in self.after_photos:
            photo.stage = "rejected"
        audit("defect_reopened", user=by, site_id=self.site_id, target=f"defect:{self.id}",
              reason=reason)


class Finding(db.Model):
    """A record that found the defect's step failing: the first raised it, later ones add to it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    defect_id: Mapped[int] = mapped_column(ForeignKey("defect.id", ondelete="CASCADE"),
                                           index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    defect: Mapped[Defect] = relationship(back_populates="findings")
    record = relationship("Record", lazy="joined")
    step = relationship("Step")


class Delivery(db.Model):
    """A high-severity incident's message to the site's chat webhook, retried until sent."""

    id: Mapped[int] = mapped_column(primary_key=True)
    defect_id: Mapped[int] = mapped_column(ForeignKey("defect.id", ondelete="CASCADE"),
                                           index=True)
    url: Mapped[str] = mapped_column(String(500))
    payload: Mapped[str] = mapped_column(Text)  # the JSON message, made when it was queued
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    # When to try next; None once sent, or given up after too many attempts.
    next_try_at: Mapped[datetime | None] = mapped_column(default=utcnow, index=True)
    delivered_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(String(300), default="")

    defect: Mapped[Defect] = relationship()


def step_key(step) -> str:
    """What makes two failing steps "the same" at a spot, also across SOP versions."""
    return f"{step.version.sop_id}:{step.label_zh}"


def deadlines(site, severity: str, now: datetime) -> dict:
    respond, fix = site.hours(severity)
    return {"respond_by": wall_clock_plus(now, respond, site.timezone),
            "fix_by": wall_clock_plus(now, fix, site.timezone)}


def raise_findings(record, user, now: datetime) -> list[Defect]:
    """A defect for each step the record found failing, or the finding added to the one open.

    A finding added to a fix still waiting to be verified reopens it: the fault is back.
    """
    touched = []
    for result in record.results:
        if not result.anomaly:
            continue
        step = result.step
        key = step_key(step)
        defect = db.session.scalar(
            select(Defect).where(Defect.spot_id == record.spot_id, Defect.step_key == key,
                                 Defect.status != "verified").order_by(Defect.id).limit(1))
        if defect is None:
            defect = Defect(site_id=record.site_id, spot_id=record.spot_id, kind=FINDING,
                            severity="medium", step_id=step.id, step_key=key, status="open",
                            reported_by_id=user.id, created_at=now,
                            **deadlines(record.site, "medium", now))
            db.session.add(defect)
            db.session.flush()
            audit("defect_raised", user=user, site_id=record.site_id,
                  target=f"defect:{defect.id}", record=record.id, step=step.label_zh)
        else:
            audit("defect_found_again", user=user, site_id=record.site_id,
                  target=f"defect:{defect.id}", record=record.id)
            if defect.status == "fixed":
                try:
                    defect.reopen(user, "found_again", now)
                except Conflict:  # verified at this very moment: the finding stays with it
                    pass
        defect.findings.append(Finding(record=record, step_id=step.id, at=now))
        touched.append(defect)
    return touched
