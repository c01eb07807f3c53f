"""Request plumbing shared by every blueprint: login, rendering, permissions, errors."""
import hashlib
import os
from functools import wraps
from urllib.parse import urlsplit

from flask import (Response, abort, current_app, jsonify, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import CombinedMultiDict
from jinja2_fragments.flask import render_block
from werkzeug.routing import IntegerConverter

from .extensions import db, htmx, login
from .i18n import is_chinese, pick
from .models import Site, User


MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in URLs: ids fit the database's integer, so a huge one is a 404, not a 500."""

    def __init__(self, map, **kwargs):
        super().__init__(map, max=MAX_ID, **kwargs)


def form_id(value) -> int | None:
    """An id from a form or query field, or None when it is not a plausible id."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


class Form(FlaskForm):
    """The app's forms read the request's form fields, and its files only when they have a
    file field; never a JSON body. Flask-WTF would hand a file, or JSON values of any type,
    to text and number fields, whose validators then fail with a server error."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form, formdata):
            if formdata is None or hasattr(formdata, "getlist"):  # given by the view
                return formdata
            if not form.is_submitted():
                return None
            if request.files and any(field.type == "FileField" for field in form):
                return CombinedMultiDict((request.files, request.form))
            return request.form or None


def refuse_nul_bytes():
    """No one types a NUL byte, and PostgreSQL refuses one in text: a request carrying one in
    its path, query or form is refused before any handler reads it."""
    if "\x00" in request.path or any("\x00" in f"{key}{value}" for source in (
            request.args, request.form) for key, value in source.items(multi=True)):
        abort(400)


def wants_fragment() -> bool:
    """An htmx request for part of a page (a boosted link wants the whole page)."""
    return bool(htmx) and not htmx.boosted


def render(template: str, block: str | None = None, status: int = 200, **context):
    """One URL, two renderings: the named block for an htmx request, the page otherwise."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return body, status


def redirect_to(url: str) -> Response:
    """Leave the page after a POST: a 303, or HX-Redirect when htmx made the request."""
    if htmx:
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def outbox_request() -> bool:
    """Sent by the phone's outbox script (app/static/js/outbox.js), which needs answers it
    can tell apart: done, log in again, new form token, or refused with a message."""
    return request.headers.get("X-Rounds-Outbox") == "1"


def saved(url: str):
    """The answer to a form that made something: where to see it."""
    if outbox_request():
        return jsonify(url=url), 201
    return redirect_to(url)


def safe_next(value: str | None, default: str) -> str:
    """Only same-site paths are followed after login."""
    if not value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return default
    return value


def this_page() -> str:
    """This page's address to come back to (after a language switch, after a login): for
    the answer to a form (a refused submit, say), the page the form was on, as a form's
    address cannot be opened; the start page when that is not known."""
    if request.method == "GET":
        return request.full_path
    came_from = urlsplit(request.referrer or "")
    if came_from.netloc == request.host and came_from.path.startswith("/") \
            and came_from.path != request.path:  # a refused form sent again from its answer
        return came_from.path + (f"?{came_from.query}" if came_from.query else "")
    return "/"


def role_required(*roles: str):
    """Logged in and holding one of the roles, else 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def get_visible(model, ident: int, *options):
    """A row of one of the user's sites; another site's row is as absent as a missing one.
    `options` are loader options, such as not loading what a handler does not show."""
    row = db.session.get(model, ident, options=options)
    if row is None or not current_user.can_see_site(row.id if model is Site else row.site_id):
        abort(404)
    return row


_static_versions: dict[str, str] = {}


def static_url(filename: str) -> str:
    """A static URL that changes with the file, so browsers may cache it for a year."""
    version = _static_versions.get(filename)
    if version is None or current_app.debug:
        path = os.path.join(current_app.static_folder, filename)
        with open(path, "rb") as f:
            version = hashlib.sha256(f.read()).hexdigest()[:10]
        _static_versions[filename] = version
    return url_for("static", filename=filename, v=version)


def _unauthorized():
    url = url_for("auth.login", next=safe_next(this_page(), "/"))
    if outbox_request():
        return jsonify(error="login", url=url), 401
    if htmx:
        response = Response(status=401)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url)


def _error_page(status: int, title: str, message: str):
    return render("errors.html", status=status, title=title, message=message)


# Only the app's own files run or style a page: no inline script or style anywhere (htmx is
# told not to add its indicator style); photos being shrunk are blob: URLs.
CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "connect-src 'self'", "worker-src 'self'", "manifest-src 'self'", "form-action 'self'",
    "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"])
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def init_app(app) -> None:
    app.url_map.converters["int"] = IdConverter
    login.user_loader(User.from_session_id)
    login.unauthorized_handler(_unauthorized)
    login.session_protection = "basic"

    app.jinja_env.globals.update(static_url=static_url, pick=pick, is_chinese=is_chinese,
                                  this_page=this_page)
    from . import filters

    filters.init_app(app)

    app.before_request(refuse_nul_bytes)
    app.before_request(remember_lang_choice)
    app.before_request(outbox_owner)

    @app.after_request
    def headers(response):
        response.vary.add("HX-Request")
        response.headers.update(SECURITY_HEADERS)
        if app.config["PRODUCTION"]:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        return response

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if outbox_request():
            return jsonify(error="csrf"), 400
        if htmx:
            # The page holds a stale token: reload it (through the login page if needed).
            response = Response(status=400)
            if current_user.is_authenticated:
                response.headers["HX-Refresh"] = "true"
            else:
                response.headers["HX-Redirect"] = url_for("auth.login")
            return response
        if request.endpoint == "field.submit" and current_user.is_authenticated:
            from .field import refill_form

            page = refill_form(request.view_args["spot_id"])
            if page is not None:
                return page
        if request.endpoint in ("defects.incident", "defects.fix") and \
                current_user.is_authenticated:
            from .defects import refill_form as refill_defect_form

            return refill_defect_form()
        return _error_page(400, _("The form has expired"),
                           _("Your session ended or the page was open too long. Go back, "
                             "reload the page and send it again."))

    @app.errorhandler(400)
    def bad_request(error):
        return _error_page(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(403)
    def forbidden(error):
        return _error_page(403, _("Not allowed"),
                           _("Your account does not have permission for this page."))

    @app.errorhandler(404)
    def not_found(error):
        return _error_page(404, _("Not found"), _("This page does not exist or is not yours."))

    @app.errorhandler(405)
    def wrong_method(error):
        return _error_page(405, _("Wrong action"), _("This address does not accept that action."))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _error_page(500, _("Something went wrong"),
                           _("The server could not finish this request. Nothing was changed. "
                             "Try again in a minute; if it keeps happening, tell your supervisor."))

    @app.errorhandler(413)
    def too_large(error):
        size = app.config["MAX_CONTENT_LENGTH"]
        limit = f"{size / 2**20:g} MB" if size >= 2**20 else f"{size // 1024} KB"
        return _error_page(413, _("Upload too large"),
                           _("The photos are larger than %(limit)s in total. Go back and "
                             "send fewer or smaller photos.", limit=limit))




def outbox_owner():
    """An outbox item saved on this phone by someone else waits for them to log in: never
    sent as the work of whoever is logged in now."""
    owner = request.form.get("outbox_user") if outbox_request() else None
    if owner and current_user.is_authenticated and owner != str(current_user.id):
        return jsonify(error="other_user"), 409
    return None


def remember_lang_choice():
    """`?lang=en` or `?lang=zh_CN` on any page switches language for the session."""
    lang = request.args.get("lang")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
