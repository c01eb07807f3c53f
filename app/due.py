"""What was due, and whether it was done: schedules' windows matched to records.

Nothing is swept or stored: a missed round is missed because the window closed with no
record in it, whenever anyone looks.
"""
import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from .extensions import db
from .models import Record, Schedule, Sop, SopVersion, Spot, Stop, User
from .timing import Done, Due, classify


@dataclass(slots=True)
class Slot:
    """One due window at one stop of one schedule, with its status."""

    schedule: Schedule
    position: int
    spot: Spot
    opens: datetime
    closes: datetime
    late_until: datetime  # the deadline: closes + the schedule's grace
    status: str
    record_id: int | None
    user_id: int | None  # who made the record that filled it


def schedules_in_force(site_ids, start: datetime, end: datetime, spot_ids=None,
                       worker=None) -> list[Schedule]:
    """The site's schedule versions in force at some time in [start, end); with
    `spot_ids`, only those with a stop at one of the spots; with `worker`, only a
    worker's: for one of their roles, naming no one or them."""
    query = select(Schedule).where(
        Schedule.site_id.in_(site_ids), Schedule.valid_from < end,
        or_(Schedule.valid_until.is_(None), Schedule.valid_until > start))
    if worker is not None:
        query = query.where(Schedule.role.in_(worker.roles), or_(
            ~Schedule.assignees.any(), Schedule.assignees.any(User.id == worker.id)))
    if spot_ids is not None:
        query = query.where(Schedule.id.in_(
            select(Stop.schedule_id).where(Stop.spot_id.in_(spot_ids))))
    return list(db.session.scalars(query.order_by(Schedule.id)))


def slots(schedules: list[Schedule], start: datetime, end: datetime, now: datetime,
          live_from: datetime | None = None, keep_from: datetime | None = None,
          spot_ids=None) -> list[Slot]:
    """Every window opening in [start, end) of these schedules, at each stop (with
    `spot_ids`, at those spots only), classified.

    Only records made after opening the spot's label count: the list guides the worker,
    the scan proves the visit. And only those of someone holding the schedule's role:
    a technician's pump check does not walk the guard's patrol.

    With `live_from`, windows opening before it take part in the matching but are
    returned only until their grace has passed (a route's round with all its stops, done
    or not); with `keep_from`, they are not returned at all.

    A spot's windows and records are matched apart from other spots', so its statuses
    are the same whichever other spots are matched with it.
    """
    dues, where = [], []
    for schedule in schedules:
        grace = timedelta(minutes=schedule.grace)
        sop_id, role = schedule.sop_id, schedule.role
        stops = [(stop.position, stop.spot_id, stop.spot) for stop in schedule.stops
                 if spot_ids is None or stop.spot_id in spot_ids]
        for opens, closes in schedule.windows(start, end):
            for stop in stops:
                dues.append(Due(len(dues), stop[1], opens, closes, grace, sop_id, role))
                where.append((schedule, stop))
    if not dues:
        return []
    first = min(d.opens for d in dues)
    last = max(d.closes + d.grace for d in dues)
    rows = db.session.execute(
        select(Record.id, Record.spot_id, Record.submitted_at, SopVersion.sop_id, Record.user_id,
               Record.roles)
        .join(SopVersion, Record.sop_version_id == SopVersion.id)
        .where(Record.spot_id.in_({d.spot_id for d in dues}), Record.scan_id.is_not(None),
               Record.submitted_at >= first, Record.submitted_at < last)).all()
    held = {roles: None if roles is None else frozenset(roles.split())
            for roles in {r[5] for r in rows}}
    done = [Done(record_id=r[0], spot_id=r[1], at=r[2], sop_id=r[3], roles=held[r[5]])
            for r in rows]
    makers = {r[0]: r[4] for r in rows}
    keep_from = keep_from or first
    live_from = live_from or first
    return [Slot(schedule, stop[0], stop[2], due.opens, due.closes, due.closes + due.grace,
                 status, record_id, makers.get(record_id))
            for (schedule, stop), (due, status, record_id) in zip(where, classify(dues, done, now))
            if due.opens >= keep_from and (due.opens >= live_from or due.closes + due.grace > now)]


def period(site, first: date, last: date, now: datetime, spot_ids=None) -> list[Slot]:
    """Every window opening on the site's local days `first` to `last`, classified; with
    `spot_ids`, at those spots only.

    The day before and the day after take part in the matching too, so a round crossing
    into `first`, or one just after `last` that is due before a round of `last`, competes
    for the scans as it would in a longer period: the dashboard, its drill-downs and the
    exports agree. (A window crossing midnight with a grace of most of a day reaches
    further; the dashboard stores days only in order, so its runs end today.)
    """
    before, _ = day_bounds(site.timezone, first - timedelta(days=1))
    start, _ = day_bounds(site.timezone, first)
    _, end = day_bounds(site.timezone, last)
    _, after = day_bounds(site.timezone, last + timedelta(days=1))
    after = max(end, min(after, now))  # a round not yet open has no scans to take
    found = slots(schedules_in_force([site.id], before, after, spot_ids=spot_ids), before,
                  after, now, keep_from=start, spot_ids=spot_ids)
    return [slot for slot in found if slot.opens < end]


