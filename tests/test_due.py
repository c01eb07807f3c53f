"""Today's list: what is due for a field worker, computed from schedules and records."""
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app import due, filters
from app.extensions import db
from app.models import Record, Scan, Schedule, Stop, User

from .conftest import spot_by_code, user
from . import helpers
from .helpers import answers

# 2027-03-05 is a Friday; Shanghai is UTC+8, so 21:30 local is 13:30 UTC.
EVENING = datetime(2027, 3, 5, 13, 30)


@pytest.fixture(autouse=True)
def schedules_since_last_year(app):
    for schedule in db.session.scalars(select(Schedule)):
        schedule.valid_from = datetime(2026, 1, 1)
    db.session.commit()


def record_at(client, code, at, **overrides):
    key = "".join(c if c in "0123456789abcdef" else "0" for c in f"{code}{at:%d%H%M%S}".lower())
    return helpers.record_at(client, spot_by_code(code), at, key.ljust(32, "0"), **overrides)


def names(rounds):
    return [r.schedule.name_en for r in rounds]


def test_the_guard_sees_the_night_route_due_now_with_its_checkpoints(app):
    day = due.today(user("guard"), EVENING)
    night = next(r for r in day.now if r.schedule.name_en == "Night patrol")
    assert [s.spot.code for s in night.slots] == ["CP-01", "CP-03", "CP-04", "CP-05", "CP-02"]
    assert night.opens == datetime(2027, 3, 5, 12, 0)  # 20:00 local
    assert "Lobby cleaning" not in names(day.now + day.next + day.done + day.missed)


def test_a_checkpoint_done_inside_the_window_is_ticked_off(app, as_user):
    record_at(as_user("guard"), "CP-03", EVENING - timedelta(minutes=10))
    night = next(r for r in due.today(user("guard"), EVENING).now
                 if r.schedule.name_en == "Night patrol")
    assert [s.status for s in night.slots] == ["open", "done", "open", "open", "open"]
    assert night.done_count == 1


def test_a_day_round_with_a_checkpoint_skipped_is_missed(app, as_user):
    guard = as_user("guard")
    # Day patrol 16:00-20:00 local = 08:00-12:00 UTC; CP-02 is skipped.
    record_at(guard, "CP-01", datetime(2027, 3, 5, 9, 0))
    record_at(guard, "CP-03", datetime(2027, 3, 5, 9, 20))
    day = due.today(user("guard"), EVENING)
    afternoon = next(r for r in day.missed if r.schedule.name_en == "Day patrol"
                     and r.opens == datetime(2027, 3, 5, 8, 0))
    assert {s.spot.code: s.status for s in afternoon.slots} == {
        "CP-01": "done", "CP-02": "missed", "CP-03": "done"}


def test_the_home_page_lists_the_day_for_field_roles_only(app, as_user, monkeypatch):
    monkeypatch.setattr("app.field.utcnow", lambda: EVENING)
    html = as_user("guard").get("/?lang=en").get_data(as_text=True)
    assert "Due now" in html and "Night patrol" in html and "0 of 5 checkpoints done" in html
    assert "Missed today" in html  # the day patrol rounds nobody walked
    cleaner = as_user("cleaner").get("/?lang=en").get_data(as_text=True)
    assert "Night patrol" not in cleaner and "Lobby cleaning" in cleaner
    assert "Due now" not in as_user("supervisor").get("/?lang=en").get_data(as_text=True)


def test_a_whole_day_window_reads_all_day_not_midnight_to_midnight(as_user, monkeypatch):
    monkeypatch.setattr("app.field.utcnow", lambda: EVENING)
    for lang, words in (("zh_CN", "全天"), ("en", "all day")):
        html = as_user("tech").get(f"/?lang={lang}").get_data(as_text=True)
        assert words in html and "00:00–00:00" not in html, lang
    html = as_user("guard").get("/?lang=en").get_data(as_text=True)
    assert "20:00–22:00" in html  # a night patrol window, as it was


@pytest.mark.parametrize("opens, closes, dated, text", [
    ((2027, 3, 4, 16), (2027, 3, 5, 16), False, "all day"),  # Shanghai's midnight to midnight
    ((2027, 3, 4, 16), (2027, 3, 5, 16), True, "03-05 all day"),
    ((2027, 3, 5, 0), (2027, 3, 5, 2), False, "08:00–10:00"),
    ((2027, 3, 5, 0), (2027, 3, 5, 2), True, "03-05 08:00–10:00"),
    ((2027, 3, 5, 12), (2027, 3, 5, 22), False, "20:00–06:00"),  # through the night
    ((2027, 3, 5, 0), (2027, 3, 6, 0), False, "08:00 – 03-06 08:00"),  # 24 h from 08:00
    ((2027, 3, 5, 0), (2027, 3, 6, 0), True, "03-05 08:00 – 03-06 08:00"),
])
def test_windows_read_as_people_say_them(app, opens, closes, dated, text):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert filters.window(datetime(*opens), datetime(*closes), "Asia/Shanghai",
                              dated) == text


