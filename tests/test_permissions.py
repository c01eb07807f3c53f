"""Every route × every role × a site the user does not belong to: refused, and nothing leaks."""
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Photo, Record, Site, Sop, Spot, User
from app import demo

from .conftest import HIDDEN, login

ROLE_USERS = [name for name, _, _ in demo.ACCOUNTS]
# The phone's shell works before login: it holds no data (the outbox lives in the phone).
PUBLIC = {"auth.login", "auth.logout", "auth.language", "static", "offline.service_worker",
          "offline.manifest", "offline.outbox", "offline.health"}


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        yield rule


def fill(rule, ids):
    values = {}
    for arg in rule.arguments:
        if arg in ids:
            values[arg] = ids[arg]
        elif arg == "size":
            values[arg] = "thumb"
        else:
            raise AssertionError(f"test does not know how to fill <{arg}> of {rule.rule}")
    return rule.build(values, append_unknown=False)[1]


def test_every_route_with_an_id_of_another_site_is_refused(app, hidden):
    clients = {name: login(app.test_client(), name) for name in ROLE_USERS}
    checked = 0
    for rule in routes(app):
        if not rule.arguments:
            continue
        url = fill(rule, hidden)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for name, client in clients.items():
                response = client.open(url, method=method, data={"reason": "x", "lang": "en"})
                body = response.get_data(as_text=True)
                assert response.status_code in (403, 404), (name, method, url, response.status_code)
                assert HIDDEN not in body, (name, method, url)
                checked += 1
    assert checked > 20


def test_every_route_needs_a_login(app, hidden):
    client = app.test_client()
    for rule in routes(app):
        url = fill(rule, hidden)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code in (302, 401), (method, url)
            assert "/login" in response.location


def test_roles_are_enforced_on_role_areas(app):
    area_roles = {"/review": "supervisor", "/setup": "admin"}
    clients = {name: login(app.test_client(), name) for name in ROLE_USERS}
    for rule in routes(app):
        area = next((a for a in area_roles if rule.rule.startswith(a)), None)
        if area is None or rule.arguments or "GET" not in rule.methods:
            continue
        for name, client in clients.items():
            allowed = area_roles[area] in dict((u, r) for u, _, r in demo.ACCOUNTS)[name]
            status = client.get(rule.rule).status_code
            assert (status == 200) == allowed, (name, rule.rule, status)
            if not allowed:
                assert status == 403
