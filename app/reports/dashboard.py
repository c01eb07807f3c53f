"""The supervisor dashboard: due, done, late and missed rounds of a site, and what is behind each number."""
from datetime import date

from flask import abort, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from ..extensions import db
from ..models import Defect, Schedule, Site, Stop, User
from ..models.defects import UNRESOLVED
from ..models.base import utcnow
from ..web import form_id, get_visible, redirect_to, render, role_required
from . import bp, stats


def latest_versions(lineages) -> dict:
    """Lineage id -> the newest version of that schedule, for its current name."""
    rows = db.session.scalars(select(Schedule).where(
        or_(Schedule.id.in_(lineages), Schedule.origin_id.in_(lineages))).order_by(Schedule.id))
    return {row.lineage: row for row in rows}


def spots_of(site: Site, lineage: int | None, kind: str | None) -> set[int]:
    """The spots of the site's schedules of this lineage (any version) and kind: the only
    ones whose windows a list filtered by them can hold."""
    query = select(Stop.spot_id).join(Schedule).where(Schedule.site_id == site.id)
    if lineage:
        query = query.where(or_(Schedule.id == lineage, Schedule.origin_id == lineage))
    if kind:
        query = query.where(Schedule.kind == kind)
    return set(db.session.scalars(query))


def chosen_days() -> int:
    days = form_id(request.args.get("days")) or 1
    return days if days in stats.PERIODS else 1


@bp.get("/")
@role_required("supervisor")
def dashboard():
    if not current_user.sites:
        abort(404)
    return redirect_to(url_for("reports.site", site_id=current_user.sites[0].id))


@bp.get("/sites/<int:site_id>")
@role_required("supervisor")
def site(site_id):
    site = get_visible(Site, site_id)
    board = stats.board(site, chosen_days(), utcnow())
    names = latest_versions(board.by_schedule)
    people = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(board.by_person)))}
    # The lists show today's rounds, latest first; the totals link to the whole period's.
    missed = [s for s in board.slots if s.status == "missed"][::-1]
    late = [s for s in board.slots if s.status == "late"][::-1]
    day_links = [url_for("reports.windows", site_id=site.id, days=board.days, day=day.isoformat())
                 for day in board.by_day]
    hour_links = [url_for("reports.windows", site_id=site.id, days=board.days, status="missed",
                          hour=hour) for hour in range(24)]
    now = utcnow()
    unresolved = db.session.scalars(select(Defect).where(
        Defect.site_id == site.id, Defect.status.in_(UNRESOLVED))).all()
    defects = {"open": len(unresolved), "overdue": sum(d.overdue(now) for d in unresolved)}
    return render("reports/dashboard.html", board=board, site=site, schedules=names,
                  defects=defects,
                  day_links=day_links, hour_links=hour_links,
                  people=people, missed=missed, late=late,
                  windows_url=url_for("reports.windows", site_id=site.id, days=board.days))


@bp.get("/sites/<int:site_id>/windows")
@role_required("supervisor")
def windows(site_id):
    site = get_visible(Site, site_id)
    days = chosen_days()
    args = request.args
    try:
        day = date.fromisoformat(args["day"]) if args.get("day") else None
    except ValueError:
        abort(400)
    lineage, kind = form_id(args.get("schedule")), args.get("kind") or None
    spots = spots_of(site, lineage, kind) if lineage or kind else None
    slots = stats.all_slots(site, days, utcnow(), day, spots)
    hour = args.get("hour", "")
    hour = int(hour) if hour.isascii() and hour.isdigit() and int(hour) < 24 else None
    chosen = stats.matching(
        slots, status=args.get("status") or None, kind=kind, lineage=lineage,
        person=form_id(args.get("person")), day=day, hour=hour,
        zone=stats.ZoneInfo(site.timezone))
    return render("reports/windows.html", site=site, days=days, slots=chosen[::-1][:500],
                  total=len(chosen))
