"""The admin's setup screens as an admin uses them: permissions, sites, users, SOPs.

Spots and their labels: test_label_sheet.py.
"""
import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app import demo
from app.extensions import db
from app.models import Audit, Record, Schedule, Site, Sop, Spot, User

from .conftest import HIDDEN, login, spot_by_code, user
from .helpers import answers, audits, count, html
from .test_browser_loop import log_in



@pytest.fixture
def admin(as_user):
    """The demo admin, reading the pages in English."""
    client = as_user("admin")
    client.get("/setup/?lang=en")
    return client


@pytest.fixture
def ids(site):
    spot = spot_by_code("EQ-FP-01")
    return {"site_id": site.id, "spot_id": spot.id, "sop_id": spot.sop.id,
            "step_id": spot.sop.current.steps[0].id, "user_id": user("guard").id,
            "schedule_id": db.session.scalar(select(Schedule.id).where(Schedule.name_en == "Night patrol"))}


ROUTES = [
    ("GET", "/setup/"),
    ("GET", "/setup/sites/"),
    ("GET", "/setup/sites/new"), ("POST", "/setup/sites/new"),
    ("GET", "/setup/sites/{site_id}/edit"), ("POST", "/setup/sites/{site_id}/edit"),
    ("GET", "/setup/users/"),
    ("GET", "/setup/users/new"), ("POST", "/setup/users/new"),
    ("GET", "/setup/users/{user_id}/edit"), ("POST", "/setup/users/{user_id}/edit"),
    ("POST", "/setup/users/{user_id}/password"),
    ("POST", "/setup/users/{user_id}/disable"), ("POST", "/setup/users/{user_id}/enable"),
    ("GET", "/setup/sites/{site_id}/spots"),
    ("GET", "/setup/sites/{site_id}/spots/new"), ("POST", "/setup/sites/{site_id}/spots/new"),
    ("GET", "/setup/spots/{spot_id}/edit"), ("POST", "/setup/spots/{spot_id}/edit"),
    ("POST", "/setup/spots/{spot_id}/reissue"),
    ("GET", "/setup/spots/{spot_id}/label.png"),
    ("GET", "/setup/sites/{site_id}/labels"),
    ("GET", "/setup/sites/{site_id}/sops"),
    ("GET", "/setup/sites/{site_id}/sops/new"), ("POST", "/setup/sites/{site_id}/sops/new"),
    ("GET", "/setup/sops/{sop_id}"),
    ("GET", "/setup/sops/{sop_id}/edit"), ("POST", "/setup/sops/{sop_id}/edit"),
    ("POST", "/setup/sops/{sop_id}/steps"),
    ("GET", "/setup/sops/{sop_id}/steps/{step_id}/edit"), ("POST", "/setup/sops/{sop_id}/steps/{step_id}/edit"),
    ("POST", "/setup/sops/{sop_id}/steps/{step_id}/up"), ("POST", "/setup/sops/{sop_id}/steps/{step_id}/down"),
    ("POST", "/setup/sops/{sop_id}/steps/{step_id}/remove"),
    ("GET", "/setup/sites/{site_id}/schedules"),
    ("GET", "/setup/sites/{site_id}/schedules/new"), ("POST", "/setup/sites/{site_id}/schedules/new"),
    ("GET", "/setup/schedules/{schedule_id}/edit"), ("POST", "/setup/schedules/{schedule_id}/edit"),
    ("POST", "/setup/schedules/{schedule_id}/end"),
    ("GET", "/setup/sites/{site_id}/import"), ("POST", "/setup/sites/{site_id}/import"),
]
WITH_IDS = [(method, url) for method, url in ROUTES if "{" in url]
FORM = {"name_zh": "改名", "username": "guard", "roles": "guard", "new_password": "x" * 12,
        "kind": "tick", "label_zh": "新步骤", "code": "X-1", "timezone": "UTC"}


