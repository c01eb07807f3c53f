"""Numbers for the dashboard, counted from classified slots (see app/due.py)."""
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from .. import due, timing
from ..extensions import db
from ..models import DayCount, Site
from ..models.base import utcnow

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


# A record is stamped when its transaction flushes and seen when it commits: a margin
# before a day whose statuses have settled is taken as finished.
SETTLE = timedelta(minutes=5)
# The version of what count() counts: rows of DayCount made under other rules are
# counted again. Raise it whenever count() changes.
# 2: a spread's span inside a DST gap has no windows; 3: the day after matched too;
# 4: a round with a scan during it is done, and only then is the round before filled late;
# 5: a rule tried and reverted; 6: a day is stored only once its statuses cannot change;
# 7: a round is filled only by a record of someone holding its role.
RULES = 7


def local_date(value: datetime, zone: ZoneInfo):
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)


def count(site: Site, slots) -> Counter:
    """(dimension, key, status) -> number of closed windows, for one day's slots."""
    zone = ZoneInfo(site.timezone)
    hours: dict[datetime, int] = {}  # many slots share an opening time
    schedules: dict = {}  # and a schedule: its facts read once
    counts = Counter()
    for slot in slots:
        status = slot.status
        if status == "open":
            continue
        facts = schedules.get(slot.schedule)
        if facts is None:
            schedule = slot.schedule
            facts = schedules[schedule] = (schedule.kind, schedule.lineage,
                                           [person.id for person in schedule.assignees])
        kind, lineage, assignees = facts
        counts["all", None, status] += 1
        counts["kind", kind, status] += 1
        counts["schedule", lineage, status] += 1
        if status in FILLED:
            counts["person", slot.user_id, status] += 1
        else:
            hour = hours.get(slot.opens)
            if hour is None:
                hour = hours[slot.opens] = local_date(slot.opens, zone).hour
            counts["hour", hour, status] += 1
            for person in assignees:
                counts["person", person, status] += 1
    return counts


def kept_days(site: Site, dates) -> dict[date, tuple[Counter, frozenset[int]]]:
    """The counts kept of these days, each with the spots they leave out (see DayCount)."""
    rows = db.session.execute(
        select(DayCount.day, DayCount.counts, DayCount.unsettled).where(
            DayCount.site_id == site.id, DayCount.day.in_(dates), DayCount.rules == RULES))
    return {day: (Counter({tuple(key): n for *key, n in counts}), frozenset(unsettled))
            for day, counts, unsettled in rows}


def keep(site: Site, days: dict[date, tuple[Counter, set[int]]], since: datetime) -> None:
    """Store days' counts and the spots they leave out, as counted by a view that began
    reading at `since`; another request may have just stored the same. Not if a late
    record made the site's days be counted again meanwhile (evidence.forget_counted_days):
    the view may not have seen it. (A minute's margin for the servers' clocks.)

    In a short transaction of its own, which writes first: the view's reading one goes on
    untouched, and on SQLite never has to turn into a writer (which could fail at once).
    """
    if not days:
        return
    rows = [{"site_id": site.id, "day": day, "rules": RULES,
             "counts": [[*key, n] for key, n in counts.items()], "unsettled": sorted(spots)}
            for day, (counts, spots) in days.items()]
    try:
        with db.engine.begin() as connection:
            connection.execute(delete(DayCount).where(DayCount.site_id == site.id,
                                                      DayCount.day.in_(days)))
            forgotten = connection.scalar(
                select(Site.counts_forgotten_at).where(Site.id == site.id))
            if forgotten is None or forgotten < since - timedelta(minutes=1):
                connection.execute(insert(DayCount), rows)
    except IntegrityError:
        pass


def unsettled(slots, spans: dict, until: datetime) -> set[int]:
    """The spots at which a status of a day's `slots` may still change after `until`:
    timing.reach() of each spot's latest deadline over `spans`, the windows of the run by
    spot (timing.spans()). The windows of the day before the run, kept in whole or in part
    or only matched, are left out: they closed by the end of the run's first day, which
    board() waits for, so they cannot push a settling time past now. (They can where a 24 h
    "times" window crosses a 23 h DST day: a 2-day view could keep its first day early.)
    A run is followed by a kept day only where rows were deleted, and they are deleted from
    a day on (a late record, new rules), the days after it too."""
    deadlines: dict = {}  # by spot (the session's one object for each)
    for slot in slots:
        deadlines[slot.spot] = max(deadlines.get(slot.spot, slot.late_until), slot.late_until)
    return {spot.id for spot, deadline in deadlines.items()
            if timing.reach(deadline, *spans[spot]) > until}


