"""The supervisor's review queue and the worker's redo of a sent-back record."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Audit, Record, Review, User

from .conftest import spot_by_code, user
from .helpers import answers, at_once

HX = {"HX-Request": "true"}


def make_record(client, code="CP-01", key=None, **overrides):
    spot = spot_by_code(code)
    key = key or f"{db.session.scalar(select(func.count()).select_from(Record)):032d}"
    response = client.post(f"/spots/{spot.id}/records", data=answers(spot, key=key, **overrides),
                           content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    return db.session.scalar(select(Record).where(Record.submission_key == key))


def test_queue_shows_anomalies_first_then_oldest(as_user):
    guard, tech = as_user("guard"), as_user("tech")
    plain_old = make_record(guard, "CP-01")
    plain_new = make_record(guard, "CP-02")
    pump = spot_by_code("EQ-FP-01")
    anomaly = make_record(tech, "EQ-FP-01", **{f"step-{pump.sop.current.steps[0].id}": "0.25"})
    plain_old.submitted_at -= timedelta(minutes=5)
    db.session.commit()
    html = as_user("supervisor").get("/review/").get_data(as_text=True)
    positions = [html.index(f'id="record-{r.id}"') for r in (anomaly, plain_old, plain_new)]
    assert positions == sorted(positions)
    assert "0.25" in html and "东门岗" in html


@pytest.mark.parametrize("username", ["guard", "cleaner", "tech"])
def test_workers_cannot_open_the_queue_or_review(as_user, username):
    record = make_record(as_user("guard"))
    client = as_user(username)
    assert client.get("/review/").status_code == 403
    assert client.post(f"/review/{record.id}/approve").status_code == 403
    assert db.session.get(Record, record.id).status == "submitted"


def test_supervisor_of_another_site_sees_and_changes_nothing(as_user, other_site):
    record = make_record(as_user("guard"))
    outsider = User(username="sup2", name="Other supervisor")
    outsider.set_password("demo1234")
    outsider.roles = ["supervisor"]
    outsider.sites = [other_site]
    db.session.add(outsider)
    db.session.commit()
    client = as_user("sup2")
    assert "东门岗" not in client.get("/review/").get_data(as_text=True)
    assert client.post(f"/review/{record.id}/approve").status_code == 404
    assert client.get(f"/records/{record.id}").status_code == 404
    assert db.session.get(Record, record.id).status == "submitted"


def test_approve_with_htmx_removes_the_card(as_user):
    record = make_record(as_user("guard"))
    response = as_user("supervisor").post(f"/review/{record.id}/approve", headers=HX)
    assert response.status_code == 200 and response.get_data(as_text=True) == ""
    db.session.refresh(record)
    assert record.status == "approved" and record.reviewer_id == user("supervisor").id
    assert db.session.scalar(select(Audit).where(Audit.action == "record_approved"))


def test_approve_without_javascript_redirects_back(as_user):
    record = make_record(as_user("guard"))
    response = as_user("supervisor").post(f"/review/{record.id}/approve")
    assert response.status_code == 303 and response.location.endswith("/review/")


def test_send_back_requires_a_reason(as_user):
    record = make_record(as_user("guard"))
    response = as_user("supervisor").post(f"/review/{record.id}/send-back", data={"reason": " "},
                                          headers=HX)
    assert response.status_code == 422
    assert "Say why" in response.get_data(as_text=True) or "原因" in response.get_data(as_text=True)
    assert db.session.get(Record, record.id).status == "submitted"
    assert db.session.scalar(select(func.count()).select_from(Review)) == 0


def test_second_reviewer_is_told_it_was_already_reviewed(as_user, app):
    record = make_record(as_user("guard"))
    admin = as_user("admin")  # also a supervisor in the demo
    assert as_user("supervisor").post(f"/review/{record.id}/approve", headers=HX).status_code == 200
    response = admin.post(f"/review/{record.id}/send-back", data={"reason": "blurry"}, headers=HX)
    assert response.status_code == 409
    assert "主管 李明" in response.get_data(as_text=True)
    db.session.refresh(record)
    assert record.status == "approved"
    assert [r.decision for r in record.reviews] == ["approved"]


def test_keyset_pages_never_skip_or_repeat_while_others_approve(as_user, app):
    app.config["REVIEW_PAGE_SIZE"] = 3
    guard = as_user("guard")
    made = [make_record(guard, "CP-01") for _ in range(8)]
    supervisor, other = as_user("supervisor"), as_user("admin")
    seen = []
    url = "/review/"
    while url:
        html = supervisor.get(url, headers=HX).get_data(as_text=True)
        ids = [r.id for r in made if f'id="record-{r.id}"' in html]
        seen += ids
        # Someone else approves the first card of this page meanwhile.
        if ids:
            other.post(f"/review/{ids[0]}/approve", headers=HX)
        marker = 'hx-get="'
        url = html.split(marker)[1].split('"')[0].replace("&amp;", "&") if marker in html else None
    assert sorted(seen) == sorted(r.id for r in made)
    assert len(seen) == len(set(seen))


def test_worker_sees_sent_back_reason_and_redo_keeps_history(as_user):
    guard = as_user("guard")
    first = make_record(guard, "CP-01")
    as_user("supervisor").post(f"/review/{first.id}/send-back",
                               data={"reason": "photo the gate lock"}, headers=HX)
    home = guard.get("/").get_data(as_text=True)
    assert "photo the gate lock" in home and f"/records/{first.id}/redo" in home
    form = guard.get(f"/records/{first.id}/redo").get_data(as_text=True)
    assert "photo the gate lock" in form and f'name="redo_of" value="{first.id}"' in form
    redo = make_record(guard, "CP-01", redo_of=str(first.id))
    assert redo.redo_of_id == first.id and redo.status == "submitted"
    queue = as_user("supervisor").get("/review/").get_data(as_text=True)
    assert f'id="record-{redo.id}"' in queue and f'id="record-{first.id}"' not in queue
    page = guard.get(f"/records/{redo.id}").get_data(as_text=True)
    assert "photo the gate lock" in page  # the earlier attempt and its reason stay visible
    assert guard.get(f"/records/{first.id}/redo").status_code == 404  # redone once only


def test_scanning_a_spot_with_a_sent_back_record_offers_the_redo(as_user):
    guard = as_user("guard")
    first = make_record(guard, "CP-01")
    as_user("supervisor").post(f"/review/{first.id}/send-back", data={"reason": "too dark"},
                               headers=HX)
    spot = spot_by_code("CP-01")
    html = guard.get(f"/t/{spot.token}").get_data(as_text=True)
    assert "too dark" in html and f'name="redo_of" value="{first.id}"' in html


def test_a_worker_cannot_see_another_workers_record(as_user):
    record = make_record(as_user("guard"))
    assert as_user("cleaner").get(f"/records/{record.id}").status_code == 404
    assert as_user("supervisor").get(f"/records/{record.id}").status_code == 200


def test_photos_are_private_to_the_site_and_cached_privately(as_user):
    record = make_record(as_user("guard"))
    photo = record.photos[0]
    with as_user("supervisor").get(f"/photos/{photo.id}/thumb") as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.data[:2] == b"\xff\xd8"
        assert "private" in response.headers["Cache-Control"]
    assert as_user("cleaner").get(f"/photos/{photo.id}").status_code == 404


def test_every_login_submission_and_review_is_audited(as_user):
    guard = as_user("guard")
    record = make_record(guard)
    as_user("supervisor").post(f"/review/{record.id}/approve", headers=HX)
    actions = db.session.scalars(select(Audit.action)).all()
    for action in ("login", "record_submitted", "record_approved"):
        assert action in actions


def test_nobody_reviews_their_own_record(as_user):
    admin = as_user("admin")  # an admin who is also a supervisor, doing a round themself
    own = make_record(admin, "CP-01")
    assert f'id="record-{own.id}"' not in admin.get("/review/").get_data(as_text=True)
    response = admin.post(f"/review/{own.id}/approve")
    assert response.status_code == 403
    assert db.session.get(Record, own.id).status == "submitted"
    assert f'id="record-{own.id}"' in as_user("supervisor").get("/review/").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/records/{id}", "/records/{id}/redo", "/photos/{photo}",
                                  "/photos/{photo}/thumb"])
def test_a_worker_sees_nothing_of_a_colleagues_records(as_user, path):
    record = make_record(as_user("guard"))
    as_user("supervisor").post(f"/review/{record.id}/send-back", data={"reason": "again"},
                               headers=HX)
    url = path.format(id=record.id, photo=record.photos[0].id)
    for colleague in ("cleaner", "tech"):
        assert as_user(colleague).get(url).status_code == 404
    spot = spot_by_code("CP-01")
    response = as_user("cleaner").post(
        f"/spots/{spot.id}/records", data=answers(spot, key="c" * 32, redo_of=str(record.id)),
        content_type="multipart/form-data")
    assert response.status_code == 303
    taken = db.session.scalar(select(Record).where(Record.submission_key == "c" * 32))
    assert taken.redo_of_id is None  # a colleague cannot take over someone's redo


def test_two_supervisors_at_the_same_moment_one_wins(app, as_user):
    """Two requests in flight together, on separate connections: exactly one review lands."""
    record = make_record(as_user("guard"))
    db.session.commit()
    boss, admin = as_user("supervisor"), as_user("admin")
    path = f"/review/{record.id}"  # read here: the test's session is not for the threads
    statuses = [response.status_code for response in at_once(
        app, lambda: boss.post(f"{path}/approve", headers=HX),
        lambda: admin.post(f"{path}/send-back", data={"reason": "blurry"}, headers=HX))]
    assert sorted(statuses) == [200, 409]
    db.session.expire_all()
    assert len(db.session.get(Record, record.id).reviews) == 1
