"""Due windows from timings, and done/late/missed/open at the boundaries."""
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from app.timing import Done, Due, Timing, check, classify, settled, windows

SHANGHAI = "Asia/Shanghai"  # UTC+8, no DST
BERLIN = "Europe/Berlin"  # 2027: clocks jump 02:00 -> 03:00 on Mar 28, fall back 03:00 -> 02:00 on Oct 31
SECOND = timedelta(seconds=1)


def utc(local: str, tz: str = SHANGHAI) -> datetime:
    """'2027-01-04 08:00' read in `tz` (an unambiguous wall time) as naive UTC."""
    aware = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz))
    return aware.astimezone(UTC).replace(tzinfo=None)


def wall(found: list[tuple[datetime, datetime]], tz: str = SHANGHAI) -> list[str]:
    """Windows as the site reads them: 'MM-DD HH:MM MM-DD HH:MM'."""
    zone = ZoneInfo(tz)

    def local(moment: datetime) -> str:
        return f"{moment.replace(tzinfo=UTC).astimezone(zone):%m-%d %H:%M}"

    return [f"{local(opens)} {local(closes)}" for opens, closes in found]


def test_night_patrol_crossing_midnight_in_utc():
    """Every 2 h from 20:00 to 06:00 on Friday 2027-01-01 in Shanghai (UTC+8)."""
    night = Timing("interval", start=time(20), end=time(6), every=120)
    found = windows(night, SHANGHAI, datetime(2027, 1, 1, 4), datetime(2027, 1, 2, 4))
    assert found == [
        (datetime(2027, 1, 1, 12), datetime(2027, 1, 1, 14)),
        (datetime(2027, 1, 1, 14), datetime(2027, 1, 1, 16)),
        (datetime(2027, 1, 1, 16), datetime(2027, 1, 1, 18)),
        (datetime(2027, 1, 1, 18), datetime(2027, 1, 1, 20)),
        (datetime(2027, 1, 1, 20), datetime(2027, 1, 1, 22)),  # Saturday 04:00-06:00 local
    ]


# 2027-01-04 is a Monday, 2027-01-08 a Friday.
SPAN_CASES = {
    "interval, last window cut at the end": (
        Timing("interval", start=time(8), end=time(17), every=120),
        "2027-01-04 00:00", "2027-01-05 00:00",
        ["01-04 08:00 01-04 10:00", "01-04 10:00 01-04 12:00", "01-04 12:00 01-04 14:00",
         "01-04 14:00 01-04 16:00", "01-04 16:00 01-04 17:00"]),
    "interval, end == start is 24 h": (
        Timing("interval", start=time(8), end=time(8), every=360),
        "2027-01-04 08:00", "2027-01-05 08:00",
        ["01-04 08:00 01-04 14:00", "01-04 14:00 01-04 20:00", "01-04 20:00 01-05 02:00",
         "01-05 02:00 01-05 08:00"]),
    "spread, lobby 3x between 07:00 and 21:00": (
        Timing("spread", start=time(7), end=time(21), count=3),
        "2027-01-04 00:00", "2027-01-05 00:00",
        ["01-04 07:00 01-04 11:40", "01-04 11:40 01-04 16:20", "01-04 16:20 01-04 21:00"]),
    "spread, 24 h from 22:00": (
        Timing("spread", start=time(22), end=time(22), count=3),
        "2027-01-04 20:00", "2027-01-05 20:00",
        ["01-04 22:00 01-05 06:00", "01-05 06:00 01-05 14:00", "01-05 14:00 01-05 22:00"]),
    "times, sorted, each lasting length": (
        Timing("times", times=(time(14), time(8, 30)), length=30),
        "2027-01-04 00:00", "2027-01-05 00:00",
        ["01-04 08:30 01-04 09:00", "01-04 14:00 01-04 14:30"]),
    "times, a window crossing midnight": (
        Timing("times", times=(time(23, 45),), length=30),
        "2027-01-04 00:00", "2027-01-05 00:00",
        ["01-04 23:45 01-05 00:15"]),
    "weekdays, Monday and Wednesday": (
        Timing("times", times=(time(9),), length=60, weekdays=frozenset({0, 2})),
        "2027-01-04 00:00", "2027-01-11 00:00",
        ["01-04 09:00 01-04 10:00", "01-06 09:00 01-06 10:00"]),
    "weekdays, Friday night owns its Saturday morning": (
        Timing("interval", start=time(20), end=time(6), every=120, weekdays=frozenset({4})),
        "2027-01-04 00:00", "2027-01-11 00:00",
        ["01-08 20:00 01-08 22:00", "01-08 22:00 01-09 00:00", "01-09 00:00 01-09 02:00",
         "01-09 02:00 01-09 04:00", "01-09 04:00 01-09 06:00"]),
    "weekdays, Saturday night only, not Friday's Saturday morning": (
        Timing("interval", start=time(20), end=time(6), every=120, weekdays=frozenset({5})),
        "2027-01-08 00:00", "2027-01-10 00:00",
        ["01-09 20:00 01-09 22:00", "01-09 22:00 01-10 00:00"]),
}


