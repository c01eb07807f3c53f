"""Logging in and out, and choosing a language."""
import time

from flask import Blueprint, current_app, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..models import User, audit
from ..models.base import utcnow
from ..web import Form, redirect_to, render, safe_next
from . import throttle

bp = Blueprint("auth", __name__)


class LoginForm(Form):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this phone"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.args.get("next"), url_for("field.home"))
    if current_user.is_authenticated:
        return redirect_to(next_url)
    form = LoginForm()
    error = None
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        now = utcnow()
        minutes = throttle.wait(username, now)
        if minutes:
            audit("login_throttled", target=username[:100], address=request.remote_addr)
            db.session.commit()
            error = _("Too many failed logins. Try again in %(n)d minutes, or log in on a phone "
                      "you have used before.", n=minutes)
            return render("auth/login.html", form=form, error=error, status=429)
        user = User.by_username(username)
        if user and user.active and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            # On a personal phone the session (and the CSRF token in it) outlives a closed
            # WeChat, so a form left open for hours can still be sent.
            session.permanent = bool(form.remember.data)
            session["login_at"] = int(time.time())
            audit("login", user=user)
            db.session.commit()
            response = redirect_to(next_url)
            throttle.remember_device(response, username)
            return response
        throttle.failed(username, now)
        audit("login_failed", target=username[:100])
        db.session.commit()
        error = _("Wrong username or password, or the account is disabled.")
    elif request.method == "POST":
        error = _("Enter your username and password.")
    return render("auth/login.html", form=form, error=error, status=status)


@bp.before_app_request
def end_old_logins():
    """A login lasts at most PERMANENT_SESSION_LIFETIME (30 days) from the moment it was
    made, however often the session was written since. (A session restored from the
    remember cookie lasts while the browser runs, and that cookie ends 30 days after the
    login.)"""
    started = session.get("login_at")
    if started is not None and \
            time.time() - started > current_app.permanent_session_lifetime.total_seconds():
        session.pop("login_at")
        logout_user()  # the remember cookie goes too


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        audit("logout", user=current_user)
        db.session.commit()
        # A copy of this session or of the remember cookie is worthless from now on.
        current_user.end_sessions()
        db.session.commit()
        # The next page tells the phone to drop this user's outbox and kept pages.
        session["logged_out"] = current_user.id
    logout_user()
    return redirect_to(url_for("auth.login"))


@bp.post("/language")
def language():
    """Remember the chosen language in the session and, when logged in, on the account."""
    lang = request.form.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
        if current_user.is_authenticated:
            current_user.language = lang
            db.session.commit()
    return redirect_to(safe_next(request.form.get("next"), url_for("field.home")))
