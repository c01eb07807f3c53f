"""The migrations build the schema the models describe, record their version, and go both ways."""
from datetime import date, timedelta
from pathlib import Path
import shutil

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
import pytest
from sqlalchemy import MetaData, func, inspect, select, text

from app import create_app, demo_records, due
from app.extensions import db
from app.models import DayCount, Record, Site
from app.models.base import utcnow

from .conftest import empty_tables


def fresh_app(tmp_path):
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.sqlite",
                       "TESTING": True})


def scripts(app):
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def head(app):
    return scripts(app).get_current_head()


def database_version() -> str:
    """The migration the database says it is at."""
    db.session.close()
    with db.engine.connect() as connection:
        return connection.scalar(text("SELECT version_num FROM alembic_version"))


def row_counts() -> dict:
    """Rows in each table the database has now (read from the database, not the models)."""
    db.session.close()
    tables = MetaData()
    tables.reflect(db.engine)
    with db.engine.connect() as connection:
        return {name: connection.scalar(select(func.count()).select_from(table))
                for name, table in tables.tables.items() if name != "alembic_version"}


def test_upgrade_records_the_version_so_a_second_run_does_nothing(tmp_path):
    app = fresh_app(tmp_path)
    with app.app_context():
        upgrade()
        assert database_version() == head(app)
        upgrade()  # `make run` runs it every time: it must be a no-op, not a crash


