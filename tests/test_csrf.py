"""Every request that changes something is refused without its CSRF token, and changes nothing.

The forms are sent by someone who could use them (tests/routes.py), logged in before CSRF
protection is switched on, so only the missing or wrong token stands in the way.
"""
import os
import re

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Audit

from . import routes
from .conftest import login

FORM_EXPIRED = ("The form has expired", "Your login was renewed while the form was open")


@pytest.fixture
def ids(app):
    return routes.make_ids()


def browser(app, username=None):
    """A test client that asks for English pages, logged in when given a username."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login(client, username) if username else client


def token_of(client) -> str:
    """The CSRF token of the client's session, as the page's script fetches it."""
    session = client.get("/offline/session")
    if session.status_code == 200:
        return session.get_json()["csrf"]
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def snapshot(app) -> dict:
    """Every row of every table, and the photo files: what "nothing changed" means."""
    db.session.expire_all()
    tables = {table.name: db.session.execute(
        select(table).order_by(*table.primary_key.columns)).all()
        for table in db.metadata.sorted_tables}
    photo_dir = app.config["PHOTO_DIR"]
    tables["photo files"] = sorted(os.path.join(folder, name)
                                   for folder, _, names in os.walk(photo_dir) for name in names)
    return tables


def changes(before: dict, after: dict) -> list[str]:
    return [f"{name}: {len(before[name])} rows before, {len(after[name])} after"
            if len(before[name]) != len(after[name]) else f"{name}: rows changed"
            for name in before if before[name] != after[name]]


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Audit))


def state_changing(app):
    return [(rule, method) for rule, method in routes.endpoints(app)
            if method in routes.STATE_CHANGING]


def request(client, method, url, data, token=None, headers=None):
    data = dict(data)
    if token is not None:
        data["csrf_token"] = token
    try:
        return client.open(url, method=method, data=data, headers=headers or {},
                           content_type="multipart/form-data")
    finally:
        # End the transaction as a real request's teardown does: the test and its requests
        # share one session.
        db.session.rollback()


def test_every_state_changing_route_has_a_plausible_form(app):
    missing = sorted({rule.endpoint for rule, _ in state_changing(app)} - set(routes.FORMS))
    assert not missing, ("add what a person would send to these endpoints to FORMS in "
                         f"tests/routes.py: {', '.join(missing)}")
    assert len(state_changing(app)) >= 30


def test_without_a_valid_token_every_state_changing_route_refuses_and_changes_nothing(app, ids):
    clients = {name: browser(app, name) for name in routes.ROLE_USERS}
    other_browsers_token = token_of(browser(app))  # valid, but for another session
    app.config["WTF_CSRF_ENABLED"] = True
    ways = {  # (the form's token, headers)
        "no token": (None, {}),
        "a made-up token": ("0" * 40, {}),
        "another browser's token": (other_browsers_token, {}),
        "htmx with another browser's token": (None, {"HX-Request": "true",
                                                     "X-CSRFToken": other_browsers_token}),
        "the outbox without a token": (None, {"X-Rounds-Outbox": "1"}),
    }
    before = snapshot(app)
    failures, sent = [], 0
    for rule, method in state_changing(app):
        values = ids.url_values(rule.endpoint)
        address = routes.url(rule, values)
        username = routes.acting_user(rule.endpoint)
        for way, (token, headers) in ways.items():
            client = clients[username] if username else browser(app)
            response = request(client, method, address, routes.FORMS[rule.endpoint](ids, values),
                               token, headers)
            sent += 1
            where = f"{method} {address} as {username or 'nobody'}, {way}"
            body = response.get_data(as_text=True)
            if response.status_code != 400:
                failures.append(f"{where}: {response.status_code}, not 400")
            elif way.startswith("htmx"):
                if not (response.headers.get("HX-Refresh") or response.headers.get("HX-Redirect")):
                    failures.append(f"{where}: the page is not told to reload")
            elif way.startswith("the outbox"):
                if (response.get_json(silent=True) or {}).get("error") != "csrf":
                    failures.append(f"{where}: the outbox is not told to fetch a new token")
            elif not any(words in body for words in FORM_EXPIRED):
                failures.append(f"{where}: no word of the expired form")
            after = snapshot(app)
            if after != before:
                failures.append(f"{where}: changed {'; '.join(changes(before, after))}")
                before = after
            if username is None and client.get("/").status_code != 302:
                failures.append(f"{where}: logged in anyway")
    for name, client in clients.items():
        if client.get("/offline/session").status_code != 200:
            failures.append(f"{name} was logged out by a refused request")
    assert not failures, "\n".join(failures)
    assert sent >= 150


# The same requests with their token go through: the forms above are ones that change
# something, so "nothing changed" means the token stopped them.
@pytest.mark.parametrize("endpoint, in_header, audited", [
    ("auth.login", False, True),
    ("auth.language", True, False),
    ("field.submit", False, True),
    ("review.approve", False, True),
    ("defects.assign", True, True),
    ("setup.spot_reissue", False, True),
    ("setup.user_new", False, True),
])
def test_the_same_request_with_its_token_changes_what_it_should(app, ids, endpoint, in_header,
                                                                 audited):
    rule, method = next((rule, method) for rule, method in state_changing(app)
                        if rule.endpoint == endpoint)
    username = routes.acting_user(endpoint)
    client = browser(app, username)
    app.config["WTF_CSRF_ENABLED"] = True
    token = token_of(client)
    values = ids.url_values(endpoint)
    before, audits = snapshot(app), audit_count()
    data = routes.FORMS[endpoint](ids, values)
    if in_header:
        response = request(client, method, routes.url(rule, values), data,
                           headers={"X-CSRFToken": token})
    else:
        response = request(client, method, routes.url(rule, values), data, token)
    assert response.status_code in (200, 201, 204, 302, 303), response.get_data(as_text=True)
    assert snapshot(app) != before
    assert (audit_count() > audits) == audited
