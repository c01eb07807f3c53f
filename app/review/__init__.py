"""The supervisor's review queue: approve, or send back with a reason; approve a day's
unflagged records at once."""
import functools
from datetime import date, datetime

from flask import Blueprint, abort, current_app, flash, make_response, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import Integer, bindparam, false, func, or_, select, true, tuple_, union_all
from sqlalchemy.orm import joinedload, lazyload

from ..due import day_bounds, local_date
from ..extensions import db
from ..models import Record, Site, User, audit
from ..models.base import utcnow
from ..models.records import AlreadyReviewed, OwnRecord
from ..web import form_id, get_visible, redirect_to, render, role_required, wants_fragment

bp = Blueprint("review", __name__, url_prefix="/review")
REASON_MAX = 500
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 1, 1)


def cursor_of(record: Record) -> str:
    return f"{int(record.anomaly)}_{record.submitted_at.isoformat()}_{record.id}"


def parse_cursor(value: str | None):
    try:
        anomaly, at, ident = value.split("_")
        return bool(int(anomaly)), datetime.fromisoformat(at), form_id(ident) or 0
    except (AttributeError, ValueError):
        return None


def waiting(reviewer, site_ids) -> list:
    """Records waiting for this reviewer: their own are someone else's to review."""
    return [Record.site_id.in_(site_ids), Record.status == "submitted",
            Record.user_id != reviewer.id]


QUEUE_ORDER = (Record.anomaly.desc(), Record.submitted_at, Record.id)
# Two SELECTs a site, each with seven parameters: SQLite takes 500 SELECTs in one UNION
# and, before 3.32, 999 parameters in one statement.
SITES_PER_QUERY = 50
FLAGGED_COUNTED = 100  # shown as "99+"


def queue_page(reviewer, site_ids, after=None, size=20, flagged=False) -> list[Record]:
    """Waiting records, anomalies first then oldest first, by keyset: approving never shifts
    a page. The first `size` of each site, anomalies and the rest apart, come straight from
    the queue index (one order, oldest first), and the page is the first `size` of those: a
    supervisor of many sites never waits while the database sorts their waiting records."""
    values = {"reviewer": reviewer.id}
    if after is not None:
        values["at"], values["ident"] = after[1], after[2]
    sites, keys = sorted(site_ids), []
    for start in range(0, len(sites), SITES_PER_QUERY):
        chunk = sites[start:start + SITES_PER_QUERY]
        statement = firsts_of_sites(len(chunk), size, flagged,
                                    None if after is None else after[0])
        keys += db.session.execute(statement, values | {f"site{n}": site_id
                                                        for n, site_id in enumerate(chunk)}).all()
    keys.sort(key=lambda key: (not key.anomaly, key.submitted_at, key.id))
    ids = [key.id for key in keys[:size]]
    if not ids:
        return []
    return list(db.session.scalars(cards(), {"ids": ids}))


@functools.cache
def cards():
    """Everything a card shows, loaded a page at a time rather than a record at a time (the
    scan, spot, site and author joined, the results and photos a query each), and nothing
    it does not: the authors' sites and roles, the records' earlier reviews. Built once and
    run with parameters (bench/RESULTS.md, "Statements built once")."""
    return select(Record).where(Record.id.in_(bindparam("ids", expanding=True))) \
        .order_by(*QUEUE_ORDER).options(
            joinedload(Record.scan), joinedload(Record.spot), joinedload(Record.site),
            joinedload(Record.user).options(lazyload(User.sites), lazyload(User.role_rows)),
            lazyload(Record.reviews))


@functools.lru_cache(maxsize=256)
def firsts_of_sites(count: int, size: int, flagged: bool, after_anomaly: bool | None):
    """The first `size` waiting records of `count` sites (parameters site0, site1…), taken
    from each site's first `size`, anomalies and the rest apart; after a cursor (parameters
    at, ident) in the anomalies (`after_anomaly` true) or in the rest. Built once per shape
    and then only run: for a supervisor of 20 sites, SQLAlchemy took longer to build and
    key its 40 sub-queries than the database took to run them."""
    conditions = [Record.status == "submitted", Record.user_id != bindparam("reviewer")]
    if flagged:
        conditions.append(Record.flagged == true())
    # Anomalies, then the rest (as literals: the index sees the value).
    parts = [(true(), []), (false(), [])]
    if after_anomaly is not None:
        # As a row value, so that PostgreSQL starts its index range there (an OR it reads
        # to the end of the site's queue).
        later = tuple_(Record.submitted_at, Record.id) > tuple_(
            bindparam("at", type_=Record.submitted_at.type), bindparam("ident", type_=Integer))
        parts = [(true(), [later]), (false(), [])] if after_anomaly else [(false(), [later])]
    firsts = [select(Record.anomaly, Record.submitted_at, Record.id)
              .where(Record.site_id == bindparam(f"site{n}", type_=Integer),
                     Record.anomaly == value, *conditions, *more)
              .order_by(Record.submitted_at, Record.id).limit(size).subquery()
              for n in range(count) for value, more in parts]
    every = union_all(*(select(first) for first in firsts)).subquery()
    return select(every).order_by(every.c.anomaly.desc(), every.c.submitted_at, every.c.id) \
        .limit(size)