def day_counts(site: Site, day: date, slots, spans: dict, now: datetime,
               kept: Counter | None = None) -> tuple[Counter, tuple | None]:
    """A day's counts from its classified `slots`, added to what was `kept` of it, and
    what may be kept of it now: (the counts of the spots settled by now, the spots left
    out), or None. Nothing is kept of a day not over, nor, the first time, of one whose
    unsettled spots are more than a quarter of its spots: counting them apart on each
    view would cost more than counting the day."""
    base = Counter() if kept is None else kept
    _, day_end = due.day_bounds(site.timezone, day)
    if now < day_end + SETTLE:
        return base + count(site, slots), None
    left_out = unsettled(slots, spans, now - SETTLE)
    settled_counts = base + count(site, [slot for slot in slots if slot.spot.id not in left_out])
    if not left_out:
        return settled_counts, (settled_counts, left_out)
    counts = settled_counts + count(site, [slot for slot in slots if slot.spot.id in left_out])
    if kept is None and 4 * len(left_out) > len({slot.spot for slot in slots}):
        return counts, None
    return counts, (settled_counts, left_out)


def by_day_and_spot(site: Site, days: list[date], found) -> tuple[dict, dict]:
    """Classified slots of consecutive `days` by day, and their spans by spot."""
    by_day, ends = defaultdict(list), defaultdict(list)
    starts = [due.day_bounds(site.timezone, day)[0] for day in days]
    for slot in found:
        by_day[days[bisect_right(starts, slot.opens) - 1]].append(slot)
        ends[slot.spot].append((slot.opens, slot.closes, slot.late_until))
    return by_day, {spot: timing.spans(windows) for spot, windows in ends.items()}


def runs(days: list[date]) -> list[list[date]]:
    """Consecutive days grouped: [1, 2, 3, 7] -> [[1, 2, 3], [7]]."""
    groups = []
    for day in days:
        if groups and groups[-1][-1] == day - timedelta(days=1):
            groups[-1].append(day)
        else:
            groups.append([day])
    return groups


def board(site: Site, days: int, now: datetime) -> Board:
    """The period's counts: days kept as stored, the others classified now.

    Today is always classified; its slots are the board's, for the lists of missed and
    late rounds. A past day is kept once its statuses are settled (see unsettled()):
    later records cannot change it. Where a few spots have not settled (a daily check
    whose grace runs into the next day, when that day's check may take the scan), the day
    is kept without them, and they alone are classified again on each view.
    """
    started = utcnow()  # the server's clock, as forget_counted_days() stamps it
    today = due.local_date(site.timezone, now)
    dates = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    kept = kept_days(site, dates[:-1])
    per_day, keepable, slots = {}, {}, []
    for group in runs([day for day in dates if day not in kept]):
        by_day, spans = by_day_and_spot(site, group, due.period(site, group[0], group[-1], now))
        for day in group:
            per_day[day], keepable[day] = day_counts(site, day, by_day[day], spans, now)
        slots = by_day[today]
    partial = [day for day in dates if day in kept and kept[day][1]]
    if partial:
        left_out = set().union(*(kept[day][1] for day in partial))
        found = due.period(site, partial[0], today, now, spot_ids=left_out)
        by_day, spans = by_day_and_spot(site, dates[dates.index(partial[0]):], found)
        for day in partial:
            counts, spots = kept[day]
            chosen = [slot for slot in by_day[day] if slot.spot.id in spots]
            per_day[day], keepable[day] = day_counts(site, day, chosen, spans, now, counts)
    # Kept in order only: a run that began after a day not kept was matched without
    # that day's windows, which can reach into it.
    changed = {}
    for day in dates[:-1]:
        if day in kept and not kept[day][1]:
            continue
        if keepable[day] is None:
            break
        if keepable[day] != kept.get(day):
            changed[day] = keepable[day]
    keep(site, changed, started)
    counts = Counter()
    for day in dates:
        numbers = per_day[day] if day in per_day else kept[day][0]
        counts.update(numbers)
        for status in ("done", "late", "missed"):
            counts["day", day, status] = numbers["all", None, status]
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
    result.by_day = {day: tallies["day"][day] for day in dates}
    result.missed_by_hour = [tallies["hour"][hour].missed if hour in tallies["hour"] else 0
                             for hour in range(24)]
    return result


def all_slots(site: Site, days: int, now: datetime, day: date | None = None,
              spot_ids=None) -> list:
    """Every window of the period, or of one `day` in it, classified as board() does:
    what the drill-downs list. With `spot_ids`, those at these spots only: matched apart,
    they have the same statuses, sooner."""
    today = due.local_date(site.timezone, now)
    first = today - timedelta(days=days - 1)
    if day is not None:
        return due.period(site, day, day, now, spot_ids) if first <= day <= today else []
    return due.period(site, first, today, now, spot_ids)


def matching(slots, *, status=None, kind=None, lineage=None, person=None, day=None, hour=None,
             zone=None) -> list:
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
                (slot.record_id and slot.user_id == person)
                or (slot.status == "missed" and any(a.id == person for a in slot.schedule.assignees))):
            continue
        chosen.append(slot)
    return chosen
