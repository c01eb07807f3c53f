"""Evidence that a record was made where and when it says: measured, stored, flagged.

Nothing here refuses work. A flag is a reason for the supervisor to look, shown in plain
words on the review card (`app/filters.py`, `flag_text`).
"""
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select

from .due import local_date
from .extensions import db
from .models import DayCount, Photo, PhotoBand, Record, Scan, Schedule, Spot, Stop
from .models.base import utcnow
from .photos import hash_distance

WALKING_SPEED = 3.0  # m/s; a brisk walk is under 2, so faster between two labels is not walking
MIN_WALK = 50  # metres; labels closer than this are never "too fast" (their positions are rough)
ROUTE_STEP = 10  # seconds per checkpoint: a whole route done faster than that is rushed
ROUTE_LOOKBACK = timedelta(hours=1)
# Seconds between the phone's clock and the server's. The phone stamps a request when it
# starts sending, the server when it has all of it: a slow upload makes a phone look behind,
# never ahead, so behind allows for a long upload.
CLOCK_AHEAD, CLOCK_BEHIND = 300, 900
SENT_LATE = timedelta(hours=2)
MAX_BACKDATE = timedelta(days=7)  # a phone's capture time is believed at most this far back
PHOTO_DAYS = 90
PHOTO_BITS = 15  # of 256; 16 bands of 16 bits find every match this close (pigeonhole)
CANDIDATES = 500  # photos sharing a band compared at most, oldest first
DEFAULT_RADIUS = 30  # metres, for a spot with coordinates but no radius
FAR_FACTOR = 2  # far: beyond the radius by more than twice the reported accuracy
FLAGS = ("photo_reused", "far_from_spot", "too_fast", "route_rushed", "clock_off", "sent_late")


@dataclass
class Reported:
    """What the phone says about the submit; each part is None when missing or implausible."""

    captured_at: datetime | None = None
    clock_skew: int | None = None
    scan_seconds: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy: float | None = None

    def done_at(self, received: datetime) -> datetime:
        """When the work was done on the server's clock: the phone's capture time corrected
        by its clock's offset, never after arrival nor more than a week before it."""
        if self.captured_at is None or self.clock_skew is None:
            return received
        done = self.captured_at - timedelta(seconds=self.clock_skew)
        return min(received, max(done, received - MAX_BACKDATE))


