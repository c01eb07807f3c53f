"""The server's side of the outbox and the offline pages, request by request."""
import json
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Record, Scan

from .conftest import csrf_token, login, spot_by_code, user
from .helpers import answers, count, html

OUTBOX = {"X-Rounds-Outbox": "1"}


def post(client, spot, headers=OUTBOX, **fields):
    return client.post(f"/spots/{spot.id}/records", data=answers(spot, **fields),
                       content_type="multipart/form-data", headers=headers)


def test_the_service_worker_is_served_from_the_root_with_the_shell_it_keeps(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    body = html(response)
    shell = json.loads(re.search(r"const SHELL_URLS = (\[.*?\]);", body).group(1))
    assert "/outbox" in shell
    for url in shell:  # every file it asks for exists, at the version pages ask for
        with client.get(url) as file:
            assert file.status_code == 200, url
    login_page = html(client.get("/login"))
    assert all(url in login_page for url in shell if "app.css" in url or "outbox.js" in url)
    version = re.search(r'const VERSION = "([^"]+)"', body).group(1)
    assert f"Rounds {version}" in html(client.get("/login?lang=en"))


def test_the_manifest_makes_the_app_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json()
    assert manifest["start_url"] == "/" and manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        with client.get(icon["src"]) as file:
            assert file.mimetype == "image/png"
    assert 'rel="manifest"' in html(client.get("/login"))


def test_the_outbox_page_opens_without_login_and_holds_no_data(client):
    response = client.get("/outbox")
    assert response.status_code == 200
    assert 'id="outbox-items"' in html(response) and "data-user=" not in html(response)


def test_a_worker_s_phone_keeps_the_scan_pages_of_today_s_rounds(as_user):
    pages = as_user("guard").get("/offline/pages").get_json()
    assert pages["user"] == user("guard").id
    tokens = {spot_by_code(code).token for code in ("CP-01", "CP-02", "CP-03", "CP-04", "CP-05")}
    assert pages["pages"] and {url.removeprefix("/t/") for url in pages["pages"]} <= tokens
    assert as_user("supervisor").get("/offline/pages").get_json()["pages"] == []


def test_the_kept_copy_of_a_scan_page_logs_no_scan_and_has_no_key(as_user):
    spot = spot_by_code("CP-04")
    page = html(as_user("guard").get(f"/t/{spot.token}", headers={"X-Rounds-Offline-Copy": "1"}))
    assert 'name="submission_key" value=""' in page
    assert 'name="offline_scan" value="' in page and 'name="scan_id"' not in page
    assert count(Scan) == 0


def test_an_outbox_submit_is_answered_with_where_to_see_the_record(as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    response = post(client, spot, key="a" * 32, outbox_user=str(user("guard").id))
    assert response.status_code == 201
    record = db.session.scalar(select(Record))
    assert response.get_json() == {"url": f"/records/{record.id}?sent=1"}
    again = post(client, spot, key="a" * 32)  # the answer was lost: the resend finds it
    assert again.status_code == 201 and again.get_json() == response.get_json()
    assert count(Record) == 1


def test_an_item_saved_by_someone_else_waits_for_them(as_user):
    spot = spot_by_code("CP-04")
    response = post(as_user("guard"), spot, key="a" * 32, outbox_user=str(user("cleaner").id))
    assert response.status_code == 409 and response.get_json() == {"error": "other_user"}
    assert count(Record) == 0


def test_an_outbox_submit_without_login_is_told_to_log_in(client):
    spot = spot_by_code("CP-04")
    response = post(client, spot, key="a" * 32)
    assert response.status_code == 401
    assert response.get_json()["error"] == "login" and count(Record) == 0


def test_an_outbox_submit_with_an_old_token_is_told_to_fetch_a_new_one(app, as_user):
    spot = spot_by_code("CP-04")
    client = as_user("guard")
    app.config["WTF_CSRF_ENABLED"] = True
    response = post(client, spot, headers={**OUTBOX, "X-CSRFToken": "old"}, key="a" * 32)
    assert response.status_code == 400 and response.get_json() == {"error": "csrf"}
    token = client.get("/offline/session", headers=OUTBOX).get_json()["csrf"]
    response = post(client, spot, headers={**OUTBOX, "X-CSRFToken": token}, key="a" * 32)
    assert response.status_code == 201 and count(Record) == 1


def test_a_refused_outbox_submit_is_a_page_with_its_message(as_user):
    spot = spot_by_code("CP-04")
    response = post(as_user("guard"), spot, key="a" * 32, fingerprint="stale")
    assert response.status_code == 422 and 'role="alert"' in html(response)
    assert count(Record) == 0


def test_logging_out_tells_the_next_page_to_clear_the_phone(app):
    client = login(app.test_client(), "guard")
    token = csrf_token(html(client.get("/")))
    client.post("/logout", data={"csrf_token": token})
    page = html(client.get("/login"))
    assert f'data-logged-out="{user("guard").id}"' in page
    assert "data-logged-out" not in html(client.get("/login"))  # once


def test_the_health_check_says_whether_the_database_and_photo_folder_work(app, client, tmp_path):
    import os

    os.makedirs(app.config["PHOTO_DIR"], exist_ok=True)
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    app.config["PHOTO_DIR"] = str(tmp_path / "missing")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["problems"] == ["photos"]
