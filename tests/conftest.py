"""Fixtures: the app on SQLite or on DATABASE_URL, users per role, a live server for Chromium."""
import os
import re
import shutil
import threading

import pytest
from flask import g
from flask_migrate import upgrade
from sqlalchemy import MetaData, select
from werkzeug.serving import WSGIRequestHandler, make_server

from app import create_app
from app import demo
from app.extensions import db
from app.models import Defect, Photo, Record, Schedule, Site, Spot, Stop, User

from .helpers import answers

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HIDDEN = "Hidden Heights 隐秘"
PHONE = {"viewport": {"width": 360, "height": 780}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    return os.environ.get("DATABASE_URL") or \
        "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


@pytest.fixture(scope="session")
def schema(database_url, tmp_path_factory):
    """Build the schema once, through the migrations, as production does."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    with app.app_context():
        # Drop whatever an earlier run left (on PostgreSQL the database outlives the session),
        # alembic_version and tables of older schemas included.
        with db.engine.begin() as connection:
            leftovers = MetaData()
            leftovers.reflect(connection)
            leftovers.drop_all(connection)
        upgrade()
        db.engine.dispose()
    return database_url


def empty_tables():
    if db.engine.dialect.name == "postgresql":
        # One statement, ids from 1 again as on SQLite; CASCADE copes with record.redo_of_id.
        names = ", ".join(db.engine.dialect.identifier_preparer.format_table(table)
                          for table in db.metadata.sorted_tables)
        db.session.execute(db.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def app(schema, tmp_path):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": schema,
        "PHOTO_DIR": str(tmp_path / "photos"),
        "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SECRET_KEY": "test",
        "SERVER_NAME": None,
        # The test reads between requests while a live server's threads write: on SQLite
        # its own transactions must not hold the write lock.
        "SQLITE_LOCK_OUTSIDE_REQUESTS": False,
    })
    # Requests made while the test holds an app context share it, and with it `g`, where
    # Flask-Login and Flask-Babel cache the user and the locale: start each request afresh.
    app.before_request_funcs.setdefault(None, []).insert(0, lambda: g.__dict__.clear())
    # They share the test's session too: end its transaction after each request, as a real
    # request's teardown does, so the test reads what was written in other connections.
    app.teardown_request(lambda error: db.session.rollback())
    with app.app_context():
        empty_tables()
        demo.load()
        yield app
        db.session.remove()
        empty_tables()
        db.engine.dispose()  # close pooled connections now, not when the app is collected


@pytest.fixture
def client(app):
    return app.test_client()


def login(client, username, password=demo.PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture
def as_user(app):
    """as_user("guard") gives a test client logged in as that demo account."""

    def make(username):
        return login(app.test_client(), username)

    return make


@pytest.fixture
def site():
    return db.session.scalar(select(Site).where(Site.name_en == "Green Lake Gardens"))


@pytest.fixture
def other_site():
    return db.session.scalar(select(Site).where(Site.name_en == "Riverside Apartments"))


def spot_by_code(code, site_name="Green Lake Gardens"):
    return db.session.scalar(
        select(Spot).join(Site).where(Spot.code == code, Site.name_en == site_name))


@pytest.fixture
def hidden(app):
    """A third site nobody in the demo belongs to, with a spot, SOP, record, photo and user."""
    site = Site(name_zh=HIDDEN, name_en=HIDDEN)
    db.session.add(site)
    db.session.flush()
    sop = demo.make_sop(site, "firepump")
    db.session.flush()
    spot = Spot(site_id=site.id, code="H-1", name_zh=HIDDEN + " pump", name_en=HIDDEN + " pump",
                kind="equipment", sop_id=sop.id)
    outsider = User(username="outsider", name=HIDDEN + " worker")
    outsider.set_password("demo1234")
    outsider.roles = ["technician", "supervisor", "admin"]
    outsider.sites = [site]
    db.session.add_all([spot, outsider])
    db.session.commit()
    client = login(app.test_client(), "outsider")
    response = client.post(f"/spots/{spot.id}/records", data=answers(spot, key="f" * 32),
                           content_type="multipart/form-data")
    assert response.status_code == 303
    record = db.session.scalar(select(Record).where(Record.site_id == site.id))
    response = client.post("/incidents/new", data={
        "submission_key": "e" * 32, "spot": spot.id, "site": site.id, "kind": "water_leak",
        "severity": "high", "note": HIDDEN + " leak"})
    assert response.status_code == 303
    defect = db.session.scalar(select(Defect).where(Defect.site_id == site.id))
    schedule = Schedule(site_id=site.id, kind="equipment", name_zh=HIDDEN + " 巡检",
                        role="technician", timing="daily")
    schedule.stops = [Stop(position=1, spot_id=spot.id)]
    db.session.add(schedule)
    db.session.commit()
    ids = {"site_id": site.id, "spot_id": spot.id, "sop_id": sop.id, "record_id": record.id,
           "photo_id": db.session.scalar(select(Photo.id).where(Photo.site_id == site.id)),
           "user_id": outsider.id, "step_id": sop.current.steps[0].id, "token": spot.token,
           "schedule_id": schedule.id, "defect_id": defect.id}
    return ids


def user(username):
    return User.by_username(username)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# Browser tests -----------------------------------------------------------------

def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    browser = {"page", "browser", "browser_type"}  # fixturenames holds fixtures' fixtures too
    browser_tests = [item for item in items if browser & set(getattr(item, "fixturenames", ()))]
    if not browser_tests:
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true but no `chromium` on PATH: browser tests cannot run.")
    message = "NO CHROMIUM ON PATH: browser tests skipped (apt-get install chromium)"
    print("\n" + "!" * 72 + "\n" + message + "\n" + "!" * 72)
    for item in browser_tests:
        item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": [*browser_type_launch_args.get("args", []), *CHROMIUM_ARGS]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE, "locale": "zh-CN"}


class Remembering:
    """The app, remembering in each server thread the response it last gave."""

    def __init__(self, app):
        self.app, self.local = app, threading.local()

    def __call__(self, environ, start_response):
        self.local.response = self.app(environ, start_response)
        return self.local.response


class ClosingHandler(WSGIRequestHandler):
    """Closes each response, and with it a photo's open file, however the request ended:
    werkzeug's server skips that when the browser drops the connection (it navigated on)
    while the server drains the request, and the file left for the garbage collector is a
    ResourceWarning, which fails the test that happens to be running."""

    def run_wsgi(self):
        try:
            super().run_wsgi()
        finally:
            response = getattr(self.server.app.local, "response", None)
            self.server.app.local.response = None
            if hasattr(response, "close"):
                response.close()


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port, in a thread, on the test database."""
    app.config["WTF_CSRF_ENABLED"] = True
    db.session.commit()
    server = make_server("127.0.0.1", 0, Remembering(app), threaded=True,
                         request_handler=ClosingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join()
