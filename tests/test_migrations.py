"""The migrations build the schema the models describe, record their version, and go both ways."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db

from .conftest import empty_tables


def fresh_app(tmp_path):
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/m.sqlite",
                       "TESTING": True})


def head(app):
    return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config()).get_current_head()


def test_upgrade_records_the_version_so_a_second_run_does_nothing(tmp_path):
    app = fresh_app(tmp_path)
    with app.app_context():
        upgrade()
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == head(app)
        db.session.commit()  # on SQLite, commands' transactions hold the write lock
        upgrade()  # `make run` runs it every time: it must be a no-op, not a crash


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
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == head(app)
