"""Alembic environment: runs migrations with the app's own engine and metadata."""
import logging
from collections import Counter
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

db = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url",
                       db.engine.url.render_as_string(hide_password=False).replace("%", "%%"))


def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty(context, revision, directives):
        # `flask db migrate` with no model change writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty)
    with db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table by copying it and dropping the old one, which
            # SQLite's foreign keys refuse while other tables' rows refer to it. The pragma
            # does nothing inside a transaction, and the app's "begin" event opens one with
            # the first statement: it goes to the driver itself, before that.
            driver = connection.connection.driver_connection
            kept = [broken_references(driver)]  # as the last step kept left them

            def references_hold(ctx, step, **_):
                """With the keys off nothing checked the rows a step moved: it is kept only
                if it left no more broken references than there were before it (its
                transaction is still open here, so raising undoes it)."""
                now = broken_references(driver)
                made = now - kept[0]
                if made:
                    rows = ", ".join(f"{n} in {table} → {parent}"
                                     for (table, parent), n in made.items())
                    raise RuntimeError(
                        f"{'upgrade to' if step.is_upgrade else 'downgrade from'} "
                        f"{step.up_revision_id} undone: it left rows that refer to rows that "
                        f"are gone ({rows})")
                kept[0] = now

            driver.execute("PRAGMA foreign_keys=OFF")
            conf_args["on_version_apply"] = references_hold
        try:
            context.configure(connection=connection, target_metadata=db.metadata, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
        finally:
            if sqlite:  # back to the pool as it came, keys on (each step has committed)
                connection.rollback()
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


def broken_references(driver) -> Counter:
    """How many rows of each table refer to a row of another that is gone."""
    return Counter((table, parent) for table, _, parent, _ in
                   driver.execute("PRAGMA foreign_key_check").fetchall())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