def test_a_schedule_naming_people_shows_only_to_them(app):
    night = db.session.scalar(select(Schedule).where(Schedule.name_en == "Night patrol"))
    other = User(username="guard2", name="Guard 2")
    other.set_password("demo1234")
    other.roles = ["guard"]
    other.sites = list(user("guard").sites)
    night.assignees = [other]
    db.session.commit()
    assert "Night patrol" not in names(due.today(user("guard"), EVENING).now)
    assert "Night patrol" in names(due.today(other, EVENING).now)


def test_a_record_fills_one_window_only(app, as_user):
    # Lift car: 09:00 and 15:00 windows (01:00 and 07:00 UTC), 120 min each, grace 30.
    record_at(as_user("cleaner"), "CZ-02", datetime(2027, 3, 5, 1, 30))
    rounds = [r for r in due.today(user("cleaner"), EVENING).done + due.today(
        user("cleaner"), EVENING).missed if r.schedule.name_en == "Lift car cleaning"]
    assert sorted(r.status for r in rounds) == ["done", "missed"]


def gate_check(role, **fields):
    """A check of the gate (CP-01): by default 20:30-21:30, due before the night patrol's
    20:00-22:00 round."""
    fields = {"timing": "times", "times": "20:30", "length": 60, **fields}
    schedule = Schedule(site_id=1, kind="route", name_zh="闸机检查", name_en="Gate check",
                        role=role, grace=0, valid_from=datetime(2026, 1, 1),
                        stops=[Stop(position=1, spot_id=spot_by_code("CP-01").id)], **fields)
    db.session.add(schedule)
    db.session.commit()
    return schedule


def at_the_gate(schedule, opens=None):
    """The status of the schedule's window at CP-01 on the dashboard's today."""
    [status] = [s.status for s in due.period(schedule.site, EVENING.date(), EVENING.date(),
                                             EVENING)
                if s.schedule.id == schedule.id and s.spot.code == "CP-01"
                and opens in (None, s.opens)]
    return status


def test_the_guard_sees_a_round_as_the_supervisor_does_where_another_route_shares_the_spot(
        app, as_user):
    """Another guard's gate check is due first and takes the guard's only scan of the gate,
    at 20:45. The patrol round is still open at the gate, on the guard's phone as on the
    dashboard."""
    other = User(username="guard2", name="Guard 2")
    other.set_password("demo1234")
    other.roles = ["guard"]
    other.sites = list(user("guard").sites)
    db.session.add(other)
    gate_check("guard", assignees=[other])
    record_at(as_user("guard"), "CP-01", datetime(2027, 3, 5, 12, 45))
    night = next(r for r in due.today(user("guard"), EVENING).now
                 if r.schedule.name_en == "Night patrol")
    on_the_phone = {s.spot.code: s.status for s in night.slots}["CP-01"]
    assert on_the_phone == at_the_gate(night.schedule, night.opens) == "open"


def test_a_technician_s_visit_does_not_walk_the_guard_s_patrol(app, as_user):
    """Only the technician came to the gate, at 20:30, for their daily check. The patrol
    round, due first, does not take that record: the check is done and the patrol round at
    the gate still open, for the guard's phone and the dashboard alike."""
    check = gate_check("technician", timing="daily")
    record_at(as_user("tech"), "CP-01", datetime(2027, 3, 5, 12, 30))
    night = next(r for r in due.today(user("guard"), EVENING).now
                 if r.schedule.name_en == "Night patrol")
    assert {s.spot.code: s.status for s in night.slots}["CP-01"] == "open"
    assert at_the_gate(night.schedule, night.opens) == "open"
    assert at_the_gate(check) == "done"


def test_monthly_maintenance_is_its_own_checklist_and_window(app, as_user):
    tech = as_user("tech")
    pump = spot_by_code("EQ-FP-01")
    page = tech.get(f"/t/{pump.token}?lang=en").get_data(as_text=True)
    monthly = db.session.scalar(select(Schedule).where(
        Schedule.name_en == "Fire pump monthly maintenance")).sop
    assert f"sop={monthly.id}" in page and "Fire pump monthly maintenance" in page
    form_page = tech.get(f"/t/{pump.token}?sop={monthly.id}&lang=en").get_data(as_text=True)
    assert "Manual start test run" in form_page
    scan = db.session.scalar(select(Scan).order_by(Scan.id.desc()))
    data = answers(pump, key="e" * 32, version_id=str(monthly.current.id),
                   fingerprint=monthly.current.fingerprint(), scan_id=str(scan.id))
    for step in monthly.current.steps:
        data[f"step-{step.id}"] = {"tick": "ok", "reading": "30", "text": "done"}[step.kind]
        if step.photo_required:
            data[f"photo-{step.id}"] = answers(pump)[f"photo-{pump.sop.current.steps[0].id}"]
    response = tech.post(f"/spots/{pump.id}/records", data=data,
                         content_type="multipart/form-data")
    assert response.status_code == 303
    record = db.session.scalar(select(Record).where(Record.submission_key == "e" * 32))
    assert record.version.sop_id == monthly.id
    # On the 15th, the monthly maintenance window is done and the daily inspection is not.
    record.submitted_at = datetime(2027, 3, 15, 2, 0)
    db.session.commit()
    day = due.today(user("tech"), datetime(2027, 3, 15, 6, 0))
    statuses = {r.schedule.name_en: r.status for r in day.done + day.now + day.missed}
    assert statuses["Fire pump monthly maintenance"] == "done"
    assert statuses["Fire pump daily inspection"] == "open"


