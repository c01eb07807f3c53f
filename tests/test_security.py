"""Production settings, response headers, ending sessions and login throttling."""
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import update

from app import config, create_app
from app.auth import throttle
from app.extensions import db
from app.models import LoginFailure, User

from .conftest import login
from .helpers import count, html

STRONG_KEY = "k" * 40


def closed(other):
    """Close the connections of an extra app on the test database (PostgreSQL warns, and
    the suite fails, when one is garbage-collected open)."""
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


# Production settings -----------------------------------------------------------

@pytest.mark.parametrize("key", [None, config.DEV_SECRET_KEY, "short"])
def test_production_refuses_to_start_without_a_secret_key_of_its_own(schema, key):
    with pytest.raises(config.ConfigError, match="FLASK_SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": schema, "PRODUCTION": True, "SECRET_KEY": key})


def test_production_refuses_debug(schema):
    with pytest.raises(config.ConfigError, match="Debug"):
        create_app({"SQLALCHEMY_DATABASE_URI": schema, "PRODUCTION": True,
                    "SECRET_KEY": STRONG_KEY, "DEBUG": True})


def test_production_cookies_are_secure_host_only_and_short_lived(app, schema, tmp_path):
    prod = create_app({"SQLALCHEMY_DATABASE_URI": schema, "PRODUCTION": True,
                       "SECRET_KEY": STRONG_KEY, "PHOTO_DIR": str(tmp_path),
                       "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                       "REMEMBER_COOKIE_DURATION": timedelta(days=365)})
    client = prod.test_client()
    token = client.get("/login", base_url="https://rounds.example").get_data(as_text=True)
    token = token.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", base_url="https://rounds.example", data={
        "csrf_token": token, "username": "guard", "password": "demo1234", "remember": "y"})
    assert response.status_code == 303
    cookies = {c.split("=")[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("__Host-session", "__Host-remember", "__Host-device"):
        assert "Secure" in cookies[name] and "HttpOnly" in cookies[name], name
        assert "SameSite=Lax" in cookies[name] and "Path=/" in cookies[name], name
        assert "Domain" not in cookies[name], name
    assert prod.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    closed(prod)


def test_check_deploy_reports_every_unsafe_setting_and_passes_a_safe_one(app, schema, tmp_path):
    result = app.test_cli_runner().invoke(args=["check-deploy"])
    assert result.exit_code == 1
    for words in ("FLASK_PRODUCTION", "FLASK_SECRET_KEY", "TESTING", "CSRF protection is off",
                  "SESSION_COOKIE_SECURE", "__Host-"):
        assert words in result.output, words
    safe = create_app({"SQLALCHEMY_DATABASE_URI": schema, "PRODUCTION": True,
                       "SECRET_KEY": STRONG_KEY, "PHOTO_DIR": str(tmp_path)})
    result = safe.test_cli_runner().invoke(args=["check-deploy"])
    closed(safe)
    assert result.exit_code == 0 and result.output == "No problems found.\n"


@pytest.fixture(scope="module")
def production_app(schema, tmp_path_factory):
    prod = create_app({"SQLALCHEMY_DATABASE_URI": schema, "PRODUCTION": True,
                       "SECRET_KEY": STRONG_KEY, "PHOTO_DIR": str(tmp_path_factory.mktemp("p"))})
    yield prod
    closed(prod)


@pytest.mark.parametrize("setting, value, words", [
    ("PRODUCTION", False, "FLASK_PRODUCTION is not true"),
    ("SECRET_KEY", config.DEV_SECRET_KEY, "FLASK_SECRET_KEY is the development key"),
    ("SECRET_KEY", "x" * 31, "shorter than 32 characters"),
    ("DEBUG", True, "Debug mode is on"),
    ("TESTING", True, "TESTING is on"),
    ("WTF_CSRF_ENABLED", False, "CSRF protection is off"),
    ("SESSION_COOKIE_SECURE", False, "SESSION_COOKIE_SECURE is off"),
    ("REMEMBER_COOKIE_SECURE", False, "REMEMBER_COOKIE_SECURE is off"),
    ("SESSION_COOKIE_HTTPONLY", False, "SESSION_COOKIE_HTTPONLY is off"),
    ("REMEMBER_COOKIE_HTTPONLY", False, "REMEMBER_COOKIE_HTTPONLY is off"),
    ("SESSION_COOKIE_SAMESITE", None, "SESSION_COOKIE_SAMESITE should be Lax"),
    ("REMEMBER_COOKIE_SAMESITE", "None", "REMEMBER_COOKIE_SAMESITE should be Lax"),
    ("SESSION_COOKIE_NAME", "session", "The session cookie has no __Host- name"),
    ("REMEMBER_COOKIE_NAME", "remember_token", "The remember cookie has no __Host- name"),
    ("REMEMBER_COOKIE_DURATION", timedelta(days=31), "REMEMBER_COOKIE_DURATION is over 30"),
    ("PERMANENT_SESSION_LIFETIME", timedelta(days=90), "PERMANENT_SESSION_LIFETIME is over"),
    ("MAX_CONTENT_LENGTH", None, "MAX_CONTENT_LENGTH is unset or over 100 MB"),
    ("MAX_CONTENT_LENGTH", 200 * 2**20, "MAX_CONTENT_LENGTH is unset or over 100 MB"),
    ("PHOTO_DIR", "/nonexistent/photos", "/nonexistent/photos does not exist"),
])
def test_check_deploy_names_each_unsafe_setting_alone(production_app, monkeypatch,
                                                       setting, value, words):
    def problems():
        with production_app.app_context():
            return config.deploy_problems(production_app)
    assert problems() == []
    monkeypatch.setitem(production_app.config, setting, value)
    [problem] = problems()
    assert words in problem


@pytest.mark.parametrize("revision, words", [
    (None, "The database cannot be read"),
    ("0123abcd", "The database is at migration 0123abcd, the code needs"),
])
def test_check_deploy_names_a_database_not_upgraded(tmp_path, revision, words):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        if revision:
            connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32))")
            connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    connection.close()
    old = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "PRODUCTION": True,
                      "SECRET_KEY": STRONG_KEY, "PHOTO_DIR": str(tmp_path)})
    result = old.test_cli_runner().invoke(args=["check-deploy"])
    closed(old)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith("PROBLEM: " + words)


