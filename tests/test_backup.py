"""`flask backup` and `flask restore`: what was backed up comes back, as users see it."""
import hashlib
import json
import os
import shutil
import sqlite3
import threading
import time
from io import BytesIO

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import Column, ForeignKey, Integer, Table, inspect, select, text

from app import dumps
from app import create_app
from app.backup import FILES, BackupError, backup, restore
from app.extensions import db
from app.models import Photo, Record, Site, StepResult
from app.storage import photo_paths

from .conftest import login, spot_by_code
from .helpers import answers, count, html, jpeg, require

AFTER = "Built after the backup"


@pytest.fixture(autouse=True)
def engine(app):
    name = db.engine.dialect.name
    if name == "postgresql":
        require(bool(shutil.which("pg_dump") and shutil.which("pg_restore")),
                "PostgreSQL backups need pg_dump and pg_restore on PATH "
                "(Debian: apt-get install postgresql-client)")
    return name


def form(spot) -> tuple[dict, list[int]]:
    """The spot's filled-in form without its photos, and the steps that want one."""
    fields = answers(spot)
    steps = [step.id for step in spot.sop.current.steps if step.photo_required]
    return {k: v for k, v in fields.items() if not k.startswith("photo-")}, steps


def post_record(client, spot_id, fields, steps, key, shade):
    data = {**fields, "submission_key": key}
    for step_id in steps:  # a colour of its own: a photo file of its own
        data[f"photo-{step_id}"] = (BytesIO(jpeg(color=(shade % 256, shade // 256, 90))), "p.jpg")
    response = client.post(f"/spots/{spot_id}/records", data=data,
                           content_type="multipart/form-data")
    assert response.status_code == 303, html(response)


def submit(client, key, shade=0):
    spot = spot_by_code("CP-01")
    post_record(client, spot.id, *form(spot), key, shade)
    return db.session.scalar(select(Record).where(Record.submission_key == key))


def served(client, url) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200, url
        return response.data


def add_site():
    db.session.add(Site(name_zh=AFTER, name_en=AFTER))
    db.session.commit()


def sites_named_after() -> int:
    return count(Site, Site.name_en == AFTER)


def test_restore_brings_back_deleted_records_and_photos(app, as_user, tmp_path):
    guard = as_user("guard")
    kept = submit(guard, "b" * 32)
    record_id, photo_id, sha = kept.id, kept.photos[0].id, kept.photos[0].sha256
    full, thumb = photo_paths(app.config["PHOTO_DIR"], sha)
    with open(thumb, "rb") as f:
        thumb_bytes = f.read()

    manifest = backup(app, tmp_path / "backup")
    assert manifest["rows"]["record"] == 1 and manifest["photo_files"] == 2

    later_id = submit(guard, "c" * 32, shade=200).id
    for photo in kept.photos:
        db.session.delete(photo)
    db.session.delete(kept)
    db.session.commit()
    os.unlink(full)
    os.unlink(thumb)
    assert guard.get(f"/records/{record_id}").status_code == 404

    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup"), "--yes"])
    assert result.exit_code == 0, result.output
    assert "Photos: 2 copied" in result.output and "Restart the app" in result.output

    page = guard.get(f"/records/{record_id}")
    assert page.status_code == 200 and "东门岗" in html(page)
    assert hashlib.sha256(served(guard, f"/photos/{photo_id}")).hexdigest() == sha
    assert served(guard, f"/photos/{photo_id}/thumb") == thumb_bytes
    assert guard.get(f"/records/{later_id}").status_code == 404
    assert count(Record) == 1 and count(StepResult, StepResult.record_id == record_id) == 4


def test_photos_of_rows_added_or_deleted_while_the_database_is_copied_are_kept(
        app, as_user, tmp_path, monkeypatch, engine):
    guard = as_user("guard")
    old = submit(guard, "1" * 32, shade=10)
    old_photo, old_sha = old.photos[0].id, old.photos[0].sha256
    copy_database = getattr(dumps, f"dump_{engine}")

    def busy_copy(*args):
        submit(guard, "2" * 32, shade=20)  # its photo arrives after the first photo copy
        facts = copy_database(*args)
        # The row is deleted right after the database copy, and with it the file (app/sweep.py
        # removes the files of deleted rows at once).
        for photo in db.session.get(Record, old.id).photos:
            db.session.delete(photo)
        db.session.commit()
        for path in photo_paths(app.config["PHOTO_DIR"], old_sha):
            if os.path.exists(path):
                os.unlink(path)
        return facts

    monkeypatch.setattr(dumps, f"dump_{engine}", busy_copy)
    manifest = backup(app, tmp_path / "backup")
    assert manifest["rows"]["photo"] == 2 and manifest["photo_files"] == 4

    restore(app, tmp_path / "backup", force=True)
    new_photo = db.session.scalar(select(Photo.id).join(Record).where(
        Record.submission_key == "2" * 32))
    for photo_id in (old_photo, new_photo):
        assert served(guard, f"/photos/{photo_id}")
        assert served(guard, f"/photos/{photo_id}/thumb")


def test_a_backup_taken_while_records_arrive_is_consistent(app, as_user, tmp_path, engine):
    guard = as_user("guard")
    spot = spot_by_code("CP-01")
    spot_id, (fields, steps) = spot.id, form(spot)
    db.session.commit()  # the test's own transaction must not hold the writer up
    made, errors, stop = [], [], threading.Event()

    def write():
        with app.app_context():
            try:
                while not stop.is_set():
                    post_record(guard, spot_id, fields, steps, f"{len(made):032x}", len(made))
                    made.append(1)
            except BaseException as error:  # noqa: BLE001 - shown by the assert below
                errors.append(error)

    writer = threading.Thread(target=write)
    writer.start()
    manifests = []
    try:
        for n in range(3):
            while len(made) < 2 * (n + 1) and writer.is_alive():
                time.sleep(0.01)
            manifests.append(backup(app, tmp_path / f"backup{n}"))
    finally:
        stop.set()
        writer.join()
    assert not errors, errors
    assert 0 < manifests[0]["rows"]["record"] < manifests[-1]["rows"]["record"] <= len(made)

    for n, manifest in enumerate(manifests):
        restore(app, tmp_path / f"backup{n}", force=True)
        if engine == "sqlite":
            assert db.session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert count(Record) == manifest["rows"]["record"]
        assert count(Photo) == manifest["rows"]["photo"] == count(Record) * len(steps)
        assert count(StepResult) == count(Record) * sum(name.startswith("step-") for name in fields)
        for sha in db.session.scalars(select(Photo.sha256)):
            for path in photo_paths(str(tmp_path / f"backup{n}" / "photos"), sha):
                assert os.path.isfile(path), f"backup{n} lacks the photo of a row: {path}"


@pytest.mark.parametrize("damage, message", [
    ("engine", "but the configured database is"),
    ("no manifest", "has no manifest.json: it is not a Rounds backup"),
    ("newer revision", "which this version of Rounds does not know"),
    ("photo lost", "The backup has 1 photo files where its manifest says 2: it is incomplete"),
])
def test_restore_refuses_a_backup_it_cannot_use(app, as_user, tmp_path, engine, damage,
                                                message):
    sha = submit(as_user("guard"), "f" * 32).photos[0].sha256
    dest = tmp_path / "backup"
    manifest = backup(app, dest)
    if damage == "no manifest":
        (dest / "manifest.json").unlink()
    elif damage == "photo lost":
        os.unlink(photo_paths(str(dest / "photos"), sha)[1])
    else:
        if damage == "engine":
            other = "postgresql" if engine == "sqlite" else "sqlite"
            os.rename(dest / FILES[engine], dest / FILES[other])
            manifest.update(engine=other, database=FILES[other])
        else:
            manifest["alembic_revision"] = "0123456789ab"
        (dest / "manifest.json").write_text(json.dumps(manifest))
    add_site()

    result = app.test_cli_runner().invoke(args=["restore", str(dest), "--yes"])
    assert result.exit_code == 1 and message in result.output
    if damage == "engine":
        names = ("SQLite", "PostgreSQL") if engine == "sqlite" else ("PostgreSQL", "SQLite")
        assert f"This is a backup of a {names[1]} database, but the configured database " \
               f"is {names[0]}" in result.output
    assert sites_named_after() == 1


def test_restore_leaves_a_database_with_data_alone_without_yes(app, tmp_path):
    backup(app, tmp_path / "backup")
    add_site()
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 1
    assert "already has data" in result.output and "--yes" in result.output
    assert sites_named_after() == 1


def test_backup_wants_a_new_folder_and_copies_only_photo_files(app, as_user, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    cli = app.test_cli_runner()
    result = cli.invoke(args=["backup", str(taken)])
    assert result.exit_code == 1 and "is not an empty folder" in result.output
    assert os.listdir(taken) == ["notes.txt"]

    sha = submit(as_user("guard"), "d" * 32).photos[0].sha256
    photo_dir = app.config["PHOTO_DIR"]
    # A photo being written (storage.write_atomic's temporary name) and stray files.
    for stray in (f"{sha[:2]}/.{sha}.jpg.0123456789abcdef.tmp", f"{sha[:2]}/notes.txt",
                  "notes.txt", "zz/" + "a" * 64 + ".jpg"):
        os.makedirs(os.path.dirname(os.path.join(photo_dir, stray)), exist_ok=True)
        with open(os.path.join(photo_dir, stray), "w") as f:
            f.write("not a photo")
    result = cli.invoke(args=["backup", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert "photos/  2 files" in result.output and "Rows: site 2, user 5" in result.output
    copied = {os.path.relpath(os.path.join(folder, name), tmp_path / "backup" / "photos")
              for folder, _, names in os.walk(tmp_path / "backup" / "photos") for name in names}
    assert copied == {f"{sha[:2]}/{sha}.jpg", f"{sha[:2]}/{sha}.thumb.jpg"}
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    assert manifest["photo_files"] == 2 and manifest["rows"]["record"] == 1
    assert manifest["app_version"] and manifest["created_utc"].endswith("Z")
    assert "record" in manifest["tables"] and manifest["alembic_revision"]


def test_the_app_runs_on_a_restored_database(app, as_user, tmp_path, engine):
    record = submit(as_user("guard"), "e" * 32)
    record_id, photo_id, sha = record.id, record.photos[0].id, record.photos[0].sha256
    backup(app, tmp_path / "backup")
    place = tmp_path / "restored"
    if engine == "sqlite":
        target = f"sqlite:///{place / 'rounds.sqlite'}"
    else:  # one PostgreSQL database for the whole test session: restore it onto itself
        target = app.config["SQLALCHEMY_DATABASE_URI"]
        db.session.commit()
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": target, "PHOTO_DIR": str(place / "photos"),
                        "TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "fresh"})
    try:
        # A new SQLite database has no rows yet: no --yes needed.
        done = restore(fresh, tmp_path / "backup", force=engine == "postgresql")
        assert done["photos_copied"] == 2
        with fresh.app_context(), db.engine.connect() as connection:
            # Exactly the schema the migrations made: later tests share it on PostgreSQL.
            context = MigrationContext.configure(connection)
            assert context.get_current_revision() == done["head"]
            assert compare_metadata(context, db.metadata) == []
        client = login(fresh.test_client(), "guard")
        assert client.get("/").status_code == 200
        page = client.get(f"/records/{record_id}")
        assert page.status_code == 200 and "东门岗" in html(page)
        assert hashlib.sha256(served(client, f"/photos/{photo_id}")).hexdigest() == sha
    finally:
        with fresh.app_context():
            db.engine.dispose()
        db.engine.dispose()


def test_an_older_backup_is_restored_then_brought_up_to_date(tmp_path):
    def sqlite_app(name):
        return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / name}.sqlite",
                           "PHOTO_DIR": str(tmp_path / name), "TESTING": True})

    old, new = sqlite_app("old"), sqlite_app("new")
    with old.app_context():
        script = ScriptDirectory.from_config(old.extensions["migrate"].migrate.get_config())
        head = script.get_current_head()
        earlier = script.get_revision(head).down_revision
        upgrade(revision=earlier)
        db.engine.dispose()
    backup(old, tmp_path / "backup")
    result = new.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
    assert result.exit_code == 0, result.output
    assert f"The backup is at migration {earlier}, this code needs {head}: " \
           "run `flask --app wsgi db upgrade` now." in result.output
    with new.app_context():
        upgrade()
        db.engine.dispose()
    assert new.test_client().get("/login").status_code == 200


def test_restore_onto_a_wal_database_waits_for_the_app_to_let_go(tmp_path):
    live = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/live.sqlite",
                       "PHOTO_DIR": str(tmp_path / "photos"), "TESTING": True})
    with live.app_context():
        upgrade()
        add_site()
        db.engine.dispose()
    backup(live, tmp_path / "backup")
    server = sqlite3.connect(tmp_path / "live.sqlite")  # the web server, still running
    server.execute("PRAGMA journal_mode=WAL")
    cli = live.test_cli_runner()
    result = cli.invoke(args=["restore", str(tmp_path / "backup"), "--yes"])
    assert result.exit_code == 1
    assert "is in use" in result.output and "stop the app, then restore" in result.output
    server.close()
    result = cli.invoke(args=["restore", str(tmp_path / "backup"), "--yes"])
    assert result.exit_code == 0, result.output
    check = sqlite3.connect(tmp_path / "live.sqlite")
    assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert check.execute("SELECT name_en FROM site").fetchall() == [(AFTER,)]
    check.close()
    assert sorted(os.listdir(tmp_path)) == ["backup", "live.sqlite"]


def test_restoring_an_older_backup_drops_tables_of_the_newer_schema(app, tmp_path, engine):
    if engine != "postgresql":
        pytest.skip("on SQLite a restore replaces the whole database file")
    backup(app, tmp_path / "backup")
    # A table a later migration would add, with a foreign key that --clean alone trips over.
    later = Table("later_feature", db.metadata, Column("id", Integer, primary_key=True),
                  Column("record_id", ForeignKey("record.id")))
    try:
        later.create(db.engine)
        result = app.test_cli_runner().invoke(
            args=["restore", str(tmp_path / "backup"), "--yes"])
        assert result.exit_code == 0, result.output
        assert "later_feature" not in inspect(db.engine).get_table_names()
    finally:
        db.metadata.remove(later)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS later_feature"))


def test_backup_of_postgresql_says_when_pg_dump_is_missing(app, tmp_path, engine, monkeypatch):
    if engine != "postgresql":
        pytest.skip("SQLite backups need no external program")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump is not on PATH"):
        backup(app, tmp_path / "backup")
    assert not os.path.exists(tmp_path / "backup")
