"""Numbers for the dashboard, counted from classified slots (see app/due.py)."""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from .. import due
from ..extensions import db
from ..models import Record, Site

PERIODS = (1, 7, 30)
FILLED = ("done", "late")


@dataclass
class Tally:
    """Closed windows of one group: how many were done in time, late, missed."""

    done: int = 0
    late: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.done + self.late + self.missed

    @property
    def rate(self) -> int | None:
        """Percent filled (in time or late) of the closed windows; None when none closed."""
        return round(100 * (self.done + self.late) / self.total) if self.total else None


@dataclass
class Board:
    site: Site
    days: int
    start: datetime
    end: datetime
    slots: list
    by_kind: dict = field(default_factory=dict)
    by_schedule: dict = field(default_factory=dict)
    by_person: dict = field(default_factory=dict)
    by_day: dict = field(default_factory=dict)
    missed_by_hour: list = field(default_factory=list)
    total: Tally = field(default_factory=Tally)


# Records carry the server's time and schedules only change from now on, so once every
# window opened on a day has closed, grace included, that day's numbers never change.
FINAL_DAYS_KEPT = 20000
# A record is stamped when its transaction flushes and seen when it commits: a margin.
SETTLE = timedelta(minutes=5)


def final_days() -> dict:
    """This app's memory of finished days' counts: (site id, date) -> Counter."""
    return current_app.extensions.setdefault("rounds_final_days", {})


def local_date(value: datetime, zone: ZoneInfo):
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)


def workers_of(site: Site, slots) -> dict[int, int]:
    """Record id -> the user who made it, for the records that filled these slots."""
    if not slots:
        return {}
    first = min(slot.opens for slot in slots)
    last = max(slot.late_until for slot in slots)
    return dict(db.session.execute(select(Record.id, Record.user_id).where(
        Record.site_id == site.id, Record.submitted_at >= first, Record.submitted_at < last)).all())


def count(site: Site, slots) -> Counter:
    """(dimension, key, status) -> number of closed windows."""
    zone = ZoneInfo(site.timezone)
    workers = workers_of(site, slots)
    local: dict[datetime, datetime] = {}  # many slots share an opening time
    counts = Counter()
    for slot in slots:
        status = slot.status
        if status == "open":
            continue
        opens = local.get(slot.opens)
        if opens is None:
            opens = local[slot.opens] = local_date(slot.opens, zone)
        schedule = slot.schedule
        counts["all", None, status] += 1
        counts["kind", schedule.kind, status] += 1
        counts["schedule", schedule.origin_id or schedule.id, status] += 1
        counts["day", opens.date(), status] += 1
        if status in FILLED:
            counts["person", workers.get(slot.record_id), status] += 1
        else:
            counts["hour", opens.hour, status] += 1
            for person in schedule.assignees:
                counts["person", person.id, status] += 1
    return counts


def board(site: Site, days: int, now: datetime) -> Board:
    """The period's counts: finished days from memory, the rest classified in one run.

    The run starts a day early, so a round crossing midnight is matched as it would be in
    any longer run (the drill-down lists, the exports). A day is finished once its rounds
    and the next day's have all closed, grace included: no record can change it then.
    """
    today = due.local_date(site.timezone, now)
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    kept = final_days()
    todo = [day for day in dates if (site.id, day) not in kept]
    counts, slots = Counter(), []
    if todo:
        start, _ = due.day_bounds(site.timezone, todo[0] - timedelta(days=1))
        _, end = due.day_bounds(site.timezone, today)
        zone = ZoneInfo(site.timezone)
        by_day = defaultdict(list)
        for slot in due.slots(due.schedules_in_force([site.id], start, end), start, end, now):
            by_day[local_date(slot.opens, zone).date()].append(slot)
        for day in todo:
            day_total = count(site, by_day[day])
            counts.update(day_total)
            slots += by_day[day]
            closing = [slot.late_until for slot in by_day[day] + by_day[day + timedelta(days=1)]]
            if day < today and now >= max(closing, default=now) + SETTLE:
                if len(kept) >= FINAL_DAYS_KEPT:
                    kept.clear()
                kept[site.id, day] = day_total
    for day in dates:
        if day not in todo:
            counts.update(kept[site.id, day])
    tallies = defaultdict(lambda: defaultdict(Tally))
    for (dimension, key, status), n in counts.items():
        setattr(tallies[dimension][key], status, n)
    start, _ = due.day_bounds(site.timezone, dates[0])
    _, end = due.day_bounds(site.timezone, today)
    result = Board(site=site, days=days, start=start, end=end, slots=slots)
    result.total = tallies["all"][None]
    result.by_kind = dict(tallies["kind"])
    result.by_schedule = dict(tallies["schedule"])
    result.by_person = {k: v for k, v in tallies["person"].items() if k is not None}
    result.by_day = {day: tallies["day"].get(day, Tally()) for day in dates}
    result.missed_by_hour = [tallies["hour"][hour].missed if hour in tallies["hour"] else 0
                             for hour in range(24)]
    return result


def all_slots(site: Site, days: int, now: datetime) -> list:
    """Every window of the period, classified as board() does: what the drill-downs list."""
    today = due.local_date(site.timezone, now)
    first = today - timedelta(days=days - 1)
    start, _ = due.day_bounds(site.timezone, first - timedelta(days=1))
    _, end = due.day_bounds(site.timezone, today)
    zone = ZoneInfo(site.timezone)
    return [slot for slot in due.slots(due.schedules_in_force([site.id], start, end), start, end, now)
            if local_date(slot.opens, zone).date() >= first]


def matching(slots, *, status=None, kind=None, lineage=None, person=None, day=None, hour=None,
             zone=None, workers=None) -> list:
    """The slots behind one number of the dashboard."""
    chosen = []
    for slot in slots:
        if status == "filled" and slot.status not in FILLED:
            continue
        if status and status != "filled" and slot.status != status:
            continue
        if status is None and slot.status == "open":
            continue
        if kind and slot.schedule.kind != kind:
            continue
        if lineage and slot.schedule.lineage != lineage:
            continue
        if day and local_date(slot.opens, zone).date() != day:
            continue
        if hour is not None and local_date(slot.opens, zone).hour != hour:
            continue
        if person is not None and not (
                (slot.record_id and workers.get(slot.record_id) == person)
                or (slot.status == "missed" and any(a.id == person for a in slot.schedule.assignees))):
            continue
        chosen.append(slot)
    return chosen