@pytest.mark.parametrize(("timing", "start", "end", "expected"), SPAN_CASES.values(), ids=SPAN_CASES.keys())
def test_span_windows(timing, start, end, expected):
    assert wall(windows(timing, SHANGHAI, utc(start), utc(end))) == expected


def d(text: str) -> date:
    return date.fromisoformat(text)


CALENDAR_CASES = {
    "daily": (Timing("daily"), "2027-01-04", "2027-01-07",
              [d("2027-01-04"), d("2027-01-05"), d("2027-01-06")]),
    "daily on weekends": (Timing("daily", weekdays=frozenset({5, 6})), "2027-01-04", "2027-01-11",
                          [d("2027-01-09"), d("2027-01-10")]),
    "weekly on Wednesday": (Timing("weekly", weekdays=frozenset({2})), "2027-01-04", "2027-01-25",
                            [d("2027-01-06"), d("2027-01-13"), d("2027-01-20")]),
    "monthly 31st, leap year": (Timing("monthly", day=31), "2028-01-01", "2028-06-01",
                                [d("2028-01-31"), d("2028-02-29"), d("2028-03-31"), d("2028-04-30"),
                                 d("2028-05-31")]),
    "monthly 31st, February 2027": (Timing("monthly", day=31), "2027-02-01", "2027-03-01", [d("2027-02-28")]),
    "monthly 31st, April": (Timing("monthly", day=31), "2027-04-01", "2027-05-01", [d("2027-04-30")]),
    "quarterly, second month, 15th": (Timing("quarterly", month=2, day=15), "2027-01-01", "2028-01-01",
                                      [d("2027-02-15"), d("2027-05-15"), d("2027-08-15"), d("2027-11-15")]),
    "quarterly, third month, 31st": (Timing("quarterly", month=3, day=31), "2027-01-01", "2028-01-01",
                                     [d("2027-03-31"), d("2027-06-30"), d("2027-09-30"), d("2027-12-31")]),
    "yearly Feb 29": (Timing("yearly", month=2, day=29), "2027-01-01", "2030-01-01",
                      [d("2027-02-28"), d("2028-02-29"), d("2029-02-28")]),
}


@pytest.mark.parametrize(("timing", "start", "end", "expected"), CALENDAR_CASES.values(), ids=CALENDAR_CASES.keys())
def test_calendar_windows_are_whole_local_days(timing, start, end, expected):
    found = windows(timing, SHANGHAI, utc(start + " 00:00"), utc(end + " 00:00"))
    assert found == [(utc(f"{day} 00:00"), utc(f"{day + timedelta(days=1)} 00:00")) for day in expected]


