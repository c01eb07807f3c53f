"""Setup for admins: sites, users, spots and labels, SOPs."""
from flask import Blueprint

from ..web import render, role_required

bp = Blueprint("setup", __name__, url_prefix="/setup")


@bp.get("/")
@role_required("admin")
def index():
    return render("setup/index.html")
