"""The supervisor's review queue: approve, or send back with a reason."""
from datetime import datetime

from flask import Blueprint, current_app, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, or_, select

from ..extensions import db
from ..models import Record, audit
from ..models.records import AlreadyReviewed, OwnRecord
from ..web import form_id, get_visible, redirect_to, render, role_required, wants_fragment

bp = Blueprint("review", __name__, url_prefix="/review")
REASON_MAX = 500


def cursor_of(record: Record) -> str:
    return f"{int(record.anomaly)}_{record.submitted_at.isoformat()}_{record.id}"


def parse_cursor(value: str | None):
    try:
        anomaly, at, ident = value.split("_")
        return bool(int(anomaly)), datetime.fromisoformat(at), form_id(ident) or 0
    except (AttributeError, ValueError):
        return None


def queue_page(reviewer, site_ids, after=None, size=20) -> list[Record]:
    """Waiting records, anomalies first then oldest first, by keyset: approving never shifts a page.

    The reviewer's own records are someone else's to review.
    """
    query = select(Record).where(Record.site_id.in_(site_ids), Record.status == "submitted",
                                 Record.user_id != reviewer.id)
    if after is not None:
        anomaly, at, ident = after
        later = or_(Record.submitted_at > at, and_(Record.submitted_at == at, Record.id > ident))
        if anomaly:
            query = query.where(or_(Record.anomaly.is_(False), and_(Record.anomaly.is_(True), later)))
        else:
            query = query.where(Record.anomaly.is_(False), later)
    query = query.order_by(Record.anomaly.desc(), Record.submitted_at, Record.id).limit(size)
    return list(db.session.scalars(query))


@bp.get("/")
@role_required("supervisor")
def queue():
    site_ids = current_user.site_ids
    site_id = form_id(request.args.get("site"))
    if site_id in site_ids:
        site_ids = {site_id}
    size = current_app.config["REVIEW_PAGE_SIZE"]
    records = queue_page(current_user, site_ids, parse_cursor(request.args.get("after")), size)
    more = cursor_of(records[-1]) if len(records) == size else None
    return render("review/queue.html", block="cards", records=records, more=more,
                  site_id=site_id if site_id in current_user.site_ids else None)


def decide(record_id: int, decision: str):
    record = get_visible(Record, record_id)
    reason = request.form.get("reason", "").strip()
    if decision == "sent_back" and not reason:
        return render("review/card.html", block="card", record=record, status=422,
                      error=_("Say why it is sent back, so the worker can fix it."))
    if len(reason) > REASON_MAX:
        return render("review/card.html", block="card", record=record, status=422,
                      error=_("Keep the reason under %(n)d characters.", n=REASON_MAX))
    try:
        record.review(current_user, decision, reason)
    except OwnRecord:
        return render("review/card.html", block="card", record=record, status=403,
                      error=_("You cannot review your own record."))
    except AlreadyReviewed:
        message = _("Already reviewed by %(name)s.",
                    name=record.reviewer.display_name)
        return render("review/card.html", block="card", record=record, status=409, error=message)
    audit("record_" + decision, user=current_user, site_id=record.site_id,
          target=f"record:{record.id}", reason=reason)
    db.session.commit()
    if wants_fragment():
        return ""  # the card is swapped for nothing: it leaves the queue
    flash(_("Approved.") if decision == "approved" else _("Sent back."), "ok")
    return redirect_to(url_for("review.queue"))


@bp.post("/<int:record_id>/approve")
@role_required("supervisor")
def approve(record_id):
    return decide(record_id, "approved")


@bp.post("/<int:record_id>/send-back")
@role_required("supervisor")
def send_back(record_id):
    return decide(record_id, "sent_back")