def _number(form, name, low, high) -> float | None:
    try:
        value = float(form.get(name, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def _epoch_ms(form, name) -> datetime | None:
    # 2020 to 2100: anything else is a broken clock or a broken client, not a time.
    ms = _number(form, name, 1.5e12, 4.1e12)
    return None if ms is None else datetime(1970, 1, 1) + timedelta(milliseconds=ms)


def read(form, received: datetime) -> Reported:
    """The evidence fields the page's script adds; a bad value is dropped, never refused:
    honest work must not fail on a phone's odd clock or GPS."""
    reported = Reported(captured_at=_epoch_ms(form, "captured_at"))
    sent = _epoch_ms(form, "sent_at")
    if sent is not None:
        reported.clock_skew = round((sent - received).total_seconds())
    scan_ms = _number(form, "scan_ms", 0, MAX_BACKDATE.total_seconds() * 1000)
    if scan_ms is not None:
        reported.scan_seconds = round(scan_ms / 1000)
    latitude = _number(form, "latitude", -90, 90)
    longitude = _number(form, "longitude", -180, 180)
    accuracy = _number(form, "accuracy", 0, 100_000)
    if None not in (latitude, longitude, accuracy):
        reported.latitude, reported.longitude, reported.accuracy = latitude, longitude, accuracy
    return reported


def metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) on a sphere of the Earth's mean radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(min(1.0, math.sqrt(a)))


def stamp(record: Record, reported: Reported, scan: Scan | None, received: datetime) -> None:
    """Store on a new record what the phone reported, and the times that follow from it."""
    for name in ("captured_at", "clock_skew", "latitude", "longitude", "accuracy"):
        setattr(record, name, getattr(reported, name))
    record.received_at = received
    record.submitted_at = reported.done_at(received)
    # A scan the server logged is timed on the server's clock; the phone's own figure
    # (which anyone can post) counts only for a scan made from the phone's kept page, and
    # a record with no scan has no scan time.
    if scan is None:
        record.scan_seconds = None
    elif scan.offline:
        record.scan_seconds = reported.scan_seconds
    else:
        record.scan_seconds = max(0, round((record.submitted_at - scan.at).total_seconds()))
    spot = record.spot
    if record.latitude is not None and spot.latitude is not None:
        record.distance = round(metres(record.latitude, record.longitude,
                                       spot.latitude, spot.longitude))


def flag(record: Record, scan: Scan | None) -> None:
    """Work out a flushed record's flags; `scan` is the label opening it came from."""
    record.flags = flags(record, scan)
    record.flagged = bool(record.flags)
    if record.received_at - record.submitted_at > timedelta(minutes=5):
        forget_counted_days(record)


def flags(record: Record, scan: Scan | None) -> list[dict]:
    found = [*reused_photos(record)]
    spot = record.spot
    if record.distance is not None:
        allowed = (spot.radius or DEFAULT_RADIUS) + FAR_FACTOR * record.accuracy
        if record.distance > allowed:
            found.append({"code": "far_from_spot", "m": record.distance,
                          "accuracy": round(record.accuracy)})
    if scan is not None:
        found += too_fast(record, scan) + rushed_routes(record, scan)
    if record.clock_skew is not None and not -CLOCK_BEHIND <= record.clock_skew <= CLOCK_AHEAD:
        found.append({"code": "clock_off", "s": record.clock_skew})
    late = record.received_at - record.submitted_at
    if late > SENT_LATE:
        found.append({"code": "sent_late", "s": round(late.total_seconds())})
    return found


def reused_photos(record: Record) -> list[dict]:
    """One flag per photo that matches a photo already sent with any record or defect."""
    found = []
    since = record.received_at - timedelta(days=PHOTO_DAYS)
    for photo in record.photos:
        if not photo.phash:
            continue
        bands = [int(photo.phash[i:i + 4], 16) for i in range(0, 64, 4)]
        near = select(PhotoBand.photo_id).where(or_(*(
            and_(PhotoBand.band == band, PhotoBand.value == value)
            for band, value in enumerate(bands))))
        candidates = db.session.scalars(
            select(Photo).where(Photo.id.in_(near), Photo.created_at >= since,
                                Photo.submission_key != record.submission_key,
                                or_(Photo.record_id.is_not(None), Photo.defect_id.is_not(None)))
            .order_by(Photo.created_at, Photo.id).limit(CANDIDATES))
        match = next((c for c in candidates if hash_distance(c.phash, photo.phash) <= PHOTO_BITS),
                     None)
        if match is not None:
            found.append(photo_flag(photo, match))
    return found


def photo_flag(photo: Photo, match: Photo) -> dict:
    owner = match.record or match.defect
    place = owner.spot
    sent = match.record.submitted_at if match.record else match.defect.created_at
    return {"code": "photo_reused", "photo": photo.id, "record": match.record_id,
            "defect": match.defect_id, "site": owner.site_id, "at": sent.isoformat(),
            "spot_zh": place.name_zh if place else "", "spot_en": place.name_en if place else ""}


def scans_before(record: Record, scan: Scan, spot_ids, since: datetime):
    """(spot id, scan time) of the worker's other scanned records at these spots, latest first."""
    return db.session.execute(
        select(Record.spot_id, Scan.at).join(Scan, Record.scan_id == Scan.id)
        .where(Scan.user_id == record.user_id, Record.site_id == record.site_id,
               Record.spot_id.in_(spot_ids), Record.id != record.id,
               Scan.at >= since, Scan.at <= scan.at)
        .order_by(Scan.at.desc())).all()


def too_fast(record: Record, scan: Scan) -> list[dict]:
    """The worker's previous checkpoint is further away than walking covers in the time."""
    spot = record.spot
    if spot.latitude is None:
        return []
    previous = db.session.execute(
        select(Spot, Scan.at).join(Record, Record.spot_id == Spot.id)
        .join(Scan, Record.scan_id == Scan.id)
        .where(Scan.user_id == record.user_id, Record.site_id == record.site_id,
               Record.id != record.id, Scan.at >= scan.at - ROUTE_LOOKBACK,
               Scan.at <= scan.at)
        .order_by(Scan.at.desc()).limit(1)).first()
    if previous is None:
        return []
    other, at = previous
    if other.id == spot.id or other.latitude is None:
        return []
    distance = metres(other.latitude, other.longitude, spot.latitude, spot.longitude)
    seconds = max(1, round((scan.at - at).total_seconds()))
    if distance < MIN_WALK or distance / seconds <= WALKING_SPEED:
        return []
    return [{"code": "too_fast", "m": round(distance), "s": seconds,
             "from_zh": other.name_zh, "from_en": other.name_en}]


def rushed_routes(record: Record, scan: Scan) -> list[dict]:
    """This scan completes a route whose every checkpoint was done within seconds, a route
    the record can walk: of one of its author's roles (a technician's visits along a
    patrol route walk no patrol)."""
    query = select(Schedule).join(Stop).where(
        Schedule.site_id == record.site_id, Schedule.kind == "route",
        Schedule.valid_until.is_(None), Stop.spot_id == record.spot_id).distinct()
    if record.roles is not None:
        query = query.where(Schedule.role.in_(record.roles.split()))
    routes = db.session.scalars(query)
    found = []
    for route in routes:
        stops = {stop.spot_id for stop in route.stops}
        if len(stops) < 3:
            continue
        latest = {record.spot_id: scan.at}
        for spot_id, at in scans_before(record, scan, stops, scan.at - ROUTE_LOOKBACK):
            latest.setdefault(spot_id, at)
        if len(latest) < len(stops):
            continue
        span = round((scan.at - min(latest.values())).total_seconds())
        if span < ROUTE_STEP * (len(stops) - 1):
            found.append({"code": "route_rushed", "n": len(stops), "s": span,
                          "route_zh": route.name_zh, "route_en": route.name_en})
    return found


def forget_counted_days(record: Record) -> None:
    """A record that arrives late may fill a round of a day the dashboard already counted:
    count that day again, and the five days before. A round opening on a day lasts up to
    a day and has up to a day's grace, so it is due by the start of the third day after
    (up to an hour into it on a DST day); it settles (timing.settled) by the deadline of a
    round opening before then, so before the fifth day after has ended."""
    day = local_date(record.site.timezone, record.submitted_at) - timedelta(days=5)
    db.session.execute(delete(DayCount).where(DayCount.site_id == record.site_id,
                                              DayCount.day >= day))
    # A dashboard view counting now, without this record, must not keep its days after it.
    record.site.counts_forgotten_at = utcnow()
