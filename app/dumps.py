"""A consistent copy of the live database and putting one back, for each engine: SQLite's
`VACUUM INTO` and a file swapped in whole, PostgreSQL's pg_dump and pg_restore on one
snapshot. `flask backup` and `flask restore` (app/backup.py) wrap them with the photos."""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess

from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL

from .extensions import db

# Counted in the copy and written to the manifest, so a restore can say what it brings.
COUNTED = ("site", "user", "spot", "record", "photo", "defect", "audit")


class BackupError(Exception):
    """What stopped a backup or a restore, in words for the operator."""


def facts(connection) -> tuple[str | None, list[str], dict]:
    """The migration, the tables and the row counts of a few main tables, as seen by connection."""
    revision = MigrationContext.configure(connection).get_current_revision()
    tables = sorted(inspect(connection).get_table_names())
    rows = {name: connection.execute(select(func.count()).select_from(table(name))).scalar_one()
            for name in COUNTED if name in tables}
    return revision, tables, rows


# SQLite ----------------------------------------------------------------------------

def sqlite_path(url) -> str:
    if not url.database or url.database == ":memory:" or "mode=memory" in url.database:
        raise BackupError("An in-memory SQLite database has no file to back up or restore.")
    return os.path.abspath(url.database)


def dump_sqlite(url, copy: str):
    path = sqlite_path(url)
    if not os.path.isfile(path):
        raise BackupError(f"There is no database at {path}.")
    source = sqlite3.connect(path, timeout=60)
    try:
        # One read transaction, so one consistent state; in WAL mode the app writes meanwhile.
        source.execute("VACUUM INTO ?", (copy,))
    finally:
        source.close()
    _fsync(copy)  # VACUUM INTO does not sync its output
    engine = create_engine(URL.create("sqlite", database=copy))
    try:
        with engine.connect() as connection:
            return facts(connection)
    finally:
        engine.dispose()


def restore_sqlite(engine, database: str) -> None:
    path = sqlite_path(engine.url)
    engine.dispose()
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    # Same folder, then os.replace: the app finds the old file or the new one, never a mix.
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    try:
        shutil.copyfile(database, tmp)
        connection = sqlite3.connect(tmp)
        try:
            result = connection.execute("PRAGMA quick_check").fetchone()[0]
            if result == "ok" and _leave_wal(path):
                connection.execute("PRAGMA journal_mode=WAL")  # as the old one was
        except sqlite3.DatabaseError as error:
            result = str(error)
        finally:
            connection.close()
        if result != "ok":
            raise BackupError(f"The backup's database is damaged (SQLite says: {result}); "
                              "nothing was replaced.")
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    _fsync(folder)


def _leave_wal(path: str) -> bool:
    """Take the old database out of WAL mode; True when it was in it.

    Leaving WAL needs the only connection, so this fails while the app has the database
    open; and afterwards no -wal file of the old database is left to be replayed into the new.
    """
    if not os.path.isfile(path):
        return False
    connection = sqlite3.connect(path, timeout=5)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master")  # rolls back a hot journal
        wal = connection.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        if wal:
            connection.execute("PRAGMA journal_mode=DELETE")
        return wal
    except sqlite3.OperationalError as error:
        raise BackupError(f"The database {path} is in use ({error}): stop the app, "
                          "then restore.") from None
    finally:
        connection.close()


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# PostgreSQL ------------------------------------------------------------------------

def dump_postgresql(engine, copy: str):
    pg_dump = program("pg_dump")
    with engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            seen = facts(connection)
            # pg_dump reads the snapshot this transaction exported: the counts are the dump's.
            _run([pg_dump, "--format=custom", "--no-password", f"--snapshot={snapshot}",
                  f"--file={copy}", f"--dbname={_conninfo(engine.url)}"], engine.url)
    return seen


def restore_postgresql(engine, database: str, manifest: dict) -> None:
    pg_restore = program("pg_restore")
    # Tables of a newer schema than the backup's: --clean drops only what the backup has,
    # and `flask db upgrade` could not create them again. Only the app's own tables go.
    ours = set(db.metadata.tables) | {"alembic_version"}
    extra = (set(inspect(engine).get_table_names()) & ours) - set(manifest.get("tables", ours))
    if extra:
        quote = engine.dialect.identifier_preparer.quote
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '60s'"))
            for name in sorted(extra):
                connection.execute(text(f"DROP TABLE IF EXISTS {quote(name)} CASCADE"))
    engine.dispose()
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
          "--no-password", f"--dbname={_conninfo(engine.url)}", database], engine.url)


def program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not on PATH: install PostgreSQL's client programs "
                          "(Debian: apt-get install postgresql-client), of the server's "
                          "version or newer.")
    return path


def _conninfo(url) -> str:
    """libpq's connection string for the URL, without the password (that goes in PGPASSWORD)."""
    from psycopg.conninfo import make_conninfo

    params = {"host": url.host, "port": url.port, "user": url.username, "dbname": url.database}
    for key, value in url.query.items():
        params[key] = ",".join(value) if isinstance(value, tuple) else value
    return make_conninfo(**{key: value for key, value in params.items() if value is not None})


def _run(args: list[str], url) -> None:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    # A web server still holding a lock makes the tool fail after a minute, not hang.
    env["PGOPTIONS"] = (env.get("PGOPTIONS", "") + " -c lock_timeout=60s").strip()
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{os.path.basename(args[0])} failed: {done.stderr.strip()}")
