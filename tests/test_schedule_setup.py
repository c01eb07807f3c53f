"""Schedules in the admin's setup: create, edit into a new version, end; as an admin sees them."""
import json
import re
from datetime import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Audit, Schedule, Sop, Stop

from .conftest import HIDDEN, spot_by_code, user
from .helpers import audits, count, html

NIGHT = {"kind": "route", "name_zh": "夜间巡更B线", "name_en": "Night patrol B", "role": "guard",
         "sop_id": "", "grace": "20", "timing": "interval", "span_start": "20:00",
         "span_end": "06:00", "every": "120", "stops": "CP-01 CP-03 CP-04"}


@pytest.fixture
def admin(as_user):
    """The demo admin, reading the pages in English."""
    client = as_user("admin")
    client.get("/setup/?lang=en")
    return client


def versions(name_zh: str) -> list[Schedule]:
    db.session.expire_all()
    return db.session.scalars(
        select(Schedule).where(Schedule.name_zh == name_zh).order_by(Schedule.id)).all()


def codes(schedule: Schedule) -> list[str]:
    return [stop.spot.code for stop in schedule.stops]


def error_beside(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">(.*?)</p>', page, re.S)
    return found[1] if found else ""


@pytest.fixture
def night(admin, site):
    response = admin.post(f"/setup/sites/{site.id}/schedules/new", data=NIGHT)
    assert response.status_code == 303, html(response)
    schedule, = versions(NIGHT["name_zh"])
    return schedule


@pytest.fixture
def hidden_schedule(hidden):
    schedule = Schedule(site_id=hidden["site_id"], kind="equipment", name_zh=HIDDEN + " 巡检",
                        name_en=HIDDEN + " check", role="technician", timing="daily")
    schedule.stops = [Stop(position=1, spot_id=hidden["spot_id"])]
    db.session.add(schedule)
    db.session.commit()
    return {**hidden, "schedule_id": schedule.id}


ROUTES = [
    ("GET", "/setup/sites/{site_id}/schedules"),
    ("GET", "/setup/sites/{site_id}/schedules/new"),
    ("POST", "/setup/sites/{site_id}/schedules/new"),
    ("GET", "/setup/schedules/{schedule_id}/edit"),
    ("POST", "/setup/schedules/{schedule_id}/edit"),
    ("POST", "/setup/schedules/{schedule_id}/end"),
]


@pytest.mark.parametrize("username", ["supervisor", "guard"])
@pytest.mark.parametrize("method,url", ROUTES)
def test_non_admins_are_refused(as_user, site, night, username, method, url):
    client = as_user(username)
    before = (count(Audit), count(Schedule))
    response = client.open(url.format(site_id=site.id, schedule_id=night.id), method=method,
                           data=NIGHT)
    assert response.status_code == 403
    assert (count(Audit), count(Schedule)) == before
    assert versions(NIGHT["name_zh"])[0].valid_until is None


@pytest.mark.parametrize("method,url", ROUTES)
def test_another_sites_schedules_are_not_found(admin, hidden_schedule, method, url):
    before = (count(Audit), count(Schedule))
    response = admin.open(url.format(**hidden_schedule), method=method,
                          data={**NIGHT, "stops": "H-1"})
    assert response.status_code == 404
    assert HIDDEN not in html(response)
    assert (count(Audit), count(Schedule)) == before
    assert db.session.get(Schedule, hidden_schedule["schedule_id"]).valid_until is None


def test_setup_links_each_sites_schedules(admin, site, other_site):
    page = html(admin.get("/setup/"))
    for s in (site, other_site):
        assert f"/setup/sites/{s.id}/schedules" in page


def test_create_a_night_route(admin, site, night):
    assert (night.kind, night.role, night.timing, night.grace) == ("route", "guard", "interval", 20)
    assert (night.span_start, night.span_end, night.every) == (time(20), time(6), 120)
    assert (night.valid_until, night.origin_id, night.sop_id) == (None, None, None)
    assert codes(night) == ["CP-01", "CP-03", "CP-04"]
    assert [stop.position for stop in night.stops] == [1, 2, 3]
    row, = audits("setup_schedule_new")
    detail = json.loads(row.detail)
    assert (row.site_id, row.user_id, row.target) == (site.id, user("admin").id,
                                                      f"schedule:{night.id}")
    assert detail["stops"] == ["CP-01", "CP-03", "CP-04"] and detail["every"] == 120

    page = html(admin.get(f"/setup/sites/{site.id}/schedules"))
    card = page[page.index(f'id="schedule-{night.id}"'):]
    card = card[:card.index("</li>")]
    assert "Night patrol B" in card and "Patrol route" in card and "Guard" in card
    assert "Every 120 min, 20:00–06:00" in card and "CP-01 → CP-03 → CP-04" in card
    assert "Grace 20 min" in card and "Anyone with the role" in card


@pytest.mark.parametrize("change,words", [
    ({"kind": "cleaning", "role": "cleaner", "stops": "CZ-01", "timing": "spread", "count": "3",
      "span_start": "07:00", "span_end": "21:00"}, "3 times, 07:00–21:00"),
    ({"kind": "cleaning", "role": "cleaner", "stops": "CZ-02", "timing": "times",
      "times": "15:00, 9:00", "length": "120"}, "At 09:00, 15:00 for 120 min"),
    ({"kind": "equipment", "role": "technician", "stops": "EQ-WP-01", "timing": "daily"}, "Daily"),
    ({"kind": "cleaning", "role": "cleaner", "stops": "CZ-03", "timing": "daily",
      "weekdays": ["4", "0", "2"]}, "Daily; Mon, Wed, Fri only"),
    ({"kind": "equipment", "role": "technician", "stops": "EQ-SG-01", "timing": "weekly",
      "weekdays": ["0"]}, "Weekly on Monday"),
    ({"kind": "equipment", "role": "technician", "stops": "EQ-FP-01", "timing": "monthly",
      "day": "15"}, "Monthly on day 15"),
    ({"kind": "equipment", "role": "technician", "stops": "EQ-FP-01", "timing": "quarterly",
      "month": "1", "day": "15"}, "Quarterly, month 1 day 15"),
    ({"kind": "equipment", "role": "technician", "stops": "EQ-LF-01", "timing": "yearly",
      "month": "2", "day": "29"}, "Yearly on 02-29"),
])
def test_each_timing_in_words(admin, site, change, words):
    data = {**NIGHT, "name_zh": "计划", "name_en": "The plan", **change}
    response = admin.post(f"/setup/sites/{site.id}/schedules/new", data=data)
    assert response.status_code == 303, html(response)
    schedule, = versions("计划")
    # Fields the timing does not read are not kept (the interval's span and `every` here).
    uses = {"span_start", "span_end", "every"} if change["timing"] == "interval" else set()
    if change["timing"] == "spread":
        uses = {"span_start", "span_end"}
    for name in {"span_start", "span_end", "every"} - uses:
        assert getattr(schedule, name) is None, name
    assert codes(schedule) == [change["stops"]]
    page = html(admin.get(f"/setup/sites/{site.id}/schedules"))
    assert words in page and "The plan" in page


def test_a_list_in_a_timing_reads_as_chinese_writes_it(admin, site):
    data = {**NIGHT, "name_zh": "计划", "kind": "cleaning", "role": "cleaner", "stops": "CZ-02",
            "timing": "times", "times": "15:00 9:00", "length": "60", "weekdays": ["0", "2"]}
    assert admin.post(f"/setup/sites/{site.id}/schedules/new", data=data).status_code == 303
    page = html(admin.get(f"/setup/sites/{site.id}/schedules?lang=zh_CN"))
    assert "09:00、15:00" in page and "09:00, 15:00" not in page


def test_an_equipment_cycle_counts_its_own_sop_and_names_its_people(admin, site):
    monthly = db.session.scalar(select(Sop).where(Sop.name_en == "Fire pump monthly maintenance"))
    tech = user("tech")
    response = admin.post(f"/setup/sites/{site.id}/schedules/new", data={
        **NIGHT, "kind": "equipment", "name_zh": "消防泵保养", "name_en": "Pump upkeep",
        "role": "technician", "stops": "EQ-FP-01", "timing": "monthly", "day": "31",
        "sop_id": str(monthly.id), "assignees": [str(tech.id)]})
    assert response.status_code == 303, html(response)
    schedule, = versions("消防泵保养")
    assert (schedule.sop_id, schedule.day, schedule.assignees) == (monthly.id, 31, [tech])
    page = html(admin.get(f"/setup/sites/{site.id}/schedules"))
    assert "Monthly on day 31" in page and "SOP: Fire pump monthly maintenance" in page
    assert tech.name in page


@pytest.mark.parametrize("change,field,message", [
    ({"span_end": ""}, "span_end", "Enter a time, like 20:00."),
    ({"every": "0"}, "every", "From 5 to 1440 minutes."),
    ({"every": ""}, "every", "Enter the minutes between rounds."),
    ({"span_start": "25:00"}, "span_start", "Not a valid time value."),
    ({"stops": "CP-01 CP-99"}, "stops", "No active spot of this site has the code CP-99."),
    ({"stops": "CP-01 CZ-01 CP-04"}, "stops", "Not checkpoints: CZ-01."),
    ({"stops": "CP-01 CP-03 CP-01"}, "stops", "Listed more than once: CP-01."),
    ({"stops": ""}, "stops", "List the checkpoints in walking order"),
    ({"kind": "cleaning", "stops": "CZ-01 CZ-02"}, "stops", "exactly one zone"),
    ({"kind": "equipment", "stops": "CP-01"}, "stops", "Not equipment: CP-01."),
    ({"timing": "weekly"}, "weekdays", "Choose exactly one weekday."),
    ({"timing": "weekly", "weekdays": ["0", "3"]}, "weekdays", "Choose exactly one weekday."),
    ({"timing": "times", "times": "08:00 25:00", "length": "60"}, "times",
     "25:00 is not a time of day."),
    ({"timing": "times", "times": "", "length": "60"}, "times", "Enter at least one time"),
    ({"timing": "times", "times": "08:00", "length": ""}, "length", "Enter how long"),
    ({"timing": "spread", "count": "49"}, "count", "From 1 to 48 times."),
    ({"timing": "monthly", "day": "32"}, "day", "From 1 to 31"),
    ({"timing": "quarterly", "day": "1", "month": "4"}, "month", "the month within each quarter"),
    ({"timing": "yearly", "day": "1"}, "month", "Enter the month."),
    ({"grace": "1441"}, "grace", "From 0 to 1440 minutes."),
    ({"grace": ""}, "grace", "Fill this in."),
    ({"name_zh": " "}, "name_zh", "Fill this in."),
    ({"assignees": ["{cleaner}"]}, "assignees", "does not have the role Guard."),
])
def test_bad_input_is_refused_beside_the_field(admin, site, change, field, message):
    change = {k: [v.format(cleaner=user("cleaner").id) for v in vs] if isinstance(vs, list) else vs
              for k, vs in change.items()}
    before = count(Schedule)
    response = admin.post(f"/setup/sites/{site.id}/schedules/new", data={**NIGHT, **change})
    page = html(response)
    assert response.status_code == 422
    assert message in error_beside(page, field), page
    assert "Some fields need attention" in page
    assert count(Schedule) == before and not audits("setup_schedule_new")


def test_an_inactive_spot_cannot_be_scheduled(admin, site):
    spot_by_code("CP-03").active = False
    db.session.commit()
    response = admin.post(f"/setup/sites/{site.id}/schedules/new", data=NIGHT)
    assert response.status_code == 422
    page = html(response)
    assert "No active spot of this site has the code CP-03." in error_beside(page, "stops")


def test_another_sites_spot_cannot_be_scheduled(admin, site, hidden):
    response = admin.post(f"/setup/sites/{site.id}/schedules/new", data={**NIGHT, "stops": "H-1"})
    assert response.status_code == 422 and "H-1" in error_beside(html(response), "stops")


def test_an_edit_starts_a_new_version_and_keeps_the_old_one(admin, site, night):
    response = admin.post(f"/setup/schedules/{night.id}/edit",
                          data={**NIGHT, "every": "60", "stops": "CP-04 CP-01"})
    assert response.status_code == 303, html(response)
    old, new = versions(NIGHT["name_zh"])
    assert old.id == night.id
    # From now on, or from the end of a round open right now (the night patrol may be).
    assert old.valid_until is not None and new.valid_from >= old.valid_until
    assert new.valid_until is None and new.origin_id == old.id == new.lineage == old.lineage
    assert (old.every, codes(old)) == (120, ["CP-01", "CP-03", "CP-04"])
    assert (new.every, codes(new)) == (60, ["CP-04", "CP-01"])
    assert (new.span_start, new.span_end, new.grace) == (time(20), time(6), 20)
    row, = audits("setup_schedule_edit")
    detail = json.loads(row.detail)
    assert row.target == f"schedule:{old.id}" and (detail["version"], detail["replaces"]) == (
        new.id, old.id)
    assert detail["every"] == [120, 60]
    assert detail["stops"] == [["CP-01", "CP-03", "CP-04"], ["CP-04", "CP-01"]]
    assert "grace" not in detail

    page = html(admin.get(f"/setup/sites/{site.id}/schedules"))
    assert page.count("Night patrol B</strong>") == 1 and "Every 60 min, 20:00–06:00" in page
    assert f"/setup/schedules/{new.id}/edit" in page
    assert f"/setup/schedules/{old.id}/edit" not in page

    # A third version stays in the same lineage.
    admin.post(f"/setup/schedules/{new.id}/edit", data={**NIGHT, "every": "90"})
    _, second, third = versions(NIGHT["name_zh"])
    assert third.origin_id == old.id and third.valid_from >= second.valid_until


def test_the_old_versions_page_leads_to_the_current_one(admin, night):
    admin.post(f"/setup/schedules/{night.id}/edit", data={**NIGHT, "every": "60"})
    old, new = versions(NIGHT["name_zh"])
    response = admin.get(f"/setup/schedules/{old.id}/edit")
    assert response.status_code == 303 and response.location.endswith(
        f"/setup/schedules/{new.id}/edit")

    # A form sent from the old page (another admin saved meanwhile) changes nothing.
    response = admin.post(f"/setup/schedules/{old.id}/edit", data={**NIGHT, "every": "30"})
    assert response.status_code == 409
    assert "changed meanwhile" in html(response) and 'value="60"' in html(response)
    assert len(versions(NIGHT["name_zh"])) == 2 and len(audits("setup_schedule_edit")) == 1


def test_an_edit_without_changes_makes_no_version(admin, night):
    response = admin.get(f"/setup/schedules/{night.id}/edit")
    assert response.status_code == 200 and 'value="CP-01 CP-03 CP-04"' in html(response)
    response = admin.post(f"/setup/schedules/{night.id}/edit",
                          data={**NIGHT, "stops": " CP-01  CP-03 CP-04 ", "count": "7"})
    assert response.status_code == 303
    schedule, = versions(NIGHT["name_zh"])
    assert schedule.valid_until is None and not audits("setup_schedule_edit")
    assert "Nothing changed" in html(admin.get(response.location))


def test_a_bad_edit_changes_nothing(admin, night):
    response = admin.post(f"/setup/schedules/{night.id}/edit", data={**NIGHT, "every": "1"})
    assert response.status_code == 422
    assert "From 5 to 1440 minutes." in error_beside(html(response), "every")
    schedule, = versions(NIGHT["name_zh"])
    assert schedule.valid_until is None and schedule.every == 120


def test_ending_a_schedule_hides_it_and_keeps_its_history(admin, site, night):
    response = admin.post(f"/setup/schedules/{night.id}/end")
    assert response.status_code == 303
    ended, = versions(NIGHT["name_zh"])
    assert ended.valid_until is not None and codes(ended) == ["CP-01", "CP-03", "CP-04"]
    row, = audits("setup_schedule_end")
    assert (row.site_id, row.target) == (site.id, f"schedule:{night.id}")
    page = html(admin.get(response.location))
    assert "Night patrol B ended" in page
    assert f'id="schedule-{night.id}"' not in page

    # Ending again, or editing it, changes nothing.
    assert admin.post(f"/setup/schedules/{night.id}/end").status_code == 303
    response = admin.post(f"/setup/schedules/{night.id}/edit", data={**NIGHT, "every": "60"})
    assert response.status_code == 303
    assert "has ended" in html(admin.get(response.location))
    assert len(versions(NIGHT["name_zh"])) == 1 and len(audits("setup_schedule_end")) == 1


def test_ending_from_an_old_versions_page_ends_the_current_version(admin, site, night):
    admin.post(f"/setup/schedules/{night.id}/edit", data={**NIGHT, "every": "60"})
    response = admin.post(f"/setup/schedules/{night.id}/end")
    assert response.status_code == 303
    assert all(v.valid_until is not None for v in versions(NIGHT["name_zh"]))
    assert "Night patrol B</strong>" not in html(admin.get(f"/setup/sites/{site.id}/schedules"))


def test_a_new_form_starts_with_the_kinds_usual_role(admin, site):
    page = html(admin.get(f"/setup/sites/{site.id}/schedules/new?kind=cleaning"))
    assert '<option selected value="cleaning">' in page
    assert '<option selected value="cleaner">' in page
    assert "CZ-01" in page  # the site's codes are listed to copy from
