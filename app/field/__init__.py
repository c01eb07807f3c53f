"""Field work: the home page, the scan page behind every label, records and photos."""
import os

from flask import Blueprint, abort, current_app, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import bindparam, exists, select

from .. import due, storage
from ..extensions import db
from ..models import FIELD_ROLES, Defect, Finding, Photo, Record, Scan, Spot
from ..models.base import utcnow
from ..web import form_id, get_visible, render, saved
from . import submission

bp = Blueprint("field", __name__)
MAX_SENT_BACK = 50  # on the home page: more than a worker could redo in a shift


def can_see_record(record: Record) -> bool:
    if not current_user.can_see_site(record.site_id):
        return False
    return record.user_id == current_user.id or current_user.has_role("supervisor", "admin")


def can_see_photo(photo: Photo) -> bool:
    """A waiting photo is its taker's; a defect's photos and the photos of a record that
    found a defect are for everyone at the site (who fixes it must see it); a record's
    other photos go with the record."""
    if photo.defect is not None:
        return current_user.can_see_site(photo.defect.site_id)
    if photo.record is None:
        return photo.user_id == current_user.id
    return can_see_record(photo.record) or db.session.scalar(
        select(exists().where(Finding.record_id == photo.record_id)))


# Built once and run with parameters (bench/RESULTS.md, "Statements built once").
SENT_BACK_AT_SPOT = (select(Record).where(Record.spot_id == bindparam("spot"),
                                          Record.user_id == bindparam("user"),
                                          Record.awaiting_redo())
                     .order_by(Record.id.desc()).limit(1))


def waiting_redo(spot: Spot) -> Record | None:
    """The worker's latest sent-back record at this spot that has not been redone yet."""
    return db.session.scalar(SENT_BACK_AT_SPOT, {"spot": spot.id, "user": current_user.id})


def prefill(record: Record | None, version) -> dict:
    """Answers of a sent-back record, matched to the current steps by position and kind."""
    if record is None:
        return {}
    old = {(r.step.position, r.step.kind): r for r in record.results}
    values = {}
    for step in version.steps:
        r = old.get((step.position, step.kind))
        if r is not None:
            values[step.id] = {"tick": "ok" if r.ok else "not_ok",
                               "reading": f"{r.number:g}" if r.number is not None else "",
                               "text": r.text}[step.kind]
    return values


def sop_form(spot, sub, status=200, others=()):
    return render("field/scan.html", spot=spot, sub=sub, others=others,
                  photos=sub.pending_photos(current_user), status=status)


def offline_copy(spot, sop):
    """The page a phone keeps to open without signal: no scan is logged now and no
    submission key is set; the page's script makes a key when it is opened."""
    sub = submission.Submission(spot=spot, version=sop.current, key="", fresh=True,
                                offline_scan=submission.scan_pass(spot, current_user))
    return sop_form(spot, sub)


@bp.get("/")
@login_required
def home():
    mine = db.session.scalars(
        select(Record).where(Record.user_id == current_user.id)
        .order_by(Record.id.desc()).limit(20)
    ).all()
    # All of them, however many records came since: each waits until it is redone.
    # (Ordered by time, not id: by id, SQLite walks the worker's whole history in id order
    # rather than find the few sent-back ones by index and sort them.)
    sent_back = [record for record in db.session.scalars(
        select(Record).where(Record.user_id == current_user.id, Record.awaiting_redo(),
                             Record.site_id.in_(current_user.site_ids))
        .order_by(Record.submitted_at.desc(), Record.id.desc()).limit(MAX_SENT_BACK))
        if redoable(record)]
    now = utcnow()
    day = due.today(current_user, now) if current_user.has_role(*FIELD_ROLES) else None
    assigned = db.session.scalars(select(Defect).where(
        Defect.assignee_id == current_user.id, Defect.status.in_(("assigned", "reopened")),
        Defect.site_id.in_(current_user.site_ids))).all()
    return render("field/home.html", records=mine, sent_back=sent_back, day=day,
                  my_defects=len(assigned),
                  my_defects_overdue=sum(d.overdue(now) for d in assigned))


