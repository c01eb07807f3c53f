"""Reading a submitted SOP form into a record: validation, photos, anomalies."""
import math
import re
import uuid
from dataclasses import dataclass, field

from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import evidence, photos, storage
from ..extensions import db
from ..models import Photo, PhotoBand, Record, Scan, SopVersion, Spot, StepResult, audit
from ..models.base import utcnow
from ..models.defects import raise_findings
from ..due import sops_at
from ..web import form_id

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
PASS_SECONDS = 2 * 24 * 3600
NOTE_MAX = 2000
TEXT_MAX = 500


def new_key() -> str:
    return uuid.uuid4().hex


def photo_message(error: photos.PhotoError) -> str:
    messages = {
        "not_image": _("This file is not a photo. Use a JPEG, PNG, WebP or HEIC picture."),
        "too_many_pixels": _("This picture is too large (over 50 megapixels)."),
        "truncated": _("This photo arrived incomplete. Take or choose it again."),
    }
    return messages.get(error.code, _("This photo could not be read."))


@dataclass
class Submission:
    """What the worker sent, whether or not it is valid yet; the form is re-rendered from it."""

    spot: Spot
    version: SopVersion
    key: str
    values: dict = field(default_factory=dict)
    note: str = ""
    scan_id: int | None = None
    # The page came from the phone's offline copy, so no scan was logged when it was opened:
    # a pass signed for this spot and user, good for two days (`scan_pass`).
    offline_scan: str = ""
    redo_of: Record | None = None
    reported: evidence.Reported = field(default_factory=evidence.Reported)
    errors: dict = field(default_factory=dict)
    # A form about to be shown for the first time: no photo can have been sent with it yet.
    fresh: bool = False

    def pending_photos(self, user) -> list[Photo]:
        return [] if self.fresh else waiting_photos(self.key, user)


def waiting_photos(key: str, user) -> list[Photo]:
    """The user's photos sent with a form (key) that has not been saved yet."""
    return list(db.session.scalars(
        select(Photo).where(Photo.submission_key == key, Photo.user_id == user.id,
                            Photo.record_id.is_(None), Photo.defect_id.is_(None))
        .order_by(Photo.id)))


def drop_photos(form, user, key: str) -> None:
    """Delete the waiting photos the user unticked on the form sent again."""
    for value in form.getlist("drop_photo"):
        photo = db.session.get(Photo, form_id(value) or 0)
        if photo and photo in waiting_photos(key, user):
            db.session.delete(photo)


def prepare_uploads(files) -> dict[str, list]:
    """Every uploaded photo decoded, re-encoded and written to disk: per form field, a list
    of (processed photo, file hash) or the PhotoError it raised.

    This takes a tenth of a second or more a photo, so it runs outside any transaction: on
    SQLite a writing request's transaction holds the database's write lock (extensions.py).
    Nothing is pending at this point; the commit only ends what was read so far.
    """
    db.session.commit()
    prepared = {}
    for name in files:
        for upload in files.getlist(name):
            if not upload or not upload.filename:
                continue
            try:
                processed = photos.process(upload.read())
                result = processed, storage.store(current_app.config["PHOTO_DIR"], processed)
            except photos.PhotoError as failed:
                result = failed
            prepared.setdefault(name, []).append(result)
    return prepared


def store_uploads(prepared: list, site_id: int, user, step, key: str) -> str | None:
    """Add a waiting row under the key for each prepared photo; the message of one that
    failed."""
    error = None
    for result in prepared:
        if isinstance(result, photos.PhotoError):
            error = photo_message(result)
        else:
            db.session.add(photo_row(*result, site_id, user, step, key))
    return error


def stored_photo(data: bytes, site_id: int, user, step, key: str) -> Photo:
    """Process and store a photo, and its row to wait under the submission key."""
    processed = photos.process(data)
    sha = storage.store(current_app.config["PHOTO_DIR"], processed)
    return photo_row(processed, sha, site_id, user, step, key)


def photo_row(processed: photos.Processed, sha: str, site_id: int, user, step, key: str) -> Photo:
    bands = [PhotoBand(band=i // 4, value=int(processed.phash[i:i + 4], 16))
             for i in range(0, len(processed.phash), 4)]
    return Photo(sha256=sha, site_id=site_id, user_id=user.id,
                 step_id=step.id if step else None, submission_key=key,
                 width=processed.width, height=processed.height, size=len(processed.jpeg),
                 phash=processed.phash, bands=bands)


def _passes() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="offline-scan")


def scan_pass(spot: Spot, user) -> str:
    """Put in the copy of a scan page a phone keeps: a record sent from it counts as made
    at the label, as only the label's own page (reached by scanning it) carries the pass."""
    return _passes().dumps([spot.id, user.id])


def valid_pass(value: str, spot: Spot, user) -> bool:
    try:
        return _passes().loads(value, max_age=PASS_SECONDS) == [spot.id, user.id]
    except BadData:
        return False


NUMBER_MARKS = str.maketrans({",": ".", "，": ".", "．": ".", "－": "-"})


def parse_number(raw: str) -> float | None:
    try:
        # A decimal comma, and what a Chinese keyboard in full-width mode types (０．５, －３;
        # float() reads full-width digits itself).
        value = float(raw.strip().translate(NUMBER_MARKS))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def redo_from(form, spot: Spot, user) -> Record | None:
    """The sent-back record this form redoes, if it is really the user's and still open."""
    redo = db.session.get(Record, form_id(form.get("redo_of")) or 0)
    if redo and redo.user_id == user.id and redo.spot_id == spot.id and \
            redo.status == "sent_back" and not redo.redone:
        return redo
    return None


