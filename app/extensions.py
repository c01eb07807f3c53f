"""Extensions, created unbound and attached to the app in create_app()."""
from flask import current_app, has_request_context, request
from flask_babel import Babel
from flask_htmx import HTMX
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
import sqlite3

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

# Named constraints from the first migration on, so SQLite batch mode can alter them later.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login = LoginManager()
csrf = CSRFProtect()
babel = Babel()
htmx = HTMX()


SQLITE_BUSY_MS = 15_000


@event.listens_for(Engine, "connect")
def sqlite_settings(dbapi_connection, connection_record):
    """SQLite as several workers can share it: foreign keys enforced (PostgreSQL always
    does), WAL so that readers never wait for the writer, and a writer that waits its turn
    (busy timeout) instead of failing with "database is locked"."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # The driver must not open transactions of its own: `sqlite_begin` does.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")


@event.listens_for(Engine, "begin")
def sqlite_begin(connection):
    """A request that writes takes SQLite's write lock when its transaction starts: one that
    read first and wrote later could find another writer committed meanwhile and fail at
    once, busy timeout or not. Reading requests don't, so a slow export never holds up a
    submit (WAL: readers and the writer don't wait for each other)."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing_request() else "BEGIN")


def writing_request() -> bool:
    """A POST (or other unsafe method), or a command (a timer's `flask send-alerts`) unless
    the config says otherwise (the tests read outside requests while a server thread
    writes). A GET that writes does it in a short transaction of its own that writes
    first (`Scan.log`, `stats.keep`)."""
    if not has_request_context():
        return current_app.config["SQLITE_LOCK_OUTSIDE_REQUESTS"]
    return request.method not in ("GET", "HEAD", "OPTIONS")
