"""Schedules of a site: patrol routes, cleaning plans, equipment cycles.

A schedule is never edited in place: an edit closes the version in force and starts a new
one (`Schedule.revise`) once any round open at that moment has ended, so windows that
opened before keep their rules and no round is due twice.
"""
from datetime import datetime

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import SCHEDULE_KINDS, Schedule, Site, Spot, Stop, audit
from ..models.base import utcnow
from ..web import get_visible, redirect_to, render, role_required
from . import bp
from .common import visible_site
from .schedule_form import DEFAULTS, SCHEDULE_KIND_NAMES, ScheduleForm, initial, timing_text


def in_force(site: Site) -> list[Schedule]:
    rows = db.session.scalars(select(Schedule).where(
        Schedule.site_id == site.id, Schedule.valid_until.is_(None))
        .options(selectinload(Schedule.sop)).order_by(Schedule.name_zh))
    return sorted(rows, key=lambda row: SCHEDULE_KINDS.index(row.kind)
                  if row.kind in SCHEDULE_KINDS else 99)


def current_version(schedule: Schedule) -> Schedule | None:
    """The version of the schedule's lineage in force now; None once it has ended."""
    if schedule.valid_until is None:
        return schedule
    lineage = schedule.lineage
    return db.session.scalar(select(Schedule).where(
        or_(Schedule.id == lineage, Schedule.origin_id == lineage),
        Schedule.valid_until.is_(None)))


def close(schedule: Schedule, now: datetime) -> bool:
    """End the version now, unless a concurrent edit or end already did."""
    result = db.session.execute(
        update(Schedule).where(Schedule.id == schedule.id, Schedule.valid_until.is_(None))
        .values(valid_until=now))
    return result.rowcount == 1


def apply(schedule: Schedule, form: ScheduleForm) -> None:
    for name, value in form.values().items():
        setattr(schedule, name, value)
    schedule.stops = [Stop(position=position, spot_id=spot.id)
                      for position, spot in enumerate(form.stop_spots, start=1)]
    schedule.assignees = form.assignee_users


def schedule_page(form: ScheduleForm, site: Site, schedule: Schedule | None = None,
                  stale=False, status=200):
    spots = db.session.scalars(select(Spot).where(
        Spot.site_id == site.id, Spot.active.is_(True)).order_by(Spot.code)).all()
    if form.errors:
        status = 422
    return render("setup/schedule_form.html", form=form, site=site, schedule=schedule,
                  spots=spots, stale=stale, status=status)


@bp.get("/sites/<int:site_id>/schedules")
@role_required("admin")
def schedules(site_id):
    site = visible_site(site_id)
    return render("setup/schedules.html", site=site, schedules=in_force(site),
                  kind_names=SCHEDULE_KIND_NAMES, timing_text=timing_text)


@bp.route("/sites/<int:site_id>/schedules/new", methods=["GET", "POST"])
@role_required("admin")
def schedule_new(site_id):
    site = visible_site(site_id)
    kind = request.args.get("kind")
    kind = kind if kind in DEFAULTS else "route"
    form = ScheduleForm(site, data={"kind": kind, **DEFAULTS[kind]})
    if not form.validate_on_submit():
        return schedule_page(form, site)
    schedule = Schedule(site_id=site.id)
    apply(schedule, form)
    db.session.add(schedule)
    db.session.flush()
    audit("setup_schedule_new", user=current_user, site_id=site.id,
          target=f"schedule:{schedule.id}", **form.details())
    db.session.commit()
    flash(_("%(name)s created.", name=schedule.name), "ok")
    return redirect_to(url_for("setup.schedules", site_id=site.id))


@bp.route("/schedules/<int:schedule_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def schedule_edit(schedule_id):
    schedule = get_visible(Schedule, schedule_id)
    if schedule.valid_until is not None:
        return replaced(schedule)
    site = schedule.site
    form = ScheduleForm(site, data=initial(schedule))
    if not form.validate_on_submit():
        return schedule_page(form, site, schedule)
    changed = form.changes(schedule)
    if not changed:
        flash(_("Nothing changed."), "ok")
        return redirect_to(url_for("setup.schedules", site_id=site.id))
    now = utcnow()
    if not close(schedule, now):
        db.session.rollback()
        return replaced(schedule)
    new = schedule.revise(now)
    apply(new, form)
    db.session.add(new)
    db.session.flush()
    audit("setup_schedule_edit", user=current_user, site_id=site.id,
          target=f"schedule:{new.lineage}", version=new.id, replaces=schedule.id, **changed)
    db.session.commit()
    flash(_("%(name)s saved. Rounds already open keep the old rules; the next ones follow the "
            "new.", name=new.name), "ok")
    return redirect_to(url_for("setup.schedules", site_id=site.id))


def replaced(shown: Schedule):
    """The version asked for was replaced or ended, maybe by another admin meanwhile."""
    schedule = current_version(shown)
    if schedule is None:
        flash(_("%(name)s has ended: it can no longer be changed.", name=shown.name), "warn")
        return redirect_to(url_for("setup.schedules", site_id=shown.site_id))
    if request.method == "GET":
        return redirect_to(url_for("setup.schedule_edit", schedule_id=schedule.id))
    form = ScheduleForm(schedule.site, formdata=None, data=initial(schedule))
    return schedule_page(form, schedule.site, schedule, stale=True, status=409)


@bp.post("/schedules/<int:schedule_id>/end")
@role_required("admin")
def schedule_end(schedule_id):
    shown = get_visible(Schedule, schedule_id)
    schedule = current_version(shown)
    if schedule is not None:
        now = utcnow()
        if close(schedule, now):
            audit("setup_schedule_end", user=current_user, site_id=schedule.site_id,
                  target=f"schedule:{schedule.lineage}", version=schedule.id,
                  name_zh=schedule.name_zh)
            db.session.commit()
        else:
            db.session.rollback()
    flash(_("%(name)s ended: no more rounds are due. Its past rounds stay on the dashboard.",
            name=shown.name), "ok")
    return redirect_to(url_for("setup.schedules", site_id=shown.site_id))
