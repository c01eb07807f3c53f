"""What every setup screen needs: the admin's own sites and users, and audited updates."""
from flask import abort
from flask_login import current_user

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Site, User, audit


def visible_site(site_id: int) -> Site:
    """One of the admin's sites; any other site is as absent as a missing one."""
    site = db.session.get(Site, site_id)
    if site is None or not current_user.can_see_site(site.id):
        abort(404)
    return site


def visible_user(user_id: int) -> User:
    """A user the admin may change: one who works only at sites the admin runs.

    Roles and passwords hold at every site of the user, so someone who also works elsewhere
    is left to an admin of all their sites (403); a user of none of the admin's sites is
    as absent as a missing one (404).
    """
    user = db.session.get(User, user_id)
    if user is None or not user.site_ids & current_user.site_ids:
        abort(404)
    if not user.site_ids <= current_user.site_ids:
        abort(403)
    return user


def update(row, values: dict) -> dict:
    """Set the attributes; return the changed ones as {name: [old, new]} for the audit trail."""
    changed = {}
    for name, value in values.items():
        old = getattr(row, name)
        if old != value:
            changed[name] = [old, value]
            setattr(row, name, value)
    return changed


def commit_unique(row, prefix: str, field, message: str, action: str, /, site_id=None,
                  **detail) -> bool:
    """Commit with its audit row; a unique value taken meanwhile is an error beside `field`.

    Positional-only first arguments: `detail` may hold any field name, "kind" included.
    """
    try:
        db.session.flush()
        audit(action, user=current_user, site_id=site_id, target=f"{prefix}:{row.id}", **detail)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        field.errors.append(message)
        return False
    return True