DST_CASES = {
    "daily, spring-forward day is 23 h": (
        Timing("daily"), BERLIN, "2027-03-28 00:00",
        [(datetime(2027, 3, 27, 23), datetime(2027, 3, 28, 22))]),
    "daily, fall-back day is 25 h": (
        Timing("daily"), BERLIN, "2027-10-31 00:00",
        [(datetime(2027, 10, 30, 22), datetime(2027, 10, 31, 23))]),
    "times, non-existent 02:30 shifts to 03:00 and lasts its 60 min": (
        Timing("times", times=(time(2, 30),), length=60), BERLIN, "2027-03-28 00:00",
        [(datetime(2027, 3, 28, 1), datetime(2027, 3, 28, 2))]),
    "times, ambiguous 02:30 is the first one (summer time)": (
        Timing("times", times=(time(2, 30),), length=60), BERLIN, "2027-10-31 00:00",
        [(datetime(2027, 10, 31, 0, 30), datetime(2027, 10, 31, 1, 30))]),
    "interval, the hour that does not exist has no round": (
        Timing("interval", start=time(0), end=time(5), every=60), BERLIN, "2027-03-28 00:00",
        [(datetime(2027, 3, 27, 23), datetime(2027, 3, 28, 0)),  # 00:00-01:00
         (datetime(2027, 3, 28, 0), datetime(2027, 3, 28, 1)),  # 01:00-03:00 (02:00 is 03:00)
         (datetime(2027, 3, 28, 1), datetime(2027, 3, 28, 2)),  # 03:00-04:00
         (datetime(2027, 3, 28, 2), datetime(2027, 3, 28, 3))]),  # 04:00-05:00
    "spread, equal elapsed shares of a 13 h fall-back night": (
        Timing("spread", start=time(20), end=time(8), count=2), BERLIN, "2027-10-30 12:00",
        [(datetime(2027, 10, 30, 18), datetime(2027, 10, 31, 0, 30)),
         (datetime(2027, 10, 31, 0, 30), datetime(2027, 10, 31, 7))]),
    "spread, a span inside the hour that does not exist has no window": (
        Timing("spread", start=time(2), end=time(2, 30), count=2), BERLIN, "2027-03-28 00:00",
        []),
    "daily, a day whose midnight does not exist opens when clocks resume": (
        Timing("daily"), "America/Sao_Paulo", "2018-11-04 01:00",  # 00:00 -03 jumped to 01:00 -02
        [(datetime(2018, 11, 4, 3), datetime(2018, 11, 5, 2))]),
}


@pytest.mark.parametrize(("timing", "tz", "local_start", "expected"), DST_CASES.values(), ids=DST_CASES.keys())
def test_dst(timing, tz, local_start, expected):
    """The windows opening within 20 h: a gap shifts forward, a fold takes its first occurrence."""
    start = utc(local_start, tz)
    assert windows(timing, tz, start, start + timedelta(hours=20)) == expected


def test_dst_year_of_half_hour_rounds_stays_contiguous():
    """Across both 2027 transitions, 24 h spans of 30-min rounds tile time: no gap, overlap or empty window."""
    found = windows(Timing("interval", start=time(0), end=time(0), every=30), BERLIN,
                    datetime(2027, 1, 1), datetime(2028, 1, 1))
    assert all(opens < closes for opens, closes in found)
    assert all(a[1] == b[0] for a, b in zip(found, found[1:]))
    assert len(found) == 365 * 48 - 2  # the two rounds of the missing hour


RANGE_CASES = {
    "a window opening exactly at start is included": (utc("2027-01-04 00:00"), utc("2027-01-06 00:00"),
                                                     ["01-04", "01-05"]),
    "one second later it is not": (utc("2027-01-04 00:00") + SECOND, utc("2027-01-06 00:00"), ["01-05"]),
    "a window opening exactly at end is excluded": (utc("2027-01-04 00:00"), utc("2027-01-05 00:00"),
                                                   ["01-04"]),
    "an empty range has none": (utc("2027-01-05 00:00"), utc("2027-01-05 00:00"), []),
    "a reversed range has none": (utc("2027-01-06 00:00"), utc("2027-01-04 00:00"), []),
}


