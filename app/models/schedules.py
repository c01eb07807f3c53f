"""Schedules: when work is due at which spots, for which role. Versioned like SOPs."""
from datetime import date, datetime, time, timedelta

from sqlalchemy import JSON, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..i18n import pick
from ..timing import Timing, windows
from .base import utcnow

SCHEDULE_KINDS = ("route", "cleaning", "equipment")

schedule_assignee = Table(
    "schedule_assignee",
    db.metadata,
    Column("schedule_id", ForeignKey("schedule.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
)


class Schedule(db.Model):
    """One version of a schedule, valid from `valid_from` until `valid_until` (open-ended).

    Editing closes this version and starts a new one, so windows that opened before the edit
    keep the rules they were due under.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    # The first version's id, shared by every later version: "the same route" over time.
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id"))
    kind: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20))
    # Only records against this SOP count (a pump's monthly maintenance is not its daily check).
    sop_id: Mapped[int | None] = mapped_column(ForeignKey("sop.id"))
    grace: Mapped[int] = mapped_column(default=30)  # minutes
    # The timing, as app.timing.Timing reads it.
    timing: Mapped[str] = mapped_column(String(20))
    span_start: Mapped[time | None]
    span_end: Mapped[time | None]
    every: Mapped[int | None]
    count: Mapped[int | None]
    times: Mapped[str] = mapped_column(String(200), default="")  # "08:00 14:00"
    length: Mapped[int | None]
    weekdays: Mapped[str] = mapped_column(String(20), default="")  # "0 2 4"
    day: Mapped[int | None]
    month: Mapped[int | None]
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site = relationship("Site")
    sop = relationship("Sop")
    stops: Mapped[list["Stop"]] = relationship(
        order_by="Stop.position", cascade="all, delete-orphan", lazy="selectin")
    assignees = relationship("User", secondary=schedule_assignee, lazy="selectin")

    @property
    def name(self) -> str:
        return pick(self.name_zh, self.name_en)

    @property
    def lineage(self) -> int:
        return self.origin_id or self.id

    def to_timing(self) -> Timing:
        return Timing(
            kind=self.timing, start=self.span_start, end=self.span_end, every=self.every,
            count=self.count, length=self.length, day=self.day, month=self.month,
            times=tuple(time.fromisoformat(t) for t in self.times.split()),
            weekdays=frozenset(int(d) for d in self.weekdays.split()),
        )

    def windows(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Windows opening in [start, end) while this version was in force."""
        start = max(start, self.valid_from)
        if self.valid_until is not None:
            end = min(end, self.valid_until)
        if start >= end:
            return []
        return windows(self.to_timing(), self.site.timezone, start, end)

    def revise(self, now: datetime) -> "Schedule":
        """Close this version now and return a copy to be edited.

        A round open right now runs to its end under the old rules; the new version's
        rounds start after it, so no round is due twice.
        """
        running = [closes for opens, closes in self.windows(now - timedelta(days=2), now)
                   if closes > now]
        self.valid_until = now
        copy = Schedule(**{name: getattr(self, name) for name in self.COPIED},
                        origin_id=self.lineage, valid_from=max(running, default=now))
        copy.stops = [Stop(position=stop.position, spot_id=stop.spot_id) for stop in self.stops]
        copy.assignees = list(self.assignees)
        return copy

    COPIED = ("site_id", "kind", "name_zh", "name_en", "role", "sop_id", "grace", "timing",
              "span_start", "span_end", "every", "count", "times", "length", "weekdays", "day",
              "month")


class Stop(db.Model):
    """A spot of a schedule, in walking order (a cleaning plan or a cycle has one)."""

    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedule.id", ondelete="CASCADE"),
                                             primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spot.id"), index=True)

    spot = relationship("Spot", lazy="joined")


class DayCount(db.Model):
    """The dashboard's counts of a finished local day at a site, so no one counts it again.

    A day is finished once the statuses of the windows that opened on it have settled
    (`app/reports/stats.py`, unsettled()): schedules change only from now on, so nothing
    but a record sent late from a phone can change its counts after that, and such a record
    makes its days be counted again (`app/evidence.py`, forget_counted_days()). A day that
    is over, with its windows settled at all but a few of its spots (a quarter at most), is
    kept too, without those spots: `unsettled` lists them, and they are counted on each
    view until they settle. `rules` is
    the version of the counting rules (`app/reports/stats.py`); a row made under other
    rules is counted again.
    """

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"),
                                         primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    rules: Mapped[int]
    counts: Mapped[list] = mapped_column(JSON)  # [dimension, key, status, number] rows
    unsettled: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")  # spot ids
