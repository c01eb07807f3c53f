"""Setup for admins: sites, users, spots and their QR labels, SOPs, schedules."""
from flask import Blueprint
from flask_login import current_user

from ..web import render, role_required

bp = Blueprint("setup", __name__, url_prefix="/setup")


@bp.get("/")
@role_required("admin")
def index():
    return render("setup/index.html", sites=current_user.sites)


from . import imports, schedules, sites, sops, spots, users  # noqa: E402,F401  (their routes register on bp)
