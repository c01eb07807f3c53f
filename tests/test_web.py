"""What every page shares: login, language, CSRF, errors, page weight and caching."""
import gzip
import re
from io import BytesIO

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Record, User

from .conftest import csrf_token, spot_by_code
from .helpers import answers


def test_wrong_password_is_refused_with_a_message(client):
    response = client.post("/login", data={"username": "guard", "password": "nope"})
    assert response.status_code == 422
    assert client.get("/").status_code == 302


def test_disabled_user_cannot_log_in(client):
    User.by_username("guard").active = False
    db.session.commit()
    response = client.post("/login", data={"username": "guard", "password": "demo1234"})
    assert response.status_code == 422


def test_remember_me_sets_a_long_lived_cookie(client):
    response = client.post("/login", data={"username": "guard", "password": "demo1234",
                                           "remember": "y"})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token"))
    assert "HttpOnly" in cookie and "Expires" in cookie


def test_remember_cookie_alone_logs_back_in(app):
    client = app.test_client()
    client.post("/login", data={"username": "guard", "password": "demo1234", "remember": "y"})
    client.delete_cookie("session")
    assert client.get("/").status_code == 200


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_login_never_redirects_off_site(client, target):
    response = client.post("/login", query_string={"next": target},
                           data={"username": "guard", "password": "demo1234"})
    assert response.status_code == 303 and response.location == "/"


def test_password_is_hashed(app):
    assert "demo1234" not in User.by_username("guard").password_hash


def test_htmx_request_without_session_is_told_to_redirect(client):
    response = client.post("/review/1/approve", headers={"HX-Request": "true"})
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


