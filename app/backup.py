"""`flask backup` and `flask restore`: a consistent copy of the database, then the photos."""
from __future__ import annotations

import json
import os
import re
import shutil
from contextlib import contextmanager
from datetime import datetime, timezone
from importlib import metadata

import click
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from flask import current_app, has_app_context
from sqlalchemy import func, inspect, select, table
from sqlalchemy.exc import OperationalError

from . import dumps, storage
from .dumps import BackupError
from .extensions import db

FORMAT = 1
MANIFEST = "manifest.json"
PHOTOS = "photos"
FILES = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
ENGINES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_FOLDER = re.compile(r"[0-9a-f]{2}")
_PHOTO = re.compile(r"[0-9a-f]{64}(\.thumb)?\.jpg")


def backup(app, dest: str) -> dict:
    """Copy the photos, the live database, then the newer photos into dest (new or empty);
    return the manifest.

    Photos are written before their rows are committed: the second copy of the photos
    covers every row of the database copy (a newer photo is harmless). The first covers the
    file of a row deleted meanwhile, which app/sweep.py removes at once.
    """
    dest = os.path.abspath(dest)
    if os.path.exists(dest) and (not os.path.isdir(dest) or os.listdir(dest)):
        raise BackupError(f"{dest} already exists and is not an empty folder: choose a new one.")
    with _context(app):
        if _engine_name(db.engine) == "postgresql":
            dumps.program("pg_dump")  # missing: say so before copying thousands of photos
    created = not os.path.exists(dest)
    os.makedirs(dest, exist_ok=True)
    try:
        photo_dir, photos = app.config["PHOTO_DIR"], os.path.join(dest, PHOTOS)
        _copy_photos(photo_dir, photos)
        with _context(app):
            engine = db.engine
            name = _engine_name(engine)
            copy = os.path.join(dest, FILES[name])
            if name == "sqlite":
                revision, tables, rows = dumps.dump_sqlite(engine.url, copy)
            else:
                revision, tables, rows = dumps.dump_postgresql(engine, copy)
        files = _copy_photos(photo_dir, photos)
        manifest = {
            "format": FORMAT, "engine": name, "database": FILES[name],
            "alembic_revision": revision,
            "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "app_version": _version(), "rows": rows, "photo_files": files, "tables": tables,
        }
        # Written last: a backup cut short has no manifest, and restore refuses it.
        storage.write_atomic(os.path.join(dest, MANIFEST),
                             json.dumps(manifest, indent=2).encode())
    except BaseException:
        # The folder was new or empty: everything in it is this backup's.
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        else:
            for entry in os.scandir(dest):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
        raise
    return manifest


def restore(app, src: str, force: bool = False) -> dict:
    """Put a backup in place of the configured database and add the photos that are missing.

    Refuses a database that has rows unless force. Closes this process's connections to the
    database first; other processes (the web server) must be stopped or restarted.
    """
    src = os.path.abspath(src)
    manifest = read_manifest(src)
    with _context(app):
        engine = db.engine
        name = _engine_name(engine)
        where = engine.url.render_as_string(hide_password=True)
        if manifest["engine"] != name:
            raise BackupError(
                f"This is a backup of a {ENGINES[manifest['engine']]} database, but the "
                f"configured database is {ENGINES[name]} ({where}). Restore it where "
                f"DATABASE_URL points at a {ENGINES[manifest['engine']]} database.")
        script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
        revision = manifest.get("alembic_revision")
        if revision is not None and not _known(script, revision):
            raise BackupError(
                f"The backup's schema is at migration {revision}, which this version of "
                f"Rounds does not know: it was made by Rounds {manifest.get('app_version')}. "
                "Restore it with that version or a later one.")
        db.session.remove()
        filled = _filled_tables(engine)
        if filled and not force:
            counts = ", ".join(f"{table_name} {rows}" for table_name, rows in filled[:6])
            raise BackupError(
                f"The database {where} already has data (rows: {counts}). Restoring "
                "replaces all of it with the backup: run again with --yes to do that.")
        copied, present = _restore_photos(os.path.join(src, PHOTOS), app.config["PHOTO_DIR"])
        database = os.path.join(src, manifest["database"])
        if name == "sqlite":
            dumps.restore_sqlite(engine, database)
        else:
            dumps.restore_postgresql(engine, database, manifest)
        engine.dispose()
        return {"manifest": manifest, "target": where, "photos_copied": copied,
                "photos_present": present, "head": script.get_current_head()}


def read_manifest(src: str) -> dict:
    """The manifest of the backup in src, checked enough to restore from it."""
    path = os.path.join(src, MANIFEST)
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise BackupError(f"{src} has no {MANIFEST}: it is not a Rounds backup, or one that "
                          "did not finish.") from None
    except ValueError as error:
        raise BackupError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("engine") not in FILES \
            or manifest.get("database") != FILES[manifest["engine"]]:
        raise BackupError(f"{path} is not a manifest this version of Rounds can read.")
    if not os.path.isfile(os.path.join(src, manifest["database"])):
        raise BackupError(f"The backup's database file {manifest['database']} is missing "
                          f"from {src}.")
    photos = sum(1 for _ in _photo_files(os.path.join(src, PHOTOS)))
    if photos != manifest.get("photo_files"):
        raise BackupError(f"The backup has {photos} photo files where its manifest says "
                          f"{manifest.get('photo_files')}: it is incomplete.")
    return manifest


