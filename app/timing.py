"""Due windows from a schedule's timing, and their status against records.

Pure (stdlib and zoneinfo only) so that today's list, the dashboard, the exports and
bench/ share one definition of "due", and a missed round is computed, never swept.
Every datetime in and out is naive UTC, as the app stores it; wall times are read in
the site's zone.

Wall time to UTC, the rule for zones with DST:
- a wall time that does not exist (spring-forward gap) moves forward to the first
  instant after the gap: 02:30 on the day clocks jump 02:00 -> 03:00 becomes 03:00;
- an ambiguous wall time (autumn fold) is its first occurrence.
This mapping never runs backwards, so windows cut from wall times never overlap or
invert; one whose both ends fall in the same gap is empty and dropped (no round is due
in an hour that did not exist). Calendar days and interval rounds follow the wall clock
(a daily window is 23 h or 25 h on DST days); a spread splits the elapsed span equally and
a "times" window lasts its length in elapsed minutes.
"""
import calendar
from bisect import bisect_left, bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import accumulate
from operator import attrgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

KINDS = ("interval", "spread", "times", "daily", "weekly", "monthly", "quarterly", "yearly")
CALENDAR_KINDS = ("daily", "weekly", "monthly", "quarterly", "yearly")
STATUSES = ("done", "late", "missed", "open")

_DAY = timedelta(days=1)
_MIDNIGHT = time()


@dataclass(frozen=True)
class Timing:
    """When a schedule is due, in the site's wall time; see check() for what each kind needs.

    interval: rounds every `every` minutes from `start` to `end`, the last window cut at `end`.
    spread: `count` windows of equal length splitting `start`..`end`.
    times: windows of `length` minutes opening at each of `times`.
    For these three, `end <= start` means the span crosses midnight (`end == start`: 24 h)
    and the span belongs to the local day it starts on, which `weekdays` filters
    (0 = Monday; empty = every day). Calendar kinds are due for the whole local day:
    daily (filtered by `weekdays` too), weekly (`weekdays` holds its one weekday), monthly
    (`day`, clamped to the month's last day), quarterly (`month` 1..3 within the quarter
    and `day`), yearly (`month` and `day`, Feb 29 being Feb 28 in other years).
    `weekdays` is ignored by monthly, quarterly and yearly.
    """
    kind: str
    start: time | None = None
    end: time | None = None
    every: int | None = None
    count: int | None = None
    times: tuple[time, ...] = ()
    length: int | None = None
    weekdays: frozenset[int] = frozenset()
    day: int | None = None
    month: int | None = None


class Due(NamedTuple):
    """One window at one spot; `key` is the caller's handle (schedule, round...).

    Named tuples, not dataclasses: a dashboard month makes hundreds of thousands.
    """
    key: object
    spot_id: int
    opens: datetime
    closes: datetime
    grace: timedelta
    sop_id: int | None = None  # when set, only records done against this SOP fill the window
    role: str | None = None  # when set, only records by someone holding this role fill it


class Done(NamedTuple):
    """One record, reduced to what classification needs."""
    record_id: int
    spot_id: int
    at: datetime
    sop_id: int | None = None
    roles: frozenset[str] | None = None  # its author's, when they made it (None: any)


def fits(due: Due, record: Done) -> bool:
    """Whether the record can fill the window at all: its SOP and its author's role."""
    return due.sop_id in (None, record.sop_id) and \
        (due.role is None or record.roles is None or due.role in record.roles)


def check(timing: Timing) -> list[str]:
    """Problems as stable short codes for the web layer to translate; empty means valid."""
    kind = timing.kind
    if kind not in KINDS:
        return ["unknown_kind"]
    problems: list[str] = []
    if any(not 0 <= weekday <= 6 for weekday in timing.weekdays):
        problems.append("weekday_range")
    if kind in ("interval", "spread") and (timing.start is None or timing.end is None):
        problems.append("start_end_required")
    if kind == "interval":
        _bounded(problems, "every", timing.every, 5, 1440)
    elif kind == "spread":
        _bounded(problems, "count", timing.count, 1, 48)
    elif kind == "times":
        if not timing.times:
            problems.append("times_required")
        _bounded(problems, "length", timing.length, 5, 1440)
    elif kind == "weekly" and len(timing.weekdays) != 1:
        problems.append("weekly_needs_one_weekday")
    if kind in ("monthly", "quarterly", "yearly"):
        _bounded(problems, "day", timing.day, 1, 31)
    if kind == "quarterly":
        _bounded(problems, "month", timing.month, 1, 3)
    elif kind == "yearly":
        _bounded(problems, "month", timing.month, 1, 12)
    return problems