# Built once and run with parameters (bench/RESULTS.md, "Statements built once").
SOPS_AT = (select(Sop).where(or_(
    Sop.id == bindparam("sop"),
    Sop.id.in_(select(Schedule.sop_id).join(Stop).where(
        Stop.spot_id == bindparam("spot"), Schedule.valid_until.is_(None)))))
    .order_by(Sop.id))


@functools.cache
def newest_version_with_steps():
    """Built once and run with parameters (bench/RESULTS.md, "Statements built once"), at
    first use: its loader option needs every model mapped."""
    return (select(SopVersion).where(SopVersion.sop_id == bindparam("sop"))
            .order_by(SopVersion.number.desc()).limit(1).options(joinedload(SopVersion.steps)))


def sops_at(spot: Spot) -> list:
    """The spot's own SOP first, then other SOPs its schedules ask for (monthly maintenance)."""
    sops = db.session.scalars(SOPS_AT, {"sop": spot.sop_id, "spot": spot.id}).all()
    return sorted(sops, key=lambda sop: sop.id != spot.sop_id)  # stable: the rest by id


def current_version(sop: Sop) -> SopVersion:
    """The SOP's newest version with its steps, in one query (`Sop.current` takes two)."""
    return db.session.scalars(newest_version_with_steps(), {"sop": sop.id}).unique().one()


def day_bounds(timezone: str, day: date) -> tuple[datetime, datetime]:
    """A local calendar day in the zone, as naive UTC [start, end)."""
    zone, utc = ZoneInfo(timezone), ZoneInfo("UTC")
    start = datetime.combine(day, time(), zone).astimezone(utc).replace(tzinfo=None)
    end = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(utc)
    return start, end.replace(tzinfo=None)


def local_date(timezone: str, moment: datetime) -> date:
    return moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).date()


def local_day(timezone: str, now: datetime) -> tuple[datetime, datetime]:
    """Today in the site's zone, as naive UTC [start, end)."""
    return day_bounds(timezone, local_date(timezone, now))


@dataclass
class Round:
    """One window of one schedule: a route's checkpoints, or a single zone or machine."""

    schedule: Schedule
    opens: datetime
    closes: datetime
    slots: list[Slot]

    @property
    def status(self) -> str:
        states = {slot.status for slot in self.slots}
        if "open" in states:
            return "open"
        if "missed" in states:
            return "missed"
        return "late" if "late" in states else "done"

    @property
    def done_count(self) -> int:
        return sum(slot.status in ("done", "late") for slot in self.slots)


def rounds(slots: list[Slot]) -> list[Round]:
    grouped: dict[tuple, Round] = {}
    for slot in slots:
        key = (slot.schedule.id, slot.opens)
        if key not in grouped:
            grouped[key] = Round(slot.schedule, slot.opens, slot.closes, [])
        grouped[key].slots.append(slot)
    return sorted(grouped.values(), key=lambda r: (r.opens, r.schedule.id))


@dataclass
class Today:
    now: list[Round]      # open, inside the window
    overdue: list[Round]  # window closed, still inside the grace period
    next: list[Round]     # not open yet
    done: list[Round]
    missed: list[Round]


def today(user, now: datetime) -> Today:
    """A field worker's day at their sites, for their roles, in order.

    Matched as the dashboard matches it (`period`), so that the worker and the supervisor
    see a round alike: with the other schedules at the same spots (another guard's route
    may be due first and take the scan) and with yesterday's rounds, closed or not (one
    may have taken a record in its grace).
    """
    mine = []
    for site in user.sites:
        start, end = local_day(site.timezone, now)
        # From yesterday too: just after midnight, last night's round may still be open.
        since = start - timedelta(days=1)
        theirs = schedules_in_force([site.id], since, end, worker=user)
        spots = {stop.spot_id for schedule in theirs for stop in schedule.stops}
        ids = {schedule.id for schedule in theirs}
        shared = schedules_in_force([site.id], since, end, spot_ids=spots)
        found = slots(theirs + [s for s in shared if s.id not in ids], since, end, now,
                      live_from=start)
        mine += [r for r in rounds([slot for slot in found if slot.schedule.id in ids])
                 if r.opens >= start or r.status == "open"]
    mine.sort(key=lambda r: (r.opens, r.schedule.id))
    still_open = [r for r in mine if r.status == "open"]
    return Today(
        now=[r for r in still_open if r.opens <= now < r.closes],
        overdue=[r for r in still_open if r.closes <= now],
        next=[r for r in still_open if r.opens > now],
        done=[r for r in mine if r.status in ("done", "late")],
        missed=[r for r in mine if r.status == "missed"],
    )
