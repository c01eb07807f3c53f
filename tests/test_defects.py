"""Defects and incidents: raised from records, reported by hand, tracked to a verified fix."""
import json
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import BytesIO

import pytest
from sqlalchemy import select

from app import alerts
from app.extensions import db
from app.models import Conflict, Defect, Delivery, Finding
from app.models.defects import wall_clock_plus

from .conftest import HIDDEN, csrf_token, spot_by_code, user
from .helpers import answers, at_once, audits, count, html, jpeg

PUMP = "EQ-FP-01"


def pressure_step(spot):
    return next(s for s in spot.sop.current.steps if s.unit == "MPa")


def submit(client, code, key, **values):
    """Submit the spot's SOP with some answers changed, e.g. a low pressure."""
    spot = spot_by_code(code)
    data = answers(spot, key=key)
    for label, value in values.items():
        step = next(s for s in spot.sop.current.steps if s.label_en == label)
        data[f"step-{step.id}"] = value
    response = client.post(f"/spots/{spot.id}/records", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 303, html(response)
    return response


def low_pressure(client, key="1" * 32):
    return submit(client, PUMP, key, **{"Outlet pressure": "0.12"})


def only_defect() -> Defect:
    """The one defect of the demo site (the `hidden` site has its own incident)."""
    return db.session.scalars(select(Defect).where(Defect.site_id == 1)).one()


def incident(client, key="9" * 32, **fields):
    data = {"submission_key": key, "site": "1", "kind": "water_leak", "severity": "medium",
            "note": "B2 车库顶板漏水", **fields}
    return client.post("/incidents/new", data=data, content_type="multipart/form-data")


# --- Raised from records -------------------------------------------------------------------

def test_a_low_reading_raises_a_defect_with_the_record_photos_as_before(as_user):
    tech = as_user("tech")
    response = low_pressure(tech)
    defect = only_defect()
    spot = spot_by_code(PUMP)
    assert (defect.spot_id, defect.kind, defect.status, defect.step.label_en) == (
        spot.id, "finding", "open", "Outlet pressure")
    assert len(defect.findings) == 1 and defect.before_photos  # the pressure step needs a photo
    page = html(tech.get(response.location + "&lang=en"))
    assert f"Defect #{defect.id}: Outlet pressure" in page
    assert audits("defect_raised")


def test_an_ok_record_raises_nothing(as_user):
    submit(as_user("tech"), PUMP, "2" * 32)
    assert count(Defect) == 0


def test_the_same_step_failing_again_adds_a_finding_not_a_defect(as_user):
    tech = as_user("tech")
    low_pressure(tech, "1" * 32)
    low_pressure(tech, "2" * 32)
    submit(tech, PUMP, "3" * 32, **{"Control cabinet in automatic mode": "not_ok"})
    defects = db.session.scalars(select(Defect).order_by(Defect.id)).all()
    assert [d.step.label_en for d in defects] == ["Outlet pressure",
                                                  "Control cabinet in automatic mode"]
    assert len(defects[0].findings) == 2 and count(Finding) == 3


def test_a_finding_after_the_fix_reopens_it(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    defect = fixed_defect(tech, boss)
    low_pressure(tech, "2" * 32)
    db.session.refresh(defect)
    assert defect.status == "reopened" and len(defect.findings) == 2
    page = html(boss.get(f"/defects/{defect.id}?lang=en"))
    assert "Found again after the fix." in page and "→ 工程 陈强" in page


def test_a_verified_defect_is_closed_and_a_new_failure_opens_another(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    defect = fixed_defect(tech, boss)
    assert boss.post(f"/defects/{defect.id}/verify").status_code == 303
    low_pressure(tech, "2" * 32)
    assert count(Defect) == 2


# --- The lifecycle ---------------------------------------------------------------------------

def fixed_defect(tech, boss) -> Defect:
    """The low pressure found by `tech`, assigned to them by `boss` and fixed: to verify."""
    low_pressure(tech, "1" * 32)
    defect = only_defect()
    assign(boss, defect, "tech")
    fix(tech, defect)
    return defect


def assign(client, defect, username):
    response = client.post(f"/defects/{defect.id}/assign",
                           data={"assignee": user(username).id})
    assert response.status_code == 303, html(response)
    db.session.refresh(defect)


def fix(client, defect, note="更换压力表，复测 0.45 MPa", photo=True, key="f" * 32):
    data = {"submission_key": key, "note": note}
    if photo:
        data["photo"] = (BytesIO(jpeg(color=(30, 160, 60))), "after.jpg")
    response = client.post(f"/defects/{defect.id}/fix", data=data,
                           content_type="multipart/form-data")
    db.session.refresh(defect)
    return response


def test_full_lifecycle_with_reopen(as_user):
    tech, boss, admin = as_user("tech"), as_user("supervisor"), as_user("admin")
    low_pressure(tech)
    defect = only_defect()
    assign(boss, defect, "tech")
    assert (defect.status, defect.assignee.username) == ("assigned", "tech")
    assert defect.responded_at is not None

    assert fix(tech, defect).status_code == 303
    assert defect.status == "fixed" and len(defect.after_photos) == 1

    response = boss.post(f"/defects/{defect.id}/reopen", data={"reason": "压力仍偏低"})
    assert response.status_code == 303
    db.session.refresh(defect)
    assert defect.status == "reopened" and defect.assignee.username == "tech"
    assert "压力仍偏低" in html(tech.get(f"/defects/{defect.id}"))
    # The phone resends the first fix (its answer was lost): it is not applied again.
    assert fix(tech, defect).status_code == 303
    assert defect.status == "reopened"

    assert fix(tech, defect, key="e" * 32).status_code == 303
    assert admin.post(f"/defects/{defect.id}/verify").status_code == 303
    db.session.refresh(defect)
    assert (defect.status, defect.verified_by.username) == ("verified", "admin")
    actions = [a.action for a in audits_of(defect)]
    assert actions == ["defect_raised", "defect_assigned", "defect_fixed", "defect_reopened",
                       "defect_fixed", "defect_verified"]
    page = html(boss.get(f"/defects/{defect.id}?lang=en"))
    # The rejected fix stays in the timeline; only the accepted one's photo is "after".
    assert page.count('alt="After"') == 1 and 'alt="Before"' in page
    assert page.count("压力仍偏低") == 1


def audits_of(defect):
    from app.models import Audit

    return db.session.scalars(select(Audit).where(Audit.target == f"defect:{defect.id}")
                              .order_by(Audit.id)).all()


def test_the_fixer_cannot_verify_their_own_fix(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    low_pressure(tech)
    defect = only_defect()
    assign(boss, defect, "supervisor")
    assert fix(boss, defect).status_code == 303
    response = boss.post(f"/defects/{defect.id}/verify?lang=en")
    assert response.status_code == 403
    assert "another supervisor has to verify it" in html(response)
    db.session.refresh(defect)
    assert defect.status == "fixed" and defect.verified_at is None


def test_a_fix_needs_a_note_and_an_after_photo(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    low_pressure(tech)
    defect = only_defect()
    assign(boss, defect, "tech")
    response = fix(tech, defect, photo=False)
    assert response.status_code == 422 and defect.status == "assigned"
    response = fix(tech, defect, note="")
    assert response.status_code == 422 and defect.status == "assigned"
    # The photo sent with the refused form waits for the corrected one.
    assert fix(tech, defect, photo=False, note="done").status_code == 303
    assert defect.status == "fixed"


@pytest.mark.parametrize("username", ["guard", "cleaner", "tech"])
def test_workers_cannot_assign_verify_or_reopen(as_user, username):
    low_pressure(as_user("tech"))
    defect = only_defect()
    client = as_user(username)
    for action, data in (("assign", {"assignee": user("tech").id}), ("verify", {}),
                         ("reopen", {"reason": "x"})):
        assert client.post(f"/defects/{defect.id}/{action}", data=data).status_code == 403
    db.session.refresh(defect)
    assert defect.status == "open"


def test_only_the_assignee_or_a_supervisor_records_the_fix(as_user):
    low_pressure(as_user("tech"))
    defect = only_defect()
    assign(as_user("supervisor"), defect, "tech")
    assert fix(as_user("guard"), defect).status_code == 403
    assert defect.status == "assigned"
    # Reassigned at the very moment the former assignee sends the fix: refused.
    with pytest.raises(Conflict):
        defect.fix(user("guard"), "done", [object()], datetime(2027, 1, 1))
    db.session.rollback()


def test_incident_photos_follow_the_site_chosen_in_the_end(as_user, app):
    from app.models import Photo, Site, User

    riverside = db.session.scalar(select(Site).where(Site.name_en == "Riverside Apartments"))
    admin = as_user("admin")
    refused = incident(admin, kind="", photo=(BytesIO(jpeg()), "leak.jpg"))
    assert refused.status_code == 422
    assert incident(admin, site=str(riverside.id)).status_code == 303
    photo = db.session.scalars(select(Photo).where(Photo.defect_id.is_not(None))).one()
    assert photo.site_id == riverside.id
    assert as_user("supervisor").get(f"/photos/{photo.id}").status_code == 404
    assert User.by_username("supervisor").site_ids == {1}


def test_assigning_to_someone_of_another_site_is_refused(as_user, hidden):
    low_pressure(as_user("tech"))
    defect = only_defect()
    response = as_user("supervisor").post(f"/defects/{defect.id}/assign",
                                          data={"assignee": hidden["user_id"]})
    assert response.status_code == 422
    db.session.refresh(defect)
    assert defect.assignee_id is None


def test_two_supervisors_verifying_at_once_one_wins(as_user):
    tech = as_user("tech")
    defect = fixed_defect(tech, as_user("supervisor"))
    assert as_user("supervisor").post(f"/defects/{defect.id}/verify").status_code == 303
    late = as_user("admin").post(f"/defects/{defect.id}/verify")
    assert late.status_code == 409
    assert len(audits("defect_verified")) == 1


# --- Deadlines -----------------------------------------------------------------------------------

def test_deadlines_run_on_the_site_clock_across_midnight():
    # 22:30 in Shanghai (14:30 UTC) + 4 h = 02:30 the next day there.
    start = datetime(2027, 3, 4, 14, 30)
    assert wall_clock_plus(start, 4, "Asia/Shanghai") == datetime(2027, 3, 4, 18, 30)
    # Berlin springs forward on 2027-03-28: 24 h after 12:00 on the 27th is 12:00 on the 28th
    # there, 23 hours later.
    start = datetime(2027, 3, 27, 11, 0)  # 12:00 CET
    assert wall_clock_plus(start, 24, "Europe/Berlin") == datetime(2027, 3, 28, 10, 0)


def test_deadlines_follow_the_site_settings_and_show_in_local_time(as_user, site, monkeypatch):
    site.deadline_hours = {"medium": [2, 10]}
    db.session.commit()
    # Reported at 22:30 in Shanghai (14:30 UTC): respond by 00:30, fix by 08:30 the next day.
    monkeypatch.setattr("app.defects.incidents.utcnow", lambda: datetime(2027, 3, 4, 14, 30))
    assert incident(as_user("guard"), severity="medium").status_code == 303
    defect = only_defect()
    assert (defect.respond_by, defect.fix_by) == (datetime(2027, 3, 4, 16, 30),
                                                  datetime(2027, 3, 5, 0, 30))
    page = html(as_user("supervisor").get(f"/defects/{defect.id}?lang=en"))
    assert "2027-03-05 00:30" in page and "2027-03-05 08:30" in page
    # A site elsewhere shows the same instants on its own clock.
    site.timezone = "Europe/London"
    db.session.commit()
    page = html(as_user("supervisor").get(f"/defects/{defect.id}?lang=en"))
    assert "2027-03-04 16:30" in page and "2027-03-05 00:30" in page
    # A severity the site did not set keeps the default.
    assert site.hours("high") == (24, 24)


def test_overdue_defects_stand_out_and_come_first(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    low_pressure(tech)
    submit(tech, PUMP, "2" * 32, **{"Control cabinet in automatic mode": "not_ok"})
    late, fresh = db.session.scalars(select(Defect).order_by(Defect.id)).all()
    late.respond_by = late.fix_by = datetime(2020, 1, 1)
    db.session.commit()
    page = html(boss.get("/defects/?lang=en"))
    assert page.index(f'id="defect-{late.id}"') < page.index(f'id="defect-{fresh.id}"')
    card = page.split(f'id="defect-{late.id}"')[1].split("</article>")[0]
    assert "Overdue" in card and 'class="card defect overdue"' in page
    only_late = html(boss.get("/defects/?overdue=1"))
    assert f'id="defect-{late.id}"' in only_late and f'id="defect-{fresh.id}"' not in only_late
    dashboard = html(boss.get("/reports/sites/1?lang=en"))
    assert "<strong>2</strong><span>defects to fix" in dashboard
    assert "<strong>1</strong><span>defects overdue" in dashboard


def test_my_defects_lists_what_is_assigned_to_me_overdue_first(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    low_pressure(tech)
    submit(tech, PUMP, "2" * 32, **{"Control cabinet in automatic mode": "not_ok"})
    first, second = db.session.scalars(select(Defect).order_by(Defect.id)).all()
    assign(boss, first, "tech")
    assign(boss, second, "tech")
    second.fix_by = datetime(2020, 1, 1)
    db.session.commit()
    page = html(tech.get("/defects/mine"))
    assert page.index(f'id="defect-{second.id}"') < page.index(f'id="defect-{first.id}"')
    assert 'name="assignee"' not in html(tech.get("/defects/mine"))
    assert f'id="defect-{first.id}"' not in html(as_user("guard").get("/defects/mine"))
    assert "2" in html(tech.get("/?lang=en")).split("Defects assigned to you:")[1][:5]


def test_the_board_shows_fixes_waiting_for_verification_by_default(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    defect = fixed_defect(tech, boss)
    assert f'id="defect-{defect.id}"' in html(boss.get("/defects/"))
    assert f'id="defect-{defect.id}"' not in html(boss.get("/defects/?status=unresolved"))
    boss.post(f"/defects/{defect.id}/verify")
    as_user("admin").post(f"/defects/{defect.id}/verify")
    assert f'id="defect-{defect.id}"' not in html(boss.get("/defects/"))
    assert f'id="defect-{defect.id}"' in html(boss.get("/defects/?status=all"))


@pytest.mark.parametrize("status", ["bogus", "", "1"])
def test_bad_board_filters_fall_back_to_the_default(as_user, status):
    response = as_user("supervisor").get(f"/defects/?status={status}&severity=x&kind=y&site=z")
    assert response.status_code == 200


def test_an_htmx_assign_without_a_person_says_so_in_the_card(as_user):
    low_pressure(as_user("tech"))
    defect = only_defect()
    response = as_user("supervisor").post(f"/defects/{defect.id}/assign",
                                          data={"assignee": "nobody"},
                                          headers={"HX-Request": "true"})
    body = html(response)
    assert response.status_code == 422 and body.lstrip().startswith("<article")
    assert 'role="alert"' in body and "<html" not in body
    db.session.refresh(defect)
    assert defect.status == "open"


def test_a_refused_reopen_keeps_the_typed_reason(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    defect = fixed_defect(tech, boss)
    response = boss.post(f"/defects/{defect.id}/reopen", data={"reason": "太短" * 300})
    assert response.status_code == 422
    assert "太短太短" in html(response) and "<details open>" in html(response)
    db.session.refresh(defect)
    assert defect.status == "fixed"


def test_the_board_assigns_in_one_step_with_htmx(as_user):
    low_pressure(as_user("tech"))
    defect = only_defect()
    boss = as_user("supervisor")
    response = boss.post(f"/defects/{defect.id}/assign", data={"assignee": user("tech").id},
                         headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert html(response).lstrip().startswith('<article class="card defect"')
    db.session.refresh(defect)
    assert defect.assignee.username == "tech"


# --- Incidents and alerts -------------------------------------------------------------------------

class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"errcode":0}')

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    """A chat bot on 127.0.0.1 that records what it receives."""
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_high_severity_incident_alerts_supervisors_and_the_webhook(as_user, site, webhook,
                                                                      app):
    site.webhook_url = f"http://127.0.0.1:{webhook.server_port}/bot/send?key=SECRET"
    db.session.commit()
    guard = as_user("guard")
    spot = spot_by_code("CP-01")
    response = incident(guard, severity="high", kind="lift_entrapment", spot=str(spot.id),
                        photo=(BytesIO(jpeg()), "lift.jpg"))
    assert response.status_code == 303
    defect = only_defect()
    assert (defect.kind, defect.severity, defect.spot_id) == ("lift_entrapment", "high", spot.id)
    assert len(defect.before_photos) == 1
    [(path, message)] = Hook.received
    assert path == "/bot/send?key=SECRET"
    assert message["severity"] == "high" and message["kind"] == "lift_entrapment"
    assert message["link"].endswith(f"/defects/{defect.id}") and "photo" not in json.dumps(message)
    assert message["msgtype"] == "text"
    assert "【高 High】电梯困人 Lift entrapment" in message["text"]["content"]
    assert "翠湖花园 东门岗 CP-01" in message["text"]["content"]  # the place, in Chinese
    # The banner on every page of the site's supervisors, until someone is assigned.
    banner = html(as_user("supervisor").get("/?lang=en"))
    assert "urgent" in banner and "Lift entrapment" in banner
    assert "urgent" not in html(guard.get("/"))
    assign(as_user("supervisor"), defect, "tech")
    assert "no one assigned yet" not in html(as_user("supervisor").get("/?lang=en"))
    # The link in the message needs a login.
    anonymous = app.test_client().get(message["link"])
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_an_incident_survives_the_webhook_being_down_and_is_sent_later(as_user, site, app,
                                                                       caplog):
    port = free_port()
    site.webhook_url = f"http://127.0.0.1:{port}/hook?key=SECRET"
    db.session.commit()
    response = incident(as_user("guard"), severity="high", kind="fire_alarm")
    assert response.status_code == 303
    defect = only_defect()
    delivery = db.session.scalars(select(Delivery)).one()
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert delivery.next_try_at is not None and delivery.last_error
    assert "SECRET" not in caplog.text and "/hook" not in caplog.text
    assert f"127.0.0.1:{port}" in caplog.text
    page = html(as_user("supervisor").get(f"/defects/{defect.id}?lang=en"))
    assert "Not sent yet" in page

    server = HTTPServer(("127.0.0.1", port), Hook)
    Hook.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        runner = app.test_cli_runner()
        result = runner.invoke(args=["send-alerts"])  # not due yet: backoff
        assert "sent: 0" in result.output
        alerts.deliver_due(delivery.next_try_at + timedelta(seconds=1))
    finally:
        server.shutdown()
        server.server_close()
    db.session.refresh(delivery)
    assert delivery.delivered_at is not None and delivery.attempts == 2
    assert len(Hook.received) == 1 and Hook.received[0][1]["id"] == defect.id


def test_a_medium_incident_sends_no_alert(as_user, site, webhook):
    site.webhook_url = f"http://127.0.0.1:{webhook.server_port}/bot"
    db.session.commit()
    assert incident(as_user("guard")).status_code == 303
    assert Hook.received == [] and count(Delivery) == 0
    assert "urgent" not in html(as_user("supervisor").get("/"))


def test_a_double_tap_sending_two_incidents_at_once_makes_one(app, as_user):
    clients = [as_user("guard"), as_user("guard")]
    db.session.commit()
    answers_ = [(r.status_code, r.location) for r in at_once(
        app, *(lambda client=client: incident(client, key="6" * 32) for client in clients))]
    assert [status for status, _ in answers_] == [303, 303]
    assert answers_[0][1] == answers_[1][1]
    db.session.expire_all()
    assert count(Defect, Defect.site_id == 1) == 1


def test_an_incident_sent_twice_is_one_incident(as_user):
    guard = as_user("guard")
    first = incident(guard)
    second = incident(guard)
    assert count(Defect) == 1 and first.location == second.location


@pytest.mark.parametrize("fields", [{"kind": "meteor"}, {"severity": "extreme"},
                                    {"note": "x" * 2001}, {"site": "999"}])
def test_a_bad_incident_form_says_why_and_saves_nothing(as_user, fields):
    response = incident(as_user("guard"), **fields)
    assert response.status_code == 422
    assert 'class="error"' in html(response)
    assert count(Defect) == 0


def test_an_incident_at_a_spot_of_another_site_is_refused(as_user, hidden):
    response = incident(as_user("guard"), spot=str(hidden["spot_id"]), key="8" * 32)
    assert response.status_code == 404


@pytest.mark.parametrize("url, ok", [
    ("https://qyapi.example.com/cgi-bin/webhook/send?key=abc", True),
    ("http://127.0.0.1:8080/hook", True),
    ("ftp://example.com/hook", False),
    ("javascript:alert(1)", False),
    ("https://user:pass@example.com/hook", False),
    ("https:///nohost", False),
    ("https://example.com/a b", False),
])
def test_webhook_urls_are_checked(url, ok):
    assert alerts.valid_webhook(url) is ok


def test_the_site_form_saves_the_webhook_and_deadlines_and_audits_no_key(as_user, site):
    admin = as_user("admin")
    data = {"name_zh": site.name_zh, "name_en": site.name_en, "timezone": site.timezone,
            "webhook_url": "https://chat.example.com/send?key=TOPSECRET",
            "respond_high": "1", "fix_high": "8", "respond_medium": "24", "fix_medium": "72",
            "respond_low": "48", "fix_low": "336"}
    assert admin.post(f"/setup/sites/{site.id}/edit", data=data).status_code == 303
    db.session.refresh(site)
    assert site.webhook_url.endswith("TOPSECRET") and site.hours("high") == (1, 8)
    assert "TOPSECRET" not in audits("setup_site_edit")[-1].detail
    bad = admin.post(f"/setup/sites/{site.id}/edit", data=data | {
        "webhook_url": "ftp://x", "fix_low": "0"})
    assert bad.status_code == 422
    db.session.refresh(site)
    assert site.hours("low") == (48, 336)


# --- Visibility, history, export -------------------------------------------------------------------

def test_defects_of_another_site_are_invisible(as_user, hidden):
    for name in ("guard", "tech", "supervisor", "admin"):
        client = as_user(name)
        assert client.get(f"/defects/{hidden['defect_id']}").status_code == 404
        assert HIDDEN not in html(client.get("/defects/mine"))
    assert HIDDEN not in html(as_user("supervisor").get("/defects/?status=all"))


def test_the_spot_history_shows_records_defects_and_fixes_newest_first(as_user):
    tech, boss = as_user("tech"), as_user("supervisor")
    submit(tech, PUMP, "2" * 32)
    defect = fixed_defect(tech, boss)
    spot = spot_by_code(PUMP)
    scan_page = html(tech.get(f"/t/{spot.token}?lang=en"))
    assert f"/spots/{spot.id}/history" in scan_page
    page = html(as_user("guard").get(f"/spots/{spot.id}/history?lang=en"))
    assert page.index("Fixed ·") < page.index("Defect ·") < page.rindex("Record")
    assert page.count("Record</a> ·") + page.count("Record ·") == 2
    assert page.count(f'href="/defects/{defect.id}"') == 2  # raised, then fixed


def test_before_photos_are_visible_to_everyone_at_the_site_but_not_elsewhere(as_user, hidden):
    low_pressure(as_user("tech"))
    defect = only_defect()
    photo = defect.before_photos[0]
    with as_user("guard").get(f"/photos/{photo.id}") as response:
        assert response.status_code == 200
    assert as_user("supervisor").get(f"/photos/{hidden['photo_id']}").status_code == 404


def test_defects_export_round_trip(as_user):
    from openpyxl import load_workbook

    from app.reports.exports import DEFECT_HEADER

    tech, boss = as_user("tech"), as_user("supervisor")
    low_pressure(tech)
    defect = only_defect()
    assign(boss, defect, "tech")
    today = defect.created_at.date()
    response = boss.get(f"/reports/sites/1/export.xlsx?what=defects&from={today - timedelta(days=1)}"
                        f"&to={today + timedelta(days=1)}&lang=en")
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.data)).active.values)
    assert list(rows[0]) == list(DEFECT_HEADER.values())
    row = dict(zip(DEFECT_HEADER, rows[1]))
    assert (row["id"], row["code"], row["what"], row["status"], row["assignee"]) == (
        defect.id, PUMP, "Outlet pressure", "Assigned", "工程 陈强")
    assert isinstance(row["fix_by"], datetime)



def test_an_expired_token_gives_the_incident_and_the_fix_back(app, as_user):
    from .test_web import login_with_csrf

    low_pressure(as_user("tech"))
    defect = only_defect()
    assign(as_user("supervisor"), defect, "tech")
    client = login_with_csrf(app, "tech")
    response = client.post("/incidents/new", data={
        "submission_key": "5" * 32, "site": "1", "kind": "power_cut", "severity": "high",
        "note": "2号楼整栋停电", "csrf_token": "expired"})
    page = html(response)
    assert response.status_code == 400 and count(Defect) == 1
    assert "2号楼整栋停电" in page and 'value="power_cut" checked' in page
    assert 'value="high" checked' in page and 'value="5555' in page
    resend = {"submission_key": "5" * 32, "site": "1", "kind": "power_cut", "severity": "high",
              "note": "2号楼整栋停电", "csrf_token": csrf_token(page)}
    assert client.post("/incidents/new", data=resend).status_code == 303
    assert count(Defect) == 2

    response = client.post(f"/defects/{defect.id}/fix", data={
        "submission_key": "4" * 32, "note": "换了压力表", "csrf_token": "expired"})
    assert response.status_code == 400 and "换了压力表" in html(response)
    db.session.refresh(defect)
    assert defect.status == "assigned"


def test_an_alert_that_never_gets_through_is_given_up_and_said_so(as_user, site):
    site.webhook_url = f"http://127.0.0.1:{free_port()}/hook"
    db.session.commit()
    incident(as_user("guard"), severity="high")
    delivery = db.session.scalars(select(Delivery)).one()
    while delivery.next_try_at is not None:
        alerts.deliver_due(delivery.next_try_at)
        db.session.refresh(delivery)
    assert delivery.attempts == alerts.MAX_ATTEMPTS and delivery.delivered_at is None
    page = html(as_user("supervisor").get(f"/defects/{delivery.defect_id}?lang=en"))
    assert f"Could not be sent after {alerts.MAX_ATTEMPTS} tries" in page
