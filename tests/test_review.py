"""The supervisor's review queue and the worker's redo of a sent-back record."""
import re
from datetime import datetime, timedelta
from html import unescape

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app import demo_records
from app.due import day_bounds, local_date
from app.extensions import db
from app.models import Audit, Record, Review, Scan, Step, StepResult, User
from app.models.base import utcnow

from .conftest import HIDDEN, spot_by_code, user
from .helpers import answers, at_once
from .test_browser_loop import log_in
from .test_browser_screens import CONTROLS, TOO_SMALL
from .test_evidence import LAKE, north_of, send
from . import routes

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


def test_a_sent_back_record_stays_on_the_home_page_until_it_is_redone(as_user):
    """However many records the worker does meanwhile (a guard does thirty a night)."""
    guard = as_user("guard")
    first = make_record(guard, "CP-01")
    as_user("supervisor").post(f"/review/{first.id}/send-back",
                               data={"reason": "photo the gate lock"}, headers=HX)
    for n in range(30):
        routes.make_record(spot_by_code("CP-02"), user("guard"))
    db.session.commit()
    home = guard.get("/").get_data(as_text=True)
    assert "photo the gate lock" in home and f"/records/{first.id}/redo" in home
    make_record(guard, "CP-01", redo_of=str(first.id))
    home = guard.get("/").get_data(as_text=True)
    assert f"/records/{first.id}/redo" not in home and "photo the gate lock" not in home


def test_a_sent_back_record_at_a_spot_taken_out_of_use_is_no_longer_offered(as_user):
    guard = as_user("guard")
    first = make_record(guard, "CP-01")
    as_user("supervisor").post(f"/review/{first.id}/send-back", data={"reason": "again"},
                               headers=HX)
    spot_by_code("CP-01").active = False
    db.session.commit()
    assert f"/records/{first.id}/redo" not in guard.get("/").get_data(as_text=True)
    assert f"/records/{first.id}/redo" not in guard.get(f"/records/{first.id}").get_data(
        as_text=True)
    assert guard.get(f"/records/{first.id}/redo").status_code == 404


def test_the_demo_s_history_leaves_one_record_to_redo_each_sent_back_for_a_fitting_reason(
        as_user):
    """`make run`'s two weeks: records sent back were redone at the next round, except the
    one the README's story leaves for the person trying the guard's account."""
    demo_records.add_sample_records()
    assert demo_records.add_history() > 300
    sent_back = db.session.scalars(select(Record).where(Record.status == "sent_back")).all()
    assert len(sent_back) > 5
    waiting = [r for r in sent_back if not r.redone]
    assert [r.last_reason for r in waiting] == ["照片看不清门锁，请重拍"]
    for record in sent_back:
        if "读数" in record.last_reason:  # "the reading": only where the SOP has one
            assert any(step.kind == "reading" for step in record.version.steps)
        if "照片" in record.last_reason:  # "the photo"
            assert any(step.photo_required for step in record.version.steps)
    home = as_user("guard").get("/").get_data(as_text=True)
    assert home.count("/redo") == 1


def test_the_demo_s_readings_are_ones_a_gauge_could_show(app):
    """Out of range now and then, for the review queue to show; but never below zero where
    the allowed range starts at zero (a carbon monoxide level of -0.88 ppm was shown)."""
    demo_records.add_history()
    readings = db.session.execute(select(StepResult.number, Step.min_value, StepResult.anomaly)
                                  .join(Step).where(Step.kind == "reading")).all()
    assert len(readings) > 100
    assert all(number >= 0 for number, low, _ in readings if low is None or low >= 0)
    assert 0 < sum(anomaly for _, _, anomaly in readings) < len(readings) / 5


def test_scanning_a_spot_with_a_sent_back_record_offers_the_redo(as_user):
    guard = as_user("guard")
    first = make_record(guard, "CP-01")
    as_user("supervisor").post(f"/review/{first.id}/send-back", data={"reason": "too dark"},
                               headers=HX)
    spot = spot_by_code("CP-01")
    html = guard.get(f"/t/{spot.token}").get_data(as_text=True)
    assert "too dark" in html and f'name="redo_of" value="{first.id}"' in html
    # The earlier answers are filled in, and the page says so.
    assert "提交的答案，提交前请逐项重新检查" in html and 'value="ok" checked' in html


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