@pytest.mark.parametrize(("start", "end", "expected"), RANGE_CASES.values(), ids=RANGE_CASES.keys())
def test_range_boundaries(start, end, expected):
    assert [label[:5] for label in wall(windows(Timing("daily"), SHANGHAI, start, end))] == expected


CHECK_CASES = {
    "interval ok": (Timing("interval", start=time(20), end=time(6), every=120), []),
    "interval bounds ok": (Timing("interval", start=time(20), end=time(6), every=5), []),
    "interval empty": (Timing("interval"), ["start_end_required", "every_required"]),
    "every too small": (Timing("interval", start=time(8), end=time(9), every=4), ["every_range"]),
    "every too large": (Timing("interval", start=time(8), end=time(9), every=1441), ["every_range"]),
    "spread without count": (Timing("spread", start=time(7), end=time(21)), ["count_required"]),
    "spread count 0": (Timing("spread", start=time(7), end=time(21), count=0), ["count_range"]),
    "spread count 49": (Timing("spread", start=time(7), end=time(21), count=49), ["count_range"]),
    "spread without end": (Timing("spread", start=time(7), count=3), ["start_end_required"]),
    "times without times": (Timing("times", length=30), ["times_required"]),
    "times without length": (Timing("times", times=(time(8),)), ["length_required"]),
    "times length too short": (Timing("times", times=(time(8),), length=4), ["length_range"]),
    "times length too long": (Timing("times", times=(time(8),), length=1441), ["length_range"]),
    "daily ok": (Timing("daily"), []),
    "weekday 7": (Timing("daily", weekdays=frozenset({7})), ["weekday_range"]),
    "weekday -1": (Timing("times", times=(time(8),), length=30, weekdays=frozenset({-1})), ["weekday_range"]),
    "weekly ok": (Timing("weekly", weekdays=frozenset({2})), []),
    "weekly no weekday": (Timing("weekly"), ["weekly_needs_one_weekday"]),
    "weekly two weekdays": (Timing("weekly", weekdays=frozenset({1, 2})), ["weekly_needs_one_weekday"]),
    "monthly without day": (Timing("monthly"), ["day_required"]),
    "monthly day 0": (Timing("monthly", day=0), ["day_range"]),
    "monthly day 32": (Timing("monthly", day=32), ["day_range"]),
    "monthly day 31 ok": (Timing("monthly", day=31), []),
    "quarterly without month": (Timing("quarterly", day=15), ["month_required"]),
    "quarterly month 4": (Timing("quarterly", month=4, day=15), ["month_range"]),
    "yearly month 13": (Timing("yearly", month=13, day=1), ["month_range"]),
    "yearly Feb 29 ok": (Timing("yearly", month=2, day=29), []),
    "unknown kind": (Timing("hourly", every=60), ["unknown_kind"]),
}


@pytest.mark.parametrize(("timing", "expected"), CHECK_CASES.values(), ids=CHECK_CASES.keys())
def test_check(timing, expected):
    assert check(timing) == expected


def test_windows_refuses_an_invalid_timing():
    with pytest.raises(ValueError, match="every_range"):
        windows(Timing("interval", start=time(8), end=time(9), every=1), SHANGHAI,
                datetime(2027, 1, 1), datetime(2027, 1, 2))


OPENS = datetime(2027, 1, 4, 2)
CLOSES = OPENS + timedelta(hours=2)
GRACE = timedelta(minutes=30)
LATE_UNTIL = CLOSES + GRACE
BOUNDARY_CASES = {
    "record exactly at opens is done": (OPENS, OPENS + SECOND, "done", 7),
    "record one second before closes is done": (CLOSES - SECOND, CLOSES, "done", 7),
    "record one second before opens fills nothing, then missed": (OPENS - SECOND, LATE_UNTIL, "missed", None),
    "record one second before opens fills nothing, still open": (OPENS - SECOND, CLOSES, "open", None),
    "record exactly at closes is late": (CLOSES, LATE_UNTIL, "late", 7),
    "record one second before grace ends is late": (LATE_UNTIL - SECOND, LATE_UNTIL, "late", 7),
    "record exactly at closes + grace is not late": (LATE_UNTIL, LATE_UNTIL, "missed", None),
    "no record, before opens": (None, OPENS - timedelta(hours=1), "open", None),
    "no record, window closed but in grace": (None, LATE_UNTIL - SECOND, "open", None),
    "no record, grace over": (None, LATE_UNTIL, "missed", None),
}


