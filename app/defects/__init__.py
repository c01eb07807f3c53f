"""Defects and incidents: reporting, the board, my defects, a spot's history.

Who may do what (models/defects.py holds the transitions):
- everyone working at the defect's site sees it and may report an incident there;
- supervisors assign, verify and reopen; the person who fixed it never verifies it;
- the assignee (or a supervisor) records the fix, with a note and at least one photo.
"""
import json

from flask import Blueprint, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from .. import alerts
from ..extensions import db
from ..field import can_see_record
from ..field import submission
from ..field.submission import KEY_PATTERN, NOTE_MAX, new_key
from ..models import (FIELD_ROLES, SEVERITIES, Audit, Conflict, Defect, Photo, Record, Site,
                      Spot, User)
from ..models.base import utcnow
from ..models.defects import STATUSES, UNRESOLVED
from ..web import form_id, get_visible, render, role_required, saved, wants_fragment

bp = Blueprint("defects", __name__)

PAGE = 100


def is_supervisor_of(site_id: int) -> bool:
    return current_user.has_role("supervisor") and current_user.can_see_site(site_id)


def waiting_photos(key: str) -> list[Photo]:
    """Photos sent with a form that came back with an error, kept for the next try."""
    return submission.waiting_photos(key, current_user)


def take_photos(site_id: int, key: str, errors: dict) -> list[Photo]:
    """Store the uploaded photos (and drop the ones unticked); all photos of the form."""
    prepared = submission.prepare_uploads(request.files).get("photo", [])
    submission.drop_photos(request.form, current_user, key)
    error = submission.store_uploads(prepared, site_id, current_user, None, key)
    if error:
        errors["photo"] = error
    db.session.flush()
    return waiting_photos(key)


def people_of(site_id: int) -> list[User]:
    """Who a defect can be assigned to: active field workers and supervisors of the site."""
    site = db.session.get(Site, site_id)
    return sorted((u for u in site.members if u.active and u.has_role(*FIELD_ROLES, "supervisor")),
                  key=lambda u: u.display_name)


def link_to(defect: Defect) -> str:
    return url_for("defects.defect", defect_id=defect.id, _external=True)


def refill_form():
    """An incident or fix form again with what was typed, after its token expired (the
    login was renewed meanwhile): nothing typed is lost, the photos are added again."""
    message = _("Your login was renewed while the form was open. Check the answers, add "
                "the photos again and send.")
    key = request.form.get("submission_key", "")
    key = key if KEY_PATTERN.match(key) else new_key()
    if request.endpoint == "defects.incident":
        spot, sites = incident_place(request.form)
        values = {name: request.form.get(name, "")[:NOTE_MAX] for name in ("kind", "severity",
                                                                            "note")}
        values["site"] = form_id(request.form.get("site"))
        return incident_page(sites, spot, values, {"form": message}, key, status=400)
    defect = get_visible(Defect, request.view_args["defect_id"])
    return defect_page(defect, status=400, error=message, fix_key=key,
                       fix_errors={"note_value": request.form.get("note", "")[:NOTE_MAX]})


# --- One defect and its transitions --------------------------------------------------------

def timeline(defect: Defect) -> list[tuple[Audit, User | None, dict]]:
    """The defect's audit rows, oldest first: who did what, when, and why."""
    rows = db.session.scalars(select(Audit).where(Audit.target == f"defect:{defect.id}")
                              .order_by(Audit.id)).all()
    users = {u.id: u for u in db.session.scalars(
        select(User).where(User.id.in_({r.user_id for r in rows if r.user_id})))}
    return [(row, users.get(row.user_id), json.loads(row.detail or "{}")) for row in rows]


def defect_page(defect: Defect, status=200, error="", fix_errors=None, fix_key=None,
                reason=None):
    fix_key = fix_key or new_key()
    deliveries = db.session.scalars(select(alerts.Delivery).where(
        alerts.Delivery.defect_id == defect.id).order_by(alerts.Delivery.id)).all()
    return render("defects/defect.html", defect=defect, now=utcnow(), error=error,
                  events=timeline(defect), people=people_of(defect.site_id),
                  can_manage=is_supervisor_of(defect.site_id),
                  can_fix=defect.status in ("assigned", "reopened") and (
                      defect.assignee_id == current_user.id or is_supervisor_of(defect.site_id)),
                  fix_errors=fix_errors or {}, fix_key=fix_key, fix_photos=waiting_photos(fix_key),
                  deliveries=deliveries, reason=reason, status=status)