def test_the_route_table_covers_every_setup_route(app, ids):
    """The tables below stay complete: a new setup route must join them."""
    adapter = app.url_map.bind("localhost")
    listed = {(method, adapter.match(url.format(**ids), method)[0]) for method, url in ROUTES}
    actual = {(method, rule.endpoint) for rule in app.url_map.iter_rules()
              if rule.endpoint.startswith("setup.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert listed == actual


@pytest.mark.parametrize("username", ["supervisor", "guard"])
@pytest.mark.parametrize("method,url", ROUTES)
def test_non_admins_are_refused(as_user, ids, username, method, url):
    client = as_user(username)
    before = count(Audit)
    response = client.open(url.format(**ids), method=method, data=FORM)
    assert response.status_code == 403
    assert count(Audit) == before


@pytest.mark.parametrize("method,url", WITH_IDS)
def test_another_sites_rows_are_not_found(admin, hidden, method, url):
    client = admin
    before = count(Audit)
    response = client.open(url.format(**hidden), method=method, data=FORM)
    assert response.status_code == 404
    assert HIDDEN not in html(response)
    assert count(Audit) == before


@pytest.mark.parametrize("url", [url for method, url in ROUTES if method == "GET"])
def test_admin_pages_open(admin, ids, url):
    response = admin.get(url.format(**ids))
    assert response.status_code == 200


def test_index_links_each_site(admin, site, other_site):
    page = html(admin.get("/setup/"))
    for s in (site, other_site):
        for link in ("spots", "sops", "labels"):
            assert f"/setup/sites/{s.id}/{link}" in page
    assert "/setup/users/" in page and "/setup/sites/new" in page


# Sites -------------------------------------------------------------------------

def test_create_a_site_makes_the_admin_a_member(admin):
    client = admin
    response = client.post("/setup/sites/new", data={
        "name_zh": "金桂苑", "name_en": "Osmanthus Court", "timezone": "Asia/Urumqi"})
    assert response.status_code == 303
    new = db.session.scalar(select(Site).where(Site.name_zh == "金桂苑"))
    assert (new.name_en, new.timezone) == ("Osmanthus Court", "Asia/Urumqi")
    assert new.id in user("admin").site_ids
    row, = audits("setup_site_new")
    assert row.site_id == new.id and row.user_id == user("admin").id
    assert "金桂苑" in html(client.get("/setup/"))


def test_edit_a_site(admin, site):
    response = admin.post(f"/setup/sites/{site.id}/edit", data={
        "name_zh": "翠湖花园二期", "name_en": "Green Lake Gardens II", "timezone": "Asia/Shanghai"})
    assert response.status_code == 303
    db.session.refresh(site)
    assert site.name_zh == "翠湖花园二期"
    row, = audits("setup_site_edit")
    assert json.loads(row.detail)["name_zh"] == ["翠湖花园", "翠湖花园二期"]


def test_a_site_with_schedules_keeps_its_time_zone(admin, site, other_site):
    """Past rounds were due in the site's hours; a new zone would move them all."""
    response = admin.post(f"/setup/sites/{site.id}/edit", data={
        "name_zh": site.name_zh, "name_en": site.name_en, "timezone": "Asia/Tokyo"})
    assert response.status_code == 422
    assert "cannot change once the site has schedules" in html(response)
    db.session.refresh(site)
    assert site.timezone == "Asia/Shanghai"
    response = admin.post(f"/setup/sites/{other_site.id}/edit", data={
        "name_zh": other_site.name_zh, "name_en": other_site.name_en, "timezone": "Asia/Tokyo"})
    assert response.status_code == 303  # no schedules there yet


@pytest.mark.parametrize("data,message", [
    ({"name_zh": "新项目", "timezone": "Mars/Olympus"}, "Not a known timezone"),
    ({"name_zh": "新项目", "timezone": ""}, "Fill this in"),
    ({"name_zh": " ", "timezone": "UTC"}, "Fill this in"),
])
def test_bad_site_input_is_refused_beside_the_field(admin, data, message):
    before = count(Site)
    response = admin.post("/setup/sites/new", data=data)
    assert response.status_code == 422
    assert message in html(response) and 'aria-invalid="true"' in html(response)
    assert count(Site) == before and not audits("setup_site_new")


# Users -------------------------------------------------------------------------

def test_users_list_shows_only_people_of_my_sites(admin, hidden):
    page = html(admin.get("/setup/users/"))
    assert "guard" in page and "outsider" not in page
    assert "pbkdf2" not in page and "scrypt" not in page


def test_create_a_user_with_roles_and_sites(admin, app, site, other_site):
    response = admin.post("/setup/users/new", data={
        "username": " Night_Guard ", "name": "夜班 赵", "roles": ["guard", "cleaner"],
        "site_ids": [str(site.id), str(other_site.id)], "language": "en",
        "password": "lantern-42"})
    assert response.status_code == 303
    new = user("night_guard")
    assert new.roles == {"guard", "cleaner"}
    assert new.site_ids == {site.id, other_site.id} and new.language == "en"
    row, = audits("setup_user_new")
    assert "lantern-42" not in row.detail
    assert json.loads(row.detail)["roles"] == ["cleaner", "guard"]
    login(app.test_client(), "night_guard", "lantern-42")


@pytest.mark.parametrize("action,data", [
    ("edit", {"username": "outsider", "name": "x", "roles": ["admin"], "site_ids": ["{site}"]}),
    ("password", {"new_password": "taken-over-1"}),
    ("disable", {}),
])
def test_people_who_also_work_elsewhere_are_left_to_their_other_admins(
        admin, hidden, site, action, data):
    """Roles and passwords hold at every site: an admin of one site must not take over another."""
    outsider = db.session.get(User, hidden["user_id"])
    outsider.sites = [*outsider.sites, site]
    db.session.commit()
    before = (outsider.password_hash, outsider.active, outsider.roles, outsider.session_token)
    data = {k: [v.format(site=site.id) for v in vs] if isinstance(vs, list) else vs
            for k, vs in data.items()}
    response = admin.post(f"/setup/users/{outsider.id}/{action}", data=data)
    assert response.status_code == 403
    db.session.refresh(outsider)
    assert (outsider.password_hash, outsider.active, outsider.roles,
            outsider.session_token) == before
    assert audits(f"setup_user_{action}") == []


@pytest.mark.parametrize("change,message", [
    ({"username": "tech"}, "This username is taken"),
    ({"username": "ab"}, "3 to 40 characters"),
    ({"username": "zhang wei"}, "3 to 40 characters"),
    ({"roles": []}, "Choose at least one role"),
    ({"roles": ["boss"]}, "not a valid choice"),
    ({"site_ids": []}, "Choose at least one site"),
    ({"site_ids": ["{hidden}"]}, "not a valid choice"),
    ({"password": "short"}, "At least 8 characters"),
])
def test_bad_user_input_is_refused_beside_the_field(admin, site, hidden, change, message):
    data = {"username": "newbie", "name": "", "roles": ["guard"], "site_ids": [str(site.id)],
            "language": "", "password": "long-enough"}
    data.update({k: [v.format(hidden=hidden["site_id"]) for v in vs] if isinstance(vs, list) else vs
                 for k, vs in change.items()})
    before = count(User)
    response = admin.post("/setup/users/new", data=data)
    assert response.status_code == 422
    assert message in html(response)
    assert count(User) == before and not audits("setup_user_new")


def test_admin_cannot_drop_their_own_admin_role(admin, site):
    me = user("admin")
    response = admin.post(f"/setup/users/{me.id}/edit", data={
        "username": "admin", "roles": ["supervisor"], "site_ids": [str(site.id)]})
    assert response.status_code == 422
    assert "You cannot take the admin role from yourself" in html(response)
    assert "admin" in user("admin").roles


def test_disabling_a_user_ends_their_session(admin, as_user, app):
    guard = as_user("guard")
    assert guard.get("/").status_code == 200
    target = user("guard")
    response = admin.post(f"/setup/users/{target.id}/disable")
    assert response.status_code == 303
    assert guard.get("/").status_code == 302
    assert "/login" in guard.get("/").location
    assert not user("guard").active and len(audits("setup_user_disable")) == 1
    refused = app.test_client().post("/login", data={"username": "guard", "password": "demo1234"})
    assert refused.status_code == 422

    admin.post(f"/setup/users/{target.id}/enable")
    assert user("guard").active and len(audits("setup_user_enable")) == 1
    login(app.test_client(), "guard")


def test_admin_cannot_disable_themself(admin):
    response = admin.post(f"/setup/users/{user('admin').id}/disable")
    assert response.status_code == 422
    assert "You cannot disable your own account" in html(response)
    assert user("admin").active and admin.get("/setup/").status_code == 200


def test_reset_password(admin, as_user, app):
    guard = as_user("guard")
    target = user("guard")
    response = admin.post(f"/setup/users/{target.id}/password",
                                     data={"new_password": "fresh-start-9"})
    assert response.status_code == 303
    assert guard.get("/").status_code == 302
    login(app.test_client(), "guard", "fresh-start-9")
    old = app.test_client().post("/login", data={"username": "guard", "password": "demo1234"})
    assert old.status_code == 422
    row, = audits("setup_user_password")
    assert "fresh-start-9" not in row.detail


def test_reset_password_too_short(admin):
    target = user("guard")
    response = admin.post(f"/setup/users/{target.id}/password",
                                     data={"new_password": "short"})
    assert response.status_code == 422 and "At least 8 characters" in html(response)
    assert user("guard").check_password("demo1234")


def test_admin_resetting_their_own_password_stays_logged_in(admin):
    client = admin
    client.post(f"/setup/users/{user('admin').id}/password", data={"new_password": "mine-new-1"})
    assert client.get("/setup/").status_code == 200


# SOPs and the step editor ----------------------------------------------------------

HX = {"HX-Request": "true"}


def steps_of(version):
    return [(s.position, s.label_zh) for s in sorted(version.steps, key=lambda s: s.position)]


def step_form(label, **fields):
    return {"kind": "tick", "label_zh": label, "label_en": "", "unit": "", **fields}


@pytest.fixture
def new_sop(admin, site):
    response = admin.post(f"/setup/sites/{site.id}/sops/new",
                          data={"name_zh": "消防通道检查", "name_en": "Fire lane check"})
    assert response.status_code == 303
    sop = db.session.scalar(select(Sop).where(Sop.name_zh == "消防通道检查"))
    assert response.location.endswith(f"/setup/sops/{sop.id}")
    return sop


def test_a_new_sop_starts_at_version_1_without_steps(admin, new_sop):
    assert [v.number for v in new_sop.versions] == [1] and new_sop.current.steps == []
    assert len(audits("setup_sop_new")) == 1
    page = html(admin.get(f"/setup/sops/{new_sop.id}"))
    assert "Fire lane check" in page and "Version 1" in page and "0 records use version 1" in page


def test_rename_a_sop(admin, new_sop):
    response = admin.post(f"/setup/sops/{new_sop.id}/edit",
                          data={"name_zh": "消防通道巡查", "name_en": "Fire lane patrol"})
    assert response.status_code == 303
    db.session.refresh(new_sop)
    assert new_sop.name_en == "Fire lane patrol" and len(audits("setup_sop_edit")) == 1


def test_add_move_and_remove_steps_keep_positions_contiguous(admin, new_sop):
    base = f"/setup/sops/{new_sop.id}/steps"
    for label in ("通道畅通", "门可开启", "指示灯亮"):
        assert admin.post(base, data=step_form(label)).status_code == 303
    assert steps_of(new_sop.current) == [(1, "通道畅通"), (2, "门可开启"), (3, "指示灯亮")]
    first, second, third = sorted(new_sop.current.steps, key=lambda s: s.position)

    assert admin.post(f"{base}/{third.id}/up").status_code == 303
    assert steps_of(new_sop.current) == [(1, "通道畅通"), (2, "指示灯亮"), (3, "门可开启")]
    admin.post(f"{base}/{first.id}/up")  # already first: nothing to do
    admin.post(f"{base}/{second.id}/down")  # already last
    assert steps_of(new_sop.current) == [(1, "通道畅通"), (2, "指示灯亮"), (3, "门可开启")]
    assert len(audits("setup_step_move")) == 1

    assert admin.post(f"{base}/{third.id}/remove").status_code == 303
    assert steps_of(new_sop.current) == [(1, "通道畅通"), (2, "门可开启")]
    admin.post(f"{base}/{first.id}/remove")
    assert steps_of(new_sop.current) == [(1, "门可开启")]
    assert len(audits("setup_step_add")) == 3 and len(audits("setup_step_remove")) == 2
    # Nobody did a record with it yet: all of this stayed in version 1.
    assert [v.number for v in new_sop.versions] == [1]


def test_step_actions_over_htmx_return_the_steps_list(admin, new_sop):
    base = f"/setup/sops/{new_sop.id}/steps"
    response = admin.post(base, data=step_form("压力", kind="reading", unit="MPa",
                                                 min_value="0.3", max_value="0.6"), headers=HX)
    body = html(response)
    assert response.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="steps">') and "压力" in body and "MPa" in body
    step, = new_sop.current.steps
    assert (step.min_value, step.max_value, step.unit) == (0.3, 0.6, "MPa")

    response = admin.get(f"{base}/{step.id}/edit", headers=HX)
    assert response.status_code == 200 and 'id="step-edit"' in html(response)
    assert "<html" not in html(response)
    response = admin.post(f"{base}/{step.id}/edit", headers=HX, data={
        "edit-kind": "reading", "edit-label_zh": "出口压力", "edit-min_value": "0.7",
        "edit-max_value": "0.6"})
    assert response.status_code == 422 and response.headers["HX-Retarget"] == "#step-edit"
    assert "Must not be lower than the lowest allowed value" in html(response)

    response = admin.post(f"{base}/{step.id}/remove", headers=HX)
    assert response.status_code == 200 and "No steps yet" in html(response)


@pytest.mark.parametrize("fields,message", [
    ({"label_zh": ""}, "Fill this in"),
    ({"kind": "reading", "min_value": "0.6", "max_value": "0.3"}, "Must not be lower"),
    ({"kind": "reading", "min_value": "nan"}, "Enter an ordinary number"),
    ({"kind": "reading", "max_value": "high"}, "Not a valid float value"),
    ({"kind": "photo"}, "Not a valid choice"),
])
def test_bad_step_input_is_refused_beside_the_field(admin, new_sop, fields, message):
    response = admin.post(f"/setup/sops/{new_sop.id}/steps", data=step_form("读数", **fields))
    assert response.status_code == 422
    assert message in html(response)
    assert new_sop.current.steps == [] and not audits("setup_step_add")


def test_a_reading_range_is_dropped_for_a_tick(admin, new_sop):
    admin.post(f"/setup/sops/{new_sop.id}/steps",
               data=step_form("门已锁", unit="MPa", min_value="1", max_value="2"))
    step, = new_sop.current.steps
    assert (step.unit, step.min_value, step.max_value) == ("", None, None)


def test_editing_a_sop_a_record_used_makes_version_2(admin, as_user):
    spot = spot_by_code("EQ-FP-01")
    sop = spot.sop
    before = steps_of(sop.current)
    assert as_user("tech").post(f"/spots/{spot.id}/records", data=answers(spot),
                                content_type="multipart/form-data").status_code == 303
    record = db.session.scalar(select(Record))
    assert "1 record uses version 1" in html(admin.get(f"/setup/sops/{sop.id}"))

    pressure = sop.current.steps[0]
    response = admin.post(f"/setup/sops/{sop.id}/steps/{pressure.id}/edit", data={
        "edit-kind": "reading", "edit-label_zh": "出水压力（表压）", "edit-unit": "MPa",
        "edit-min_value": "0.35", "edit-max_value": "0.6", "edit-photo_required": "y"})
    assert response.status_code == 303
    db.session.expire_all()
    v1, v2 = sop.versions
    assert (v1.number, v2.number) == (1, 2)
    assert steps_of(v1) == before and v1.steps[0].min_value == 0.3
    assert steps_of(v2)[0] == (1, "出水压力（表压）") and v2.steps[0].min_value == 0.35
    assert steps_of(v2)[1:] == before[1:]
    assert record.version.number == 1 and record.result_for(pressure.id) is not None
    row, = audits("setup_step_edit")
    assert json.loads(row.detail)["version"] == 2
    assert "Version 2" in html(admin.get(f"/setup/sops/{sop.id}"))

    # Version 2 has no record yet: further edits stay in it.
    new_pressure = v2.steps[0]
    admin.post(f"/setup/sops/{sop.id}/steps/{new_pressure.id}/down")
    admin.post(f"/setup/sops/{sop.id}/steps/{v2.steps[-1].id}/remove")
    db.session.expire_all()
    assert [v.number for v in sop.versions] == [1, 2]
    assert [s.position for s in sop.current.steps] == [1, 2, 3]
    assert sop.current.steps[1].label_zh == "出水压力（表压）"
    assert steps_of(v1) == before


def test_a_page_showing_an_old_version_changes_nothing(admin, as_user):
    spot = spot_by_code("EQ-FP-01")
    sop = spot.sop
    old_steps = [s.id for s in sop.current.steps]
    as_user("tech").post(f"/spots/{spot.id}/records", data=answers(spot),
                         content_type="multipart/form-data")
    admin.post(f"/setup/sops/{sop.id}/steps", data=step_form("新步骤"))
    db.session.expire_all()
    current = steps_of(sop.current)
    assert sop.current.number == 2 and len(current) == 5

    response = admin.post(f"/setup/sops/{sop.id}/steps/{old_steps[0]}/remove")
    assert response.status_code == 409 and "changed meanwhile" in html(response)
    response = admin.post(f"/setup/sops/{sop.id}/steps/{old_steps[0]}/remove", headers=HX)
    assert response.status_code == 200 and response.headers["HX-Retarget"] == "#steps"
    db.session.expire_all()
    assert steps_of(sop.current) == current and not audits("setup_step_remove")


# Spots: where the label is ---------------------------------------------------------

def spot_fields(spot, **changes) -> dict:
    """The spot's edit form as it is, with some fields changed."""
    fields = {"kind": spot.kind, "code": spot.code, "name_zh": spot.name_zh,
              "name_en": spot.name_en, "location": spot.location, "sop_id": str(spot.sop_id),
              "active": "y"}
    return {**fields, **changes}


def test_a_spot_s_coordinates_and_radius_are_saved_and_can_be_cleared(admin):
    spot = spot_by_code("CP-01")
    page = html(admin.get(f"/setup/spots/{spot.id}/edit"))
    assert "Coordinates copied from Amap or Baidu Maps are shifted" in page
    assert 'type="button" data-locate="locate-status"' in page and "Use my location here" in page
    response = admin.post(f"/setup/spots/{spot.id}/edit", data=spot_fields(
        spot, latitude="30.2741", longitude="120.1551", radius="50"))
    assert response.status_code == 303
    db.session.refresh(spot)
    assert (spot.latitude, spot.longitude, spot.radius) == (30.2741, 120.1551, 50)
    row, = audits("setup_spot_edit")
    assert json.loads(row.detail)["latitude"] == [None, 30.2741]
    page = html(admin.get(f"/setup/spots/{spot.id}/edit"))
    assert 'value="30.2741"' in page and 'value="120.1551"' in page and 'value="50"' in page
    admin.post(f"/setup/spots/{spot.id}/edit", data=spot_fields(
        spot, latitude="", longitude="", radius=""))
    db.session.refresh(spot)
    assert (spot.latitude, spot.longitude, spot.radius) == (None, None, None)


def test_a_new_spot_with_coordinates_and_no_radius_uses_the_default(admin, site):
    response = admin.post(f"/setup/sites/{site.id}/spots/new", data={
        "kind": "checkpoint", "code": "CP-20", "name_zh": "西门岗", "sop_id": "",
        "active": "y", "latitude": "-33.8568", "longitude": "151.2153", "radius": ""})
    assert response.status_code == 303
    spot = spot_by_code("CP-20")
    assert (spot.latitude, spot.longitude, spot.radius) == (-33.8568, 151.2153, None)
    assert "Empty: 30 m" in html(admin.get(f"/setup/spots/{spot.id}/edit"))


@pytest.mark.parametrize("changes, message, beside", [
    ({"latitude": "91", "longitude": "120"}, "between -90 and 90", "latitude"),
    ({"latitude": "nan", "longitude": "120"}, "between -90 and 90", "latitude"),
    ({"latitude": "30", "longitude": "-180.5"}, "between -180 and 180", "longitude"),
    ({"latitude": "30", "longitude": "inf"}, "between -180 and 180", "longitude"),
    ({"latitude": "30.27"}, "Enter both latitude and longitude, or neither", "longitude"),
    ({"longitude": "120.15"}, "Enter both latitude and longitude, or neither", "latitude"),
    ({"latitude": "30°16′N", "longitude": "120.15"}, "Not a valid float value", "latitude"),
    ({"radius": "0"}, "Between 1 and 5000 metres", "radius"),
    ({"radius": "5001"}, "Between 1 and 5000 metres", "radius"),
    ({"radius": "30.5"}, "Not a valid integer value", "radius"),
])
def test_bad_coordinates_are_refused_beside_the_field(admin, changes, message, beside):
    spot = spot_by_code("CP-01")
    response = admin.post(f"/setup/spots/{spot.id}/edit", data=spot_fields(spot, **changes))
    assert response.status_code == 422
    page = html(response)
    error = page[page.index(f'id="{beside}-error"'):]
    assert message in error[:error.index("</p>")]
    db.session.refresh(spot)
    assert (spot.latitude, spot.longitude, spot.radius) == (None, None, None)
    assert not audits("setup_spot_edit")


def test_use_my_location_fills_the_coordinates_on_a_phone(live_server, page):
    spot = spot_by_code("CP-01")
    page.context.grant_permissions(["geolocation"], origin=live_server.url)
    page.context.set_geolocation({"latitude": 30.2741, "longitude": 120.1551, "accuracy": 12})
    page.goto(f"{live_server.url}/login?lang=en")
    log_in(page, "admin")
    page.goto(f"{live_server.url}/setup/spots/{spot.id}/edit")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    button = page.get_by_role("button", name="Use my location here")
    assert button.bounding_box()["height"] >= 40
    button.click()
    expect(page.locator("#latitude")).to_have_value("30.274100")
    expect(page.locator("#longitude")).to_have_value("120.155100")
    expect(page.locator("#locate-status")).to_contain_text("accurate to 12 m")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".notice.ok")).to_contain_text("CP-01")
    db.session.rollback()  # a fresh read: the server thread wrote
    assert (spot.latitude, spot.longitude) == (30.2741, 120.1551)