# Evidence on the card ----------------------------------------------------------

def page_text(response) -> str:
    """The page's characters as a reader sees them: "phone's" for "phone&#39;s", and a
    space for the no-break space that keeps "850 m" on one line."""
    return unescape(response.get_data(as_text=True)).replace("\u00a0", " ")


def flag_record(client, spot="CP-01", anomaly=False, **flag) -> Record:
    """A record of `client` with one flag as app/evidence.py would have set it, or none.

    (make_record's photos are all alike: left alone, each record after the first is
    flagged as re-using a photo.)"""
    pump = spot_by_code("EQ-FP-01")
    overrides = {f"step-{pump.sop.current.steps[0].id}": "0.25"} if anomaly else {}
    record = make_record(client, "EQ-FP-01" if anomaly else spot, **overrides)
    record.flags = [flag] if flag else []
    record.flagged = bool(flag)
    db.session.commit()
    return record


def reviewer_in_english(as_user, username="supervisor"):
    client = as_user(username)
    client.get("/review/?lang=en")
    return client


@pytest.mark.parametrize("flag, words", [
    ({"code": "far_from_spot", "m": 850, "accuracy": 20},
     "Sent 850 m from the spot (location accurate to 20 m)"),
    ({"code": "far_from_spot", "m": 12_300, "accuracy": 1500},
     "Sent 12.3 km from the spot (location accurate to 1.5 km)"),
    ({"code": "too_fast", "m": 500, "s": 30, "from_zh": "东门岗", "from_en": "East gate"},
     "Reached from East gate, 500 m away, in 30 s: faster than walking"),
    ({"code": "route_rushed", "n": 3, "s": 40, "route_zh": "白班巡逻", "route_en": "Day patrol"},
     "Whole route Day patrol (3 checkpoints) done in 40 s"),
    ({"code": "clock_off", "s": 3930}, "The phone's clock was 1 h 5 min ahead of the server's"),
    ({"code": "clock_off", "s": -400}, "The phone's clock was 6 min 40 s behind the server's"),
    ({"code": "sent_late", "s": 3 * 3600 + 10 * 60}, "Arrived 3 h 10 min after it was filled in"),
    ({"code": "sent_late", "s": 2 * 86400 + 7200}, "Arrived 2 days 2 h after it was filled in"),
])
def test_flags_are_told_in_plain_words_on_the_card(as_user, flag, words):
    record = flag_record(as_user("guard"), **flag)
    page = page_text(reviewer_in_english(as_user).get("/review/"))
    card = page[page.index(f'id="record-{record.id}"'):]
    assert words in card
    assert "Worth a closer look" in card and "Flagged" in card


def test_a_matching_photo_says_when_and_where_only_to_people_of_that_site(as_user, site, hidden):
    earlier = flag_record(as_user("guard"), "CP-01")
    # 06:20 UTC is 14:20 in Shanghai.
    here = flag_record(as_user("guard"), "CP-02", code="photo_reused", photo=1,
                       record=earlier.id, defect=None, site=site.id, at="2026-11-03T06:20:00",
                       spot_zh="东门岗", spot_en="East gate")
    elsewhere = flag_record(as_user("guard"), "CP-03", code="photo_reused", photo=2,
                            record=hidden["record_id"], defect=None, site=hidden["site_id"],
                            at="2026-11-04T01:00:00", spot_zh="隐秘泵房", spot_en="Hidden pump")
    page = page_text(reviewer_in_english(as_user).get("/review/"))
    card = page[page.index(f'id="record-{here.id}"'):page.index(f'id="record-{elsewhere.id}"')]
    assert "A photo matches one sent on 3 Nov 14:20 at East gate" in card
    assert f'href="/records/{earlier.id}"' in card
    assert "A photo matches one sent at another site" in page
    assert "Hidden pump" not in page and "隐秘" not in page
    assert f'/records/{hidden["record_id"]}"' not in page
    chinese = as_user("supervisor").get("/review/?lang=zh_CN")
    assert "11月3日 14:20" in page_text(chinese) and "东门岗" in page_text(chinese)