def test_an_in_memory_database_keeps_its_schema(tmp_path):
    """The migration's connection goes back to the pool, not away with the only copy."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    with app.app_context():
        upgrade()
        assert "record" in inspect(db.engine).get_table_names()


def test_the_migrated_schema_matches_the_models(schema, app):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_downgrade_to_nothing_and_upgrade_again(tmp_path):
    app = fresh_app(tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "record" in inspect(db.engine).get_table_names()


def test_downgrade_and_upgrade_again_on_the_suite_s_engine(app):
    """On PostgreSQL when DATABASE_URL names it (as in CI), else SQLite: all the way down,
    and up again to a schema that matches the models."""
    empty_tables()  # the demo's rows: a downgrade drops tables, it does not keep data
    db.session.close()
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
    assert database_version() == head(app)


def test_each_migration_goes_down_and_up_again_with_a_site_s_records_in_it(app):
    """An operator's way back from an upgrade: `flask db downgrade` one step at a time with
    two weeks of a site's work in the database, then `flask db upgrade`. On SQLite a step
    that rebuilds a table other rows refer to (batch mode) needs the foreign keys off,
    which only works outside a transaction; with them on, the first such step failed."""
    demo_records.add_sample_records()
    demo_records.add_history()
    before = row_counts()
    for table in ("record", "step_result", "photo", "review", "scan", "defect", "stop"):
        assert before[table] > 0, table
    steps = list(scripts(app).walk_revisions())  # newest first
    for step in steps[:-1]:  # down to the first migration, which holds the first schema
        downgrade(revision=step.down_revision)
        now = row_counts()
        assert now == {table: before[table] for table in now}, step.doc
    upgrade()
    after = row_counts()
    kept = {table: before[table] for table in now}  # the first schema's tables
    assert {table: after[table] for table in kept} == kept
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), db.metadata) == []
        if connection.dialect.name == "sqlite":  # the migration's connection: keys on again
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_records_made_before_roles_were_kept_fill_their_rounds_as_they_did(app):
    """An upgrade does not rewrite last week: a record made before it keeps no roles and
    fills a round of any role, even after its author has been made a supervisor."""
    demo_records.add_sample_records()
    demo_records.add_history()
    site = db.session.scalar(select(Site).order_by(Site.id))
    now = utcnow()
    last = due.local_date(site.timezone, now) - timedelta(days=1)

    def statuses():
        return [(slot.schedule.id, slot.spot.id, slot.opens, slot.status)
                for slot in due.period(site, last - timedelta(days=6), last, now)]

    before = statuses()
    assert sum(status == "done" for *_, status in before) > 100
    db.session.close()
    downgrade(revision="4d9e9be4140d")
    with db.engine.begin() as connection:  # in SQL: the models are ahead of this schema
        guard = connection.scalar(text('SELECT id FROM "user" WHERE username = \'guard\''))
        connection.execute(text("DELETE FROM user_role WHERE user_id = :id"), {"id": guard})
        connection.execute(text("INSERT INTO user_role (user_id, role) VALUES (:id, 'supervisor')"),
                           {"id": guard})
    upgrade()
    assert statuses() == before
    assert db.session.scalars(select(Record.roles).distinct()).all() == [None]


def test_a_day_kept_without_some_of_its_spots_is_counted_again_after_a_downgrade(app):
    """Before 5b7e0c1d9a2f a kept day held all its spots: on the way down a day kept
    without some of them is dropped, for the dashboard to count again; a whole one stays."""
    site = db.session.scalar(select(Site).order_by(Site.id))
    for day, unsettled in ((date(2027, 3, 3), []), (date(2027, 3, 4), [1])):
        db.session.add(DayCount(site_id=site.id, day=day, rules=1, unsettled=unsettled,
                                counts=[["all", None, "done", 5]]))
    db.session.commit()
    db.session.close()
    downgrade(revision="a4dff2ca98ba")
    with db.engine.connect() as connection:
        assert [str(day) for day in connection.scalars(text("SELECT day FROM day_count"))] \
            == ["2027-03-03"]
    upgrade()
    assert db.session.scalars(select(DayCount.unsettled)).all() == [[]]


def orphan_a_result(result_id=1):
    """A step result whose record is gone, written with the keys off as SQLite allows."""
    with db.engine.connect() as connection:
        driver = connection.connection.driver_connection
        driver.execute("PRAGMA foreign_keys=OFF")
        driver.execute(f"UPDATE step_result SET record_id = 999999 WHERE id = {result_id}")
        driver.execute("PRAGMA foreign_keys=ON")


def test_on_sqlite_a_migration_that_leaves_a_broken_reference_is_undone(app, tmp_path, capsys):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL never turns its foreign keys off")
    demo_records.add_sample_records()
    db.session.commit()
    record_of_2 = db.session.scalar(text("SELECT record_id FROM step_result WHERE id = 2"))
    db.session.close()
    orphan_a_result(2)  # there before: neither blamed on a step nor in its way
    newest = head(app)
    folder = tmp_path / "migrations"
    shutil.copytree(Path(app.root_path).parent / "migrations", folder)
    # One step mends the old row, the next breaks another: judged against the first's
    # result, not against the start of the command.
    for revision, down, statement in (
            ("eeee00000000", newest, f"UPDATE step_result SET record_id = {record_of_2} WHERE id = 2"),
            ("ffff00000000", "eeee00000000", "UPDATE step_result SET record_id = 999999 WHERE id = 1")):
        (folder / "versions" / f"{revision}_careless.py").write_text(
            f'from alembic import op\nrevision = "{revision}"\ndown_revision = "{down}"\n'
            f'def upgrade():\n    op.execute("{statement}")\ndef downgrade():\n    pass\n')
    with pytest.raises(SystemExit):  # `flask db upgrade` exits with 1
        upgrade(directory=str(folder))
    assert "upgrade to ffff00000000 undone: it left rows that refer to rows that are gone " \
        "(1 in step_result → record)" in capsys.readouterr().err
    assert database_version() == "eeee00000000"
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT record_id FROM step_result WHERE id = 1")) != 999999
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    # An old broken row does not stop an ordinary step, down or up.
    orphan_a_result(2)
    downgrade(revision=scripts(app).get_revision(newest).down_revision, directory=str(folder))
    upgrade(revision=newest, directory=str(folder))
    assert database_version() == newest
