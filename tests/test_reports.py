"""The supervisor dashboard: rates, missed and late rounds, and the windows behind each number."""
import re
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import delete, select

from app.extensions import db
from app.models import DayCount, Record, Schedule, Stop
from app.reports import dashboard, stats

from .conftest import spot_by_code
from .test_due import EVENING, record_at


@pytest.fixture(autouse=True)
def fixed_clock(app, monkeypatch):
    for schedule in db.session.scalars(select(Schedule)):
        schedule.valid_from = datetime(2026, 1, 1)
    db.session.commit()
    monkeypatch.setattr("app.reports.dashboard.utcnow", lambda: EVENING)


def kpi(html, css):
    return int(re.search(rf'class="kpi {css}"[^>]*><strong>(\d+)</strong>', html).group(1))


def test_missed_rounds_show_with_spot_window_and_who_was_due(as_user):
    guard = as_user("guard")
    # Day patrol 16:00-20:00 local: CP-01 and CP-03 walked, the West gate skipped.
    record_at(guard, "CP-01", datetime(2027, 3, 5, 9, 0))
    record_at(guard, "CP-03", datetime(2027, 3, 5, 9, 20))
    html = as_user("supervisor").get("/reports/sites/1?lang=en").get_data(as_text=True)
    missed_block = html.split("Missed today (")[1]
    assert "West gate" in missed_block and "03-05 16:00–20:00" in missed_block
    assert "Due for: Guard" in missed_block