def test_a_record_far_from_a_spot_placed_in_setup_says_so_on_the_card(as_user):
    spot = spot_by_code("CP-04")
    admin = as_user("admin")
    response = admin.post(f"/setup/spots/{spot.id}/edit", data={
        "kind": spot.kind, "code": spot.code, "name_zh": spot.name_zh, "sop_id": spot.sop_id,
        "active": "y", "latitude": str(LAKE[0]), "longitude": str(LAKE[1]), "radius": "30"})
    assert response.status_code == 303
    where = north_of(LAKE, 850)
    record = send(as_user("guard"), spot, "a" * 32, latitude=str(where[0]),
                  longitude=str(where[1]), accuracy="20")
    page = page_text(reviewer_in_english(as_user).get("/review/?flagged=1"))
    card = page[page.index(f'id="record-{record.id}"'):]
    assert "Sent 850 m from the spot (location accurate to 20 m)" in card
    assert "Flagged (1)" in page


def test_the_card_tells_how_the_record_was_sent(as_user, site):
    record = flag_record(as_user("guard"), "CP-04")
    plain = flag_record(as_user("guard"), "CP-01")
    record.received_at = datetime(2026, 11, 3, 5, 12)  # 13:12 in Shanghai
    record.captured_at = datetime(2026, 11, 3, 2, 2)  # 10:02 on the phone
    record.scan_seconds, record.distance, record.accuracy = 130, 12, 8
    record.scan = Scan(spot_id=record.spot_id, user_id=record.user_id, offline=True,
                       at=datetime(2026, 11, 3, 2, 0))
    db.session.commit()
    page = page_text(reviewer_in_english(as_user).get("/review/"))
    card = page[page.index(f'id="record-{record.id}"'):]
    card = card[:card.index("</article>")]
    assert "Filled in 10:02 on the phone · arrived 13:12" in card
    assert "Scan to submit: 2 min 10 s" in card
    assert "Opened from the phone's offline copy" in card
    assert "12 m from the spot (location accurate to 8 m)" in card
    other = page[page.index(f'id="record-{plain.id}"'):]
    other = other[:other.index("</article>")]
    for words in ("on the phone", "Scan to submit", "offline copy", "from the spot",
                  "Worth a closer look"):
        assert words not in other


def test_the_record_page_shows_flags_to_supervisors_not_to_the_worker(as_user):
    guard = as_user("guard")
    record = flag_record(guard, code="sent_late", s=4 * 3600)
    guard.get("/?lang=en")
    assert "after it was filled in" not in page_text(guard.get(f"/records/{record.id}"))
    for username in ("supervisor", "admin"):
        page = page_text(reviewer_in_english(as_user, username).get(f"/records/{record.id}"))
        assert "Arrived 4 h after it was filled in" in page


# The flagged filter ------------------------------------------------------------

def test_the_flagged_tab_lists_and_counts_only_flagged_waiting_records(as_user, site,
                                                                       other_site):
    guard, admin = as_user("guard"), as_user("admin")
    flagged = [flag_record(guard, code="clock_off", s=900) for _ in range(2)]
    plain = flag_record(guard, "CP-02")
    own = flag_record(admin, code="clock_off", s=900)  # the admin's own
    done = flag_record(guard, code="clock_off", s=900)
    as_user("supervisor").post(f"/review/{done.id}/approve", headers=HX)
    client = reviewer_in_english(as_user, "admin")
    page = page_text(client.get("/review/"))
    assert "Flagged (2)" in page
    assert f'id="record-{plain.id}"' in page
    page = page_text(client.get("/review/?flagged=1"))
    shown = [r.id for r in (*flagged, plain, own, done) if f'id="record-{r.id}"' in page]
    assert shown == [r.id for r in flagged]
    assert "Flagged (2)" in page_text(client.get(f"/review/?site={site.id}"))
    assert "Flagged (0)" in page_text(client.get(f"/review/?site={other_site.id}&flagged=1"))
    assert "No flagged records waiting" in page_text(
        client.get(f"/review/?site={other_site.id}&flagged=1"))
    # Not the admin's own record, but the supervisor's to review.
    assert "Flagged (3)" in page_text(reviewer_in_english(as_user).get("/review/"))


