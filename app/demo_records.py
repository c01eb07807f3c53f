"""The demo's records: a few waiting for review, and two weeks of rounds behind them, so
that the queue, today's list and the dashboard mean something on the first run. The
compound they are made at is in `demo.py`."""
from .demo import ROOF_DOOR, ROOF_DOOR_AT
from .extensions import db
from .models import Site, Spot, User


def gauge_photo(value: float, high: float) -> bytes:
    """A drawn pressure gauge, so demo records carry a photo that looks like evidence."""
    import math
    from io import BytesIO

    from PIL import Image, ImageDraw

    im = Image.new("RGB", (1200, 900), (92, 98, 104))
    draw = ImageDraw.Draw(im)
    draw.ellipse((300, 150, 900, 750), fill=(245, 245, 240), outline=(30, 30, 30), width=18)
    for i in range(11):
        angle = math.radians(225 - 27 * i)
        x, y = 600 + 250 * math.cos(angle), 450 - 250 * math.sin(angle)
        draw.line((600 + 280 * math.cos(angle), 450 - 280 * math.sin(angle), x, y),
                  fill=(30, 30, 30), width=8)
    angle = math.radians(225 - 270 * value / high)
    draw.line((600, 450, 600 + 230 * math.cos(angle), 450 - 230 * math.sin(angle)),
              fill=(190, 20, 20), width=14)
    draw.ellipse((570, 420, 630, 480), fill=(30, 30, 30))
    buf = BytesIO()
    im.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def add_sample_records() -> None:
    """A few submitted records so the review queue has work on the first run."""
    import uuid
    from datetime import timedelta

    from sqlalchemy import select

    from . import evidence
    from .field.submission import result_for, stored_photo
    from .models import Record, Review, Scan
    from .models.base import utcnow

    def record(code, username, values, minutes_ago, photo, status="submitted", where=None):
        place = db.session.scalar(select(Spot).join(Site).where(
            Spot.code == code, Site.name_en == "Green Lake Gardens"))
        worker = User.by_username(username)
        at = utcnow() - timedelta(minutes=minutes_ago)
        rec = Record(site_id=place.site_id, spot=place, sop_version_id=place.sop.current.id,
                     user_id=worker.id, roles=worker.roles_text,
                     submission_key=uuid.uuid4().hex, status=status,
                     submitted_at=at, scan=Scan(spot_id=place.id, user_id=worker.id,
                                                at=at - timedelta(minutes=2), user_agent="demo"))
        for step in place.sop.current.steps:
            default = {"tick": "ok", "reading": "", "text": "正常"}[step.kind]
            rec.results.append(result_for(step, values.get(step.position, default)))
            if step.photo_required:
                rec.photos.append(stored_photo(photo, place.site_id, worker, step, rec.submission_key))
        rec.anomaly = any(r.anomaly for r in rec.results)
        # As the phone would report it: sent at once, with the location where there is one.
        reported = evidence.Reported(captured_at=at, clock_skew=0, scan_seconds=120)
        if where:
            reported.latitude, reported.longitude, reported.accuracy = where
        evidence.stamp(rec, reported, rec.scan, at)
        db.session.add(rec)
        db.session.flush()
        evidence.flag(rec, rec.scan)  # against the records made before it, as on arrival
        return rec

    pump = record("EQ-FP-01", "tech", {1: "0.25", 4: "18"}, 50, gauge_photo(0.25, 1.0))
    record("EQ-WP-01", "tech", {1: "0.32"}, 40, gauge_photo(0.32, 0.6))
    record("CP-04", "guard", {3: "8"}, 130, gauge_photo(8, 40))
    record("CZ-01", "cleaner", {}, 25, gauge_photo(0.1, 1))
    back = record("CP-01", "guard", {}, 300, gauge_photo(0.5, 1), status="sent_back")
    # Two for the review queue's flags: B2's photo sent again at the west gate, and a roof
    # door record sent from about 600 m away.
    record("CP-02", "guard", {}, 70, gauge_photo(8, 40))
    record(ROOF_DOOR, "guard", {}, 95, gauge_photo(0.7, 1),
           where=(ROOF_DOOR_AT[0] + 0.0054, ROOF_DOOR_AT[1], 12.0))
    db.session.flush()
    supervisor = User.by_username("supervisor")
    # The low fire-pump pressure becomes a defect, assigned to the technician; a water leak
    # reported by the guard this morning waits for someone to take it.
    from .models import Defect, audit
    from .models.defects import deadlines, raise_findings

    for defect in raise_findings(pump, pump.user, pump.submitted_at):
        defect.assign(supervisor, User.by_username("tech"), pump.submitted_at)
    site = db.session.get(Site, back.site_id)
    reported = utcnow() - timedelta(hours=3)
    leak = Defect(site_id=site.id, kind="water_leak", severity="medium", status="open",
                  note="B2 车库 3 号柱附近顶板渗水，地面有积水", reported_by_id=back.user_id,
                  created_at=reported, **deadlines(site, "medium", reported))
    db.session.add(leak)
    db.session.flush()
    audit("incident_reported", user=back.user, site_id=site.id, target=f"defect:{leak.id}",
          kind=leak.kind, severity=leak.severity, photos=0)
    back.reviewer_id = supervisor.id
    back.reviewed_at = utcnow()
    db.session.add(Review(record_id=back.id, user_id=supervisor.id, decision="sent_back",
                          reason="照片看不清门锁，请重拍"))
    db.session.commit()