def test_every_number_links_to_the_windows_behind_it(as_user, site):
    record_at(as_user("guard"), "CP-01", datetime(2027, 3, 5, 9, 0))
    client = as_user("supervisor")
    html = client.get(f"/reports/sites/{site.id}?lang=en").get_data(as_text=True)
    missed = kpi(html, "bad")
    assert missed > 0
    link = re.search(r'class="kpi bad" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    behind = client.get(link).get_data(as_text=True)
    assert f"{missed} rounds" in behind
    assert behind.count('class="badge missed"') == missed
    # A row of the table: the number shown is the number of windows listed behind it.
    row = re.search(r'<a href="([^"]+schedule=\d+&amp;status=missed)">(\d+)</a>', html)
    behind = client.get(row.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert behind.count('class="badge missed"') == int(row.group(2)) > 0


def test_a_list_of_one_schedule_or_kind_agrees_with_the_whole_site_s(as_user, site):
    """Behind a schedule's or a kind's number only their spots are matched (quicker on a
    large site), with every schedule at those spots: a scan at 20:10 at the gate serves
    the night patrol's 20:00 round, so the day patrol's 16:00 round is missed, not late."""
    record_at(as_user("guard"), "CP-01", datetime(2027, 3, 4, 12, 10))  # 20:10 local
    client = as_user("supervisor")
    everything = stats.all_slots(site, 7, EVENING)

    def listed(slots):
        return [(s.schedule.id, s.spot.id, s.opens, s.status) for s in slots]

    for lineage, kind in {(s.schedule.lineage, None) for s in everything} | {
            (None, s.schedule.kind) for s in everything}:
        alone = stats.all_slots(site, 7, EVENING, spot_ids=dashboard.spots_of(site, lineage, kind))
        assert listed(stats.matching(alone, lineage=lineage, kind=kind)) == \
            listed(stats.matching(everything, lineage=lineage, kind=kind))
    day_patrol = next(s.schedule for s in everything if s.schedule.name_en == "Day patrol")
    behind = f"/reports/sites/{site.id}/windows?days=7&schedule={day_patrol.id}&lang=en"
    assert "03-04 16:00–20:00" in client.get(behind + "&status=missed").get_data(as_text=True)
    assert "03-04 16:00–20:00" not in client.get(behind + "&status=late").get_data(as_text=True)
    [gate] = [s for s in everything if s.schedule == day_patrol and s.spot.code == "CP-01"
              and s.opens == datetime(2027, 3, 4, 8, 0)]
    assert gate.status == "missed"


def test_rates_count_done_and_late_over_closed_windows(as_user, site):
    record_at(as_user("cleaner"), "CZ-02", datetime(2027, 3, 5, 1, 30))  # lift car 09:00 round
    board = stats.board(site, 1, EVENING)
    lift = next(t for lineage, t in board.by_schedule.items()
                if db.session.get(Schedule, lineage).name_en == "Lift car cleaning")
    assert (lift.done, lift.late, lift.missed, lift.rate) == (1, 0, 1, 50)


@pytest.mark.parametrize("username", ["guard", "cleaner", "tech"])
def test_workers_do_not_see_the_dashboard(as_user, site, username):
    assert as_user(username).get(f"/reports/sites/{site.id}").status_code == 403


def test_periods_and_bad_filters(as_user, site):
    client = as_user("supervisor")
    for days in (1, 7, 30, 999, "x"):
        assert client.get(f"/reports/sites/{site.id}?days={days}").status_code == 200
    assert client.get(f"/reports/sites/{site.id}/windows?day=2027-02-30").status_code == 400
    assert client.get(f"/reports/sites/{site.id}/windows?hour=99&status=nope").status_code == 200
    assert client.get(f"/reports/sites/{site.id}/windows?hour=²").status_code == 200


def stored_days(site):
    # Stored in a transaction of their own: end ours, which on SQLite reads a snapshot.
    db.session.commit()
    return db.session.scalars(select(DayCount.day).where(DayCount.site_id == site.id)
                              .order_by(DayCount.day)).all()


def test_finished_days_are_stored_and_agree_with_a_fresh_count_and_the_lists(as_user, site):
    guard = as_user("guard")
    # Night patrol 04:00-06:00 local on 03-02 = 20:00-22:00 UTC on 03-01; a scan just after
    # local midnight could serve the 22:00-24:00 round of 03-01 late or 00:00 of 03-02 done.
    # With a second scan in the 00:00 round, the first serves 03-01's last round, late.
    record_at(guard, "CP-01", datetime(2027, 3, 1, 16, 5))  # 00:05 local on 03-02
    record_at(guard, "CP-01", datetime(2027, 3, 1, 17, 0))  # 01:00 local on 03-02
    record_at(guard, "CP-03", datetime(2027, 3, 1, 9, 0))
    first = stats.board(site, 7, EVENING)
    # On 03-05 the rounds of the five days before 03-04 are settled; 03-04's fire pump
    # inspection (2 h grace) may still be filled late until 03-05's has been done.
    assert stored_days(site) == [date(2027, 2, day) for day in (27, 28)] + [
        date(2027, 3, day) for day in (1, 2, 3)]
    stored = stats.board(site, 7, EVENING)
    db.session.execute(delete(DayCount))
    db.session.commit()
    fresh = stats.board(site, 7, EVENING)
    for board in (stored, fresh):
        assert board.total == first.total and board.by_day == first.by_day
        assert board.by_schedule == first.by_schedule and board.by_person == first.by_person
        assert board.by_kind == first.by_kind and board.missed_by_hour == first.missed_by_hour
    listed = stats.all_slots(site, 7, EVENING)
    for status in ("done", "late", "missed"):
        assert getattr(first.total, status) == sum(s.status == status for s in listed)
    # A day's bar links to that day's windows alone.
    day = date(2027, 3, 1)
    listed = stats.all_slots(site, 7, EVENING, day)
    assert (first.by_day[day].done, first.by_day[day].late, first.by_day[day].missed) == tuple(
        sum(s.status == status for s in listed) for status in ("done", "late", "missed"))
    assert first.by_day[day].late == 1  # 00:05 on 03-02 served 03-01's last round, late
    assert stats.all_slots(site, 7, EVENING, date(2027, 2, 1)) == []  # outside the period


def test_a_day_s_list_agrees_with_its_bar_when_the_next_day_s_round_is_due_first(as_user, site):
    """The gate's daily check (2 h grace) and a half-hour check just after midnight both
    take any record at CP-01. The scan at 00:40 on 03-04 serves the half-hour check, which
    is due first, so 03-03's daily check was missed: in the 7-day bar and in the list
    behind it, which holds 03-03's windows only."""
    spot = spot_by_code("CP-01")
    for name, timing, grace in (("Gate daily check", {"timing": "daily"}, 120),
                                ("Gate midnight check", {"timing": "times", "times": "00:30",
                                                         "length": 30}, 0)):
        db.session.add(Schedule(site_id=site.id, kind="route", name_zh=name, name_en=name,
                                role="guard", grace=grace, valid_from=datetime(2026, 1, 1),
                                stops=[Stop(position=1, spot_id=spot.id)], **timing))
    db.session.commit()
    record_at(as_user("guard"), "CP-01", datetime(2027, 3, 3, 16, 40))  # 00:40 local, 03-04

    def daily_check(slots):
        [slot] = [s for s in slots if s.schedule.name_en == "Gate daily check"
                  and s.opens == datetime(2027, 3, 2, 16, 0)]  # 03-03 local
        return slot.status

    day = date(2027, 3, 3)
    assert daily_check(stats.all_slots(site, 7, EVENING)) == "missed"
    assert daily_check(stats.all_slots(site, 7, EVENING, day)) == "missed"
    bar = stats.board(site, 7, EVENING).by_day[day]
    listed = stats.all_slots(site, 7, EVENING, day)
    assert (bar.done, bar.late, bar.missed) == tuple(
        sum(s.status == status for s in listed) for status in ("done", "late", "missed"))


def test_a_missed_day_does_not_push_the_days_after_it_into_late(as_user, site):
    """A daily check with 2 h grace, alone at its spot: nothing on 03-01, a scan at 01:00
    on 03-02 and one at 00:40 on 03-03. 03-01 was missed and the two days after were done,
    in the 7-day bar, in each day's list and whichever days were counted and stored first."""
    spot = spot_by_code("CZ-03")
    db.session.execute(delete(Stop).where(Stop.spot_id == spot.id))
    db.session.add(Schedule(site_id=site.id, kind="cleaning", name_zh="楼梯间日检",
                            name_en="Stairwell daily check", role="cleaner", grace=120,
                            timing="daily", valid_from=datetime(2026, 1, 1),
                            stops=[Stop(position=1, spot_id=spot.id)]))
    db.session.commit()
    cleaner = as_user("cleaner")
    record_at(cleaner, "CZ-03", datetime(2027, 3, 1, 17, 0))  # 01:00 local, 03-02
    record_at(cleaner, "CZ-03", datetime(2027, 3, 2, 16, 40))  # 00:40 local, 03-03

    def checks(slots):
        return {local.date(): slot.status for slot in slots
                if slot.schedule.name_en == "Stairwell daily check"
                for local in [slot.opens + timedelta(hours=8)]}

    expected = {date(2027, 3, 1): "missed", date(2027, 3, 2): "done", date(2027, 3, 3): "done"}
    everything = checks(stats.all_slots(site, 7, EVENING))
    assert {day: everything[day] for day in expected} == expected
    for day, status in expected.items():
        assert checks(stats.all_slots(site, 7, EVENING, day)) == {day: status}
    # Stored in another order: 03-03 alone first (its run starting on 03-02), then the week.
    stats.board(site, 3, EVENING)
    week = stats.board(site, 7, EVENING)
    db.session.commit()  # end our reading transaction, which on SQLite holds a snapshot
    db.session.execute(delete(DayCount))
    db.session.commit()
    assert stats.board(site, 7, EVENING).by_day == week.by_day


def test_days_are_stored_in_order_so_a_stored_day_agrees_with_a_fresh_count(as_user, site):
    """Found by a review: Tuesday's 19:00 check lasts 10 h with a day's grace, so a scan
    early on Thursday could fill it late, unless Thursday's daily check needs that scan.
    Viewed every hour, Wednesday settled first; stored then, a later run of Tuesday alone
    was matched without Thursday and counted the check late. Fresh, it is missed."""
    for schedule in db.session.scalars(select(Schedule)):
        schedule.valid_until = datetime(2026, 1, 2)
    spot = spot_by_code("CZ-03")
    for timing in ({"timing": "times", "times": "19:00", "length": 600, "weekdays": "1",
                    "grace": 1440}, {"timing": "daily", "grace": 0}):
        db.session.add(Schedule(site_id=site.id, kind="cleaning", name_zh="检查", name_en="Check",
                                role="cleaner", valid_from=datetime(2026, 1, 1),
                                stops=[Stop(position=1, spot_id=spot.id)], **timing))
    db.session.commit()
    cleaner = as_user("cleaner")
    scan = datetime(2027, 3, 3, 19, 0)  # 03:00 local on Thursday 03-04
    for hour in range(80):  # from Monday 00:10 local
        now = datetime(2027, 2, 28, 16, 10) + timedelta(hours=hour)
        if now > scan and not db.session.scalar(select(Record.id)):
            record_at(cleaner, "CZ-03", scan)
        stats.board(site, 7, now)
        db.session.commit()
    kept = stats.board(site, 7, now).by_day
    db.session.execute(delete(DayCount))
    db.session.commit()
    assert stats.board(site, 7, now).by_day == kept


def test_a_day_is_stored_only_once_its_rounds_have_settled(as_user, site):
    just_after_midnight = datetime(2027, 3, 4, 16, 5)  # 00:05 local on 03-05
    before = stats.board(site, 7, just_after_midnight).by_day[date(2027, 3, 4)]
    assert stored_days(site)[-1] == date(2027, 3, 3)  # 03-04's last night round is in grace
    guard = as_user("guard")
    record_at(guard, "CP-01", datetime(2027, 3, 4, 16, 10))  # late for 22:00,
    record_at(guard, "CP-01", datetime(2027, 3, 4, 17, 0))  # as the 00:00 round has its own
    after = stats.board(site, 7, EVENING).by_day[date(2027, 3, 4)]
    assert (before.late, after.late) == (0, 1)
    assert stored_days(site)[-1] == date(2027, 3, 3)  # the fire pump's grace, as above
    stats.board(site, 7, datetime(2027, 3, 5, 16, 10))  # 00:10 on 03-06
    assert stored_days(site)[-1] == date(2027, 3, 4)


def test_a_pump_room_on_the_night_patrol_still_lets_its_days_be_stored(as_user, site):
    """Its daily check has 2 h of grace and the patrol's 23:00-00:30 round crosses into the
    next day's check, every night. Each day still settles early in the day after next
    (00:30 local), so the dashboard stores it, and what it stores is a fresh count."""
    for schedule in db.session.scalars(select(Schedule)):
        schedule.valid_until = datetime(2026, 1, 2)
    spot = spot_by_code("CP-01")
    for timing in ({"timing": "daily", "grace": 120},
                   {"timing": "interval", "span_start": time(20), "span_end": time(6),
                    "every": 90, "grace": 30}):
        db.session.add(Schedule(site_id=site.id, kind="route", name_zh="巡查", name_en="Rounds",
                                role="guard", valid_from=datetime(2026, 1, 1),
                                stops=[Stop(position=1, spot_id=spot.id)], **timing))
    db.session.commit()
    guard = as_user("guard")
    for day in range(1, 5):  # 23:10 local, each night: one scan for two rounds
        record_at(guard, "CP-01", datetime(2027, 3, day, 15, 10))
    week = stats.board(site, 7, EVENING)  # 21:30 local on 03-05
    assert stored_days(site)[-1] == date(2027, 3, 3)
    db.session.execute(delete(DayCount))
    db.session.commit()
    assert stats.board(site, 7, EVENING).by_day == week.by_day


def kept_rows(site):
    db.session.commit()  # as stored_days()
    return {row.day: row for row in db.session.scalars(
        select(DayCount).where(DayCount.site_id == site.id))}


def test_a_day_is_kept_without_the_one_spot_whose_check_may_still_be_filled_late(as_user, site):
    """The fire pump's daily check has 2 h of grace, so 03-04's check may be filled late
    by a scan early on 03-05 until 03-05's own check has a scan of its own: 03-04 is kept
    without the pump, the only spot not settled, and the pump is counted again on each view
    until 03-05 ends. What the view shows is what a fresh count shows, each time."""
    for schedule in db.session.scalars(select(Schedule).where(Schedule.name_en.in_(
            ["Domestic water pump inspection", "Switchgear room inspection",
             "Lift daily check"]))):
        schedule.valid_until = datetime(2026, 1, 2)
    db.session.commit()
    pump, day = spot_by_code("EQ-FP-01"), date(2027, 3, 4)
    tech = as_user("tech")
    record_at(tech, "EQ-FP-01", datetime(2027, 3, 4, 16, 30))  # 00:30 local on 03-05

    def viewed(now):
        board = stats.board(site, 7, now)
        rows = kept_rows(site)
        db.session.execute(delete(DayCount))
        db.session.commit()
        assert stats.board(site, 7, now).by_day == board.by_day  # a fresh count
        db.session.commit()
        db.session.execute(delete(DayCount))
        db.session.add_all(DayCount(site_id=site.id, day=row.day, rules=row.rules,  # as they were
                                    counts=row.counts, unsettled=row.unsettled)
                           for row in rows.values())
        db.session.commit()
        return board.by_day[day], rows[day]

    morning, row = viewed(datetime(2027, 3, 5, 1, 0))  # 09:00 local on 03-05
    assert row.unsettled == [pump.id]
    assert sum(n for dimension, *_, n in row.counts if dimension == "all") == \
        morning.total - 1  # all but the pump's check, missed for now: 03-05's took the scan
    record_at(tech, "EQ-FP-01", datetime(2027, 3, 5, 2, 0))  # 10:00: 03-05's own
    evening, row = viewed(EVENING)
    assert (evening.late, evening.missed) == (morning.late + 1, morning.missed - 1)
    assert row.unsettled == [pump.id]
    after, row = viewed(datetime(2027, 3, 5, 16, 10))  # 00:10 on 03-06: 03-05 has ended
    assert after == evening and row.unsettled == []
    assert sum(n for dimension, *_, n in row.counts if dimension == "all") == after.total


def test_a_day_is_not_kept_while_more_than_a_quarter_of_its_spots_may_change(as_user, site):
    """The four equipment rooms' daily checks all have 2 h of grace: four spots of twelve
    would be counted on each view, which costs more than counting the day."""
    stats.board(site, 7, EVENING)
    assert max(kept_rows(site)) == date(2027, 3, 3)


def test_counts_stored_under_other_rules_are_counted_again(site):
    first = stats.board(site, 7, EVENING)
    for row in db.session.scalars(select(DayCount)):
        row.rules, row.counts = stats.RULES - 1, [["all", None, "missed", 999]]
    db.session.commit()
    again = stats.board(site, 7, EVENING)
    assert again.total == first.total
    assert {row.rules for row in db.session.scalars(select(DayCount))} == {stats.RULES}