def test_show_more_keeps_the_flagged_and_site_filters(as_user, app, site):
    app.config["REVIEW_PAGE_SIZE"] = 2
    guard = as_user("guard")
    made = []
    for i in range(7):
        made.append(flag_record(guard, code="clock_off", s=900) if i % 2 == 0
                    else flag_record(guard, "CP-02"))
    flagged = [r.id for r in made if r.flagged]
    client = as_user("admin")
    seen, url = [], f"/review/?site={site.id}&flagged=1"
    while url:
        page = client.get(url, headers=HX if seen else {}).get_data(as_text=True)
        seen += [r.id for r in made if f'id="record-{r.id}"' in page]
        marker = 'hx-get="'
        url = page.split(marker)[1].split('"')[0].replace("&amp;", "&") if marker in page \
            else None
        if url:
            assert "flagged=1" in url and f"site={site.id}" in url
    assert seen == flagged


# Approving a day's unflagged records at once -------------------------------------

def today_in(site):
    return local_date(site.timezone, utcnow())


def confirmation(client, site, day=None) -> tuple[str, dict]:
    """The confirmation page and the fields its form would post."""
    query = f"?site={site.id}" + (f"&day={day}" if day else "")
    response = client.get(f"/review/approve-unflagged{query}")
    assert response.status_code == 200
    page = page_text(response)
    fields = dict(re.findall(r'<input type="hidden" name="(site|day|up_to)" value="([^"]*)"',
                             page))
    return page, fields


@pytest.fixture
def day_of_work(as_user, site):
    """Today at the site: two plain records, one flagged, one with a Not OK step, one of the
    admin's own; yesterday: one plain record."""
    guard, admin = as_user("guard"), as_user("admin")
    plain = [flag_record(guard, "CP-01"), flag_record(guard, "CP-02")]
    flagged = flag_record(guard, code="clock_off", s=900)
    anomaly = flag_record(as_user("tech"), anomaly=True)
    own = flag_record(admin, "CP-03")
    old = flag_record(guard, "CP-04")
    start, _ = day_bounds(site.timezone, today_in(site))
    old.submitted_at = start - timedelta(minutes=1)
    db.session.commit()
    return {"plain": plain, "kept": [flagged, anomaly, own, old]}


def test_the_confirmation_counts_what_would_be_approved(as_user, site, day_of_work):
    client = reviewer_in_english(as_user, "admin")
    page, fields = confirmation(client, site)
    assert "2 records of " + today_in(site).isoformat() + " will be approved" in page
    assert "Approve 2 records" in page
    assert "Not OK step" in page and "2 such records are waiting for this day" in page
    assert fields == {"site": str(site.id), "day": today_in(site).isoformat(),
                      "up_to": str(max(r.id for r in day_of_work["plain"]))}
    assert f'value="{today_in(site).isoformat()}"' in page  # today by default
    assert all(db.session.get(Record, r.id).status == "submitted" for r in day_of_work["plain"])
    yesterday = today_in(site) - timedelta(days=1)
    page, _ = confirmation(client, site, yesterday.isoformat())
    assert f"1 record of {yesterday.isoformat()} will be approved" in page


def test_approving_all_unflagged_approves_exactly_those(as_user, site, day_of_work):
    client = reviewer_in_english(as_user, "admin")
    _, fields = confirmation(client, site)
    response = client.post("/review/approve-unflagged", data=fields)
    assert response.status_code == 303 and "/review/" in response.location
    db.session.expire_all()
    admin = user("admin")
    for record in day_of_work["plain"]:
        assert (record.status, record.reviewer_id) == ("approved", admin.id)
        assert [r.decision for r in record.reviews] == ["approved"]
    assert [r.status for r in day_of_work["kept"]] == ["submitted"] * 4
    rows = db.session.scalars(select(Audit).where(Audit.action == "record_approved")).all()
    assert sorted(row.target for row in rows) == sorted(
        f"record:{r.id}" for r in day_of_work["plain"])
    assert "Approved 2 records." in page_text(client.get(response.location))


def test_records_arriving_after_the_confirmation_are_not_approved_unseen(as_user, site,
                                                                         day_of_work):
    client = as_user("admin")
    _, fields = confirmation(client, site)
    late = flag_record(as_user("guard"), "CP-01")
    assert client.post("/review/approve-unflagged", data=fields).status_code == 303
    db.session.expire_all()
    assert late.status == "submitted"
    assert [r.status for r in day_of_work["plain"]] == ["approved", "approved"]