HISTORY_DAYS = 14


def send_back_reason(version, kind: str, rng) -> str:
    """A supervisor's reason that fits what the SOP asks for."""
    reasons = ["步骤没有逐项检查，请按规程重做"]
    if any(step.photo_required for step in version.steps):
        reasons.append("照片模糊，请重拍")
    if any(step.kind == "reading" for step in version.steps):
        reasons.append("读数看不清，请拍表盘正面")
    if kind == "zone":
        reasons.append("地面仍有水渍，请重新处理")
    return rng.choice(reasons)


def add_history(now=None) -> int:
    """About two weeks of plausible rounds: mostly done, some late, some missed, reviewed.

    Seeded, so every `make run` tells the same story. Returns the number of records made.
    """
    import random
    import uuid
    from datetime import timedelta

    from sqlalchemy import select

    from . import due
    from .field.submission import result_for, stored_photo
    from .models import Photo, Record, Review, Scan
    from .models.base import utcnow

    rng = random.Random(2026)
    now = now or utcnow()
    site = db.session.scalar(select(Site).where(Site.name_en == "Green Lake Gardens"))
    schedules = due.schedules_in_force([site.id], now - timedelta(days=HISTORY_DAYS), now)
    for schedule in schedules:
        schedule.valid_from = min(schedule.valid_from, now - timedelta(days=HISTORY_DAYS + 1))
    start, _ = due.local_day(site.timezone, now - timedelta(days=HISTORY_DAYS))
    workers = {role: User.by_username(name) for role, name in
               (("guard", "guard"), ("cleaner", "cleaner"), ("technician", "tech"))}
    supervisor = User.by_username("supervisor")
    photo = None
    made = 0
    for slot in due.slots(schedules, start, now, now):
        if slot.closes + timedelta(minutes=slot.schedule.grace) > now:
            continue  # today's open rounds are left to the person trying the demo
        luck = rng.random()
        if luck < 0.08:
            continue  # missed
        span = (slot.closes - slot.opens).total_seconds()
        at = slot.opens + timedelta(seconds=rng.uniform(0.05, 0.95) * span)
        if luck < 0.15:
            at = slot.closes + timedelta(minutes=rng.uniform(1, max(slot.schedule.grace - 1, 1)))
        sop = slot.schedule.sop or slot.spot.sop
        worker = workers[slot.schedule.role]

        def done(at, **extra):
            """A record of the slot's SOP by its worker at `at`, with its scan and photos."""
            nonlocal photo
            version = sop.current
            scan = Scan(spot_id=slot.spot.id, user_id=worker.id, user_agent="demo",
                        at=at - timedelta(minutes=rng.uniform(1, 4)))
            record = Record(site_id=site.id, spot_id=slot.spot.id, sop_version_id=version.id,
                            user_id=worker.id, roles=worker.roles_text,
                            submission_key=uuid.uuid4().hex,
                            submitted_at=at, received_at=at, scan=scan, **extra)
            for step in version.steps:
                if step.kind == "tick":
                    raw = "not_ok" if rng.random() < 0.01 else "ok"
                elif step.kind == "reading":
                    low = step.min_value if step.min_value is not None else 0
                    high = step.max_value if step.max_value is not None else low + 10
                    # Now and then out of range, but not below zero when the range
                    # starts at zero or above: no CO meter reads -0.9 ppm.
                    below = low - (high - low) * 0.1
                    if low >= 0:
                        below = max(below, 0)
                    raw = f"{rng.uniform(below, high + (high - low) * 0.05):.2f}"
                else:
                    raw = "正常"
                record.results.append(result_for(step, raw))
                if step.photo_required:
                    if photo is None:  # one stored file serves every demo row: names are hashes
                        photo = stored_photo(gauge_photo(0.45, 1.0), slot.spot.site_id, worker,
                                             step, "")
                    record.photos.append(Photo(
                        sha256=photo.sha256, site_id=site.id, user_id=worker.id,
                        step_id=step.id, submission_key=record.submission_key,
                        width=photo.width, height=photo.height, size=photo.size))
            record.anomaly = any(r.anomaly for r in record.results)
            db.session.add(record)
            return record

        def review(record, back: bool):
            """Reviewed a few hours after it came in; left waiting if that is still to come."""
            when = record.submitted_at + timedelta(hours=rng.uniform(1, 12))
            if when > now:
                return
            record.status = "sent_back" if back else "approved"
            record.reviewer_id, record.reviewed_at = supervisor.id, when
            record.reviews.append(Review(
                user_id=supervisor.id, at=when, decision=record.status,
                reason=send_back_reason(sop.current, slot.spot.kind, rng) if back else ""))

        record = done(at)
        made += 1
        if at < now - timedelta(hours=24):
            back = rng.random() < 0.04
            review(record, back)
            if back:  # redone at the worker's next round there
                review(done(record.reviewed_at + timedelta(hours=rng.uniform(2, 10)),
                            redo_of=record), back=False)
                made += 1
    db.session.commit()
    return made
