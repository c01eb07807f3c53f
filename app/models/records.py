"""What happens at a spot: scans, records with one row per step, photos, reviews."""
from datetime import datetime

from sqlalchemy import (JSON, ForeignKey, Index, String, Text, and_, exists, false, insert, select,
                        update)
from sqlalchemy.orm import Mapped, aliased, mapped_column, relationship

from ..extensions import db
from .base import utcnow

STATUSES = ("submitted", "approved", "sent_back")


class OwnRecord(Exception):
    """Nobody reviews their own work."""


class AlreadyReviewed(Exception):
    """Another supervisor reviewed the record first."""

    def __init__(self, record):
        super().__init__(record.id)
        self.record = record


class Scan(db.Model):
    """A label was opened. Logged on GET: an append to a log, not a change of state."""

    # A worker's scans in time order: the walking-speed and route checks read them.
    __table_args__ = (Index("ix_scan_user_time", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    spot_id: Mapped[int] = mapped_column(ForeignKey("spot.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    # Opened from the phone's offline copy of the page: logged when the record arrived, at
    # the time the phone measured.
    offline: Mapped[bool] = mapped_column(default=False, server_default=false())

    @staticmethod
    def log(spot_id: int, user_id: int, user_agent: str) -> int:
        """Log a label opened.

        On SQLite, whose write lock covers the whole file, in a short transaction of its own
        that writes first: the page around it only reads, so the lock is held for this
        insert alone and workers opening labels never wait on one another's page. On
        PostgreSQL, which locks rows, not the database, in the page's own transaction, which
        the page commits (`scan` in app/field): a second connection would cost three more
        round trips to the server (bench/RESULTS.md). Until then the insert's foreign keys
        hold its spot and user against deletion or a change of key (a label reissued, a
        code or username edited): those wait for the page to be drawn, a few milliseconds."""
        values = {"spot_id": spot_id, "user_id": user_id, "user_agent": user_agent[:300]}
        if db.engine.dialect.name == "sqlite":
            with db.engine.begin() as connection:
                return connection.execute(SCAN_INSERT, values).inserted_primary_key[0]
        return db.session.connection().execute(SCAN_INSERT, values).inserted_primary_key[0]


# Built once and run with parameters (bench/RESULTS.md, "Statements built once").
SCAN_INSERT = insert(Scan)


class Record(db.Model):
    __table_args__ = (
        Index("ix_record_queue", "site_id", "status", "anomaly", "submitted_at", "id"),
        # The same for the "Flagged" tab and its count, which would otherwise read every
        # waiting record of a site to find the few flagged ones.
        Index("ix_record_flagged_queue", "site_id", "status", "flagged", "anomaly",
              "submitted_at", "id"),
        Index("ix_record_spot_time", "spot_id", "submitted_at"),
        # A worker's sent-back records at a spot, looked up on every scan; by spot alone
        # it would read all the spot's records, which grow by thousands a year.
        Index("ix_record_redo", "user_id", "status", "spot_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    spot_id: Mapped[int] = mapped_column(ForeignKey("spot.id"), index=True)
    # Indexed: whether a version is in use (SOP editing) counts its records.
    sop_version_id: Mapped[int] = mapped_column(ForeignKey("sop_version.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    # The author's roles when they submitted it (User.roles_text): a round is filled only
    # by a record of someone holding the round's role (app/timing.py, fits()). None for
    # records made before roles were kept, which fill rounds of any role, as they did.
    roles: Mapped[str | None] = mapped_column(String(100))
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scan.id"), index=True)
    # Indexed: whether a sent-back record was redone is asked on the home page and on
    # every scan of a spot where the worker has one; without it, a read of every record.
    redo_of_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    # Rendered into the form: a retried or double-tapped submit finds the record it made.
    submission_key: Mapped[str] = mapped_column(String(40), unique=True)
    # When the work was done, on the server's clock: the arrival of a live submit; for one
    # sent later from the phone's outbox, the phone's time corrected by its clock's offset.
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Evidence (app/evidence.py): what the phone said, and what it makes us flag.
    captured_at: Mapped[datetime | None]  # the phone's own clock when Submit was tapped
    clock_skew: Mapped[int | None]  # seconds the phone's clock was ahead of the server's
    scan_seconds: Mapped[int | None]  # from opening the label to tapping Submit
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    accuracy: Mapped[float | None]  # metres, as the phone reported it
    distance: Mapped[int | None]  # metres from the spot's coordinates
    flags: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    flagged: Mapped[bool] = mapped_column(default=False, server_default=false())
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    anomaly: Mapped[bool] = mapped_column(default=False)
    reviewed_at: Mapped[datetime | None]
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))

    site = relationship("Site")
    spot = relationship("Spot")
    user = relationship("User", foreign_keys=[user_id])
    reviewer = relationship("User", foreign_keys=[reviewer_id])
    version = relationship("SopVersion")
    scan = relationship("Scan")
    redo_of = relationship("Record", remote_side=[id])
    results: Mapped[list["StepResult"]] = relationship(
        back_populates="record", cascade="all, delete-orphan", lazy="selectin"
    )
    photos: Mapped[list["Photo"]] = relationship(back_populates="record", lazy="selectin")
    reviews: Mapped[list["Review"]] = relationship(order_by="Review.id", lazy="selectin")

    def photos_for(self, step_id):
        return [p for p in self.photos if p.step_id == step_id]

    def result_for(self, step_id):
        return next((r for r in self.results if r.step_id == step_id), None)

    @property
    def last_reason(self) -> str:
        sent_back = [r for r in self.reviews if r.decision == "sent_back"]
        return sent_back[-1].reason if sent_back else ""

    @property
    def redone(self) -> bool:
        return db.session.scalar(select(Record.id).where(Record.redo_of_id == self.id)) is not None

    @classmethod
    def awaiting_redo(cls):
        """For queries: sent back, and no record redoes it yet (`redone` is for one record)."""
        redo = aliased(cls)
        return and_(cls.status == "sent_back", ~exists().where(redo.redo_of_id == cls.id))

    @property
    def phone_time_differs(self) -> bool:
        """The phone's time at Submit and the server's arrival time are over a minute apart."""
        return self.captured_at is not None and \
            abs((self.received_at - self.captured_at).total_seconds()) > 60

    def review(self, reviewer, decision: str, reason: str = "") -> "Review":
        """Approve or send back. Only one reviewer wins when two act at once."""
        row = self.claim(reviewer, decision, reason)
        if row is None:
            db.session.rollback()
            db.session.refresh(self)
            raise AlreadyReviewed(self)
        # What the UPDATE changed, read again only if someone looks (a redirect does not).
        db.session.expire(self, ["status", "reviewed_at", "reviewer_id", "reviewer", "reviews"])
        return row

    def claim(self, reviewer, decision: str, reason: str = "") -> "Review | None":
        """The review, or None when another reviewer was first; the transaction goes on
        either way, so that many records can be reviewed in one."""
        if reviewer.id == self.user_id:
            raise OwnRecord()
        now = utcnow()
        changed = db.session.execute(
            update(Record)
            .where(Record.id == self.id, Record.status == "submitted")
            .values(status=decision, reviewed_at=now, reviewer_id=reviewer.id)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            return None
        row = Review(record_id=self.id, user_id=reviewer.id, at=now, decision=decision,
                     reason=reason)
        db.session.add(row)
        db.session.flush()
        return row


class StepResult(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id", ondelete="CASCADE"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("step.id"))
    ok: Mapped[bool | None]
    number: Mapped[float | None]
    text: Mapped[str] = mapped_column(String(500), default="")
    anomaly: Mapped[bool] = mapped_column(default=False)

    record: Mapped[Record] = relationship(back_populates="results")
    step = relationship("Step", lazy="joined")


class Photo(db.Model):
    """A stored, re-encoded photo. Before its record exists it waits under the submission key."""

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("record.id"), index=True)
    # A waiting photo may outlive its step when an unused SOP version is edited.
    step_id: Mapped[int | None] = mapped_column(ForeignKey("step.id", ondelete="SET NULL"))
    submission_key: Mapped[str] = mapped_column(String(40), index=True)
    # A defect's own photos: "before" (an incident as reported), "after" (the fix).
    defect_id: Mapped[int | None] = mapped_column(ForeignKey("defect.id"), index=True)
    stage: Mapped[str] = mapped_column(String(10), default="", server_default="")
    # A perceptual hash (256 bits, hex): a re-used photo matches even after re-compression.
    phash: Mapped[str] = mapped_column(String(64), default="", server_default="")
    width: Mapped[int]
    height: Mapped[int]
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    record: Mapped[Record | None] = relationship(back_populates="photos")
    defect = relationship("Defect", back_populates="photos")
    bands: Mapped[list["PhotoBand"]] = relationship(cascade="all, delete-orphan")


class PhotoBand(db.Model):
    """One 16-bit slice of a photo's perceptual hash, to find near matches by index.

    Two hashes within 15 bits of each other share at least one of their 16 slices exactly.
    """

    band: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True)
    photo_id: Mapped[int] = mapped_column(ForeignKey("photo.id", ondelete="CASCADE"),
                                          primary_key=True, index=True)


class Review(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("record.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")

    user = relationship("User")