def test_a_record_reviewed_meanwhile_keeps_that_review(as_user, site, day_of_work):
    client = reviewer_in_english(as_user, "admin")
    _, fields = confirmation(client, site)
    first, second = day_of_work["plain"]
    as_user("supervisor").post(f"/review/{first.id}/send-back", data={"reason": "blurry"},
                               headers=HX)
    response = client.post("/review/approve-unflagged", data=fields)
    db.session.expire_all()
    assert (first.status, second.status) == ("sent_back", "approved")
    assert [r.decision for r in first.reviews] == ["sent_back"]
    assert "Approved 1 record." in page_text(client.get(response.location))


def test_two_supervisors_approving_all_at_once_review_each_record_once(app, as_user, site,
                                                                       day_of_work):
    boss, admin = reviewer_in_english(as_user), reviewer_in_english(as_user, "admin")
    _, fields = confirmation(admin, site)
    fields["up_to"] = str(max(r.id for r in day_of_work["plain"] + day_of_work["kept"]))
    db.session.commit()
    results = at_once(app, lambda: boss.post("/review/approve-unflagged", data=fields),
                      lambda: admin.post("/review/approve-unflagged", data=fields))
    assert [r.status_code for r in results] == [303, 303]
    db.session.expire_all()
    # The supervisor may also approve the admin's own record, which the admin leaves alone.
    own = day_of_work["kept"][2]
    for record in [*day_of_work["plain"], own]:
        assert [r.decision for r in record.reviews] == ["approved"]
    assert len(db.session.scalars(select(Audit).where(
        Audit.action == "record_approved")).all()) == 3
    told = page_text(boss.get("/review/")) + page_text(admin.get("/review/"))
    assert sum(int(n) for n in re.findall(r"Approved (\d+) records?\.", told)) == 3


def test_a_record_reviewed_between_the_count_and_the_approval_is_counted_apart(
        as_user, site, day_of_work, monkeypatch):
    from app import review

    first, second = day_of_work["plain"]
    supervisor = user("supervisor")
    choose = review.approvable

    def and_meanwhile(*args, **kwargs):
        records = choose(*args, **kwargs)
        first.review(supervisor, "sent_back", "blurry")  # lands after the query, before ours
        return records

    client = reviewer_in_english(as_user, "admin")
    _, fields = confirmation(client, site)
    monkeypatch.setattr(review, "approvable", and_meanwhile)
    response = client.post("/review/approve-unflagged", data=fields)
    db.session.expire_all()
    assert (first.status, second.status) == ("sent_back", "approved")
    assert [r.decision for r in first.reviews] == ["sent_back"]
    page = page_text(client.get(response.location))
    assert "Approved 1 record." in page
    assert "1 was reviewed by someone else meanwhile and left as it is." in page


def test_a_supervisor_of_several_sites_chooses_the_site(as_user, site, other_site):
    page = page_text(reviewer_in_english(as_user, "admin").get("/review/approve-unflagged"))
    assert "Choose the site" in page
    for s in (site, other_site):
        assert f'href="/review/approve-unflagged?site={s.id}"' in page
    page = page_text(reviewer_in_english(as_user).get("/review/approve-unflagged"))
    assert "Nothing to approve for Green Lake Gardens" in page  # their only site


def test_the_queue_links_to_approving_all_unflagged(as_user, site):
    page = page_text(as_user("admin").get(f"/review/?site={site.id}"))
    assert f'href="/review/approve-unflagged?site={site.id}"' in page


@pytest.mark.parametrize("method, query, status, words", [
    ("GET", "site=abc", 404, "This site is not one of yours"),
    ("GET", "site={other}", 404, "This site is not one of yours"),
    ("GET", "site={hidden}", 404, "This site is not one of yours"),
    ("GET", "site={site}&day=2026-13-01", 400, "Not a date"),
    ("GET", "site={site}&day=yesterday", 400, "Not a date"),
    ("GET", "site={site}&day=9999-12-31", 400, "Not a date"),
    ("POST", "site={other}&day=2026-11-03&up_to=1", 404, "This site is not one of yours"),
    ("POST", "site={site}&up_to=1", 400, "Not a date"),
    ("POST", "site={site}&day=2026-11-03", 400, "Open the page again"),
    ("POST", "site={site}&day=2026-11-03&up_to=x", 400, "Open the page again"),
])
def test_bad_input_to_approve_all_is_refused_and_changes_nothing(
        as_user, site, other_site, hidden, day_of_work, method, query, status, words):
    query = query.format(site=site.id, other=other_site.id, hidden=hidden["site_id"])
    client = reviewer_in_english(as_user)  # of Green Lake Gardens only
    if method == "GET":
        response = client.get(f"/review/approve-unflagged?{query}")
    else:
        response = client.post("/review/approve-unflagged", data=dict(
            pair.split("=") for pair in query.split("&")))
    assert response.status_code == status
    page = page_text(response)
    assert words in page and HIDDEN not in page
    db.session.expire_all()
    assert all(r.status == "submitted" for r in day_of_work["plain"])