@contextmanager
def _context(app):
    # The current context when it is this app's (a CLI command's, a test's): its db.session
    # is the one whose connection a restore must close.
    if has_app_context() and current_app._get_current_object() is app:
        yield
    else:
        with app.app_context():
            yield


def _engine_name(engine) -> str:
    name = engine.dialect.name
    if name not in FILES:
        raise BackupError(f"Backups cover SQLite and PostgreSQL, not {name}.")
    return name


def _known(script, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except (CommandError, RevisionError):
        return False


def _version() -> str:
    try:
        return metadata.version("rounds")
    except metadata.PackageNotFoundError:
        return "unknown"


def _filled_tables(engine) -> list[tuple[str, int]]:
    """The tables that have rows, with their counts, largest first."""
    if engine.dialect.name == "sqlite" and not os.path.isfile(dumps.sqlite_path(engine.url)):
        return []  # a new database: connecting would create an empty file, or fail on its folder
    with engine.connect() as connection:
        names = [name for name in inspect(connection).get_table_names()
                 if name != "alembic_version"]
        counts = [(name, connection.execute(
            select(func.count()).select_from(table(name))).scalar_one()) for name in names]
    return sorted(((name, rows) for name, rows in counts if rows), key=lambda pair: -pair[1])


# Photos ----------------------------------------------------------------------------

def _photo_files(root: str):
    """(folder, name) of every photo and thumbnail under root; temporary files are skipped."""
    if not os.path.isdir(root):
        return
    for folder in sorted(os.listdir(root)):
        if _FOLDER.fullmatch(folder) and os.path.isdir(os.path.join(root, folder)):
            for name in sorted(os.listdir(os.path.join(root, folder))):
                if _PHOTO.fullmatch(name) and name.startswith(folder) \
                        and os.path.isfile(os.path.join(root, folder, name)):
                    yield folder, name


def _copy_photos(photo_dir: str, dest: str) -> int:
    """Copy the photos dest lacks; return how many dest has."""
    os.makedirs(dest, exist_ok=True)
    for folder, name in _photo_files(photo_dir):
        target = os.path.join(dest, folder, name)
        if not os.path.exists(target):
            os.makedirs(os.path.join(dest, folder), exist_ok=True)
            shutil.copy2(os.path.join(photo_dir, folder, name), target)
    return sum(1 for _ in _photo_files(dest))


def _restore_photos(src: str, photo_dir: str) -> tuple[int, int]:
    """Copy the backup's photos that photo_dir lacks; return (copied, already there)."""
    copied = present = 0
    for folder, name in _photo_files(src):
        target = os.path.join(photo_dir, folder, name)
        if os.path.exists(target):  # the name comes from the content: same name, same photo
            present += 1
            continue
        with open(os.path.join(src, folder, name), "rb") as f:
            storage.write_atomic(target, f.read())
        copied += 1
    return copied, present


# Commands --------------------------------------------------------------------------

def init_app(app) -> None:
    @app.cli.command("backup")
    @click.argument("dest", type=click.Path(file_okay=False))
    def backup_command(dest):
        """Copy the live database and the photos into DEST, a new folder."""
        with _reported():
            manifest = backup(app, dest)
        dest = os.path.abspath(dest)
        size = os.path.getsize(os.path.join(dest, manifest["database"]))
        click.echo(f"Backup of the {ENGINES[manifest['engine']]} database at migration "
                   f"{manifest['alembic_revision']} written to {dest}:")
        click.echo(f"  {manifest['database']}  {size / 2**20:.1f} MB")
        click.echo(f"  {PHOTOS}/  {manifest['photo_files']} files")
        click.echo(f"  {MANIFEST}")
        click.echo(f"Rows: {_rows(manifest)}.")

    @app.cli.command("restore")
    @click.argument("src", type=click.Path(exists=True, file_okay=False))
    @click.option("--yes", is_flag=True, help="Replace a database that already has data.")
    def restore_command(src, yes):
        """Restore the database and the missing photos from SRC, a folder made by backup."""
        with _reported():
            done = restore(app, src, force=yes)
        manifest = done["manifest"]
        click.echo(f"Restored the backup of {manifest['created_utc']} "
                   f"({ENGINES[manifest['engine']]}, Rounds {manifest['app_version']}) "
                   f"into {done['target']}.")
        click.echo(f"Photos: {done['photos_copied']} copied, "
                   f"{done['photos_present']} already there.")
        click.echo(f"Rows: {_rows(manifest)}.")
        if manifest["alembic_revision"] != done["head"]:
            click.echo(f"The backup is at migration {manifest['alembic_revision']}, this code "
                       f"needs {done['head']}: run `flask --app wsgi db upgrade` now.")
        click.echo("Restart the app so that it opens the restored database.")


@contextmanager
def _reported():
    """Errors the operator can act on become a message and exit status 1, not a traceback."""
    try:
        yield
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except OperationalError as error:
        raise click.ClickException(f"The database cannot be reached: {error.orig}") from None


def _rows(manifest: dict) -> str:
    return ", ".join(f"{name} {count}" for name, count in manifest["rows"].items())