def changed_meanwhile(defect_id: int):
    defect = db.session.get(Defect, defect_id)
    return defect_page(defect, status=409, error=_(
        "Someone else changed this defect meanwhile. Here is how it stands now."))


@bp.get("/defects/<int:defect_id>")
@login_required
def defect(defect_id):
    return defect_page(get_visible(Defect, defect_id))


def card(defect: Defect, error="", status=200):
    """The board's card of one defect, for htmx."""
    return render("defects/_card.html", defect=defect, now=utcnow(), error=error,
                  people=people_of(defect.site_id), can_manage=True, status=status)


def supervised(defect_id: int) -> Defect:
    """A defect the current user may assign, verify or reopen: a supervisor of its site."""
    defect = get_visible(Defect, defect_id)
    if not is_supervisor_of(defect.site_id):
        abort(403)
    return defect


def applied(defect: Defect, change, message: str):
    """Make the transition and go back to the defect, or say someone else was first."""
    try:
        change()
    except Conflict:
        db.session.rollback()
        return changed_meanwhile(defect.id)
    db.session.commit()
    flash(message, "ok")
    return saved(url_for("defects.defect", defect_id=defect.id))


@bp.post("/defects/<int:defect_id>/assign")
@login_required
def assign(defect_id):
    defect = supervised(defect_id)
    person = next((u for u in people_of(defect.site_id)
                   if u.id == form_id(request.form.get("assignee"))), None)
    if person is None:
        message = _("Choose who should fix it.")
        if wants_fragment():
            return card(defect, message, status=422)
        return defect_page(defect, status=422, error=message)
    if wants_fragment():
        try:
            defect.assign(current_user, person, utcnow())
        except Conflict:
            db.session.rollback()
            db.session.refresh(defect)
            return card(defect, _("Someone else changed this defect meanwhile. Here is how it "
                                  "stands now."), status=409)
        db.session.commit()
        return card(defect)
    return applied(defect, lambda: defect.assign(current_user, person, utcnow()),
                   _("Assigned to %(name)s", name=person.display_name))


@bp.post("/defects/<int:defect_id>/fix")
@login_required
def fix(defect_id):
    defect = get_visible(Defect, defect_id)
    if defect.assignee_id != current_user.id and not is_supervisor_of(defect.site_id):
        abort(403)
    key = request.form.get("submission_key", "")
    if not KEY_PATTERN.match(key):
        abort(400)
    sent_before = db.session.scalar(select(Photo.id).where(
        Photo.defect_id == defect.id, Photo.submission_key == key, Photo.user_id == current_user.id))
    if sent_before is not None:  # sent twice (an answer lost): its photos are on the defect
        return saved(url_for("defects.defect", defect_id=defect.id))
    if defect.status not in ("assigned", "reopened"):
        return changed_meanwhile(defect.id)
    errors = {}
    note = request.form.get("note", "").strip()
    if not note:
        errors["note"] = _("Say what was done.")
    elif len(note) > NOTE_MAX:
        errors["note"] = _("Keep the note under %(n)d characters.", n=NOTE_MAX)
    taken = take_photos(defect.site_id, key, errors)
    if not taken and "photo" not in errors:
        errors["photo"] = _("Add at least one photo of the fixed state.")
    if errors:
        db.session.commit()
        return defect_page(defect, status=422, fix_errors=errors | {"note_value": note},
                           fix_key=key)
    supervisor = is_supervisor_of(defect.site_id)
    return applied(defect, lambda: defect.fix(current_user, note, taken, utcnow(), supervisor),
                   _("Fix recorded. A supervisor will check it."))


@bp.post("/defects/<int:defect_id>/verify")
@login_required
def verify(defect_id):
    defect = supervised(defect_id)
    if defect.fixed_by_id == current_user.id:
        return defect_page(defect, status=403, error=_(
            "You recorded this fix, so another supervisor has to verify it."))
    return applied(defect, lambda: defect.verify(current_user, utcnow()),
                   _("Verified and closed."))


@bp.post("/defects/<int:defect_id>/reopen")
@login_required
def reopen(defect_id):
    defect = supervised(defect_id)
    reason = request.form.get("reason", "").strip()
    if not reason or len(reason) > 500:
        return defect_page(defect, status=422, reason=reason, error=_(
            "Say why the fix is not good enough (up to 500 characters)."))
    back_to = defect.assignee.display_name if defect.assignee else ""
    return applied(defect, lambda: defect.reopen(current_user, reason, utcnow()),
                   _("Reopened. It is back with %(name)s.", name=back_to))


