"""The phone's side of working without signal: the service worker, the app manifest, the
outbox page, and which pages a worker's phone keeps for the day. And the health check.

The outbox itself lives in the phone (app/static/js/outbox.js); the server only answers
its requests in a way a script can tell apart (`web.outbox_request`).
"""
import hashlib
import os
from functools import cache
from importlib.metadata import version as package_version

from flask import Blueprint, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from . import due
from .extensions import db
from .models import FIELD_ROLES
from .models.base import utcnow
from .web import static_url

bp = Blueprint("offline", __name__)

# What every page needs, kept by the service worker so the app opens without signal.
SHELL_FILES = ("css/app.css", "js/app.js", "js/outbox.js", "vendor/htmx-2.0.11.min.js",
               "icons/icon-192.png")
MAX_PAGES = 200


@cache
def app_version() -> str:
    """The release and a digest of the shell files: what the phone runs, as shown in the
    footer. A new digest makes phones fetch the new shell."""
    digest = hashlib.sha256()
    paths = [os.path.join(current_app.static_folder, name) for name in SHELL_FILES]
    for path in [*paths, os.path.join(current_app.root_path, "templates", "sw.js")]:
        with open(path, "rb") as f:
            digest.update(f.read())
    return f"{package_version('rounds')}+{digest.hexdigest()[:7]}"


@bp.app_context_processor
def version_context():
    return {"app_version": app_version}


@bp.get("/sw.js")
def service_worker():
    """Served from the root so that its scope is the whole app."""
    shell = [static_url(name) for name in SHELL_FILES] + [url_for("offline.outbox")]
    body = render_template("sw.js", version=app_version(), shell=shell,
                           offline_page=url_for("offline.outbox"))
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    data = {
        "name": _("Rounds"), "short_name": _("Rounds"), "start_url": url_for("field.home"),
        "scope": "/", "display": "standalone", "background_color": "#ffffff",
        "theme_color": "#0b5cad", "lang": "zh-CN",
        "icons": [{"src": static_url(f"icons/icon-{size}.png"), "sizes": f"{size}x{size}",
                   "type": "image/png", "purpose": "any maskable"} for size in (192, 512)],
    }
    response = jsonify(data)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/outbox")
def outbox():
    """What waits on this phone to be sent; the script fills the list. Needs no login, so
    it also serves as the page shown for any page the phone has not kept."""
    return render_template("offline/outbox.html")


@bp.get("/healthz")
def health():
    """For the load balancer and monitoring: the database answers and photos can be written.
    Says no more than that, as anyone may ask."""
    problems = []
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        problems.append("database")
    if not os.access(current_app.config["PHOTO_DIR"], os.W_OK):
        problems.append("photos")
    response = jsonify(status="error" if problems else "ok", problems=problems,
                       version=app_version())
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/offline/pages")
@login_required
def pages():
    """The scan pages of the worker's spots due today: their phone keeps them for the shift."""
    urls = []
    if current_user.has_role(*FIELD_ROLES):
        day = due.today(current_user, utcnow())
        for round_ in day.overdue + day.now + day.next:
            for slot in round_.slots:
                url = url_for("field.scan", token=slot.spot.token)
                if slot.spot.active and url not in urls:
                    urls.append(url)
    return jsonify(user=current_user.id, pages=urls[:MAX_PAGES])


@bp.get("/offline/session")
@login_required
def session_token():
    """A fresh form token for the outbox, whose saved forms may carry an old one."""
    return jsonify(user=current_user.id, csrf=generate_csrf())