def _bounded(problems: list[str], name: str, value: int | None, low: int, high: int) -> None:
    if value is None:
        problems.append(f"{name}_required")
    elif not low <= value <= high:
        problems.append(f"{name}_range")


def windows(timing: Timing, tz: str, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Every (opens, closes) window whose opening lies in [start, end), sorted; naive UTC.

    Raises ValueError for a timing that check() rejects.
    """
    problems = check(timing)
    if problems:
        raise ValueError("invalid timing: " + ", ".join(problems))
    zone = ZoneInfo(tz)
    found: list[tuple[datetime, datetime]] = []
    # A span is at most one wall day long and belongs to the day it starts on, so the
    # day before `start` may still open windows inside the range.
    day = _to_local(start, zone).date() - _DAY
    last = _to_local(end, zone).date()
    while day <= last:
        if _due_on(timing, day):
            found.extend(w for w in _day_windows(timing, day, zone) if start <= w[0] < end)
        day += _DAY
    found.sort()
    return found


def _due_on(timing: Timing, day: date) -> bool:
    kind = timing.kind
    if kind in ("monthly", "quarterly", "yearly"):
        if kind == "quarterly" and (day.month - 1) % 3 + 1 != timing.month:
            return False
        if kind == "yearly" and day.month != timing.month:
            return False
        return day.day == min(timing.day, calendar.monthrange(day.year, day.month)[1])
    if kind == "weekly":
        return day.weekday() in timing.weekdays
    return not timing.weekdays or day.weekday() in timing.weekdays


def _day_windows(timing: Timing, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """The windows of the span (or calendar day) starting on local `day`."""
    if timing.kind in CALENDAR_KINDS:
        return _cut([datetime.combine(day, _MIDNIGHT), datetime.combine(day + _DAY, _MIDNIGHT)], zone)
    if timing.kind == "times":
        # A window "lasts `length` minutes", so its length is elapsed time, not wall time;
        # two times inside one DST gap land on the same instant, hence the set.
        length = timedelta(minutes=timing.length)
        opens = {_to_utc(datetime.combine(day, at), zone) for at in timing.times}
        return [(o, o + length) for o in sorted(opens)]
    span_start = datetime.combine(day, timing.start)
    span_end = datetime.combine(day + _DAY if timing.end <= timing.start else day, timing.end)
    if timing.kind == "spread":
        # Equal shares of the elapsed span, so a DST night still gives equal windows; a span
        # inside a DST gap has none (it did not happen), as in _cut.
        opens, closes = _to_utc(span_start, zone), _to_utc(span_end, zone)
        edges = [opens + (closes - opens) * i / timing.count for i in range(timing.count + 1)]
        return [(a, b) for a, b in zip(edges, edges[1:]) if a < b]
    # interval: rounds stay on the wall clock's grid (22:00, 00:00, 02:00) as guards read it.
    every = timedelta(minutes=timing.every)
    edges = []
    at = span_start
    while at < span_end:
        edges.append(at)
        at += every
    edges.append(span_end)
    return _cut(edges, zone)


def _cut(wall_edges: list[datetime], zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
    """Consecutive wall-time edges to UTC windows, dropping those emptied by a DST gap."""
    edges = [_to_utc(edge, zone) for edge in wall_edges]
    return [(a, b) for a, b in zip(edges, edges[1:]) if a < b]


def _to_local(utc: datetime, zone: ZoneInfo) -> datetime:
    return utc.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def _to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """Naive wall time to naive UTC by the module's rule (gap: forward; fold: first)."""
    steady = _steady_offset(zone, wall.date())
    if steady is not None:  # nearly every day: skip the zone lookups
        return wall - steady
    first = wall.replace(tzinfo=zone).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    if second <= first:  # ordinary time, or a fold whose fold=0 reading is the first one
        return wall - first
    # In a gap fold=0 reads the offset from before the jump, which would land past the gap
    # by its length. zoneinfo lists no transitions, so find the jump by bisection on whole
    # seconds (tzdata transitions are whole seconds): `before` precedes it, the gap's
    # length later is past it.
    before = wall - second
    low, high = 0, int((second - first).total_seconds())
    while high - low > 1:
        middle = (low + high) // 2
        instant = (before + timedelta(seconds=middle)).replace(tzinfo=UTC)
        if instant.astimezone(zone).utcoffset() == first:
            low = middle
        else:
            high = middle
    return before + timedelta(seconds=high)


@lru_cache(maxsize=8192)
def _steady_offset(zone: ZoneInfo, day: date) -> timedelta | None:
    """The zone's offset over the whole local day, or None when it changes that day.

    Same unambiguous offset at both midnights is taken to mean no transition in between;
    a day with two transitions that cancel out would be misread, a risk taken for speed.
    """
    offsets = {datetime.combine(moment, _MIDNIGHT).replace(tzinfo=zone, fold=fold).utcoffset()
               for moment in (day, day + _DAY) for fold in (0, 1)}
    return offsets.pop() if len(offsets) == 1 else None


def classify(dues: list[Due], done: list[Done], now: datetime) -> list[tuple[Due, str, int | None]]:
    """(due, status, record id that filled it) for each due window, in the order given.

    status: "done" (filled by a record in [opens, closes)), "late" (filled by one in
    [closes, closes + grace)), "missed" (not filled, and now >= closes + grace) or "open".
    A record fills at most one window and a record outside every window fills none; a
    window with an SOP takes only records of that SOP, and one with a role only records by
    someone who held that role when they made it (`fits`).

    A round is done by a record made during it, and only a round left without one is
    filled late, from the records of its grace that no other round needs:
    1. On time: windows in order of their deadline (closes + grace; ties by opening, then
       input order) each take the earliest unused record of their spot made during them;
       one that an earlier window, left empty, could take in its grace only when there
       is no other.
    2. Late: the windows still empty, in the same order, each take the earliest unused
       record of their grace.
    So a guard who skips the 22:00 round and walks the others at five past the hour has
    the 22:00 round missed and the others done (not every later round late and the last
    one missed), and scans at 22:10 and 23:00 fill both the 20:00-22:00 round (late) and
    the 22:00-00:00 one (done).

    That is not always the most windows the records could fill. Rounds at 06:30-06:35
    and 06:35-06:40 with 15 min grace and scans at 06:35 and 06:50: the first round is
    missed and the second done, where both could have been late. And where a record fits
    two windows, as the pump check of someone who is both guard and technician fits the
    patrol round (no SOP) and the pump's daily check, the one due first takes it, although
    a later record might have filled that one. (The most, found by augmenting paths, lets
    a later record change an earlier round's status without bound: tried and reverted in
    636acd9.)

    A window's status is final once its deadline has passed and the windows of its spot
    that opened before then have made their own choice of records (see `settled`): until
    then one of them may take a record of its own and free one of the grace, or the
    other way round.
    """
    by_spot: dict[int, list[Done]] = defaultdict(list)
    for record in sorted(done, key=attrgetter("at", "record_id")):
        by_spot[record.spot_id].append(record)
    spots = {spot_id: _Spot(records) for spot_id, records in by_spot.items()}
    results: list = [None] * len(dues)
    # Two stable sorts on plain lists order the windows without a key tuple per window
    # (a dashboard month has hundreds of thousands); ties keep the input order.
    by_opening = sorted(range(len(dues)), key=[due.opens for due in dues].__getitem__)
    by_deadline = sorted(by_opening, key=[due.closes + due.grace for due in dues].__getitem__)
    for index in by_deadline:
        due = dues[index]
        spot = spots.get(due.spot_id)
        record = None if spot is None else spot.take_on_time(due)
        if record is not None:
            results[index] = (due, "done", record.record_id)
        elif spot is not None and due.grace:
            spot.empty.append(due)
    for index in by_deadline:
        if results[index] is not None:
            continue
        due = dues[index]
        deadline = due.closes + due.grace
        spot = spots.get(due.spot_id)
        record = None if spot is None else spot.take(due.closes, deadline, due)
        if record is not None:
            results[index] = (due, "late", record.record_id)
        else:
            results[index] = (due, "missed" if now >= deadline else "open", None)
    return results


def settled(due: Due, dues: list[Due]) -> datetime:
    """When `due`'s status in classify() can no longer change, records coming in time
    order: its deadline, or later if a window of its spot opening before the deadline
    settles its own choice of records later (that window may take one of `due`'s grace
    on time, or leave it).

    Why that is enough: pass 1 takes the windows in the order of their deadlines, so what
    a window takes on time rests on the records made before the latest closing of the
    windows with deadlines up to its own (never after its deadline). Pass 2 fills `due`
    from its grace with what pass 1 left there, which only windows opening before its
    deadline can have taken, and after the windows with deadlines up to its own that
    come before it took theirs, from graces that end by its deadline.
    """
    same_spot = [(other.opens, other.closes, other.closes + other.grace)
                 for other in dues if other.spot_id == due.spot_id]
    return reach(due.closes + due.grace, *spans(same_spot))


def spans(windows) -> tuple[list[datetime], list[datetime]]:
    """A spot's windows (opens, closes, deadline) as their openings, sorted, and for each
    the latest time at which the choice of a window opening up to it is fixed: the
    latest closing of the windows whose deadlines are not after that window's."""
    windows = sorted(windows)
    deadlines = sorted(deadline for _, _, deadline in windows)
    closing = list(accumulate((closes for _, closes, _ in
                               sorted(windows, key=lambda window: window[2])), max))
    opens, latest = [], []
    for start, _, deadline in windows:
        fixed = closing[bisect_right(deadlines, deadline) - 1]
        opens.append(start)
        latest.append(max(fixed, latest[-1]) if latest else fixed)
    return opens, latest


def reach(deadline: datetime, opens: list[datetime], latest: list[datetime]) -> datetime:
    """When a window with this deadline settles, given its spot's spans()."""
    before = bisect_left(opens, deadline)
    return max(deadline, latest[before - 1]) if before else deadline


class _Spot:
    """One spot's records by time, which of them already filled a window, and the
    windows left empty on time that may still take a record of their grace."""

    def __init__(self, records: list[Done]) -> None:
        self.records = records
        self.ats = [record.at for record in records]
        self.taken: set[int] = set()
        self.empty: list[Due] = []  # in order of deadline

    def take(self, low: datetime, high: datetime, due: Due) -> Done | None:
        """The earliest unused record in [low, high) that fits the window; mark it used."""
        position = bisect_left(self.ats, low)
        while position < len(self.ats) and self.ats[position] < high:
            record = self.records[position]
            if position not in self.taken and fits(due, record):
                self.taken.add(position)
                return record
            position += 1
        return None

    def take_on_time(self, due: Due) -> Done | None:
        """The earliest unused record made during the window that fits it and that no empty
        window wants for its grace, else the earliest such record at all."""
        first = None
        position = bisect_left(self.ats, due.opens)
        while position < len(self.ats) and self.ats[position] < due.closes:
            record = self.records[position]
            if position not in self.taken and fits(due, record):
                if not self.wanted(record):
                    self.taken.add(position)
                    return record
                if first is None:
                    first = position
            position += 1
        if first is not None:
            self.taken.add(first)
            return self.records[first]
        return None

    def wanted(self, record: Done) -> bool:
        """Whether a window left empty could take this record in its grace."""
        for due in reversed(self.empty):
            if due.closes + due.grace <= record.at:
                break  # deadlines only go back from here
            if due.closes <= record.at and fits(due, record):
                return True
        return False