# --- Lists ----------------------------------------------------------------------------------

def overdue_first(defects, now) -> list[Defect]:
    return sorted(defects, key=lambda d: (not d.overdue(now), d.fix_by, d.id))


@bp.get("/defects/mine")
@login_required
def mine():
    now = utcnow()
    rows = db.session.scalars(select(Defect).where(
        Defect.assignee_id == current_user.id, Defect.status.in_(("assigned", "reopened")),
        Defect.site_id.in_(current_user.site_ids))
        .options(selectinload(Defect.spot), selectinload(Defect.site))).all()
    return render("defects/mine.html", defects=overdue_first(rows, now), now=now)


@bp.get("/defects/")
@role_required("supervisor")
def board():
    now = utcnow()
    args = request.args
    sites = current_user.sites
    site = next((s for s in sites if s.id == form_id(args.get("site"))), None)
    # Default: everything not closed yet, fixes waiting for verification included.
    status = args.get("status") if args.get("status") in (*STATUSES, "unresolved", "all") \
        else "active"
    severity = args.get("severity") if args.get("severity") in SEVERITIES else ""
    kind = args.get("kind") if args.get("kind") in ("checkpoint", "zone", "equipment", "none") \
        else ""
    overdue = args.get("overdue") == "1"
    query = select(Defect).where(Defect.site_id.in_([site.id] if site else
                                                     [s.id for s in sites]))
    if status == "active":
        query = query.where(Defect.status != "verified")
    elif status == "unresolved":
        query = query.where(Defect.status.in_(UNRESOLVED))
    elif status != "all":
        query = query.where(Defect.status == status)
    if severity:
        query = query.where(Defect.severity == severity)
    if kind == "none":
        query = query.where(Defect.spot_id.is_(None))
    elif kind:
        query = query.where(Defect.spot.has(Spot.kind == kind))
    if overdue:
        query = query.where(or_(
            Defect.status.in_(UNRESOLVED) & (Defect.fix_by <= now),
            Defect.responded_at.is_(None) & (Defect.respond_by <= now)))
    rows = db.session.scalars(query.order_by(Defect.id.desc()).limit(PAGE).options(
        selectinload(Defect.spot), selectinload(Defect.site),
        selectinload(Defect.assignee))).all()
    people = {s.id: people_of(s.id) for s in sites}
    return render("defects/board.html", defects=overdue_first(rows, now), now=now, sites=sites,
                  chosen={"site": site.id if site else None, "status": status,
                          "severity": severity, "kind": kind, "overdue": overdue},
                  people=people, statuses=STATUSES, severities=SEVERITIES, full=len(rows) == PAGE)


@bp.get("/spots/<int:spot_id>/history")
@login_required
def history(spot_id):
    """Everything that happened at a spot, newest first: records, defects, fixes (设备履历)."""
    spot = get_visible(Spot, spot_id)
    records = db.session.scalars(select(Record).where(Record.spot_id == spot.id)
                                 .order_by(Record.id.desc()).limit(100)).all()
    defects = db.session.scalars(select(Defect).where(Defect.spot_id == spot.id)
                                 .order_by(Defect.id.desc()).limit(100)).all()
    events = [(r.submitted_at, "record", r) for r in records]
    events += [(d.created_at, "defect", d) for d in defects]
    events += [(d.fixed_at, "fix", d) for d in defects if d.fixed_at]
    events += [(d.verified_at, "verified", d) for d in defects if d.verified_at]
    events.sort(key=lambda e: e[0], reverse=True)
    return render("defects/history.html", spot=spot, events=events, can_open=can_see_record)


# --- What every page of a supervisor shows ----------------------------------------------------

@bp.app_context_processor
def urgent_incidents():
    """High-severity incidents no one has responded to yet, for a supervisor's banner."""
    def load():
        if not (current_user.is_authenticated and current_user.has_role("supervisor")):
            return []
        return db.session.scalars(select(Defect).where(
            Defect.site_id.in_(current_user.site_ids), Defect.severity == "high",
            Defect.status == "open", Defect.kind != "finding")
            .order_by(Defect.id.desc()).limit(5)).all()
    return {"urgent_incidents": load}


from .incidents import incident_page, incident_place  # noqa: E402  (routes on bp)
