"""Photo files no row refers to: removed after the commit that deleted their last row, and,
for files a crash or a refused form left behind, by `flask sweep-photos` after a day.

A photo's file is always written before its row is committed (app/field/submission.py), so
a crash can leave a file without a row, never a row without a file.
"""
import os
import time
from datetime import timedelta

import click
from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from . import storage
from .extensions import db
from .models import Photo

SWEEP_AFTER = timedelta(days=1)
# A file touched this recently may be about to get a row (the same photo sent again).
FRESH_SECONDS = 120


def unreferenced(shas) -> set[str]:
    """Of these hashes, the ones no committed photo row names (read on a connection of its
    own: after a commit, the session may not run SQL)."""
    shas, found = list(shas), set()
    with db.engine.connect() as connection:
        for i in range(0, len(shas), 500):
            found.update(connection.scalars(
                select(Photo.sha256).where(Photo.sha256.in_(shas[i:i + 500]))))
    return set(shas) - found


def remove(photo_dir: str, sha: str, older_than: float) -> int:
    """Delete a photo's file and thumbnail if not modified since `older_than` (epoch)."""
    removed = 0
    for path in storage.photo_paths(photo_dir, sha):
        try:
            if os.stat(path).st_mtime < older_than:
                os.unlink(path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed


@event.listens_for(Session, "after_flush")
def _note_deleted_photos(session, flush_context):
    for row in session.deleted:
        if isinstance(row, Photo):
            session.info.setdefault("deleted_photos", set()).add(row.sha256)


@event.listens_for(Session, "after_commit")
def _remove_files_of_deleted_photos(session):
    shas = session.info.pop("deleted_photos", None)
    if not shas:
        return
    photo_dir = current_app.config["PHOTO_DIR"]
    for sha in unreferenced(shas):
        remove(photo_dir, sha, time.time() - FRESH_SECONDS)


@event.listens_for(Session, "after_rollback")
def _forget_deleted_photos(session):
    session.info.pop("deleted_photos", None)


def sweep(photo_dir: str, now: float | None = None) -> tuple[int, int]:
    """Remove photo files older than a day that no row names, and temporary files a crash
    left: (files removed, files looked at)."""
    cutoff = (now or time.time()) - SWEEP_AFTER.total_seconds()
    removed = seen = 0
    for folder in sorted(os.listdir(photo_dir)) if os.path.isdir(photo_dir) else []:
        path = os.path.join(photo_dir, folder)
        if len(folder) != 2 or not os.path.isdir(path):
            continue
        old, names = set(), os.listdir(path)
        seen += len(names)
        for name in names:
            full = os.path.join(path, name)
            if name.endswith(".tmp"):
                if os.stat(full).st_mtime < cutoff:
                    os.unlink(full)
                    removed += 1
                continue
            sha = name.split(".")[0]
            if os.stat(full).st_mtime < cutoff:
                old.add(sha)
        for sha in unreferenced(old):
            removed += remove(photo_dir, sha, cutoff)
    return removed, seen


def init_app(app) -> None:
    @app.cli.command("sweep-photos")
    def sweep_photos():
        """Remove photo files no row refers to, older than a day (run daily by a timer)."""
        removed, seen = sweep(app.config["PHOTO_DIR"])
        click.echo(f"Photo files looked at: {seen}; removed: {removed}.")