def refill(spot: Spot, user, form) -> Submission | None:
    """What was typed, unchecked and unsaved: to show the form again when its token expired."""
    version = db.session.get(SopVersion, form_id(form.get("version_id")) or 0)
    key = form.get("submission_key", "")
    if version is None or version.sop_id not in {sop.id for sop in sops_at(spot)} or \
            not KEY_PATTERN.match(key):
        return None
    sub = Submission(spot=spot, version=version, key=key, note=form.get("note", "")[:NOTE_MAX],
                     scan_id=form_id(form.get("scan_id")),
                     offline_scan=form.get("offline_scan", "")[:200],
                     redo_of=redo_from(form, spot, user))
    sub.values = {step.id: form.get(f"step-{step.id}", "")[:TEXT_MAX] for step in version.steps}
    sub.errors["sop"] = _("Your login was renewed while the form was open. Check the answers, "
                          "add the photos again and send.")
    return sub


def read_form(spot: Spot, user, form, files) -> Submission:
    """Build a Submission from the request, store its photos, and collect errors per step."""
    prepared = prepare_uploads(files)
    key = form.get("submission_key", "")
    version = db.session.get(SopVersion, form_id(form.get("version_id")) or 0)
    if not KEY_PATTERN.match(key) or version is None or \
            version.sop_id not in {sop.id for sop in sops_at(spot)}:
        raise ValueError("form does not belong to this spot")
    sub = Submission(spot=spot, version=version, key=key, note=form.get("note", "").strip())
    if len(sub.note) > NOTE_MAX:
        sub.errors["note"] = _("Keep the note under %(n)d characters.", n=NOTE_MAX)
    if form.get("fingerprint") != version.fingerprint():
        # The admin edited this SOP version while the form was open: what was ticked may not
        # be what is stored now, so the worker checks the steps again.
        sub.errors["sop"] = _("The checklist was changed while you were filling it in. "
                              "Check the steps and send again.")
    scan = db.session.get(Scan, form_id(form.get("scan_id")) or 0)
    if scan and scan.user_id == user.id and scan.spot_id == spot.id:
        sub.scan_id = scan.id
    elif valid_pass(form.get("offline_scan", ""), spot, user):
        sub.offline_scan = form.get("offline_scan")
    sub.reported = evidence.read(form, utcnow())
    sub.redo_of = redo_from(form, spot, user)

    drop_photos(form, user, key)
    for step in [None, *version.steps]:
        step_id = step.id if step else 0
        error = store_uploads(prepared.get(f"photo-{step_id}", []), spot.site_id, user, step, key)
        if error:
            sub.errors[step_id] = error
    db.session.flush()

    with_photo = {p.step_id for p in sub.pending_photos(user)}
    for step in version.steps:
        raw = form.get(f"step-{step.id}", "").strip()
        sub.values[step.id] = raw
        if step.id in sub.errors:
            continue
        if step.kind == "tick" and raw not in ("ok", "not_ok"):
            sub.errors[step.id] = _("Choose OK or Not OK.")
        elif step.kind == "reading" and parse_number(raw) is None:
            sub.errors[step.id] = _("Enter the reading as a number, for example 0.45.")
        elif step.kind == "text" and not raw:
            sub.errors[step.id] = _("Write a short answer.")
        elif step.kind == "text" and len(raw) > TEXT_MAX:
            sub.errors[step.id] = _("Keep the answer under %(n)d characters.", n=TEXT_MAX)
        elif step.photo_required and step.id not in with_photo:
            sub.errors[step.id] = _("This step needs a photo.")
    return sub


def result_for(step, raw: str) -> StepResult:
    result = StepResult(step_id=step.id)
    if step.kind == "tick":
        result.ok = raw == "ok"
        result.anomaly = not result.ok
    elif step.kind == "reading":
        result.number = parse_number(raw)
        result.anomaly = not step.in_range(result.number)
    else:
        result.text = raw
    return result


def existing(key: str) -> Record | None:
    return db.session.scalar(select(Record).where(Record.submission_key == key))


def save(sub: Submission, user) -> Record:
    """Turn a valid submission into a record. The same key twice gives the same record."""
    waiting = sub.pending_photos(user)  # queried before the record joins the session
    received = utcnow()
    scan = db.session.get(Scan, sub.scan_id) if sub.scan_id else None
    if scan is None and sub.offline_scan:
        # Opened offline: the label was scanned when the phone says, on the server's clock.
        done = sub.reported.done_at(received)
        scan = Scan(spot_id=sub.spot.id, user_id=user.id, offline=True,
                    at=done - timedelta(seconds=sub.reported.scan_seconds or 0),
                    user_agent=request.headers.get("User-Agent", "")[:300])
    record = Record(site_id=sub.spot.site_id, spot=sub.spot, sop_version_id=sub.version.id,
                    user_id=user.id, roles=user.roles_text, scan=scan,
                    submission_key=sub.key, note=sub.note,
                    redo_of_id=sub.redo_of.id if sub.redo_of else None)
    evidence.stamp(record, sub.reported, scan, received)
    record.results = [result_for(step, sub.values[step.id]) for step in sub.version.steps]
    record.anomaly = any(r.anomaly for r in record.results)
    db.session.add(record)
    for photo in waiting:
        photo.record = record
    audit("record_submitted", user=user, site_id=sub.spot.site_id, target=f"record:{sub.key}",
          spot=sub.spot.code, anomaly=record.anomaly)
    try:
        db.session.flush()
        evidence.flag(record, scan)
        raise_findings(record, user, record.submitted_at)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        record = existing(sub.key)
        if record is None:
            raise
    return record