@pytest.mark.parametrize(("at", "now", "status", "record_id"), BOUNDARY_CASES.values(), ids=BOUNDARY_CASES.keys())
def test_classify_boundaries(at, now, status, record_id):
    due = Due("round", spot_id=1, opens=OPENS, closes=CLOSES, grace=GRACE)
    done = [] if at is None else [Done(7, spot_id=1, at=at)]
    assert classify([due], done, now) == [(due, status, record_id)]


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, 4, hour, minute)


def due(key: str, opens: datetime, closes: datetime, grace_minutes: int = 0, spot_id: int = 1,
        sop_id: int | None = None) -> Due:
    return Due(key, spot_id, opens, closes, timedelta(minutes=grace_minutes), sop_id)


# Overlapping windows of one spot, as "times" with a long length give.
A = due("A", at(10), at(12))
B = due("B", at(11), at(13))
MATCH_CASES = {
    "one record in both windows fills only the first": (
        [A, B], [Done(1, 1, at(11, 30))], at(12, 30), [("A", "done", 1), ("B", "open", None)]),
    "and the second is missed once it closes": (
        [A, B], [Done(1, 1, at(11, 30))], at(13), [("A", "done", 1), ("B", "missed", None)]),
    "two records fill both, earliest to the earliest window": (
        [B, A], [Done(2, 1, at(11, 45)), Done(1, 1, at(11, 15))], at(14), [("B", "done", 2), ("A", "done", 1)]),
    "an extra record fills nothing more": (
        [A], [Done(1, 1, at(10, 5)), Done(2, 1, at(10, 10))], at(14), [("A", "done", 1)]),
    "a record in a round and in the grace of the one before fills the round": (
        [due("A", at(10), at(12), grace_minutes=60), due("B", at(12), at(14))], [Done(1, 1, at(12, 30))], at(15),
        [("A", "missed", None), ("B", "done", 1)]),
    "a skipped round is the one missed, not the last one": (
        [due(f"{h}", at(h), at(h + 1), grace_minutes=15) for h in range(18, 23)],
        [Done(h, 1, at(h, 5)) for h in range(18, 23) if h != 19], at(23, 30),
        [("18", "done", 18), ("19", "missed", None), ("20", "done", 20), ("21", "done", 21),
         ("22", "done", 22)]),
    "not the most windows: both could be late, but the round with a scan is done": (
        [due("A", at(6, 30), at(6, 35), grace_minutes=15), due("B", at(6, 35), at(6, 40), grace_minutes=15)],
        [Done(1, 1, at(6, 35)), Done(2, 1, at(6, 50))], at(8),
        [("A", "missed", None), ("B", "done", 1)]),
    "a second record in the round frees the first for the round before, late": (
        [due("A", at(10), at(12), grace_minutes=60), due("B", at(12), at(14))],
        [Done(1, 1, at(12, 30)), Done(2, 1, at(13, 30))], at(15),
        [("A", "late", 1), ("B", "done", 2)]),
    "scans at 22:10 and 23:00 fill the 20:00 round late and the 22:00 round done": (
        [due("A", at(20), at(22), grace_minutes=15), due("B", at(22), at(23, 59))],
        [Done(1, 1, at(22, 10)), Done(2, 1, at(23))], at(23, 59),
        [("A", "late", 1), ("B", "done", 2)]),
    "a short window inside a long one: both filled when the records allow": (
        [due("L", at(10), at(14)), due("S", at(11), at(12))],
        [Done(1, 1, at(11, 30)), Done(2, 1, at(13))], at(15),
        [("L", "done", 2), ("S", "done", 1)]),
    "a record only in a grace period still counts as late": (
        [due("A", at(10), at(12), grace_minutes=60), due("B", at(13), at(14))], [Done(1, 1, at(12, 30))], at(15),
        [("A", "late", 1), ("B", "missed", None)]),
    "windows opening and closing together: the first given takes the record": (
        [due("Y", at(10), at(12)), due("X", at(10), at(12))], [Done(1, 1, at(11))], at(14),
        [("Y", "done", 1), ("X", "missed", None)]),
    "a record between windows fills nothing": (
        [due("A", at(8), at(9)), due("B", at(10), at(11))], [Done(1, 1, at(9, 30))], at(12),
        [("A", "missed", None), ("B", "missed", None)]),
    "a record at another spot does not count": (
        [A], [Done(1, 2, at(10, 30))], at(14), [("A", "missed", None)]),
    "a record against another SOP does not count": (
        [due("A", at(10), at(12), sop_id=5)], [Done(1, 1, at(10, 30), sop_id=6)], at(14), [("A", "missed", None)]),
    "a record without SOP does not count for a window with one": (
        [due("A", at(10), at(12), sop_id=5)], [Done(1, 1, at(10, 30))], at(14), [("A", "missed", None)]),
    "the record of the window's SOP counts, not an earlier one": (
        [due("A", at(10), at(12), sop_id=5)], [Done(1, 1, at(10, 10), sop_id=6), Done(2, 1, at(10, 20), sop_id=5)],
        at(14), [("A", "done", 2)]),
    "a window without SOP takes any record": (
        [A], [Done(1, 1, at(10, 30), sop_id=6)], at(14), [("A", "done", 1)]),
}