def flagged_count(reviewer, site_ids) -> int:
    """Flagged records waiting, counted up to FLAGGED_COUNTED: more tells a supervisor
    nothing, and counting them all would read every waiting record of their sites."""
    some = select(Record.id).where(*waiting(reviewer, site_ids), Record.flagged == true()) \
        .limit(FLAGGED_COUNTED).subquery()
    return db.session.scalar(select(func.count()).select_from(some))


@bp.get("/")
@role_required("supervisor")
def queue():
    site_ids = current_user.site_ids
    site_id = form_id(request.args.get("site"))
    if site_id in site_ids:
        site_ids = {site_id}
    else:
        site_id = None
    flagged = request.args.get("flagged") == "1"
    size = current_app.config["REVIEW_PAGE_SIZE"]
    records = queue_page(current_user, site_ids, parse_cursor(request.args.get("after")), size,
                         flagged)
    more = cursor_of(records[-1]) if len(records) == size else None
    return render("review/queue.html", block="cards", records=records, more=more,
                  site_id=site_id, flagged=1 if flagged else None, flagged_counted=FLAGGED_COUNTED,
                  # "Show more" loads only cards, which do not show the count.
                  flagged_count=None if wants_fragment() else flagged_count(current_user,
                                                                            site_ids))


def decide(record_id: int, decision: str):
    # Its results, photos and reviews are loaded only if a refusal shows the card again.
    record = get_visible(Record, record_id, lazyload("*"))
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


# --- Approving a day's unflagged records at once -----------------------------------------

def approvable(reviewer, site: Site, day: date, up_to: int | None = None):
    """The site's records of a local day that need no one's closer look: waiting, not
    flagged, no anomaly, not the reviewer's own; with `up_to`, none newer than that id."""
    start, end = day_bounds(site.timezone, day)
    query = select(Record).where(
        *waiting(reviewer, [site.id]), Record.flagged.is_(False), Record.anomaly.is_(False),
        Record.submitted_at >= start, Record.submitted_at < end)
    if up_to is not None:
        query = query.where(Record.id <= up_to)
    return list(db.session.scalars(query.order_by(Record.submitted_at, Record.id)))


def left_for_a_person(reviewer, site: Site, day: date) -> int:
    """The day's waiting records that are flagged or have an anomaly."""
    start, end = day_bounds(site.timezone, day)
    return db.session.scalar(select(func.count()).select_from(Record).where(
        *waiting(reviewer, [site.id]), or_(Record.flagged.is_(True), Record.anomaly.is_(True)),
        Record.submitted_at >= start, Record.submitted_at < end))


def approve_all(reviewer, records: list[Record]) -> tuple[int, int]:
    """Approve each record, one audit row each, in one transaction: (approved, taken), where
    taken ones were reviewed by someone else meanwhile and are left as they are."""
    approved = taken = 0
    for record in records:
        if record.claim(reviewer, "approved") is None:
            taken += 1
            continue
        audit("record_approved", user=reviewer, site_id=record.site_id,
              target=f"record:{record.id}", reason="", all_unflagged=True)
        approved += 1
    db.session.commit()
    return approved, taken


def refuse(status: int, message: str):
    """Stop with an error page that says what was wrong with the address or the form."""
    title = _("Not found") if status == 404 else _("Bad request")
    abort(make_response(render("errors.html", status=status, title=title, message=message)))


def chosen_site(value) -> Site:
    site_id = form_id(value)
    site = next((s for s in current_user.sites if s.id == site_id), None)
    if site is None:
        refuse(404, _("This site is not one of yours."))
    return site


def chosen_day(value: str, site: Site, today_if_empty=True) -> date:
    """The local day asked for; today at the site when none is, if that may be assumed."""
    if not value and today_if_empty:
        return local_date(site.timezone, utcnow())
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day < LAST_DAY:
        refuse(400, _("Not a date: use YYYY-MM-DD, like 2019-06-18."))
    return day


@bp.get("/approve-unflagged")
@role_required("supervisor")
def approve_unflagged():
    if "site" not in request.args and len(current_user.sites) != 1:
        return render("review/approve_unflagged.html", site=None, sites=current_user.sites,
                      day=request.args.get("day", ""))
    site = chosen_site(request.args.get("site", current_user.sites[0].id))
    day = chosen_day(request.args.get("day", ""), site)
    records = approvable(current_user, site, day)
    return render("review/approve_unflagged.html", site=site, sites=current_user.sites,
                  day=day, records=records, left=left_for_a_person(current_user, site, day),
                  up_to=max((r.id for r in records), default=None))


@bp.post("/approve-unflagged")
@role_required("supervisor")
def approve_unflagged_confirmed():
    site = chosen_site(request.form.get("site"))
    day = chosen_day(request.form.get("day", ""), site, today_if_empty=False)
    up_to = form_id(request.form.get("up_to"))
    if up_to is None:
        refuse(400, _("The confirmation was damaged. Open the page again."))
    approved, taken = approve_all(current_user, approvable(current_user, site, day, up_to))
    flash(ngettext("Approved %(num)d record.", "Approved %(num)d records.", approved), "ok")
    if taken:
        flash(ngettext("%(num)d was reviewed by someone else meanwhile and left as it is.",
                       "%(num)d were reviewed by someone else meanwhile and left as they are.",
                       taken), "warn")
    return redirect_to(url_for("review.queue", site=site.id))