@bp.get("/t/<token>")
@login_required
def scan(token):
    spot = Spot.by_token(token)
    if spot is None or not current_user.can_see_site(spot.site_id):
        return render("field/unknown_label.html", status=404)
    if request.headers.get("X-Rounds-Offline-Copy") == "1":
        choices = due.sops_at(spot)
        return offline_copy(spot, choices[0]) if choices else render("field/no_sop.html", spot=spot)
    scan_id = Scan.log(spot.id, current_user.id, request.headers.get("User-Agent", ""))
    page = scan_page(spot, scan_id)
    # The scan, on PostgreSQL (Scan.log); on SQLite this ends a transaction that only read.
    # After drawing, which a commit's expiry of every loaded row would slow.
    db.session.commit()
    return page


def scan_page(spot: Spot, scan_id: int):
    """The checklist a scan opens: the spot's SOP, or another it asks for (`?sop=`)."""
    choices = due.sops_at(spot)
    if not choices:
        return render("field/no_sop.html", spot=spot)
    sop = next((s for s in choices if s.id == form_id(request.args.get("sop"))), choices[0])
    redo = waiting_redo(spot) if sop.id == spot.sop_id else None
    version = due.current_version(sop)
    sub = submission.Submission(spot=spot, version=version, key=submission.new_key(),
                                fresh=True, scan_id=scan_id, redo_of=redo,
                                values=prefill(redo, version))
    return sop_form(spot, sub, others=[s for s in choices if s.id != sop.id])


def redoable(record: Record) -> bool:
    """A sent-back record of the worker's that can still be redone: not redone yet, and its
    spot still in use with its SOP (a deactivated spot or a removed SOP ends it)."""
    return record.user_id == current_user.id and record.status == "sent_back" and \
        not record.redone and record.spot.active and \
        record.version.sop_id in {sop.id for sop in due.sops_at(record.spot)}


@bp.get("/records/<int:record_id>/redo")
@login_required
def redo(record_id):
    record = get_visible(Record, record_id)
    if not redoable(record):
        abort(404)
    spot = record.spot
    sop = record.version.sop
    sub = submission.Submission(spot=spot, version=sop.current, key=submission.new_key(),
                                fresh=True, redo_of=record, values=prefill(record, sop.current))
    return sop_form(spot, sub)


@bp.post("/spots/<int:spot_id>/records")
@login_required
def submit(spot_id):
    spot = get_visible(Spot, spot_id)
    done = submission.existing(request.form.get("submission_key", ""))
    if done is not None:
        return saved(url_for("field.record", record_id=done.id, sent=1))
    if not spot.active:
        abort(404)
    try:
        sub = submission.read_form(spot, current_user, request.form, request.files)
    except ValueError:
        abort(400)
    if sub.errors:
        db.session.commit()  # keep the photos already taken for the corrected submit
        return sop_form(spot, sub, status=422)
    record = submission.save(sub, current_user)
    return saved(url_for("field.record", record_id=record.id, sent=1))


def refill_form(spot_id: int):
    """The scan form again with what was typed, after a refused (expired) CSRF token."""
    spot = db.session.get(Spot, spot_id)
    if spot is None or not current_user.can_see_site(spot.site_id):
        return None
    sub = submission.refill(spot, current_user, request.form)
    return None if sub is None else sop_form(spot, sub, status=400)


@bp.get("/records/<int:record_id>")
@login_required
def record(record_id):
    record = get_visible(Record, record_id)
    if not can_see_record(record):
        abort(404)
    history = []
    earlier = record.redo_of
    while earlier is not None:
        history.append(earlier)
        earlier = earlier.redo_of
    defects = db.session.scalars(select(Defect).join(Finding).where(
        Finding.record_id == record.id).order_by(Defect.id)).all()
    return render("field/record.html", record=record, history=history, defects=defects,
                  sent=request.args.get("sent") == "1", can_redo=redoable(record))


@bp.get("/photos/<int:photo_id>")
@bp.get("/photos/<int:photo_id>/<any(thumb):size>")
@login_required
def photo(photo_id, size=None):
    photo = get_visible(Photo, photo_id)
    if not can_see_photo(photo):
        abort(404)
    full, thumb = storage.photo_paths(current_app.config["PHOTO_DIR"], photo.sha256)
    path = thumb if size else full
    if not os.path.exists(path):
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400,
                         conditional=True)
    response.cache_control.private = True
    response.cache_control.public = False
    return response