# Headers -----------------------------------------------------------------------

def test_every_response_carries_a_strict_content_security_policy(client):
    for url in ("/login", "/sw.js", "/outbox", "/no-such-page"):
        response = client.get(url)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert "'unsafe-eval'" not in csp and "style-src 'self'" in csp
        for part in ("object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"):
            assert part in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "Strict-Transport-Security" not in response.headers  # not in development


# Ending sessions ---------------------------------------------------------------

def logged_in_remembered(app):
    """The guard logged in with "keep me logged in", and a copy of their cookies."""
    client = app.test_client()
    client.post("/login", data={"username": "guard", "password": "demo1234", "remember": "y"})
    assert client.get("/").status_code == 200
    copies = {c.key: c.value for c in client._cookies.values()}
    assert {"session", "remember_token"} <= copies.keys()
    return client, copies


def test_keep_me_logged_in_counts_from_the_login_not_from_the_last_page(app):
    """Pages, photos and the service worker's fetches leave the session cookie's expiry
    where the login set it, so daily use does not stretch a login past its 30 days. (A
    response that re-sent the cookie would also bring back one the phone had just dropped.)"""
    client, copies = logged_in_remembered(app)
    for path in ("/", "/sw.js", "/outbox"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers.getlist("Set-Cookie") == [], path
    assert {c.key: c.value for c in client._cookies.values()} == copies


@pytest.mark.parametrize(("days", "still_in"), [(29, True), (31, False)])
def test_a_login_ends_30_days_after_it_was_made_however_the_session_was_written(
        app, days, still_in):
    """A language switch (or a message after an action) writes the session and sends it
    again with a new expiry; the login keeps the moment it was made."""
    client, _ = logged_in_remembered(app)
    with client.session_transaction() as session:
        session["login_at"] -= days * 24 * 3600
        made = session["login_at"]
    response = client.get("/?lang=en")  # writes the session
    assert response.status_code == (200 if still_in else 302)
    if still_in:
        with client.session_transaction() as session:
            assert session["login_at"] == made
    else:
        assert "/login" in response.location
        assert "remember_token=;" in " ".join(response.headers.getlist("Set-Cookie"))
        assert client.get("/").status_code == 302


def refused(app, cookies) -> bool:
    """Whether a browser holding these cookies is sent to the login page."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    response = thief.get("/")
    return response.status_code == 302 and "/login" in response.location


def test_logging_out_makes_a_copied_session_and_remember_cookie_worthless(app):
    client, copies = logged_in_remembered(app)
    client.post("/logout")
    assert refused(app, copies)
    assert refused(app, {"remember_token": copies["remember_token"]})
    assert login(app.test_client(), "guard").get("/").status_code == 200  # the owner logs in again


@pytest.mark.parametrize("ending", [
    ["password"],  # an admin sets a new password
    ["disable", "enable"],  # disabled, then enabled again: old cookies must stay dead
])
def test_an_admin_ending_a_user_s_sessions_makes_copied_cookies_worthless(app, ending):
    client, copies = logged_in_remembered(app)
    admin = login(app.test_client(), "admin")
    guard = db.session.scalar(db.select(User).where(User.username == "guard"))
    for action in ending:
        response = admin.post(f"/setup/users/{guard.id}/{action}",
                              data={"new_password": "fresh-start-9"})
        assert response.status_code == 303, action
    assert refused(app, copies)
    assert refused(app, {"remember_token": copies["remember_token"]})
    assert refused(app, {"session": copies["session"]})


# Throttling --------------------------------------------------------------------

def attempt(client, username, password="wrong", address="10.0.0.9"):
    return client.post("/login?lang=en", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_an_account_guessed_at_is_throttled_but_its_owner_s_phone_still_gets_in(app):
    owner = app.test_client()
    assert attempt(owner, "guard", "demo1234", "10.0.0.1").status_code == 303  # known phone
    owner.post("/logout")
    attacker = app.test_client()
    for _ in range(throttle.PER_ACCOUNT):
        assert attempt(attacker, "guard").status_code == 422
    refused = attempt(attacker, "guard", "demo1234")  # even the right password now waits
    assert refused.status_code == 429 and "Try again in 15 minutes" in html(refused)
    assert attempt(app.test_client(), "guard", "demo1234", "10.9.9.9").status_code == 429
    assert attempt(owner, "guard", "demo1234", "10.0.0.1").status_code == 303
    assert count(LoginFailure) == throttle.PER_ACCOUNT


def test_one_address_guessing_many_accounts_is_throttled_alone(app):
    attacker = app.test_client()
    for i in range(throttle.PER_ADDRESS):
        assert attempt(attacker, f"nobody{i}").status_code == 422
    assert attempt(attacker, "cleaner", "demo1234").status_code == 429
    assert attempt(app.test_client(), "cleaner", "demo1234", "10.0.0.2").status_code == 303


def test_failures_count_across_servers_and_expire(app, schema, tmp_path):
    other_server = create_app({"SQLALCHEMY_DATABASE_URI": schema, "TESTING": True,
                               "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test",
                               "PHOTO_DIR": str(tmp_path)})
    for _ in range(throttle.PER_ACCOUNT):
        attempt(app.test_client(), "tech")
    with other_server.app_context():
        assert attempt(other_server.test_client(), "tech", "demo1234").status_code == 429
    closed(other_server)
    db.session.execute(update(LoginFailure).values(at=LoginFailure.at - timedelta(minutes=16)))
    db.session.commit()
    assert attempt(app.test_client(), "tech", "demo1234").status_code == 303


def test_a_forwarded_address_counts_only_behind_a_configured_proxy(app, schema, tmp_path):
    for i in range(throttle.PER_ADDRESS):  # rotating X-Forwarded-For does not help
        client = app.test_client()
        client.post("/login", data={"username": f"x{i}", "password": "no"},
                    headers={"X-Forwarded-For": f"203.0.113.{i}"},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert attempt(app.test_client(), "cleaner", "demo1234").status_code == 429
    proxied = create_app({"SQLALCHEMY_DATABASE_URI": schema, "TESTING": True,
                          "WTF_CSRF_ENABLED": False, "SECRET_KEY": "test",
                          "PHOTO_DIR": str(tmp_path), "PROXY_FIX_X_FOR": 1})
    with proxied.app_context():
        response = proxied.test_client().post(
            "/login", data={"username": "cleaner", "password": "demo1234"},
            headers={"X-Forwarded-For": "198.51.100.7"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        assert response.status_code == 303  # the proxy says who the client really is
    closed(proxied)