def test_an_edited_schedule_keeps_its_past_windows(app, as_user):
    lobby = db.session.scalar(select(Schedule).where(Schedule.name_en == "Lobby cleaning"))
    record_at(as_user("cleaner"), "CZ-01", datetime(2027, 3, 4, 23, 30))  # 07:30 local
    edit_at = datetime(2027, 3, 5, 2, 0)  # 10:00 local: now 2x a day from here on
    new = lobby.revise(edit_at)
    new.count = 2
    db.session.add(new)
    db.session.commit()
    day = due.today(user("cleaner"), EVENING)
    lobby_rounds = [r for r in day.done + day.missed + day.now + day.next + day.overdue
                    if r.schedule.lineage == lobby.id]
    opens = sorted(r.opens for r in lobby_rounds)
    assert opens[0] == datetime(2027, 3, 4, 23, 0)  # the old first window, done, stays
    assert next(r for r in lobby_rounds if r.opens == opens[0]).status == "done"
    assert all(r.opens < edit_at or r.schedule.id == new.id for r in lobby_rounds)


def test_a_worker_sees_only_their_sites(app, other_site):
    gate = db.session.scalar(select(Schedule).where(Schedule.name_en == "Night patrol"))
    elsewhere = gate.revise(datetime(2026, 1, 1))
    elsewhere.site_id, elsewhere.name_en, elsewhere.origin_id = other_site.id, "Riverside night", None
    elsewhere.valid_until = None
    elsewhere.stops = [Stop(position=1, spot_id=spot_by_code("CP-01", "Riverside Apartments").id)]
    gate.valid_until = None
    db.session.add(elsewhere)
    db.session.commit()
    assert "Riverside night" not in names(due.today(user("guard"), EVENING).now)
    admin_guard = user("admin")
    admin_guard.roles = ["admin", "supervisor", "guard"]
    db.session.commit()
    assert "Riverside night" in names(due.today(admin_guard, EVENING).now)


def test_just_after_midnight_last_nights_round_is_still_listed(app):
    # 00:05 local on 03-06: the 22:00-00:00 night round of 03-05 is in its 15 min grace.
    day = due.today(user("guard"), datetime(2027, 3, 5, 16, 5))
    overdue = [r for r in day.overdue if r.schedule.name_en == "Night patrol"]
    assert [r.opens for r in overdue] == [datetime(2027, 3, 5, 14, 0)]


def test_just_after_midnight_last_night_s_round_keeps_its_done_checkpoints(app, as_user):
    guard = as_user("guard")
    record_at(guard, "CP-01", datetime(2027, 3, 5, 14, 30))  # 22:30 local
    record_at(guard, "CP-03", datetime(2027, 3, 5, 14, 40))
    day = due.today(user("guard"), datetime(2027, 3, 5, 16, 5))  # 00:05, in its grace
    [night] = [r for r in day.overdue if r.schedule.name_en == "Night patrol"]
    assert night.opens == datetime(2027, 3, 5, 14, 0)
    assert len(night.slots) == 5 and night.done_count == 2


def test_an_edit_during_a_round_starts_the_new_rules_after_it(app):
    night = db.session.scalar(select(Schedule).where(Schedule.name_en == "Night patrol"))
    edit_at = datetime(2027, 3, 5, 13, 0)  # 21:00 local, inside the 20:00-22:00 round
    hourly = night.revise(edit_at)
    hourly.every = 60
    db.session.add(hourly)
    db.session.commit()
    assert hourly.valid_from == datetime(2027, 3, 5, 14, 0)  # 22:00 local
    day = due.today(user("guard"), EVENING)
    nights = [r for r in day.now + day.next if r.schedule.lineage == night.id]
    opens = [r.opens for r in nights]
    assert opens[:3] == [datetime(2027, 3, 5, 12, 0), datetime(2027, 3, 5, 14, 0),
                         datetime(2027, 3, 5, 15, 0)]  # 20:00 old, then hourly from 22:00
    assert len(opens) == len(set(opens))


def test_a_record_made_without_opening_the_label_fills_no_round(app, as_user):
    """The list guides; the scan proves the visit. A redo from the home page has no scan."""
    spot = spot_by_code("CZ-02")
    response = as_user("cleaner").post(f"/spots/{spot.id}/records",
                                       data=answers(spot, key="f" * 32),
                                       content_type="multipart/form-data")
    assert response.status_code == 303
    record = db.session.scalar(select(Record).where(Record.submission_key == "f" * 32))
    record.submitted_at = datetime(2027, 3, 5, 1, 30)
    db.session.commit()
    day = due.today(user("cleaner"), EVENING)
    lift = [r for r in day.done + day.missed if r.schedule.name_en == "Lift car cleaning"]
    assert sorted(r.status for r in lift) == ["missed", "missed"]