@pytest.fixture
def flagged_queue(as_user, site):
    """Flags with long names, and one record to approve; made before the live server turns
    CSRF on."""
    guard = as_user("guard")
    earlier = flag_record(guard, "CP-01")
    flag_record(guard, "CP-02", code="photo_reused", photo=1, record=earlier.id, defect=None,
                site=site.id, at="2026-11-03T06:20:00", spot_zh="地下车库B2层入口坡道",
                spot_en="Car park B2, entrance ramp on the north side")
    flag_record(guard, "CP-03", code="too_fast", m=12_345, s=3725, from_zh="东门岗",
                from_en="East gate guard house")
    flag_record(guard, "CP-04", anomaly=True)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_flags_and_approve_all_fit_a_phone(flagged_queue, live_server, page, site, lang):
    page.goto(f"{live_server.url}/login?lang={lang}")
    log_in(page, "supervisor")
    for path in ("/review/", "/review/?flagged=1", f"/review/approve-unflagged?site={site.id}"):
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (lang, path)
        assert page.evaluate(TOO_SMALL, CONTROLS + ", .flags a") == [], (lang, path)
    page.locator("form[data-submit-once] button.primary").click()
    expect(page.locator(".notice.ok")).to_be_visible()
    db.session.rollback()  # a fresh read: the server thread wrote
    assert db.session.scalar(select(func.count()).select_from(Record).where(
        Record.status == "approved")) == 1


@pytest.mark.parametrize("sites_per_query", [50, 1])
def test_a_supervisor_of_two_sites_gets_one_queue_in_order_across_pages(as_user, app,
                                                                        monkeypatch,
                                                                        sites_per_query):
    """Each site's records come from its own part of the index; the pages still interleave
    them in one order: anomalies first, then oldest first. Also when the sites take more
    than one statement (a supervisor of more than 50 sites)."""
    from app import review

    monkeypatch.setattr(review, "SITES_PER_QUERY", sites_per_query)
    app.config["REVIEW_PAGE_SIZE"] = 3
    here, there = spot_by_code("CP-01"), spot_by_code("CP-01", "Riverside Apartments")
    start = utcnow() - timedelta(hours=2)
    made = []
    for n in range(8):
        record = routes.make_record(there if n % 3 == 0 else here, user("guard"))
        record.submitted_at = start + timedelta(minutes=n)
        made.append(record)
    anomalies = [made[n] for n in (1, 3, 6, 7)]  # more than a page: a page ends among them
    for record in anomalies:
        record.anomaly = True
    db.session.commit()
    expected = [r.id for r in anomalies] + [r.id for r in made if r not in anomalies]
    client, url, seen = reviewer_in_english(as_user, "admin"), "/review/", []
    while url:
        html = client.get(url, headers=HX if seen else {}).get_data(as_text=True)
        seen += sorted((html.index(f'id="record-{i}"'), i) for i in expected
                       if f'id="record-{i}"' in html)
        more = re.search(r'hx-get="(/review/\?[^"]*after=[^"]+)"', html)
        url = unescape(more.group(1)) if more else None
    assert [i for _, i in seen] == expected


def test_the_flagged_count_stops_at_99_plus(as_user, monkeypatch):
    from app import review

    monkeypatch.setattr(review, "FLAGGED_COUNTED", 3)
    guard = as_user("guard")
    for _ in range(3):
        flag_record(guard, code="clock_off", s=900)
    client = reviewer_in_english(as_user)
    assert "Flagged (99+)" in page_text(client.get("/review/"))
    flag_record(guard, code="clock_off", s=900)
    assert "Flagged (99+)" in page_text(client.get("/review/"))
