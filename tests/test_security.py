"""Production settings, response headers, ending sessions and login throttling."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from app import config, create_app
from app.auth import throttle
from app.extensions import db
from app.models import LoginFailure

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
    if db.engine.dialect.name == "sqlite":
        # The test database was made without the app's connection settings.
        assert result.output.count("PROBLEM") <= 1 and "No problems" in result.output or \
            "journal mode" in result.output
    else:
        assert result.exit_code == 0 and "No problems found." in result.output


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

def test_logging_out_makes_a_copied_session_and_remember_cookie_worthless(app):
    client = app.test_client()
    client.post("/login", data={"username": "guard", "password": "demo1234", "remember": "y"})
    copies = {c.key: c.value for c in client._cookies.values()}
    assert client.get("/").status_code == 200
    client.post("/logout")
    thief = app.test_client()
    for name, value in copies.items():
        thief.set_cookie(name, value)
    response = thief.get("/")
    assert response.status_code == 302 and "/login" in response.location
    assert login(app.test_client(), "guard").get("/").status_code == 200  # the owner logs in again


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