@pytest.mark.parametrize(("dues", "done", "now", "expected"), MATCH_CASES.values(), ids=MATCH_CASES.keys())
def test_classify_matching(dues, done, now, expected):
    result = classify(dues, done, now)
    assert [r[0] for r in result] == dues
    assert [(r[0].key, r[1], r[2]) for r in result] == expected


clock = st.integers(0, 24 * 60 - 1).map(lambda m: time(m // 60, m % 60))
days = st.frozensets(st.integers(0, 6))
TIMINGS = st.one_of(
    st.builds(Timing, st.just("interval"), start=clock, end=clock, every=st.integers(5, 1440),
              weekdays=days),
    st.builds(Timing, st.just("spread"), start=clock, end=clock, count=st.integers(1, 48),
              weekdays=days),
    st.builds(Timing, st.just("times"), times=st.lists(clock, min_size=1, max_size=4).map(tuple),
              length=st.integers(5, 1440), weekdays=days),
    st.builds(Timing, st.just("daily"), weekdays=days),
    st.builds(Timing, st.just("weekly"), weekdays=st.integers(0, 6).map(lambda d: frozenset({d}))),
    st.builds(Timing, st.just("monthly"), day=st.integers(1, 31)),
    st.builds(Timing, st.just("quarterly"), month=st.integers(1, 3), day=st.integers(1, 31)),
    st.builds(Timing, st.just("yearly"), month=st.integers(1, 12), day=st.integers(1, 31)))
# No DST, DST at 02:00 and at midnight, and half-hour DST (Lord Howe).
ZONES = st.sampled_from([SHANGHAI, BERLIN, "America/Santiago", "Australia/Lord_Howe"])
MOMENTS = st.integers(0, 3 * 366 * 24 * 4).map(
    lambda quarters: datetime(2026, 1, 1) + timedelta(minutes=15 * quarters))


@settings(max_examples=300, deadline=None, database=None)
@given(TIMINGS, ZONES, st.lists(MOMENTS, min_size=3, max_size=3, unique=True).map(sorted))
def test_windows_of_a_period_are_those_of_its_parts(timing, tz, moments):
    """Any timing in any zone: windows ordered and not empty, opening in the range; the
    range cut in two gives the same windows; and apart from "times" (whose windows may
    overlap by design) one window closes before the next opens."""
    start, middle, end = moments
    found = windows(timing, tz, start, end)
    assert found == sorted(found)
    assert all(start <= opens < end and opens < closes for opens, closes in found)
    assert found == windows(timing, tz, start, middle) + windows(timing, tz, middle, end)
    if timing.kind != "times":
        assert all(a[1] <= b[0] for a, b in zip(found, found[1:]))


MORNING = datetime(2027, 1, 4, 6)


@st.composite
def windows_and_records(draw):
    """Windows and records crowded into one morning at two spots, so that they compete.
    At each spot the windows take any record or those of SOP 1 and 2 (a spot where both
    kinds meet is the case classify() leaves open); records of SOPs 1 to 3 or none. Windows
    for guards, technicians or anyone; records by a guard, a technician or both."""
    minute = st.integers(0, 120).map(lambda m: MORNING + timedelta(minutes=m))
    spot = st.sampled_from([1, 1, 1, 2])
    any_record = {1: draw(st.booleans()), 2: draw(st.booleans())}
    dues = []
    for key in range(draw(st.integers(1, 7))):
        opens, at = draw(minute), draw(spot)
        dues.append(Due(key, at, opens,
                        opens + timedelta(minutes=draw(st.integers(1, 120))),
                        timedelta(minutes=draw(st.sampled_from([0, 15, 60]))),
                        None if any_record[at] else draw(st.sampled_from([1, 2])),
                        draw(st.sampled_from([None, "guard", "guard", "technician"]))))
    done = [Done(record_id, draw(spot), draw(minute), draw(st.sampled_from([None, 1, 2, 3])),
                 draw(st.sampled_from([GUARD, GUARD, TECHNICIAN, GUARD | TECHNICIAN])))
            for record_id in range(draw(st.integers(0, 7)))]
    return dues, done, draw(minute)


GUARD, TECHNICIAN = frozenset({"guard"}), frozenset({"technician"})


def fits(record: Done, due: Due, low: datetime, high: datetime) -> bool:
    return record.spot_id == due.spot_id and due.sop_id in (None, record.sop_id) \
        and due.role in (None, *record.roles) and low <= record.at < high


@settings(max_examples=500, deadline=None, database=None)
@given(windows_and_records())
def test_classify_leaves_no_fitting_record_unused_and_for_good(case):
    dues, done, now = case
    result = classify(dues, done, now)
    assert [due for due, _, _ in result] == dues
    records = {record.record_id: record for record in done}
    used = [record_id for _, _, record_id in result if record_id is not None]
    assert len(used) == len(set(used)), "a record filled two windows"
    unused = [record for record in done if record.record_id not in used]
    for due, status, record_id in result:
        deadline = due.closes + due.grace
        if status != "done":  # late or empty only when every record made during it is used
            assert not [r for r in unused if fits(r, due, due.opens, due.closes)]
        if record_id is None:
            assert status == ("missed" if now >= deadline else "open")
            assert not [r for r in unused if fits(r, due, due.closes, deadline)]
            continue
        record = records[record_id]
        assert fits(record, due, due.opens, deadline)
        assert status == ("done" if record.at < due.closes else "late")
    # A window's answer rests on the records before it settled alone: what comes later
    # never changes a finished day (app/reports/stats.py stores its counts).
    for due, status, record_id in result:
        earlier = [record for record in done if record.at < settled(due, dues)]
        assert (due, status, record_id) in classify(dues, earlier, now)


def test_a_round_settles_only_once_no_open_round_can_free_a_record_for_it():
    """Found by a random search: the record at 07:10 lets Y and Z take others and frees
    the one at 06:15 for D's grace, an hour after D's deadline. D had not settled."""
    def window(key, opens, closes, grace, sop_id):
        return due(key, MORNING + timedelta(minutes=opens), MORNING + timedelta(minutes=closes),
                   grace, sop_id=sop_id)
    d = window("D", 0, 10, 15, 2)
    dues = [d, window("E", 20, 30, 15, 1), window("Y", 30, 100, 0, 1),
            window("Z", 32, 40, 60, None), window("X", 12, 60, 60, 2)]
    done = [Done(1, 1, MORNING + timedelta(minutes=15), 2), Done(2, 1, MORNING + timedelta(minutes=35), 1),
            Done(3, 1, MORNING + timedelta(minutes=50), 2)]
    later = Done(4, 1, MORNING + timedelta(minutes=70), 1)
    end = MORNING + timedelta(days=1)
    assert classify(dues, done, end)[0][1:] == ("missed", None)
    assert classify(dues, done + [later], end)[0][1:] == ("late", 1)
    assert settled(d, dues) > later.at


def test_a_daily_round_beside_a_night_patrol_settles_early_in_the_day_after_next():
    """A daily check with 2 h of grace and a patrol every 90 min from 20:00 to 06:00 at one
    spot: every night's 23:00-00:30 round crosses into the next day's check. 03-01's check
    may still be changed by the records of 03-02 (03-02's check may take the scan at 01:00
    that 03-01's could take late), and so by the 23:00 round that 03-02's check comes
    after; not by anything later, however many nights follow."""
    zone, days = "Asia/Shanghai", (datetime(2027, 2, 28, 16), datetime(2027, 3, 9, 16))
    dues = [due("daily", opens, closes, 120) for opens, closes in
            windows(Timing("daily"), zone, *days)]
    dues += [due("patrol", opens, closes, 30) for opens, closes in
             windows(Timing("interval", start=time(20), end=time(6), every=90), zone, *days)]
    first = dues[0]
    assert first.opens == datetime(2027, 2, 28, 16)  # 00:00 local, 03-01
    assert settled(first, dues) == datetime(2027, 3, 2, 16, 30)  # 00:30 local, 03-03


@st.composite
def rounds_of_one_schedule(draw):
    """One spot's rounds one after the other, with gaps or none and a grace that may
    reach into the next round; records anywhere among them."""
    opens, dues = MORNING, []
    for key in range(draw(st.integers(1, 7))):
        opens += timedelta(minutes=draw(st.sampled_from([0, 0, 5, 30])))
        closes = opens + timedelta(minutes=draw(st.integers(5, 60)))
        dues.append(Due(key, 1, opens, closes,
                        timedelta(minutes=draw(st.sampled_from([0, 15, 30, 90])))))
        opens = closes
    minute = st.integers(0, int((opens - MORNING).total_seconds() // 60) + 90)
    done = [Done(record_id, 1, MORNING + timedelta(minutes=draw(minute)))
            for record_id in range(draw(st.integers(0, 8)))]
    return dues, done


@settings(max_examples=500, deadline=None, database=None)
@given(rounds_of_one_schedule())
def test_a_round_with_a_scan_during_it_is_done(case):
    """So a skipped round is the one missed: the next round keeps its own scan, and a
    round without one is filled late only by a scan no other round needs."""
    dues, done = case
    for due, status, _ in classify(dues, done, MORNING + timedelta(days=1)):
        during = [record for record in done if due.opens <= record.at < due.closes]
        assert (status == "done") == bool(during)


def test_500_schedules_over_30_days():
    """Runs the size the dashboard needs; the timing itself is measured in bench/, not here."""
    shapes = [
        Timing("interval", start=time(20), end=time(6), every=120),
        Timing("spread", start=time(7), end=time(21), count=3),
        Timing("times", times=(time(8), time(14), time(20)), length=60, weekdays=frozenset({0, 2, 4})),
        Timing("daily"),
        Timing("monthly", day=31),
    ]
    start, end = datetime(2027, 1, 1), datetime(2027, 1, 31)
    dues = [due(f"{spot}", opens, closes, 30, spot_id=spot)
            for spot in range(500)
            for opens, closes in windows(shapes[spot % 5], SHANGHAI, start, end)]
    assert len(dues) > 500 * 30
    result = classify(dues, [Done(1, 0, dues[0].opens)], end)
    assert {status for _, status, _ in result} == {"done", "missed", "open"}