def test_language_follows_accept_language_then_the_choice(as_user):
    client = as_user("guard")
    zh = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    en = client.get("/", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "我的最近记录" in zh
    assert '<html lang="en">' in en and "My recent records" in en
    chosen = client.get("/?lang=en", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "My recent records" in chosen
    again = client.get("/", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "My recent records" in again


def test_language_choice_is_kept_on_the_account(as_user, app):
    client = as_user("guard")
    client.post("/language", data={"lang": "en", "next": "/"})
    assert User.by_username("guard").language == "en"
    fresh = as_user("guard")
    assert "My recent records" in fresh.get("/", headers={"Accept-Language": "zh"}).get_data(as_text=True)


def test_spot_names_follow_the_language(as_user):
    spot = spot_by_code("EQ-FP-01")
    client = as_user("tech")
    assert "Fire pump No. 1" in client.get(f"/t/{spot.token}?lang=en").get_data(as_text=True)
    assert "1号消防泵" in client.get(f"/t/{spot.token}?lang=zh_CN").get_data(as_text=True)


def test_validation_messages_are_in_the_users_language(as_user):
    spot = spot_by_code("EQ-FP-01")
    client = as_user("tech")
    client.get("/?lang=zh_CN")
    reading = spot.sop.current.steps[0]
    response = client.post(f"/spots/{spot.id}/records",
                           data=answers(spot, **{f"step-{reading.id}": "abc"}),
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "请以数字填写读数" in response.get_data(as_text=True)


def test_switching_language_on_a_refused_form_goes_back_to_the_form_s_page(as_user):
    """The refused submit's address takes only POSTs: the switch returns to the scan page."""
    spot = spot_by_code("EQ-FP-01")
    client = as_user("tech")
    scan_page = f"/t/{spot.token}"
    reading = spot.sop.current.steps[0]
    for referrer, back_to in ((f"http://localhost{scan_page}", scan_page),
                              # refused again, sent from the first refusal's page
                              (f"http://localhost/spots/{spot.id}/records", "/"),
                              ("https://evil.example/t/x", "/"), (None, "/")):
        response = client.post(f"/spots/{spot.id}/records",
                               data=answers(spot, **{f"step-{reading.id}": "abc"}),
                               headers={"Referer": referrer} if referrer else {},
                               content_type="multipart/form-data")
        assert response.status_code == 422
        html = response.get_data(as_text=True)
        assert re.search(r'name="next" value="([^"]*)"', html).group(1) == back_to, referrer
    switched = client.post("/language", data={"lang": "en", "next": scan_page},
                           follow_redirects=True)
    assert switched.status_code == 200 and spot.name_en in switched.get_data(as_text=True)


class TestCsrf:
    @pytest.fixture
    def client(self, app):
        app.config["WTF_CSRF_ENABLED"] = True
        return app.test_client()

    def test_login_without_token_is_refused(self, client):
        response = client.post("/login", data={"username": "guard", "password": "demo1234"})
        assert response.status_code == 400
        assert client.get("/").status_code == 302

    def test_submit_without_token_changes_nothing(self, client):
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "guard", "password": "demo1234",
                                    "csrf_token": csrf_token(page)})
        spot = spot_by_code("CP-01")
        response = client.post(f"/spots/{spot.id}/records", data=answers(spot),
                               content_type="multipart/form-data")
        assert response.status_code == 400
        assert db.session.scalar(select(func.count()).select_from(Record)) == 0

    def test_htmx_sends_the_token_in_a_header(self, client):
        page = client.get("/login").get_data(as_text=True)
        client.post("/login", data={"username": "supervisor", "password": "demo1234",
                                    "csrf_token": csrf_token(page)})
        home = client.get("/").get_data(as_text=True)
        token = re.search(r'"X-CSRFToken": "([^"]+)"', home).group(1)
        response = client.post("/language", data={"lang": "en", "next": "/"},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 303


def test_too_large_upload_gets_a_friendly_413(as_user, app):
    # Kept under the test client's 500 KB spooling threshold, so no temporary file is left open.
    app.config["MAX_CONTENT_LENGTH"] = 200 * 1024
    spot = spot_by_code("CP-01")
    data = answers(spot)
    data["photo-0"] = (BytesIO(b"\xff" * (300 * 1024)), "huge.jpg")
    response = as_user("guard").post(f"/spots/{spot.id}/records", data=data,
                                     content_type="multipart/form-data")
    assert response.status_code == 413
    assert "200 KB" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Record)) == 0


def test_scan_page_is_light(as_user):
    spot = spot_by_code("EQ-SG-01")
    client = as_user("tech")
    html = client.get(f"/t/{spot.token}").data
    assert len(gzip.compress(html)) <= 14 * 1024
    css_url = re.search(rb'href="(/static/css/app\.css\?v=\w+)"', html).group(1).decode()
    with client.get(css_url) as css:
        assert len(css.data) <= 15 * 1024
        assert css.cache_control.max_age >= 365 * 24 * 3600
    script = re.search(rb'<script src="(/static/vendor/htmx-2[^"]+)" defer>', html)
    assert script is not None
    with client.get(script.group(1).decode()) as htmx:
        assert htmx.status_code == 200 and htmx.cache_control.max_age >= 365 * 24 * 3600
    assert b"cdn" not in html.lower()


def test_pages_vary_on_htmx(as_user):
    assert "HX-Request" in as_user("guard").get("/").headers["Vary"]


def login_with_csrf(app, username):
    """A client of an app that checks CSRF tokens, logged in through the real form."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"username": username, "password": "demo1234",
                                "csrf_token": csrf_token(page)})
    return client


def test_an_expired_token_gives_the_filled_form_back(app):
    """A phone left open for hours: the answers come back with a fresh token, nothing is saved."""
    client = login_with_csrf(app, "tech")
    spot = spot_by_code("EQ-FP-01")
    pressure = spot.sop.current.steps[0]
    form = answers(spot, **{f"step-{pressure.id}": "0.52", "note": "gauge replaced",
                            "csrf_token": "expired"})
    response = client.post(f"/spots/{spot.id}/records", data=form,
                           content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="0.52"' in html and "gauge replaced" in html
    resend = answers(spot, **{f"step-{pressure.id}": "0.52", "csrf_token": csrf_token(html)})
    assert client.post(f"/spots/{spot.id}/records", data=resend,
                       content_type="multipart/form-data").status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Record)) == 1


def test_htmx_with_an_expired_token_reloads_the_page(app):
    client = login_with_csrf(app, "supervisor")
    response = client.post("/review/1/approve", headers={"HX-Request": "true",
                                                         "X-CSRFToken": "stale"})
    assert response.status_code == 400 and response.headers["HX-Refresh"] == "true"
