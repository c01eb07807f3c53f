"""SQLite as several gunicorn workers share it: the settings each connection gets, and the
write lock a writing request takes at once (bench/sqlite_writers.py measures the result)."""
import sqlite3

import pytest
from flask import before_render_template
from sqlalchemy import select
from sqlalchemy.pool import QueuePool

from app.extensions import SQLITE_BUSY_MS, db
from app.models import Scan, Site

from .conftest import spot_by_code
from .helpers import count


@pytest.fixture(autouse=True)
def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's settings")


def test_every_connection_waits_its_turn_and_keeps_readers_apart(app):
    with db.engine.connect() as connection:
        setting = connection.exec_driver_sql
        assert setting("PRAGMA journal_mode").scalar() == "wal"
        assert setting("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_MS
        assert setting("PRAGMA foreign_keys").scalar() == 1
        first = connection.connection.dbapi_connection
    # Connections are kept between requests, not opened for each.
    assert isinstance(db.engine.pool, QueuePool)
    with db.engine.connect() as connection:
        assert connection.connection.dbapi_connection is first


def other_writer_gets_in() -> bool:
    """Whether another process could start writing now, without waiting."""
    other = sqlite3.connect(db.engine.url.database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as error:
        assert "locked" in str(error)
        return False
    finally:
        other.close()


@pytest.mark.parametrize("method, locks", [("POST", True), ("GET", False)])
def test_a_writing_request_takes_the_write_lock_with_its_first_read(app, method, locks):
    """A POST that read first and wrote later could find that another worker wrote in
    between, and fail at once whatever the busy timeout; so it takes the lock when its
    transaction begins. A GET only reads, and never holds up a worker's submit."""
    db.session.remove()
    with app.test_request_context("/", method=method):
        db.session.scalars(select(Site)).first()  # the transaction begins
        try:
            assert other_writer_gets_in() is not locks
        finally:
            db.session.rollback()
    assert other_writer_gets_in()


def test_a_scan_page_is_drawn_without_holding_the_write_lock(as_user):
    """A label opened logs its scan in a short transaction of its own, so another worker's
    submit never waits while someone's checklist is drawn."""
    client = as_user("guard")
    token = spot_by_code("CP-01").token
    db.session.commit()
    others_could_write = []

    def drawing(sender, template, context, **extra):
        others_could_write.append(other_writer_gets_in())

    with before_render_template.connected_to(drawing):
        response = client.get(f"/t/{token}")
    assert response.status_code == 200
    assert others_could_write and all(others_could_write)
    assert count(Scan) == 1
