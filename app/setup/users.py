"""Users of the admin's sites: accounts, roles, sites, passwords, disabling."""
from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import select

from ..extensions import db
from ..models import Site, User, audit
from ..web import redirect_to, render, role_required
from . import bp
from .common import commit_unique, update, visible_user
from .forms import PasswordForm, UserForm


def user_page(user: User | None, form=None, password_form=None, error=None, status=200):
    if form is None:
        form = UserForm(user, formdata=None)
    if user is not None and password_form is None:
        password_form = PasswordForm(formdata=None)
    if form.errors or (password_form is not None and password_form.errors):
        status = 422
    return render("setup/user_form.html", user=user, form=form, password_form=password_form,
                  error=error, status=status)


def apply(user: User, form: UserForm) -> dict:
    """Set the account from the form (the user works only at the admin's sites)."""
    changed = update(user, {"username": form.username.data, "name": form.name.data,
                            "language": form.language.data or None})
    before, after = sorted(user.site_ids), sorted(form.site_ids.data)
    if before != after:
        with db.session.no_autoflush:  # a clashing username must fail in save(), not here
            user.sites = db.session.scalars(select(Site).where(Site.id.in_(after))).all()
        changed["sites"] = [before, after]
    if user.roles != set(form.roles.data):
        changed["roles"] = [sorted(user.roles), sorted(form.roles.data)]
        user.roles = form.roles.data
    return changed


def save(user: User, form: UserForm, action: str, changed: dict) -> bool:
    return commit_unique(user, "user", form.username, _("This username is taken."), action,
                         **changed)


@bp.get("/users/")
@role_required("admin")
def users():
    rows = db.session.scalars(
        select(User).where(User.sites.any(Site.id.in_(current_user.site_ids)))
        .order_by(User.username)
    ).all()
    return render("setup/users.html", users=rows)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required("admin")
def user_new():
    form = UserForm()
    if not form.validate_on_submit():
        return user_page(None, form)
    user = User()
    user.set_password(form.password.data)
    changed = apply(user, form)
    db.session.add(user)
    if not save(user, form, "setup_user_new", {k: new for k, (old, new) in changed.items()}):
        return user_page(None, form)
    flash(_("Account %(username)s created.", username=form.username.data), "ok")
    return redirect_to(url_for("setup.users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@role_required("admin")
def user_edit(user_id):
    user = visible_user(user_id)
    form = UserForm(user)
    if not form.validate_on_submit():
        return user_page(user, form)
    changed = apply(user, form)
    if not changed:
        return redirect_to(url_for("setup.users"))
    if not save(user, form, "setup_user_edit", changed):
        return user_page(visible_user(user_id), form)
    flash(_("Account %(username)s saved.", username=user.username), "ok")
    return redirect_to(url_for("setup.users"))


@bp.post("/users/<int:user_id>/password")
@role_required("admin")
def user_password(user_id):
    user = visible_user(user_id)
    password_form = PasswordForm()
    if not password_form.validate_on_submit():
        return user_page(user, password_form=password_form)
    user.set_password(password_form.new_password.data)
    user.end_sessions()
    audit("setup_user_password", user=current_user, target=f"user:{user.id}")
    db.session.commit()
    if user.id == current_user.id:
        login_user(user)  # ending the sessions ended this one too
    flash(_("New password set. %(username)s must log in again with it.",
            username=user.username), "ok")
    return redirect_to(url_for("setup.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/disable")
@role_required("admin")
def user_disable(user_id):
    user = visible_user(user_id)
    if user.id == current_user.id:
        return user_page(user, error=_("You cannot disable your own account."), status=422)
    if user.active:
        user.active = False
        user.end_sessions()
        audit("setup_user_disable", user=current_user, target=f"user:{user.id}")
        db.session.commit()
    flash(_("%(username)s is disabled and logged out everywhere.", username=user.username), "ok")
    return redirect_to(url_for("setup.user_edit", user_id=user.id))


@bp.post("/users/<int:user_id>/enable")
@role_required("admin")
def user_enable(user_id):
    user = visible_user(user_id)
    if not user.active:
        user.active = True
        audit("setup_user_enable", user=current_user, target=f"user:{user.id}")
        db.session.commit()
    flash(_("%(username)s can log in again.", username=user.username), "ok")
    return redirect_to(url_for("setup.user_edit", user_id=user.id))
