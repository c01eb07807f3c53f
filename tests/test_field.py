"""The scan page and submitting a record, as a worker would."""
import re
from io import BytesIO

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Photo, Record, Scan, StepResult

from .conftest import spot_by_code, user
from .helpers import answers, at_once, count


def submit(client, spot, **overrides):
    return client.post(f"/spots/{spot.id}/records", data=answers(spot, **overrides),
                       content_type="multipart/form-data")


def test_label_opens_the_spot_sop_and_logs_the_scan(as_user):
    spot = spot_by_code("EQ-FP-01")
    client = as_user("tech")
    response = client.get(f"/t/{spot.token}", headers={"User-Agent": "MicroMessenger/8.0"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1号消防泵" in html and "出水压力" in html and "MPa" in html
    assert 'accept="image/*" capture="environment"' in html
    scan = db.session.scalar(select(Scan))
    assert scan.spot_id == spot.id and scan.user_id == user("tech").id
    assert "MicroMessenger" in scan.user_agent


def test_not_logged_in_goes_to_login_then_back_to_the_spot(client):
    spot = spot_by_code("CP-01")
    response = client.get(f"/t/{spot.token}")
    assert response.status_code == 302 and "/login" in response.location
    response = client.post(response.location, data={"username": "guard", "password": "demo1234"})
    assert response.status_code == 303
    assert response.location.endswith(f"/t/{spot.token}")


@pytest.mark.parametrize("token", ["nonexistent0000x", "x" * 200, "revoked"])
def test_unknown_revoked_and_foreign_labels_look_the_same(as_user, token):
    client = as_user("guard")
    spot = spot_by_code("CP-01")
    if token == "revoked":
        token = spot.token
        spot.reissue_label()
        db.session.commit()
    response = client.get(f"/t/{token}")
    assert response.status_code == 404
    foreign = spot_by_code("CP-01", "Riverside Apartments")
    other = client.get(f"/t/{foreign.token}")
    assert other.status_code == 404
    # The same page but for the form tokens, which carry the second they were made in.
    same = [re.sub(r'(X-CSRFToken": |name="csrf_token" value=)"[^"]+"', "", r.get_data(as_text=True))
            for r in (other, response)]
    assert same[0] == same[1].replace(token, foreign.token)
    assert count(Scan) == 0


def test_submit_stores_one_row_per_step_and_photos(as_user, app):
    spot = spot_by_code("EQ-FP-01")
    client = as_user("tech")
    response = submit(client, spot)
    assert response.status_code == 303
    record = db.session.scalar(select(Record))
    assert record.status == "submitted" and not record.anomaly
    assert record.version.id == spot.sop.current.id
    assert len(record.results) == len(spot.sop.current.steps)
    assert len(record.photos) == 1 and record.photos[0].step_id is not None
    page = client.get(response.location).get_data(as_text=True)
    assert "出水压力" in page


def test_out_of_range_reading_and_not_ok_mark_an_anomaly(as_user):
    spot = spot_by_code("EQ-FP-01")
    pressure, auto_mode = spot.sop.current.steps[0], spot.sop.current.steps[1]
    client = as_user("tech")
    submit(client, spot, **{f"step-{pressure.id}": "0.25", f"step-{auto_mode.id}": "not_ok"})
    record = db.session.scalar(select(Record))
    assert record.anomaly
    flagged = {r.step_id for r in record.results if r.anomaly}
    assert flagged == {pressure.id, auto_mode.id}
    assert record.result_for(pressure.id).number == 0.25


def test_reading_on_the_boundary_is_in_range(as_user):
    spot = spot_by_code("EQ-FP-01")
    pressure = spot.sop.current.steps[0]
    submit(as_user("tech"), spot, **{f"step-{pressure.id}": "0,6"})
    assert not db.session.scalar(select(Record)).anomaly


@pytest.mark.parametrize("typed, number", [("0,45", 0.45), ("０．４５", 0.45), ("０，４５", 0.45),
                                           ("－０.５", -0.5)])
def test_a_reading_typed_with_a_comma_or_full_width_is_read(as_user, typed, number):
    spot = spot_by_code("EQ-FP-01")
    pressure = spot.sop.current.steps[0]
    submit(as_user("tech"), spot, **{f"step-{pressure.id}": typed})
    assert db.session.scalar(select(Record)).result_for(pressure.id).number == number


def test_errors_are_shown_beside_the_step_and_nothing_is_lost(as_user):
    spot = spot_by_code("EQ-FP-01")
    pressure, auto_mode, leaks, temp = spot.sop.current.steps
    client = as_user("tech")
    form = answers(spot, **{f"step-{temp.id}": "warm", f"step-{leaks.id}": "",
                            "note": "gauge glass cracked"})
    response = client.post(f"/spots/{spot.id}/records", data=form,
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the reading as a number" in html or "请以数字填写读数" in html
    assert 'value="warm"' in html and "gauge glass cracked" in html
    assert count(Record) == 0
    # The photo taken for the pressure step is kept and shown; the corrected form needs no new one.
    kept = db.session.scalar(select(Photo))
    assert kept.record_id is None and f"/photos/{kept.id}/thumb" in html
    fixed = answers(spot, **{f"step-{temp.id}": "20"})
    del fixed[f"photo-{pressure.id}"]
    response = client.post(f"/spots/{spot.id}/records", data=fixed,
                           content_type="multipart/form-data")
    assert response.status_code == 303
    record = db.session.scalar(select(Record))
    assert [p.id for p in record.photos] == [kept.id]


def test_required_photo_missing_is_an_error(as_user):
    spot = spot_by_code("EQ-FP-01")
    pressure = spot.sop.current.steps[0]
    form = answers(spot)
    del form[f"photo-{pressure.id}"]
    response = as_user("tech").post(f"/spots/{spot.id}/records", data=form,
                                    content_type="multipart/form-data")
    assert response.status_code == 422
    assert count(Record) == 0


def test_a_non_photo_upload_is_refused_with_a_message(as_user):
    spot = spot_by_code("EQ-FP-01")
    pressure = spot.sop.current.steps[0]
    form = answers(spot, **{f"photo-{pressure.id}": (BytesIO(b"%PDF-1.4 not a photo"), "x.pdf")})
    response = as_user("tech").post(f"/spots/{spot.id}/records", data=form,
                                    content_type="multipart/form-data")
    assert response.status_code == 422
    assert count(Record) == 0 and count(Photo) == 0


def test_submitting_twice_makes_one_record(as_user):
    spot = spot_by_code("CP-01")
    client = as_user("guard")
    first = submit(client, spot, key="b" * 32)
    second = submit(client, spot, key="b" * 32)
    assert first.location == second.location
    assert count(Record) == 1


def test_record_links_to_its_scan_event(as_user):
    spot = spot_by_code("CP-01")
    client = as_user("guard")
    client.get(f"/t/{spot.token}")
    scan = db.session.scalar(select(Scan))
    submit(client, spot, scan_id=str(scan.id))
    assert db.session.scalar(select(Record)).scan_id == scan.id


def test_a_scan_of_someone_else_is_not_linked(as_user):
    spot = spot_by_code("CP-01")
    as_user("cleaner").get(f"/t/{spot.token}")
    scan = db.session.scalar(select(Scan))
    submit(as_user("guard"), spot, scan_id=str(scan.id))
    assert db.session.scalar(select(Record)).scan_id is None


@pytest.mark.parametrize("bad", [
    {"submission_key": "short"},
    {"version_id": "999999"},
    {"version_id": "abc"},
])
def test_tampered_forms_get_400_and_change_nothing(as_user, bad):
    spot = spot_by_code("CP-01")
    response = submit(as_user("guard"), spot, **bad)
    assert response.status_code == 400
    assert count(Record) == 0


def test_worker_cannot_submit_at_another_site(as_user):
    spot = spot_by_code("CP-01", "Riverside Apartments")
    response = submit(as_user("guard"), spot)
    assert response.status_code == 404
    assert count(Record) == 0


def test_step_results_are_structured_rows(as_user):
    spot = spot_by_code("EQ-SG-01")
    submit(as_user("tech"), spot)
    rows = db.session.scalars(select(StepResult)).all()
    kinds = sorted(r.step.kind for r in rows)
    assert kinds == ["reading", "reading", "text", "tick"]
    assert {r.text for r in rows if r.step.kind == "text"} == {"fine"}


def test_a_double_tap_sending_two_requests_at_once_makes_one_record(app, as_user):
    """Both requests race past the 'already sent?' check; the unique key keeps one record."""
    spot = spot_by_code("CP-01")
    clients = [as_user("guard"), as_user("guard")]
    db.session.commit()
    forms = [answers(spot, key="d" * 32) for _ in clients]
    path = f"/spots/{spot.id}/records"
    locations = [(r.status_code, r.location) for r in at_once(app, *(
        lambda client=client, form=form: client.post(
            path, data=form, content_type="multipart/form-data")
        for client, form in zip(clients, forms)))]
    assert [status for status, _ in locations] == [303, 303]
    assert locations[0][1] == locations[1][1]
    db.session.expire_all()
    assert count(Record) == 1


def test_a_sop_edited_while_the_form_was_open_is_checked_again(as_user):
    spot = spot_by_code("CZ-01")
    form = answers(spot)
    first = spot.sop.current.steps[0]
    first.label_en = "Doors left unlocked"  # the admin edits the unused version in place
    db.session.commit()
    response = as_user("cleaner").post(f"/spots/{spot.id}/records", data=form,
                                       content_type="multipart/form-data")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "changed while you were filling it in" in html or "填写期间" in html
    assert count(Record) == 0


def test_a_record_shows_the_roles_its_author_had_when_sending_it(as_user):
    """Which rounds a record fills depends on them (a technician's visit does not walk the
    guard's patrol), so the record says them, and they stay as they were sent."""
    client = as_user("guard")
    location = submit(client, spot_by_code("CP-01"), key="c" * 32).location.split("?")[0]
    guard = user("guard")
    guard.roles = ["guard", "technician"]
    db.session.commit()
    meta = re.compile(r'<p class="meta">CP-01 · ([^·]+) ·')
    supervisor = as_user("supervisor")
    page = supervisor.get(location + "?lang=en").get_data(as_text=True)
    assert meta.search(page).group(1) == f"{guard.display_name} (Guard)"
    page = supervisor.get(location + "?lang=zh_CN").get_data(as_text=True)
    assert meta.search(page).group(1) == f"{guard.display_name}（保安员）"
    record = db.session.scalar(select(Record))
    record.roles = None  # sent before records kept their roles
    db.session.commit()
    page = supervisor.get(location + "?lang=en").get_data(as_text=True)
    assert meta.search(page).group(1) == guard.display_name
